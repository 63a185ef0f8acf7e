"""Per-context pseudonyms inside presentations (circuits.bbs.pseudonym, Part 2).

The nym secret is the holder's link secret, its blinding shared with the BBS proof:
same holder + context → same pseudonym (across presentations, credentials, issuers and
re-issues); another context → an unrelated point; a pseudonym for context A never
passes in a request for context B; every tampering is rejected; and the statement
composes with predicates and non-revocation under the one challenge. blst only: the
draft fixtures run on py_ecc in test_bbs_pseudonym_vectors.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets

import pytest

from circuits import accumulator as acc
from circuits import bbs
from circuits.backend import get_backend
from circuits.bbs import pseudonym as nym
from circuits.codec import b64d, b64e
from circuits.constants import R
from circuits.credentials import (
    CredentialDefinition,
    CredentialQuery,
    Predicate,
    PresentationRequest,
    RevocationRegistry,
)
from circuits.errors import ZkCredError
from circuits.issuance import create_credential, create_credential_request, process_credential
from circuits.presentation import (
    Presentation,
    PresentationRejected,
    RevocationWitness,
    create_presentation,
    verify_presentation,
)
from circuits.transcript import Transcript
from tests.circuits.presentation_fixtures import EXPIRY, SCHEMA, TODAY, VALUES, make_issuer, new_link_secret

CTX_A, CTX_B = "lender-a", "lender-b"


@pytest.fixture(scope="module")
def world():
    be = get_backend("blst")
    issuer1, issuer2 = make_issuer(backend=be), make_issuer(issuer_id="issuer-2", backend=be)
    alice, bob = new_link_secret(), new_link_secret()
    return {
        "be": be,
        "issuer1": issuer1,
        "issuer2": issuer2,
        "alice": alice,
        "bob": bob,
        "alice1": issuer1.issue(alice, VALUES, backend=be),
        "alice2": issuer2.issue(alice, VALUES, backend=be),
        "bob1": issuer1.issue(bob, VALUES, backend=be),
    }


def _request(definition, context, *, predicates=(), non_revoked=False, nonce=None, verifier="lender-a"):
    q = CredentialQuery("applicant", (definition.id,), ("given_name",), tuple(predicates), non_revoked, context)
    return PresentationRequest(nonce or secrets.token_bytes(16), verifier, TODAY, (q,))


def _present(w, cred_key, issuer_key, context, **kw):
    be, d = w["be"], w[issuer_key].definition
    link = w[cred_key.rstrip("0123456789")]
    req = _request(d, context, **kw)
    pres = create_presentation(req, [d], [w[cred_key]], link, backend=be)
    return req, pres, verify_presentation(req, pres, {d.id: d}, backend=be)


def _nym(verified) -> str:
    return verified.pseudonyms["applicant"]


def test_same_holder_same_context_same_pseudonym(world):
    be = world["be"]
    _, p1, v1 = _present(world, "alice1", "issuer1", CTX_A)
    _, p2, v2 = _present(world, "alice1", "issuer1", CTX_A)
    assert _nym(v1) == _nym(v2)
    assert p1.credentials[0].A_bar != p2.credentials[0].A_bar  # the rest stays unlinkable
    # it is link·OP(ctx), OP the zkcred context point
    expected = be.g1_mul(nym.zkcred_context_point(be, CTX_A.encode()), world["alice"])
    assert b64d(_nym(v1)) == be.g1_to_bytes(expected)
    assert f"applicant: pseudonym for context {CTX_A!r}" in v1.predicates


def test_same_pseudonym_across_credentials_and_reissue(world):
    """Another issuer's credential, or a re-issued one (new values, expiry), with the same link secret."""
    be, issuer1 = world["be"], world["issuer1"]
    _, _, v1 = _present(world, "alice1", "issuer1", CTX_A)
    _, _, v2 = _present(world, "alice2", "issuer2", CTX_A)
    assert _nym(v1) == _nym(v2)
    reissued = issuer1.issue(world["alice"], {**VALUES, "income": 70000}, expiry=dt.date(2031, 6, 1), backend=be)
    d = issuer1.definition
    req = _request(d, CTX_A)
    verified = verify_presentation(
        req, create_presentation(req, [d], [reissued], world["alice"], backend=be), {d.id: d}, backend=be
    )
    assert _nym(verified) == _nym(v1)
    # two credentials in one presentation, both asked: one pseudonym
    d1, d2 = world["issuer1"].definition, world["issuer2"].definition
    req = PresentationRequest(
        secrets.token_bytes(16),
        "lender-a",
        TODAY,
        (
            CredentialQuery("income", (d1.id,), (), (), False, CTX_A),
            CredentialQuery("identity", (d2.id,), (), (), False, CTX_A),
        ),
    )
    pres = create_presentation(req, [d1, d2], [world["alice1"], world["alice2"]], world["alice"], backend=be)
    verified = verify_presentation(req, pres, {d1.id: d1, d2.id: d2}, backend=be)
    assert verified.pseudonyms == {"income": _nym(v1), "identity": _nym(v1)}


