"""Presentations: completeness at the boundaries, soundness against every kind of forgery,
binding to the request, and the draft's exact ProofGen for disclosure only."""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets

import pytest

from circuits.bbs import core
from circuits.credentials import CredentialQuery, Predicate, PresentationRequest
from circuits.errors import EncodingError, ZkCredError
from circuits.presentation import (
    Presentation,
    PresentationRejected,
    UnsatisfiableError,
    create_presentation,
    verify_presentation,
)
from tests.circuits.presentation_fixtures import SCHEMA, TODAY, VALUES, make_issuer, new_link_secret


@pytest.fixture(scope="module")
def world(request):
    from circuits.backend import get_backend

    be = get_backend("blst")
    issuer = make_issuer(backend=be)
    link = new_link_secret()
    cred = issuer.issue(link, VALUES, backend=be)
    return be, issuer, link, cred


def _request(*predicates, disclose=("given_name", "country"), definition_ids, today=TODAY, equalities=(), nonce=None):
    q = CredentialQuery("applicant", tuple(definition_ids), tuple(disclose), tuple(predicates))
    return PresentationRequest(nonce or secrets.token_bytes(16), "lender-a", today, (q,), equalities)


def _prove_verify(world, *predicates, **kw):
    be, issuer, link, cred = world
    d = issuer.definition
    req = _request(*predicates, definition_ids=[d.id], **kw)
    pres = create_presentation(req, [d], [cred], link, backend=be)
    return req, pres, verify_presentation(req, pres, {d.id: d}, backend=be)


@pytest.mark.parametrize(
    "predicate",
    [
        Predicate("income", ">=", 64000),  # threshold equal to the value
        Predicate("income", "<=", 64000),
        Predicate("income", ">", 63999),
        Predicate("income", "<", 64001),
        Predicate("income", "between", [64000, 64000]),
        Predicate("income", ">=", -(2**63)),  # the smallest threshold
        Predicate("income", "<=", 2**63 - 1),  # the largest
        Predicate("debt", "<", 0),
        Predicate("debt", ">=", -1200),
        Predicate("children", "<=", 0),
        Predicate("birth_date", "<=", "2008-11-23"),  # over 18
        Predicate("birth_date", ">", "1969-12-31"),  # dates before 1970
        Predicate("salary", ">=", "5333.33"),
        Predicate("salary", ">", "5333.325"),  # rounds up to 5333.33, and ≥ it holds
        Predicate("salary", "<", "5333.334"),
        Predicate("country", "in", ["DE", "FR", "NL"]),
        Predicate("country", "not_in", ["US", "GB"]),
        Predicate("country", "!=", "DE"),
        Predicate("score", "!=", 0),
        Predicate("employed", "!=", False),
    ],
    ids=lambda p: p.describe(),
)
def test_completeness_at_boundaries(world, predicate):
    _, _, verified = _prove_verify(world, predicate, disclose=("given_name",))
    assert verified.disclosed == {"applicant": {"given_name": "Ada"}}
    assert any(predicate.describe() in s for s in verified.predicates)


@pytest.mark.parametrize(
    "predicate",
    [
        Predicate("income", ">=", 64001),
        Predicate("income", ">", 64000),
        Predicate("income", "<", 64000),
        Predicate("salary", ">", "5333.33"),
        Predicate("country", "in", ["DE", "FR"]),
        Predicate("country", "not_in", ["NL"]),
        Predicate("score", "!=", 710),
        Predicate("birth_date", ">", "2008-11-23"),
    ],
    ids=lambda p: p.describe(),
)
def test_false_predicate_refused_before_cryptography(world, predicate, monkeypatch):
    be, issuer, link, cred = world
    from circuits.bbs import core

    monkeypatch.setattr(core, "proof_init", lambda *a, **k: pytest.fail("cryptography ran"))
    req = _request(predicate, definition_ids=[issuer.definition.id])
    with pytest.raises(UnsatisfiableError, match=predicate.attribute):
        create_presentation(req, [issuer.definition], [cred], link, backend=be)


def test_expired_credential_refused(world):
    be, issuer, link, cred = world
    req = _request(definition_ids=[issuer.definition.id], today=dt.date(2031, 1, 1))
    with pytest.raises(UnsatisfiableError, match="expired"):
        create_presentation(req, [issuer.definition], [cred], link, backend=be)


