r"""Statement: ``P`` is the holder's pseudonym for the request's context (per-verifier linkability).

The linear relation of zkcred's pseudonym statement (:mod:`circuits.bbs.pseudonym`)::

    PK{ (s) :  P = s·OP }        OP = hash_to_curve_g1(context, PSEUDONYM_CONTEXT_DST)

where ``s`` is the link secret, so ``s̃`` is the BBS proof's ``m̃`` of the link-secret
message and ``ŝ`` is its ``m̂`` (not sent). The verifier takes the context from its own
request, never from the presentation.

Transcript (this statement's only writer, through :func:`circuits.bbs.pseudonym.append_pseudonym`)::

    dom-sep(DOMSEP_PSEUDONYM) · pseudonym-context · pseudonym P · pseudonym-T
"""

from __future__ import annotations

from collections.abc import Callable

from circuits import constants as k
from circuits.backend import GroupBackend
from circuits.backend.interface import G1
from circuits.bbs import pseudonym as nym
from circuits.codec import b64e
from circuits.errors import IdentityPointError
from circuits.statements.base import ProverState, Responses, Statement, VerifierState, reject_on
from circuits.statements.linear import LinearRelation
from circuits.transcript import Transcript


def relation(be: GroupBackend, context: bytes, P: G1) -> LinearRelation:
    """``P = s·OP`` (witness ``s``); refuses an identity ``P``."""
    return LinearRelation(be, [([(P, 1)], [(nym.zkcred_context_point(be, context), 0)])], 1)


class Pseudonym(Statement):
    tag = k.DOMSEP_PSEUDONYM

    def __init__(self, ci: int, context: bytes) -> None:
        self.ci, self.context = ci, context

    def absorb(self, t: Transcript, be: GroupBackend, P: G1, T: G1) -> None:
        nym.append_pseudonym(t, be, self.context, P, T)  # dom-sep(self.tag) · context · P · T

    def prove(self, p: ProverState, t: Transcript) -> Callable[[int, Responses], None]:
        ci, be = self.ci, p.be
        link_index = p.plan.definitions[ci].link_secret_index
        prover = nym.PseudonymProver(be, self.context, p.link_secret, p.tilde[ci][link_index])
        self.absorb(t, be, prover.pseudonym, prover.commitments()[0])

        def respond(c: int, out: Responses) -> None:
            out.credentials[ci]["pseudonym"] = prover.pseudonym

        return respond

    def replay(self, v: VerifierState, t: Transcript) -> None:
        ci, be = self.ci, v.be
        P = v.presentation.credentials[ci].pseudonym
        s_hat = v.m_hat(ci, v.plan.definitions[ci].link_secret_index)

        def step() -> None:
            if be.g1_is_identity(P):
                raise IdentityPointError("the pseudonym is the identity")
            self.absorb(t, be, P, relation(be, self.context, P).recompute([s_hat], v.c)[0])

        reject_on("pseudonym", step)
        v.pseudonyms[v.query_ids[ci]] = b64e(be.g1_to_bytes(P))
