r"""Statement: a hidden attribute ``a`` (committed in ``C = a·G + s·H``) is not ``t``.

With ``V = C − t·G = (a − t)·G + s·H``, the linear relation::

    PK{ (u, w) :  G = u·V + w·H }         u = (a − t)^{-1},  w = −s·u

has a witness iff ``a ≠ t``: if ``a = t`` then ``V = s·H`` and a prover would know
``log_H G``. ``∉ {t_1..t_k}`` is the conjunction of ``k`` such statements. ``C`` is tied to
the signed message by the batched opening (:mod:`circuits.statements.opening`).

Transcript (this statement's only writer)::

    dom-sep(DOMSEP_NOT_EQUAL) · not-equal-T

Wire: ``(û, ŵ)``, both sent (neither is shared with another statement).
"""

from __future__ import annotations

from collections.abc import Callable

from circuits import constants as k
from circuits.backend import GroupBackend
from circuits.backend.interface import G1
from circuits.constants import R
from circuits.errors import ParameterError
from circuits.rng import random_scalars
from circuits.statements import linear
from circuits.statements.base import ProverState, Responses, Statement, VerifierState, reject_on
from circuits.statements.linear import LinearRelation
from circuits.transcript import Transcript
from circuits.wire import NotEqualProof


def relation(be: GroupBackend, G: G1, H: G1, V: G1) -> LinearRelation:
    """``G = u·V + w·H`` (witnesses ``u``, ``w``)."""
    return LinearRelation(be, [([(G, 1)], [(V, 0), (H, 1)])], 2)


def _V(be: GroupBackend, G: G1, C: G1, t: int) -> G1:
    """``V = C − t·G`` (all public)."""
    return be.g1_msm([C, G], [1, -t % R], public=True)


class NotEqual(Statement):
    tag = k.DOMSEP_NOT_EQUAL

    def __init__(self, position: int, commit: int, t: int) -> None:
        self.position, self.commit, self.t = position, commit, t

    def absorb(self, t: Transcript, be: GroupBackend, T: G1) -> None:
        t.domain_sep(self.tag)
        t.append_point(k.PRES_LABEL_NOT_EQUAL_T, T, be, allow_identity=True)

    def prove(self, p: ProverState, t: Transcript) -> Callable[[int, Responses], None]:
        ci, idx = p.plan.commits[self.commit]
        diff = (p.msgs[ci][idx] - self.t) % R
        if diff == 0:
            raise ParameterError("a ≠ t is false")
        u = pow(diff, -1, R)
        witnesses = [u, (-p.blindings[self.commit] * u) % R]
        rel = relation(p.be, p.G, p.H, _V(p.be, p.G, p.commitments[self.commit], self.t))
        tildes = random_scalars(2, p.rng)
        self.absorb(t, p.be, rel.commit(tildes)[0])

        def respond(c: int, out: Responses) -> None:
            out.not_equal.append(NotEqualProof(*linear.respond(tildes, witnesses, c)))

        return respond

    def replay(self, v: VerifierState, t: Transcript) -> None:
        proof = v.presentation.not_equal[self.position]

        def instance() -> LinearRelation:  # refuses V = C − t·G = identity (C = t·G)
            rel = relation(v.be, v.G, v.H, _V(v.be, v.G, v.presentation.commitments[self.commit], self.t))
            rel.validate()
            return rel

        rel = reject_on("structure", instance)
        self.absorb(t, v.be, rel.recompute([proof.u_hat, proof.w_hat], v.c)[0])
