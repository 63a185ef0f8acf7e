r"""Statement: ``(C1, C2)`` encrypts the signed hidden message ``m`` to the auditor's key ``PK``.

The linear relation (ElGamal in G1, :mod:`circuits.escrow`)::

    PK{ (m, r) :  C1 = r·G  ∧  C2 = m·H_e + r·PK }

where ``m`` is a hidden message of credential ``ci``: its blinding is the BBS proof's
``m̃`` and its response the BBS ``m̂`` (not sent), so the ciphertext encrypts the message
the issuer signed (witness equality, same challenge). Only ``r̂`` is sent.

The statement's context — the auditor's id and key, the verifier's request id and the
lender's label — is absorbed before the ciphertext, and comes from the verifier's own
request (the request digest binds it too): a ciphertext answered for one request or label
does not verify for another. Special soundness: two accepting transcripts give ``m`` and
``r`` with ``C1 = r·G`` and ``C2 = m·H_e + r·PK``, so ``C2 − x·C1 = m·H_e`` for the signed
``m``. Zero knowledge: ``(C1, C2)`` is an ElGamal ciphertext under DDH in G1, and the
Sigma protocol is honest-verifier ZK (circuits/notes/escrow.md).

Transcript (this statement's only writer)::

    dom-sep(DOMSEP_ESCROW) · escrow-auditor · escrow-auditor-key · escrow-request-id
    · escrow-label · escrow-C1 · escrow-C2 · escrow-T1 · escrow-T2

Wire: ``CredentialProof.escrow = C1 ‖ C2 ‖ r̂`` (48 + 48 + 32 bytes).
Cost: prover 2 multiplications and 2 two-term MSMs (+1 to decode ``PK``); verifier one
two-term and one three-term MSM.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from circuits import constants as k
from circuits import escrow
from circuits.backend import GroupBackend
from circuits.credentials import EscrowClause
from circuits.errors import ParameterError
from circuits.rng import random_scalars
from circuits.statements import linear
from circuits.statements.base import ProverState, Responses, Statement, VerifierState, reject_on
from circuits.statements.linear import LinearRelation
from circuits.transcript import Transcript


def relation(be: GroupBackend, pk: Any, C1: Any, C2: Any) -> LinearRelation:
    """``C1 = r·G``, ``C2 = m·H_e + r·PK`` (witnesses ``m`` = 0, ``r`` = 1)."""
    G, He = be.g1_generator(), escrow.escrow_base(be)
    return LinearRelation(be, [([(C1, 1)], [(G, 1)]), ([(C2, 1)], [(He, 0), (pk, 1)])], 2)


class Escrow(Statement):
    """Credential ``ci``'s hidden message ``index`` escrowed under ``clause``."""

    tag = k.DOMSEP_ESCROW

    def __init__(self, ci: int, index: int, clause: EscrowClause) -> None:
        self.ci, self.index, self.clause = ci, index, clause

    def absorb(self, t: Transcript, be: GroupBackend, C1: Any, C2: Any, T: list[Any]) -> None:
        clause = self.clause
        t.domain_sep(self.tag)
        t.append(k.ESCROW_LABEL_AUDITOR, clause.auditor.encode())
        t.append(k.ESCROW_LABEL_KEY, clause.auditor_key)
        t.append(k.ESCROW_LABEL_REQUEST_ID, clause.request_id.encode())
        t.append(k.ESCROW_LABEL_LABEL, clause.label.encode())
        t.append_point(k.ESCROW_LABEL_C1, C1, be)
        t.append_point(k.ESCROW_LABEL_C2, C2, be)
        t.append_point(k.ESCROW_LABEL_T1, T[0], be, allow_identity=True)
        t.append_point(k.ESCROW_LABEL_T2, T[1], be, allow_identity=True)

    def prove(self, p: ProverState, t: Transcript) -> Callable[[int, Responses], None]:
        be, ci = p.be, self.ci
        pk = escrow.parse_public_key(be, self.clause.auditor_key)
        m = p.msgs[ci][self.index]
        r, r_tilde = random_scalars(2, p.rng)
        ct = escrow.encrypt(be, pk, m, r)
        T = relation(be, pk, ct.c1, ct.c2).commit([p.tilde[ci][self.index], r_tilde])
        self.absorb(t, be, ct.c1, ct.c2, T)

        def respond(c: int, out: Responses) -> None:
            (r_hat,) = linear.respond([r_tilde], [r], c)
            out.credentials[ci].update(escrow_c1=ct.c1, escrow_c2=ct.c2, escrow_r_hat=r_hat)

        return respond

    def replay(self, v: VerifierState, t: Transcript) -> None:
        be, ci = v.be, self.ci
        cp = v.presentation.credentials[ci]
        m_hat = v.m_hat(ci, self.index)

        def step() -> None:
            if cp.escrow_r_hat is None:  # pragma: no cover - the structure check refuses it first
                raise ParameterError("escrow missing")
            pk = escrow.parse_public_key(be, self.clause.auditor_key)
            rel = relation(be, pk, cp.escrow_c1, cp.escrow_c2)
            self.absorb(t, be, cp.escrow_c1, cp.escrow_c2, rel.recompute([m_hat, cp.escrow_r_hat], v.c))

        reject_on("escrow", step)
        clause = self.clause
        ciphertext = escrow.Ciphertext(cp.escrow_c1, cp.escrow_c2).to_bytes(be)
        attr_type = str(v.plan.definitions[ci].schema.attribute(clause.attribute).type)
        v.escrows[v.query_ids[ci]] = escrow.Escrowed(
            clause.auditor, clause.attribute, attr_type, clause.label, clause.request_id, ciphertext
        )
