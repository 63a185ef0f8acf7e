r"""Linear relations: the one shape of zkcred's Schnorr-style statements, on the sigma draft's engine.

A linear relation over G1 is a list of equations, each an *image* — a linear combination
of public group elements — equal to a linear combination of *scalar witnesses* over public
*bases*::

    Σ_l a_{k,l}·X_{k,l} = Σ_j w_{i(k,j)} · B_{k,j}           k = 1..K,  witnesses w_1..w_n

It is draft-irtf-cfrg-sigma-protocols' instance, :class:`circuits.sigma.LinearRelation`
(the one engine: relation, instance validation, map, simulation), subclassed here only to
build it from a statement's bases and to run its Sigma protocol *inside the presentation's
transcript* with blindings the presentation shares between statements:

1. prover: blindings ``w̃_i`` (a hidden message's is its BBS ``m̃``); first message
   ``T = map(w̃)``;
2. challenge ``c`` (the presentation's one challenge);
3. response ``ŵ_i = w̃_i + c·w_i (mod r)``;
4. verifier: ``T = map(ŵ) − c·image`` (the draft's ``SimulateCommitment``), absorbed
   where the prover absorbed it; the challenge matches only if every equation holds
   (special soundness: two accepting transcripts with ``c ≠ c'`` give
   ``w_i = (ŵ_i − ŵ'_i)/(c − c')``).

A response shared with another statement (e.g. a BBS message's ``m̂``) is supplied by the
caller instead of being read from this proof: that is witness equality. The draft's own
Fiat–Shamir (its duplex sponge and NARG strings) is not used here: a presentation binds
every statement in its one transcript (circuits/notes/presentation.md).

>>> from circuits.backend import get_backend
>>> be = get_backend()
>>> G = be.g1_generator(); H = be.g1_mul(G, 7)
>>> rel = LinearRelation(be, [([(be.g1_msm([G, H], [3, 5]), 1)], [(G, 0), (H, 1)])], 2)
>>> T = rel.commit([11, 13])
>>> rel.recompute(respond([11, 13], [3, 5], 2), 2) == T
True
"""

from __future__ import annotations

from collections.abc import Sequence

from circuits.backend import GroupBackend
from circuits.backend.interface import G1
from circuits.constants import R
from circuits.errors import ParameterError
from circuits.sigma import LinearRelation as SigmaInstance
from circuits.sigma.narg import simulate_commitment

Image = Sequence[tuple[G1, int]]  # Σ coeff·point
Terms = Sequence[tuple[G1, int]]  # Σ w[index]·base


class LinearRelation(SigmaInstance):
    """A statement's linear relation, built from ``equations = [(image, terms), …]`` with
    ``image = [(X, coeff), …]`` and ``terms = [(B, witness index), …]``.

    It *is* the sigma draft's instance (one class: validation, serialization and the map are
    the draft's); this subclass only adds the constructor from a statement's bases and the
    two steps a presentation runs in its own transcript.
    """

    __slots__ = ()

    def __init__(self, be: GroupBackend, equations: Sequence[tuple[Image, Terms]], n_witnesses: int) -> None:
        super().__init__(be)
        scalars = self.allocate_scalars(n_witnesses)
        for image, terms in equations:
            if not terms or not image or any(not 0 <= i < n_witnesses for _, i in terms):
                raise ParameterError("a linear relation's equation needs an image and terms over its witnesses")
            img = [(self.allocate_element(X), coeff % R) for X, coeff in image]
            rhs = [(scalars[i], self.allocate_element(B), 1) for B, i in terms]
            self.append_equation(image=img, terms=rhs)

    def commit(self, tildes: Sequence[int]) -> list[G1]:
        """Prover step 1: ``T = map(w̃)``."""
        return self.map([t % R for t in tildes])

    def recompute(self, hats: Sequence[int], c: int, *, public: bool = True) -> list[G1]:
        """Verifier: ``T = map(ŵ) − c·image``. A prover simulating an OR branch passes
        ``public=False``, so its real and simulated branches take the same path."""
        if len(hats) != self.num_scalars:
            raise ParameterError("one response per witness")
        return simulate_commitment(self, [h % R for h in hats], c % R, public=public)


def respond(tildes: Sequence[int], witnesses: Sequence[int], c: int) -> list[int]:
    """Prover step 3: ``ŵ_i = w̃_i + c·w_i``."""
    return [(t + c * w) % R for t, w in zip(tildes, witnesses, strict=True)]