def test_proof_bound_to_its_request(world):
    """A proof for income ≥ 50 000 does not verify for income ≥ 80 000, nor under another nonce."""
    be, issuer, _, _ = world
    d = issuer.definition
    req, pres, _ = _prove_verify(world, Predicate("income", ">=", 50000))
    others = [
        dataclasses.replace(
            req, queries=(dataclasses.replace(req.queries[0], predicates=(Predicate("income", ">=", 80000),)),)
        ),
        dataclasses.replace(req, nonce=secrets.token_bytes(16)),
        dataclasses.replace(req, verifier_id="lender-b"),
        dataclasses.replace(req, today=TODAY + dt.timedelta(days=1)),
    ]
    for other in others:
        with pytest.raises(PresentationRejected):
            verify_presentation(other, pres, {d.id: d}, backend=be)


def test_disclosed_value_must_match_signed_scalar(world):
    be, issuer, _, _ = world
    d = issuer.definition
    req, pres, _ = _prove_verify(world, Predicate("income", ">=", 50000))
    cp = pres.credentials[0]
    forged = dataclasses.replace(
        pres, credentials=(dataclasses.replace(cp, disclosed={**cp.disclosed, "country": "DE"}),)
    )
    with pytest.raises(PresentationRejected):
        verify_presentation(req, forged, {d.id: d}, backend=be)


def test_range_proof_on_a_different_value_fails(world, monkeypatch):
    """anoncreds-v2-rs#42: a range proof about another value than the signed one must not verify.

    The forger's BBS proof is honest (income = 64 000, as signed), but its commitment and
    range proof are about income = 100 000 ≥ 80 000. Each part is valid on its own; the
    shared blinding ties the commitment to the signed message, so the whole is rejected.
    """
    be, issuer, link, cred = world
    d = issuer.definition
    from circuits.bbs import core

    real, fake = d.schema.encode_values(cred.values)[1], d.schema.encode_values({**cred.values, "income": 100000})[1]
    index = d.schema.index("income")
    real_init, real_finalize = core.proof_init, core.proof_finalize

    def honest_init(pk, sig, gens, rs, header, messages, hidden, **kw):
        messages = list(messages)
        messages[index] = real
        return real_init(pk, sig, gens, rs, header, messages, hidden, **kw)

    def honest_finalize(init, c, e, rs, undisclosed):
        return real_finalize(init, c, e, rs, [real if m == fake else m for m in undisclosed])

    monkeypatch.setattr(core, "proof_init", honest_init)
    monkeypatch.setattr(core, "proof_finalize", honest_finalize)
    lying = dataclasses.replace(cred, values={**cred.values, "income": 100000})
    req = _request(Predicate("income", ">=", 80000), definition_ids=[d.id])
    forged = create_presentation(req, [d], [lying], link, backend=be)
    monkeypatch.undo()
    # The batched opening's T (recomputed with the signed m̂) differs from the forger's, and it is
    # absorbed before the range proof: the range proof's own challenges already differ.
    with pytest.raises(PresentationRejected, match="challenge|range_proof"):
        verify_presentation(req, forged, {d.id: d}, backend=be)