def test_different_holders_and_contexts(world):
    be = world["be"]
    _, _, alice_a = _present(world, "alice1", "issuer1", CTX_A)
    _, _, alice_b = _present(world, "alice1", "issuer1", CTX_B)
    _, _, bob_a = _present(world, "bob1", "issuer1", CTX_A)
    _, _, bob_b = _present(world, "bob1", "issuer1", CTX_B)
    assert len({_nym(alice_a), _nym(alice_b), _nym(bob_a), _nym(bob_b)}) == 4
    # Nothing public maps context A's pseudonym to B's: the context points are independent
    # hash_to_curve outputs (one contexts' point is no known multiple of the other's), so
    # P_B = s·OP_B is DDH-hidden given P_A = s·OP_A. What *would* link them — a shared
    # additive offset — does not hold:
    pa, pb = (be.g1_from_bytes(b64d(_nym(v))) for v in (alice_a, alice_b))
    qa, qb = (be.g1_from_bytes(b64d(_nym(v))) for v in (bob_a, bob_b))
    assert not be.g1_eq(be.g1_add(pa, be.g1_neg(pb)), be.g1_add(qa, be.g1_neg(qb)))
    opa, opb = (nym.zkcred_context_point(be, c.encode()) for c in (CTX_A, CTX_B))
    assert not be.g1_eq(opa, opb) and not be.g1_eq(opa, be.g1_neg(opb))


def test_pseudonym_for_context_a_rejected_in_request_for_b(world, monkeypatch):
    be, d = world["be"], world["issuer1"].definition
    nonce = secrets.token_bytes(16)
    req_a, req_b = _request(d, CTX_A, nonce=nonce), _request(d, CTX_B, nonce=nonce)
    assert req_a.digest != req_b.digest  # the context is part of what the proof answers
    pres_a = create_presentation(req_a, [d], [world["alice1"]], world["alice"], backend=be)
    pres_b = create_presentation(req_b, [d], [world["alice1"]], world["alice"], backend=be)
    verify_presentation(req_b, pres_b, {d.id: d}, backend=be)
    # 1. A whole presentation for A, replayed to B (the first transcript-bound check fails).
    with pytest.raises(PresentationRejected):
        verify_presentation(req_b, pres_a, {d.id: d}, backend=be)
    # 2. B's presentation with A's pseudonym put in.
    swapped = dataclasses.replace(
        pres_b, credentials=(dataclasses.replace(pres_b.credentials[0], pseudonym=pres_a.credentials[0].pseudonym),)
    )
    with pytest.raises(PresentationRejected, match="challenge"):
        verify_presentation(req_b, swapped, {d.id: d}, backend=be)
    # 3. A prover that answers B's request but proves its pseudonym for context A
    #    (everything else honest, the challenge computed over what it sends).
    honest = nym.PseudonymProver

    def for_a(be_, context_id, s, s_tilde):
        return honest(be_, CTX_A.encode(), s, s_tilde)

    monkeypatch.setattr(nym, "PseudonymProver", for_a)
    forged = create_presentation(req_b, [d], [world["alice1"]], world["alice"], backend=be)
    monkeypatch.undo()
    assert be.g1_eq(forged.credentials[0].pseudonym, pres_a.credentials[0].pseudonym)
    with pytest.raises(PresentationRejected, match="challenge"):
        verify_presentation(req_b, forged, {d.id: d}, backend=be)


