r"""Statement: a hidden attribute ``a`` (committed in ``C = a·G + s·H``) is one of ``t_1..t_k``.

With ``V_i = C − t_i·G``, a Cramer–Damgård–Schoenmakers OR of ``k`` linear relations::

    PK{ (s) :  ∨_i  V_i = s·H }

The prover answers the true branch and simulates the others (random ``c_i``, ``z_i``,
``T_i = z_i·H − c_i·V_i``); the branch challenges sum to the one challenge ``c``, so the
last one is derived, not sent. ``C`` is tied to the signed message by the batched
opening (:mod:`circuits.statements.opening`).

Transcript (this statement's only writer)::

    dom-sep(DOMSEP_SET_MEMBERSHIP, k) · set-T T_1 … set-T T_k

Wire: ``c_1..c_{k−1}`` and ``z_1..z_k``.
"""

from __future__ import annotations

from collections.abc import Callable

from circuits import constants as k
from circuits.backend import GroupBackend
from circuits.backend.interface import G1
from circuits.constants import R
from circuits.errors import ParameterError
from circuits.rng import random_scalar
from circuits.statements import linear
from circuits.statements.base import PresentationRejected, ProverState, Responses, Statement, VerifierState, reject_on
from circuits.statements.linear import LinearRelation
from circuits.transcript import Transcript
from circuits.wire import SetMembershipProof


def branch(be: GroupBackend, H: G1, V: G1) -> LinearRelation:
    """Branch ``i``: ``V_i = s·H`` (witness ``s``)."""
    return LinearRelation(be, [([(V, 1)], [(H, 0)])], 1)


def _Vs(be: GroupBackend, G: G1, C: G1, ts: list[int]) -> list[G1]:
    """``V_i = C − t_i·G`` (all public)."""
    return [be.g1_msm([C, G], [1, -t % R], public=True) for t in ts]


class SetMembership(Statement):
    tag = k.DOMSEP_SET_MEMBERSHIP

    def __init__(self, position: int, commit: int, ts: list[int]) -> None:
        self.position, self.commit, self.ts = position, commit, ts

    def absorb(self, t: Transcript, be: GroupBackend, Ts: list[G1]) -> None:
        t.domain_sep(self.tag, len(Ts))
        for T in Ts:
            t.append_point(k.PRES_LABEL_SET_T, T, be, allow_identity=True)

    def prove(self, p: ProverState, t: Transcript) -> Callable[[int, Responses], None]:
        be = p.be
        ci, idx = p.plan.commits[self.commit]
        a, s = p.msgs[ci][idx], p.blindings[self.commit]
        if a not in self.ts:
            raise ParameterError("the value is not in the set")
        index = self.ts.index(a)
        branches = [branch(be, p.H, V) for V in _Vs(be, p.G, p.commitments[self.commit], self.ts)]
        # Every branch costs the same (which one is real is the secret): T_i = z_i·H − c_i·V_i,
        # with (z, c) = (r, 0) for the real branch — T = r·H, the linear relation's first message —
        # and random (z_i, c_i) for the simulated ones; the rng is drawn alike for every branch.
        sim_c = [random_scalar(p.rng) for _ in branches]
        sim_z = [random_scalar(p.rng) for _ in branches]
        r = sim_z[index]
        sim_c[index] = 0
        Ts = [rel.recompute([z], c_i, public=False)[0] for rel, z, c_i in zip(branches, sim_z, sim_c, strict=True)]
        self.absorb(t, be, Ts)

        def respond(c: int, out: Responses) -> None:
            cs, zs = list(sim_c), list(sim_z)
            cs[index] = (c - sum(cs)) % R  # sim_c[index] is 0
            zs[index] = linear.respond([r], [s], cs[index])[0]
            out.sets.append(SetMembershipProof(tuple(cs[:-1]), tuple(zs)))

        return respond

    def replay(self, v: VerifierState, t: Transcript) -> None:
        proof = v.presentation.sets[self.position]
        size = len(self.ts)
        if len(proof.responses) != size or len(proof.challenges) != size - 1:
            raise PresentationRejected("structure", "set-membership proof does not match the set size")
        cs = [*proof.challenges, (v.c - sum(proof.challenges)) % R]
        Vs = reject_on("structure", lambda: _Vs(v.be, v.G, v.presentation.commitments[self.commit], self.ts))
        branches = reject_on("structure", lambda: [branch(v.be, v.H, V) for V in Vs])  # no V_i is the identity
        self.absorb(
            t, v.be, [rel.recompute([z], ci)[0] for rel, z, ci in zip(branches, proof.responses, cs, strict=True)]
        )