def test_every_field_altered_is_rejected(world):
    be, issuer, _, _ = world
    d = issuer.definition
    req, pres, _ = _prove_verify(
        world,
        Predicate("income", ">=", 50000),
        Predicate("country", "in", ["DE", "NL"]),
        Predicate("score", "!=", 3),
        disclose=("given_name",),
    )
    defs = {d.id: d}
    cp = pres.credentials[0]
    g = be.g1_generator()
    variants = {
        "A_bar": dataclasses.replace(cp, A_bar=be.g1_add(cp.A_bar, g)),
        "B_bar": dataclasses.replace(cp, B_bar=be.g1_add(cp.B_bar, g)),
        "D": dataclasses.replace(cp, D=be.g1_add(cp.D, g)),
        "e_hat": dataclasses.replace(cp, e_hat=cp.e_hat + 1),
        "r1_hat": dataclasses.replace(cp, r1_hat=cp.r1_hat + 1),
        "r3_hat": dataclasses.replace(cp, r3_hat=cp.r3_hat + 1),
    }
    for j in range(len(cp.m_hat)):
        m = list(cp.m_hat)
        m[j] += 1
        variants[f"m_hat[{j}]"] = dataclasses.replace(cp, m_hat=tuple(m))
    presentations = {name: dataclasses.replace(pres, credentials=(v,)) for name, v in variants.items()}
    for i in range(len(pres.commitments)):
        cs = list(pres.commitments)
        cs[i] = be.g1_add(cs[i], g)
        presentations[f"commitment[{i}]"] = dataclasses.replace(pres, commitments=tuple(cs))
    assert len(pres.openings) == 1  # one batched opening proof for all commitments
    presentations["opening"] = dataclasses.replace(pres, openings=(pres.openings[0] + 1,))
    presentations["opening missing"] = dataclasses.replace(pres, openings=())
    presentations["opening per commitment"] = dataclasses.replace(pres, openings=pres.openings * len(pres.commitments))
    ne = pres.not_equal[0]
    presentations["not_equal.u"] = dataclasses.replace(pres, not_equal=(dataclasses.replace(ne, u_hat=ne.u_hat + 1),))
    presentations["not_equal.w"] = dataclasses.replace(pres, not_equal=(dataclasses.replace(ne, w_hat=ne.w_hat + 1),))
    sp = pres.sets[0]
    presentations["set.c"] = dataclasses.replace(
        pres, sets=(dataclasses.replace(sp, challenges=(sp.challenges[0] + 1,)),)
    )
    presentations["set.z"] = dataclasses.replace(
        pres, sets=(dataclasses.replace(sp, responses=(sp.responses[0] + 1, *sp.responses[1:])),)
    )
    presentations["challenge"] = dataclasses.replace(pres, challenge=pres.challenge + 1)
    presentations["range_proof"] = dataclasses.replace(
        pres, range_proof=pres.range_proof[:100] + bytes([pres.range_proof[100] ^ 1]) + pres.range_proof[101:]
    )
    presentations["statement removed"] = dataclasses.replace(pres, not_equal=())
    presentations["statement duplicated"] = dataclasses.replace(pres, not_equal=pres.not_equal * 2)
    presentations["commitments reordered"] = dataclasses.replace(pres, commitments=pres.commitments[::-1])
    for name, forged in presentations.items():
        with pytest.raises(ZkCredError):
            verify_presentation(req, forged, defs, backend=be)
            pytest.fail(f"{name} accepted")


def test_every_byte_of_the_encoding_matters(world):
    be, issuer, _, _ = world
    d = issuer.definition
    req, pres, _ = _prove_verify(world, Predicate("income", ">=", 50000))
    data = pres.to_bytes(be)
    assert Presentation.from_bytes(data, be).to_bytes(be) == data
    for i in range(0, len(data), 7):  # every 7th byte keeps this test fast; the field test covers every element
        tampered = data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]
        with pytest.raises(ZkCredError):
            verify_presentation(req, Presentation.from_bytes(tampered, be), {d.id: d}, backend=be)
    with pytest.raises(EncodingError):
        Presentation.from_bytes(data + b"\x00", be)


def test_json_round_trip(world):
    be, issuer, _, _ = world
    req, pres, _ = _prove_verify(world, Predicate("country", "in", ["NL", "BE"]))
    again = Presentation.from_json(pres.to_json(be), be)
    assert again.to_bytes(be) == pres.to_bytes(be)
    assert PresentationRequest.from_json(req.to_json()) == req


def test_two_credentials_same_link_secret_and_equality(world):
    be, issuer, link, cred = world
    other_issuer = make_issuer(issuer_id="issuer-2", backend=be)
    cred2 = other_issuer.issue(link, {**VALUES, "income": 30000}, backend=be)
    d1, d2 = issuer.definition, other_issuer.definition
    q1 = CredentialQuery("a", (d1.id,), (), (Predicate("income", ">=", 50000),))
    q2 = CredentialQuery("b", (d2.id,), (), (Predicate("income", "<=", 40000),))
    req = PresentationRequest(secrets.token_bytes(16), "lender-a", TODAY, (q1, q2), (("a.birth_date", "b.birth_date"),))
    pres = create_presentation(req, [d1, d2], [cred, cred2], link, backend=be)
    v = verify_presentation(req, pres, {d1.id: d1, d2.id: d2}, backend=be)
    assert "same link secret in every credential" in v.predicates
    # Another holder's credential (another link secret) cannot be combined with this one:
    # the BBS proof over it, made with this wallet's link secret, does not verify.
    stranger = other_issuer.issue(new_link_secret(), {**VALUES, "income": 30000}, backend=be)
    forged = create_presentation(req, [d1, d2], [cred, stranger], link, backend=be)
    with pytest.raises(PresentationRejected):
        verify_presentation(req, forged, {d1.id: d1, d2.id: d2}, backend=be)
    # Different birth dates make the requested equality unprovable.
    cred3 = other_issuer.issue(link, {**VALUES, "income": 30000, "birth_date": "1991-01-01"}, backend=be)
    with pytest.raises(UnsatisfiableError):
        create_presentation(req, [d1, d2], [cred, cred3], link, backend=be)
    # Swapping in the responses of another presentation breaks the proof.
    pres2 = create_presentation(req, [d1, d2], [cred, cred2], link, backend=be)
    mixed = dataclasses.replace(pres, credentials=(pres.credentials[0], pres2.credentials[1]))
    with pytest.raises(PresentationRejected):
        verify_presentation(req, mixed, {d1.id: d1, d2.id: d2}, backend=be)


