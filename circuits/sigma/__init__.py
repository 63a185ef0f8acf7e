r"""Sigma protocols composed under one challenge: Pedersen openings, ≠, set membership.

Conventions shared by every statement in a presentation (and by the BBS proof and the
accumulator membership proof, so that responses can be shared):

- The prover keeps witnesses and blindings in a ``*Prover`` object (never serialised,
  never ``repr``'d); ``commitments()`` returns the points to append to the transcript,
  ``respond(c)`` returns the serialisable ``*Proof``.
- Every response is ``hat = tilde + c·witness (mod r)``. Two statements that use the
  same witness with the same ``tilde`` give the same ``hat``: that is witness equality
  (STYLE §2.8.4). The verifier *substitutes* the shared response (e.g. the BBS proof's
  ``m̂_j``) instead of reading a second copy, so the proof carries it once.
- Verifiers recompute commitments ``T = Σ hat·base − c·public`` and append them; the
  caller compares the challenge it recomputes with the one in the proof.

Statements (Camenisch–Stadler):

- :class:`OpeningProver` — ``PK{(a, s): C = a·G + s·H}``; ``a`` shared with a BBS message.
- :class:`NotEqualProver` — ``PK{(u, w): G = u·V + w·H}`` with ``V = C − t·G``: possible
  iff ``a ≠ t`` (``u = (a − t)^{-1}``, ``w = −s·u``); if ``a = t`` then ``V = s·H`` and the
  prover would know ``log_H G``.
- :class:`SetMembershipProver` — ``PK{(s): ∨_i V_i = s·H}`` with ``V_i = C − t_i·G``
  (Cramer–Damgård–Schoenmakers OR-proof: simulate every branch but the true one; the
  branch challenges sum to ``c``; the last one is derived, not sent).

See circuits/notes/presentation.md.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from circuits.backend import GroupBackend
from circuits.constants import R
from circuits.errors import ParameterError


def powers(x: int, count: int, start: int = 1) -> list[int]:
    """``start·x^0, start·x^1, …, start·x^{count−1}`` mod r (challenge weights, y- and z-vectors)."""
    out, acc = [], start % R
    for _ in range(count):
        out.append(acc)
        acc = acc * x % R
    return out


def random_scalar() -> int:
    """A uniform non-zero scalar from the OS CSPRNG (48 bytes reduced mod r)."""
    while True:
        s = int.from_bytes(secrets.token_bytes(48), "big") % R
        if s:
            return s


# C = a·G + s·H ------------------------------------------------------------------------


@dataclass(frozen=True)
class OpeningProof:
    """Response for the blinding of ``C``; the value's response comes from the BBS proof."""

    s_hat: int


class OpeningProver:
    """Knowledge of the opening of ``C = a·G + s·H`` with ``ã`` supplied by the caller."""

    __slots__ = ("_a", "_s", "_s_tilde", "_T")

    def __init__(self, be: GroupBackend, G, H, a: int, s: int, a_tilde: int) -> None:
        self._a, self._s, self._s_tilde = a, s, random_scalar()
        self._T = be.g1_msm([G, H], [a_tilde, self._s_tilde])

    def commitments(self) -> list:
        return [self._T]

    def respond(self, c: int) -> OpeningProof:
        return OpeningProof((self._s_tilde + c * self._s) % R)

    def __repr__(self) -> str:
        return "OpeningProver(<secret>)"


def opening_commitment(be: GroupBackend, G, H, C, a_hat: int, proof: OpeningProof, c: int):
    """Recompute ``T = â·G + ŝ·H − c·C``."""
    return be.g1_msm([G, H, C], [a_hat, proof.s_hat, (-c) % R])


# a ≠ t ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NotEqualProof:
    u_hat: int
    w_hat: int


class NotEqualProver:
    """``a ≠ t`` for the ``a`` committed in ``C = a·G + s·H`` (V = C − t·G)."""

    __slots__ = ("_u", "_w", "_u_t", "_w_t", "_T")

    def __init__(self, be: GroupBackend, G, H, V, a: int, s: int, t: int) -> None:
        diff = (a - t) % R
        if diff == 0:
            raise ParameterError("a ≠ t is false")
        self._u = pow(diff, -1, R)
        self._w = (-s * self._u) % R
        self._u_t, self._w_t = random_scalar(), random_scalar()
        self._T = be.g1_msm([V, H], [self._u_t, self._w_t])

    def commitments(self) -> list:
        return [self._T]

    def respond(self, c: int) -> NotEqualProof:
        return NotEqualProof((self._u_t + c * self._u) % R, (self._w_t + c * self._w) % R)

    def __repr__(self) -> str:
        return "NotEqualProver(<secret>)"


def not_equal_commitment(be: GroupBackend, G, H, V, proof: NotEqualProof, c: int):
    """Recompute ``T = û·V + ŵ·H − c·G``."""
    return be.g1_msm([V, H, G], [proof.u_hat, proof.w_hat, (-c) % R])


# a ∈ {t_1..t_k} ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SetMembershipProof:
    """Branch challenges c_1..c_{k−1} (c_k = c − Σ) and responses z_1..z_k."""

    challenges: tuple[int, ...]
    responses: tuple[int, ...]


class SetMembershipProver:
    """CDS OR-proof that one of ``V_i = C − t_i·G`` is ``s·H``."""

    __slots__ = ("_index", "_s", "_r", "_sim_c", "_sim_z", "_T")

    def __init__(self, be: GroupBackend, H, Vs: Sequence, index: int, s: int) -> None:
        k = len(Vs)
        if not 0 <= index < k:
            raise ParameterError("the value is not in the set")
        self._index, self._s, self._r = index, s, random_scalar()
        self._sim_c = [random_scalar() if i != index else 0 for i in range(k)]
        self._sim_z = [random_scalar() if i != index else 0 for i in range(k)]
        self._T = [
            be.g1_mul(H, self._r) if i == index else be.g1_msm([H, Vs[i]], [self._sim_z[i], (-self._sim_c[i]) % R])
            for i in range(k)
        ]

    def commitments(self) -> list:
        return list(self._T)

    def respond(self, c: int) -> SetMembershipProof:
        i = self._index
        cs = list(self._sim_c)
        cs[i] = (c - sum(cs)) % R
        zs = list(self._sim_z)
        zs[i] = (self._r + cs[i] * self._s) % R
        return SetMembershipProof(tuple(cs[:-1]), tuple(zs))

    def __repr__(self) -> str:
        return "SetMembershipProver(<secret>)"


def set_membership_commitments(be: GroupBackend, H, Vs: Sequence, proof: SetMembershipProof, c: int) -> list:
    """Recompute ``T_i = z_i·H − c_i·V_i`` with ``c_k = c − Σ_{i<k} c_i``."""
    if len(proof.responses) != len(Vs) or len(proof.challenges) != len(Vs) - 1:
        raise ParameterError("set-membership proof does not match the set size")
    cs = [*proof.challenges, (c - sum(proof.challenges)) % R]
    return [be.g1_msm([H, V], [z, (-ci) % R]) for V, z, ci in zip(Vs, proof.responses, cs)]


# draft-irtf-cfrg-sigma-protocols + draft-irtf-cfrg-fiat-shamir over BLS12-381 G1 (re-exported;
# the engine lives in linear_relation.py, narg.py, codec.py and duplex_sponge.py).
from circuits.sigma.linear_relation import GENERATOR, Equation, LinearRelation
from circuits.sigma.narg import (
    batch_verify,
    prove_batchable,
    prove_compact,
    verify_batchable,
    verify_compact,
    verify_narg,
)
