r"""Linear relations: the one shape of zkcred's Schnorr-style statements (draft-irtf-cfrg-sigma-protocols §2).

A linear relation over G1 is a list of equations, each an *image* equal to a linear
combination of *scalar witnesses* over public *bases*::

    X_k = Σ_j  w_{i(k,j)} · B_{k,j}           k = 1..K,  witnesses w_1..w_n

Its Sigma protocol (every zkcred statement uses this one, so responses can be shared):

1. prover: blindings ``w̃_i``; first message ``T_k = Σ_j w̃_{i(k,j)}·B_{k,j}``;
2. challenge ``c`` (from the presentation's transcript);
3. response ``ŵ_i = w̃_i + c·w_i (mod r)``;
4. verifier: recompute ``T_k = Σ_j ŵ_{i(k,j)}·B_{k,j} − c·X_k`` (one MSM per equation) and
   absorb it where the prover absorbed it; the challenge matches only if every equation
   holds (special soundness: two accepting transcripts with ``c ≠ c'`` give
   ``w_i = (ŵ_i − ŵ'_i)/(c − c')``).

A response the relation shares with another statement (e.g. a BBS message's ``m̂``) is
supplied by the caller instead of being read from this proof: that is witness equality.

This module is zkcred's statement-level form of the draft's ``LinearRelation``
(``circuits/sigma/`` holds the draft's own engine and its serialization).

>>> from circuits.backend import get_backend
>>> be = get_backend()
>>> G = be.g1_generator(); H = be.g1_mul(G, 7)
>>> rel = LinearRelation(((be.g1_msm([G, H], [3, 5]), ((G, 0), (H, 1))),), 2)
>>> tildes = [11, 13]
>>> T = rel.commit(be, tildes)
>>> hats = rel.respond(tildes, [3, 5], 2)
>>> rel.recompute(be, hats, 2) == T
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from circuits.backend import GroupBackend
from circuits.constants import R
from circuits.errors import ParameterError


@dataclass(frozen=True)
class LinearRelation:
    """``equations[k] = (X_k, ((B_kj, i_kj), …))``: ``X_k = Σ_j w_{i_kj}·B_kj`` over ``n_witnesses`` witnesses."""

    equations: tuple[tuple[Any, tuple[tuple[Any, int], ...]], ...]
    n_witnesses: int

    def __post_init__(self) -> None:
        for _, terms in self.equations:
            if not terms or any(not 0 <= i < self.n_witnesses for _, i in terms):
                raise ParameterError("a linear relation's term names a witness it does not have")

    def commit(self, be: GroupBackend, tildes: Sequence[int]) -> list:
        """Prover step 1: ``T_k = Σ_j w̃_{i_kj}·B_kj``."""
        return [be.g1_msm([B for B, _ in terms], [tildes[i] for _, i in terms]) for _, terms in self.equations]

    def respond(self, tildes: Sequence[int], witnesses: Sequence[int], c: int) -> list[int]:
        """Prover step 3: ``ŵ_i = w̃_i + c·w_i``."""
        return [(t + c * w) % R for t, w in zip(tildes, witnesses, strict=True)]

    def recompute(self, be: GroupBackend, hats: Sequence[int], c: int, *, public: bool = True) -> list:
        """Verifier: ``T_k = Σ_j ŵ_{i_kj}·B_kj − c·X_k`` (``public=False`` when a prover simulates with it)."""
        if len(hats) != self.n_witnesses:
            raise ParameterError("one response per witness")
        neg_c = (-c) % R
        return [be.g1_msm([*(B for B, _ in terms), X], [*(hats[i] for _, i in terms), neg_c], public=public)
                for X, terms in self.equations]
