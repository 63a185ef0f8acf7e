r"""Statement: credential ``k``'s hidden revocation handle ``y`` is in the accumulator ``V`` (not revoked).

The linear relation of :mod:`circuits.accumulator.proof` (DESIGN §6)::

    PK{ (r, y) :  B̄ = r·V + y·(−C̄) }     with  e(C̄, Q) = e(B̄, P2),  C̄ ≠ 1

``ỹ`` is the BBS proof's ``m̃`` of the handle, so ``ŷ`` is the BBS ``m̂`` (not sent). ``V``
is the ledger's value at the height the presentation names; the verifier fetches it
itself (``accumulator_at``) and compares, never trusting the sent copy alone.

Transcript (this statement's only writer; ``MembershipCommitments.append_to`` appends
the tag and the points)::

    revocation-height · dom-sep(DOMSEP_ACCUMULATOR) · V · C̄ · B̄ · T
"""

from __future__ import annotations

from collections.abc import Callable

from circuits import constants as k
from circuits.accumulator.proof import MembershipCommitments
from circuits.backend import GroupBackend
from circuits.backend.interface import G2
from circuits.credentials import HANDLE_INDEX
from circuits.errors import ZkCredError
from circuits.statements.base import PresentationRejected, ProverState, Responses, Statement, VerifierState, reject_on
from circuits.transcript import Transcript


class AccumulatorMembership(Statement):
    tag = k.DOMSEP_ACCUMULATOR

    def __init__(self, ci: int) -> None:
        self.ci = ci

    def absorb(self, t: Transcript, be: GroupBackend, height: int, commitments: MembershipCommitments) -> None:
        t.append_u64(k.PRES_LABEL_REVOCATION_HEIGHT, height)
        commitments.append_to(t, be)  # dom-sep(self.tag) · V · C̄ · B̄ · T

    def prove(self, p: ProverState, t: Transcript) -> Callable[[int, Responses], None]:
        from circuits.accumulator import MembershipProver

        ci, be = self.ci, p.be
        rw = p.revocation[ci]
        prover = MembershipProver.init(
            be.g1_from_bytes(rw.witness),
            p.msgs[ci][HANDLE_INDEX],
            be.g1_from_bytes(rw.accumulator),
            backend=be,
            y_tilde=p.tilde[ci][HANDLE_INDEX],
            rng=p.rng,
        )
        self.absorb(t, be, rw.height, prover.commitments())

        def respond(c: int, out: Responses) -> None:
            out.credentials[ci].update(
                revocation_height=rw.height, accumulator=rw.accumulator, membership=prover.finalize(c).to_bytes(be)
            )

        return respond

    def replay(self, v: VerifierState, t: Transcript) -> None:
        from circuits.accumulator import MembershipProof, verify_init

        ci, be = self.ci, v.be
        d, cp = v.plan.definitions[ci], v.presentation.credentials[ci]
        qid = v.query_ids[ci]
        height, membership, accumulator = cp.revocation_height, cp.membership, cp.accumulator
        if height is None or membership is None or accumulator is None or d.revocation is None:
            raise PresentationRejected(
                "structure", f"{qid}: non-revocation proof missing"
            )  # the structure check said so
        registry = d.revocation
        if v.accumulator_at is None:
            raise PresentationRejected("revocation", "no accumulator source to check non-revocation")
        try:
            expected = v.accumulator_at(d.id, height)
        except ZkCredError as e:
            raise PresentationRejected("stale_accumulator", str(e)) from None
        if expected != accumulator:
            raise PresentationRejected("revocation", f"{qid}: accumulator value is not the ledger's")

        def init() -> tuple[MembershipProof, G2, MembershipCommitments]:
            proof = MembershipProof.from_bytes(be, membership)
            Q = be.g2_from_bytes(registry.Q)
            commitments = verify_init(
                proof, be.g1_from_bytes(accumulator), Q, v.c, backend=be, y_hat=v.m_hat(ci, HANDLE_INDEX)
            )
            return proof, Q, commitments

        proof, Q, commitments = reject_on("revocation", init)
        reject_on("revocation", lambda: self.absorb(t, be, height, commitments))
        v.pairings.append((proof.C_bar, Q, proof.B_bar, "revocation"))
        v.revocation_heights[qid] = height