def test_tampered_pseudonym_or_response_rejected(world):
    be, d = world["be"], world["issuer1"].definition
    req, pres, verified = _present(world, "alice1", "issuer1", CTX_A)
    cp = pres.credentials[0]

    def with_cred(**changes):
        return dataclasses.replace(pres, credentials=(dataclasses.replace(cp, **changes),))

    G = be.g1_generator()
    _, bob_pres, _ = _present(world, "bob1", "issuer1", CTX_A)
    for bad in (
        be.g1_add(cp.pseudonym, G),
        be.g1_neg(cp.pseudonym),
        bob_pres.credentials[0].pseudonym,
        be.g1_identity(),
    ):
        with pytest.raises(PresentationRejected):
            verify_presentation(req, with_cred(pseudonym=bad), {d.id: d}, backend=be)
    # the shared response of the link secret (last hidden message)
    m_hat = list(cp.m_hat)
    m_hat[-1] = (m_hat[-1] + 1) % R
    with pytest.raises(PresentationRejected):
        verify_presentation(req, with_cred(m_hat=tuple(m_hat)), {d.id: d}, backend=be)
    # missing, or unasked
    with pytest.raises(PresentationRejected, match="structure"):
        verify_presentation(req, with_cred(pseudonym=None), {d.id: d}, backend=be)
    req0 = _request(d, None)
    pres0 = create_presentation(req0, [d], [world["alice1"]], world["alice"], backend=be)
    assert (
        pres0.credentials[0].pseudonym is None
        and verify_presentation(req0, pres0, {d.id: d}, backend=be).pseudonyms == {}
    )
    extra = dataclasses.replace(pres0, credentials=(dataclasses.replace(pres0.credentials[0], pseudonym=cp.pseudonym),))
    with pytest.raises(PresentationRejected, match="structure"):
        verify_presentation(req0, extra, {d.id: d}, backend=be)
    # encodings carry it; an identity point or a flipped pseudonym byte does not get through
    for decoded in (Presentation.from_bytes(pres.to_bytes(be), be), Presentation.from_json(pres.to_json(be), be)):
        assert verify_presentation(req, decoded, {d.id: d}, backend=be).pseudonyms == verified.pseudonyms
    j = pres.to_json(be)
    j["credentials"][0]["pseudonym"] = b64e(be.g1_to_bytes(be.g1_identity()))
    with pytest.raises(ZkCredError):
        Presentation.from_json(j, be)
    raw = bytearray(pres.to_bytes(be))
    at = bytes(raw).index(be.g1_to_bytes(cp.pseudonym))
    raw[at + 47] ^= 1
    with pytest.raises(ZkCredError):  # EncodingError on decode, or PresentationRejected
        verify_presentation(req, Presentation.from_bytes(bytes(raw), be), {d.id: d}, backend=be)


