r"""Statement: the commitments ``C_i`` commit to the signed messages they stand for.

For each hidden message a predicate needs (expiry included) the prover sends
``C_i = m_i·G + s_i·H``. One proof for all of them, as a linear relation over the
batched commitment (:mod:`circuits.statements.linear`)::

    PK{ (a, s) :  Σ_i ρ^i·C_i = a·G + s·H }      a = Σ ρ^i·m_i,  s = Σ ρ^i·s_i

with ``ρ`` drawn from the transcript *after* every ``C_i`` and every BBS first message is
bound, and the value response ``â = Σ ρ^i·m̂_i`` built from the BBS proofs' shared
responses (so it is not sent): a prover who cheats on one ``C_i`` passes for at most
``count − 1`` values of ``ρ`` (Schwartz–Zippel). One scalar ``ŝ`` travels.

Transcript (this statement's only writer)::

    dom-sep(DOMSEP_OPENING, count) · commitment C_1 … C_count · ρ = challenge("opening-batch") · opening-T
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from circuits import constants as k
from circuits.backend import GroupBackend
from circuits.backend.interface import G1
from circuits.constants import R
from circuits.rng import random_scalar
from circuits.sigma import powers
from circuits.statements.base import ProverState, Responses, Statement, VerifierState
from circuits.statements.linear import LinearRelation
from circuits.transcript import Transcript


def relation(be: GroupBackend, G: G1, H: G1, commitments: Sequence[G1], weights: Sequence[int]) -> LinearRelation:
    """``Σ ρ^i·C_i = a·G + s·H`` (witnesses ``a``, ``s``; the image is the weighted sum, never computed)."""
    return LinearRelation(be, [(list(zip(commitments, weights, strict=True)), [(G, 0), (H, 1)])], 2)


class BatchedOpening(Statement):
    tag = k.DOMSEP_OPENING

    def absorb(
        self,
        t: Transcript,
        be: GroupBackend,
        G: G1,
        H: G1,
        commitments: Sequence[G1],
        first_message: Callable[[LinearRelation, list[int]], G1],
    ) -> None:
        """Bind every ``C_i``, draw ``ρ``, bind ``T = first_message(relation, (1, ρ, ρ², …))``."""
        t.domain_sep(self.tag, len(commitments))
        for C in commitments:
            t.append_point(k.PRES_LABEL_COMMITMENT, C, be)
        weights = powers(t.challenge_scalar(k.PRES_LABEL_OPENING_BATCH), len(commitments))
        T = first_message(relation(be, G, H, commitments, weights), weights)
        t.append_point(k.PRES_LABEL_OPENING_T, T, be, allow_identity=True)

    def prove(self, p: ProverState, t: Transcript) -> Callable[[int, Responses], None]:
        be, refs = p.be, p.plan.commits
        p.blindings = [random_scalar(p.rng) for _ in refs]
        p.commitments = [
            be.g1_msm([p.G, p.H], [p.msgs[ci][idx], s]) for (ci, idx), s in zip(refs, p.blindings, strict=True)
        ]
        s_tilde = random_scalar(p.rng)
        batched_s: list[int] = []

        def first_message(rel: LinearRelation, w: list[int]) -> G1:
            a_tilde = sum(wi * p.tilde[ci][idx] for wi, (ci, idx) in zip(w, refs, strict=True)) % R
            batched_s.append(sum(wi * s for wi, s in zip(w, p.blindings, strict=True)) % R)
            return rel.commit([a_tilde, s_tilde])[0]

        self.absorb(t, be, p.G, p.H, p.commitments, first_message)

        def respond(c: int, out: Responses) -> None:
            out.commitments = tuple(p.commitments)
            out.openings = ((s_tilde + c * batched_s[0]) % R,)

        return respond

    def replay(self, v: VerifierState, t: Transcript) -> None:
        refs, pres = v.plan.commits, v.presentation

        def first_message(rel: LinearRelation, w: list[int]) -> G1:
            # T = â·G + ŝ·H − c·Σ ρ^i·C_i in one MSM, â = Σ ρ^i·m̂_i (the BBS proofs' shared responses).
            a_hat = sum(wi * v.m_hat(ci, idx) for wi, (ci, idx) in zip(w, refs, strict=True)) % R
            return rel.recompute([a_hat, pres.openings[0]], v.c)[0]

        self.absorb(t, v.be, v.G, v.H, pres.commitments, first_message)
