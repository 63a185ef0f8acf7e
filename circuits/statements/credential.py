r"""Statement: "I hold a BBS signature of this definition; these messages are disclosed".

Relation (the BBS draft's ProofGen, :mod:`circuits.bbs.core`), for credential ``k``::

    PK{ (e, r1, r3, (m_j)_{j hidden}) :  T1-relation ∧ T2-relation }  with  e(Ā, W) = e(B̄, BP2)

Hidden message ``j`` uses the presentation's one blinding ``m̃_j`` for that message, so
every other statement about ``m_j`` shares the response ``m̂_j`` (witness equality).

Prover: ``ProofInit`` with ``(r1, r2, ẽ, r̃1, r̃3)`` from the rng and the shared ``m̃``;
absorb; after the challenge, ``ProofFinalize``.
Verifier: ``ProofVerifyInit`` with the presentation's challenge; absorb; queue
``e(Ā, W) = e(B̄, BP2)`` for the batched pairing check.

Transcript (this statement's only writer)::

    dom-sep(DOMSEP_BBS) · definition-id · bbs-init = ChallengeOctets(init, disclosed, ph = "")

``ChallengeOctets`` is what the draft's ProofChallengeCalculate hashes (disclosed indexes
and scalars, Ā, B̄, D, T1, T2, domain — the domain binds W and the header). Every
credential's first message is absorbed here, credential 1's included, before any other
statement draws a weight from the transcript. The one challenge is still the draft's
``ProofChallengeCalculate(init_1, disclosed_1, ph*)``: a presentation of one credential
with disclosure only is the draft's ProofGen with ``ph = ph*``.
"""

from __future__ import annotations

from collections.abc import Callable

from circuits import constants as k
from circuits.backend import GroupBackend
from circuits.backend.interface import G1
from circuits.bbs import blind, core
from circuits.credentials import CredentialDefinition
from circuits.errors import ParameterError
from circuits.rng import random_scalars
from circuits.statements.base import ProverState, Responses, Statement, VerifierState, reject_on
from circuits.transcript import Transcript


def generators(be: GroupBackend, d: CredentialDefinition) -> tuple[list[G1], bytes]:
    """(Q_1, H_1..H_L) of a credential (signer's then the one blind generator) and its api_id."""
    suite = d.bbs_suite()
    gens = blind.signer_generators(be, d.signer_message_count, suite=suite) + blind.blind_generators(be, 1, suite=suite)
    return gens, blind.blind_api_id(suite)


class BbsCredential(Statement):
    """Credential ``ci``: its BBS proof of knowledge with selective disclosure."""

    tag = k.DOMSEP_BBS

    def __init__(self, ci: int) -> None:
        self.ci = ci

    def absorb(
        self,
        t: Transcript,
        be: GroupBackend,
        d: CredentialDefinition,
        init: core.ProofInitResult,
        disclosed_indexes: list[int],
        disclosed_scalars: list[int],
    ) -> None:
        t.domain_sep(self.tag)
        t.append(k.PRES_LABEL_DEFINITION_ID, d.id.encode())
        t.append(k.PRES_LABEL_BBS_INIT, core.challenge_octets(be, init, disclosed_indexes, disclosed_scalars, b""))

    def prove(self, p: ProverState, t: Transcript) -> Callable[[int, Responses], None]:
        ci, be, plan = self.ci, p.be, p.plan
        d = plan.definitions[ci]
        gens, api_id = generators(be, d)
        hidden = plan.hidden(ci)
        msgs = p.msgs[ci]
        rs = random_scalars(5, p.rng) + [p.tilde[ci][i] for i in hidden]
        sig = core.Signature.from_bytes(be, p.signatures[ci])
        init = core.proof_init(
            d.public_key, sig, gens, rs, d.header, msgs, hidden, suite=d.bbs_suite(), be=be, api_id=api_id
        )
        disclosed = plan.disclosed[ci]
        self.absorb(t, be, d, init, disclosed, [msgs[i] for i in disclosed])
        if ci == 0:
            p.first_init = init

        def respond(c: int, out: Responses) -> None:
            proof = core.proof_finalize(init, c, sig.e, rs, [msgs[i] for i in hidden])
            out.credentials[ci].update(
                A_bar=proof.A_bar,
                B_bar=proof.B_bar,
                D=proof.D,
                e_hat=proof.e_hat,
                r1_hat=proof.r1_hat,
                r3_hat=proof.r3_hat,
                m_hat=proof.m_hat,
            )

        return respond

    def replay(self, v: VerifierState, t: Transcript) -> None:
        ci, be, plan = self.ci, v.be, v.plan
        d = plan.definitions[ci]
        cp = v.presentation.credentials[ci]
        gens, api_id = generators(be, d)
        proof = core.Proof(cp.A_bar, cp.B_bar, cp.D, cp.e_hat, cp.r1_hat, cp.r3_hat, cp.m_hat, v.c)
        init = reject_on(
            "signature_proof",
            lambda: core.proof_verify_init(
                d.public_key,
                proof,
                gens,
                d.header,
                v.disclosed[ci],
                plan.disclosed[ci],
                suite=d.bbs_suite(),
                be=be,
                api_id=api_id,
            ),
        )
        self.absorb(t, be, d, init, plan.disclosed[ci], v.disclosed[ci])
        if ci == 0:
            v.first_init = init
        v.pairings.append((cp.A_bar, core.octets_to_pubkey(be, d.public_key), cp.B_bar, "signature_proof"))


def one_challenge(
    t: Transcript,
    be: GroupBackend,
    d: CredentialDefinition,
    first_init: core.ProofInitResult | None,
    disclosed_indexes: list[int],
    disclosed_scalars: list[int],
) -> int:
    """``c = ProofChallengeCalculate(init_1, disclosed_1, ph*)`` with ``ph* = challenge_bytes("ph", 32)``."""
    if first_init is None:  # credential 1's statement runs first in every plan
        raise ParameterError("credential 1's BBS first message was not computed")
    ph = t.challenge_bytes(k.PRES_LABEL_PH, 32)
    return core.proof_challenge_calculate(
        first_init, disclosed_indexes, disclosed_scalars, ph, suite=d.bbs_suite(), be=be, api_id=generators(be, d)[1]
    )