def test_composes_with_predicate_and_non_revocation():
    be = get_backend("blst")
    registry = b"registry-nym"
    secret, public = acc.setup_registry(registry, 4, backend=be)
    sk = bbs.keygen(secrets.token_bytes(32), suite=bbs.SHA256)
    d = CredentialDefinition(
        "issuer-r",
        SCHEMA,
        "rev",
        bbs.sk_to_pk(sk, suite=bbs.SHA256, backend=be),
        RevocationRegistry(registry.decode(), 4, be.g2_to_bytes(public.Q)),
    )
    link = new_link_secret()
    y = acc.handle(registry, 1)
    creq, blind_ = create_credential_request(d, link, backend=be)
    sig = create_credential(sk, d, creq, VALUES, EXPIRY, y, backend=be)
    cred = process_credential(d, sig, VALUES, EXPIRY, y, 1, link, blind_, backend=be)
    C = acc.issue_witness(secret, public.V0, y, backend=be)
    V0 = be.g1_to_bytes(public.V0)
    req = _request(d, CTX_A, predicates=(Predicate("income", ">=", 50000),), non_revoked=True)
    rw = {"applicant": RevocationWitness(0, V0, be.g1_to_bytes(C))}
    pres = create_presentation(req, [d], [cred], link, revocation=rw, backend=be)
    verified = verify_presentation(req, pres, {d.id: d}, accumulator_at=lambda *_: V0, backend=be)
    assert verified.revocation_heights == {"applicant": 0}
    assert any("income" in p for p in verified.predicates)
    expected = be.g1_mul(nym.zkcred_context_point(be, CTX_A.encode()), link)
    assert b64d(verified.pseudonyms["applicant"]) == be.g1_to_bytes(expected)
    # the pseudonym is bound to this one challenge: swap in the pseudonym of another holder → rejected
    other = be.g1_mul(nym.zkcred_context_point(be, CTX_A.encode()), new_link_secret())
    bad = dataclasses.replace(pres, credentials=(dataclasses.replace(pres.credentials[0], pseudonym=other),))
    with pytest.raises(PresentationRejected):
        verify_presentation(req, bad, {d.id: d}, accumulator_at=lambda *_: V0, backend=be)


def test_request_carries_the_context():
    d_id = "creddef:00"
    q = CredentialQuery("applicant", (d_id,), (), (), True, CTX_A)
    assert CredentialQuery.from_json(q.to_json()) == q
    plain = CredentialQuery("applicant", (d_id,))
    assert "pseudonym_context" not in plain.to_json()  # requests without one keep their bytes
    assert CredentialQuery.from_json(plain.to_json()).pseudonym_context is None
    nonce = bytes(16)
    digests = {
        PresentationRequest(nonce, "lender-a", TODAY, (x,)).digest
        for x in (q, plain, dataclasses.replace(q, pseudonym_context=CTX_B))
    }
    assert len(digests) == 3
    for bad in ("", "x" * 257):
        with pytest.raises(ZkCredError):
            CredentialQuery("applicant", (d_id,), pseudonym_context=bad)
    with pytest.raises(ZkCredError):
        CredentialQuery.from_json({**q.to_json(), "pseudonym_context": 7})


def test_statement_alone_on_a_transcript():
    """PseudonymProver / pseudonym_commitment as a standalone Schnorr proof (the statements' conventions)."""
    be = get_backend("blst")
    s, s_tilde, ctx = new_link_secret(), new_link_secret(), b"campaign-2026"
    prover = nym.PseudonymProver(be, ctx, s, s_tilde)
    assert "secret" in repr(prover) and str(s) not in repr(prover)
    t = Transcript(b"test")
    prover.append_to(t, be)
    c = t.challenge_scalar(b"c")
    proof = prover.respond(c)
    T = nym.pseudonym_commitment(be, ctx, proof.pseudonym, proof.s_hat, c)
    t2 = Transcript(b"test")
    nym.append_pseudonym(t2, be, ctx, proof.pseudonym, T)
    assert t2.challenge_scalar(b"c") == c
    t3 = Transcript(b"test")
    nym.append_pseudonym(
        t3, be, b"other", proof.pseudonym, nym.pseudonym_commitment(be, b"other", proof.pseudonym, proof.s_hat, c)
    )
    assert t3.challenge_scalar(b"c") != c