def test_definition_not_accepted(world):
    be, issuer, link, cred = world
    req = _request(definition_ids=["creddef:other"])
    with pytest.raises(PresentationRejected, match="definition_not_accepted"):
        create_presentation(req, [issuer.definition], [cred], link, backend=be)


def test_single_credential_disclosure_is_the_drafts_proof_gen(world):
    """The composition's BBS steps (init → challenge with ph → finalize) give the draft's
    exact ProofGen bytes: the fixture path, driven through core with our credential."""
    from circuits import bbs
    from circuits import constants as k
    from tests.vectors import h, load_json

    case = load_json("bbs", "bls12-381-sha-256", "proof", "proof003.json")
    be = world[0]
    suite = bbs.SHA256
    msgs = bbs.messages_to_scalars([h(m) for m in case["messages"]], suite=suite)
    idx = case["disclosedIndexes"]
    hidden = [i for i in range(len(msgs)) if i not in idx]
    seed = h("332e313431353932363533353839373933323338343632363433333833323739")
    rs = core.seeded_random_scalars(seed, suite.api_id + k.BBS_MOCK_RANDOM_SCALARS_DST, 5 + len(hidden), suite=suite)
    pk, sig = h(case["signerPublicKey"]), core.Signature.from_bytes(be, h(case["signature"]))
    gens = suite.create_generators(be, len(msgs) + 1)
    init = core.proof_init(pk, sig, gens, rs, h(case["header"]), msgs, hidden, suite=suite, be=be)
    c = core.proof_challenge_calculate(
        init, idx, [msgs[i] for i in idx], h(case["presentationHeader"]), suite=suite, be=be
    )
    proof = core.proof_finalize(init, c, sig.e, rs, [msgs[i] for i in hidden])
    assert proof.to_bytes(be).hex() == case["proof"]


def test_py_ecc_named_subset():
    """py_ecc runs one small presentation end to end (income ≥ threshold), nothing heavier."""
    from circuits.backend import get_backend

    be = get_backend("py_ecc")
    issuer = make_issuer(backend=be)
    link = new_link_secret()
    cred = issuer.issue(link, VALUES, backend=be)
    d = issuer.definition
    req = _request(Predicate("income", ">=", 50000), definition_ids=[d.id])
    pres = create_presentation(req, [d], [cred], link, backend=be)
    assert verify_presentation(req, pres, {d.id: d}, backend=be).disclosed["applicant"]["country"] == "NL"
    assert SCHEMA.id == SCHEMA.id


def test_pairing_checks_are_batched_soundly():
    """All of a presentation's pairing checks run as one product with random weights: it holds
    iff each holds — two failures that would cancel in an unweighted product do not."""
    from circuits.backend import get_backend
    from circuits.presentation import _pairing_checks_hold

    be = get_backend("blst")
    P1, P2 = be.g1_generator(), be.g2_generator()

    def check(a, b, shift=0):  # e(a·P1, b·P2)·e((ab + shift)·P1, −P2) = 1 iff shift = 0
        return be.g1_mul(P1, a), be.g2_mul(P2, b), be.g1_mul(P1, a * b + shift)

    good = [check(3, 5), check(7, 11), check(13, 17)]
    assert _pairing_checks_hold(be, good) and _pairing_checks_hold(be, good[:1])
    assert not _pairing_checks_hold(be, [check(3, 5, 1)])
    for i in range(3):
        bad = list(good)
        bad[i] = check(*[(3, 5), (7, 11), (13, 17)][i], 1)
        assert not _pairing_checks_hold(be, bad)
    cancelling = [check(3, 5, 1), check(7, 11, -1), check(13, 17)]
    assert not _pairing_checks_hold(be, cancelling)
    X, Y, Z = zip(*cancelling[:2], strict=True)
    assert be.pairing_check([(X[0], Y[0]), (X[1], Y[1]), (be.g1_add(Z[0], Z[1]), be.g2_neg(P2))])  # unweighted: fooled


@pytest.mark.parametrize(
    "equalities",
    [
        (("a.birth_date", "b.birth_date"), ("b.birth_date", "c.birth_date")),
        (("b.birth_date", "c.birth_date"), ("a.birth_date", "b.birth_date")),  # the chain listed backwards
        (("c.income", "a.income"), ("a.birth_date", "b.birth_date"), ("c.birth_date", "b.birth_date")),
    ],
)
def test_equalities_that_chain_across_three_credentials(world, equalities):
    """Overlapping equality groups share one blinding whatever their order; tampering any response fails."""
    be, issuer, link, cred = world
    issuers = [issuer, make_issuer(issuer_id="issuer-2", backend=be), make_issuer(issuer_id="issuer-3", backend=be)]
    creds = [cred] + [i.issue(link, VALUES, backend=be) for i in issuers[1:]]
    queries = tuple(CredentialQuery(qid, (i.definition.id,)) for qid, i in zip("abc", issuers, strict=True))
    req = PresentationRequest(secrets.token_bytes(16), "lender-a", TODAY, queries, equalities)
    defs = [i.definition for i in issuers]
    by_id = {d.id: d for d in defs}
    pres = create_presentation(req, defs, creds, link, backend=be)
    v = verify_presentation(req, pres, by_id, backend=be)
    assert all(f"{a} = {b}" in v.predicates for a, b in equalities)
    for ci, cp in enumerate(pres.credentials):  # any one response changed breaks the proof
        bumped = dataclasses.replace(cp, m_hat=(cp.m_hat[0] + 1, *cp.m_hat[1:]))
        creds_t = tuple(bumped if j == ci else c for j, c in enumerate(pres.credentials))
        with pytest.raises(PresentationRejected):
            verify_presentation(req, dataclasses.replace(pres, credentials=creds_t), by_id, backend=be)
    # the third credential's birth date differs: the chain cannot be proven, whatever the order
    odd = issuers[2].issue(link, {**VALUES, "birth_date": "1991-01-01"}, backend=be)
    with pytest.raises(UnsatisfiableError):
        create_presentation(req, defs, [*creds[:2], odd], link, backend=be)


def test_a_range_proof_with_an_altered_scalar_is_named_as_such(world):
    """A range proof whose last scalar was altered (its points still decode, its MSM runs in
    parts on the worker pool) is rejected as ``range_proof``, not as a challenge mismatch."""
    be, issuer, _, _ = world
    d = issuer.definition
    req, pres, _ = _prove_verify(world, Predicate("income", ">=", 50000))
    rp = pres.range_proof
    altered = rp[:-1] + bytes([rp[-1] ^ 1])  # the last scalar (δ'), still < r
    with pytest.raises(PresentationRejected) as caught:
        verify_presentation(req, dataclasses.replace(pres, range_proof=altered), {d.id: d}, backend=be)
    assert caught.value.code == "range_proof"


def test_verifications_on_many_threads_at_once_each_get_their_own_answer(world):
    """Concurrent verifications share the backend's worker pool for their MSMs' parts: every
    valid presentation is accepted and every altered one rejected, none waits forever."""
    from concurrent.futures import ThreadPoolExecutor

    be, issuer, _, _ = world
    d = issuer.definition
    req, pres, _ = _prove_verify(world, Predicate("income", ">=", 50000), Predicate("score", ">=", 600))
    rp = pres.range_proof
    bad = dataclasses.replace(pres, range_proof=rp[:-1] + bytes([rp[-1] ^ 1]))

    def verdict(p) -> bool:
        try:
            verify_presentation(req, p, {d.id: d}, backend=be)
        except PresentationRejected:
            return False
        return True

    jobs = [pres, bad] * 8
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(verdict, jobs, timeout=120)) == [True, False] * 8
