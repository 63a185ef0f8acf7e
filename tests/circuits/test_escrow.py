"""Escrow (issue 16 item 2): ElGamal of a signed hidden attribute to an auditor, proven in the presentation.

Completeness (the auditor recovers the value: by search for a bounded escrow id, by the
issuer's records for any attribute); soundness: a ciphertext of another value, one bound
to another request or label, one moved from another presentation, tampering with every
new field — all refused; both backends (py_ecc on completeness and one tamper).
"""

from __future__ import annotations

import copy
import dataclasses
import secrets

import pytest

from circuits import escrow
from circuits.attributes import AttributeType
from circuits.backend import get_backend
from circuits.codec import b64d, b64e
from circuits.credentials import (
    AttributeSpec,
    CredentialQuery,
    EscrowClause,
    Predicate,
    PresentationRequest,
    Schema,
)
from circuits.errors import ParameterError, ZkCredError
from circuits.presentation import Presentation, PresentationRejected, create_presentation, verify_presentation
from circuits.statements import compile_plan
from circuits.statements import escrow as escrow_statement
from tests.circuits.presentation_fixtures import TODAY, make_issuer, new_link_secret

SCHEMA = Schema(
    "customer",
    "1.0",
    tuple(
        AttributeSpec(n, AttributeType.parse(t))
        for n, t in [("name", "string"), ("escrow_id", "int(0..4294967295)"), ("income", "int")]
    ),
)
VALUES = {"name": "Ada Lovelace", "escrow_id": 3_141_592_653, "income": 64000}


@dataclasses.dataclass
class Scene:
    be: object
    link: int
    issuer: object
    cred: object
    x: int
    pk: bytes


def _scene(backend: str) -> Scene:
    be = get_backend(backend)
    link = new_link_secret()
    issuer = make_issuer(SCHEMA, backend=be)
    x = escrow.new_secret_key()
    return Scene(be, link, issuer, issuer.issue(link, VALUES, backend=be), x, escrow.public_key(be, x))


@pytest.fixture(scope="module")
def scene() -> Scene:
    return _scene("blst")


def _request(s: Scene, attribute="escrow_id", label="loan-42", request_id="req-1", **query) -> PresentationRequest:
    clause = EscrowClause("audit-co", s.pk, attribute, label, request_id)
    q = CredentialQuery("credential", (s.issuer.definition.id,), escrow=clause, **query)
    return PresentationRequest(b"n" * 16, "lender", TODAY, (q,))


def _prove(s: Scene, request: PresentationRequest) -> Presentation:
    return create_presentation(request, [s.issuer.definition], [s.cred], s.link, backend=s.be)


def _verify(s: Scene, request: PresentationRequest, pres) -> object:
    if isinstance(pres, dict):
        pres = Presentation.from_json(pres, s.be)
    return verify_presentation(request, pres, {s.issuer.definition.id: s.issuer.definition}, backend=s.be)


@pytest.fixture(scope="module")
def answered(scene):
    request = _request(scene, disclose=("name",), predicates=(Predicate("income", ">=", 50000),))
    return request, _prove(scene, request)


# completeness -------------------------------------------------------------------------------------


def test_the_auditor_recovers_the_escrow_id_and_the_verifier_keeps_the_ciphertext(scene, answered):
    request, pres = answered
    out = _verify(scene, request, pres)
    escrowed = out.escrows["credential"]
    assert (escrowed.auditor, escrowed.attribute, escrowed.label, escrowed.request_id) == (
        "audit-co",
        "escrow_id",
        "loan-42",
        "req-1",
    )
    assert "credential: escrow_id escrowed with audit-co for loan-42" in out.predicates
    assert out.disclosed == {"credential": {"name": "Ada Lovelace"}}  # the escrow id stays hidden
    ct = escrow.Ciphertext.from_bytes(scene.be, escrowed.ciphertext)
    M = escrow.decrypt(scene.be, scene.x, ct)
    assert escrow.recover(scene.be, M, SCHEMA.attribute("escrow_id").type) == VALUES["escrow_id"]
    # another auditor's key opens nothing
    assert (
        escrow.recover(scene.be, escrow.decrypt(scene.be, scene.x + 1, ct), SCHEMA.attribute("escrow_id").type) is None
    )


def test_any_attribute_is_recovered_against_the_issuers_records(scene):
    request = _request(scene, attribute="name")
    out = _verify(scene, request, _prove(scene, request))
    ct = escrow.Ciphertext.from_bytes(scene.be, out.escrows["credential"].ciphertext)
    M = escrow.decrypt(scene.be, scene.x, ct)
    string = AttributeType.parse("string")
    assert escrow.recover(scene.be, M, string, ["Charles Babbage", "Ada Lovelace"]) == "Ada Lovelace"
    assert escrow.recover(scene.be, M, string, ["Charles Babbage"]) is None
    assert escrow.recover(scene.be, M, AttributeType.parse("int")) is None  # 2^64 values: not searched


@pytest.mark.parametrize("value", [0, 1, 999, 1000])
def test_search_finds_every_value_of_a_bounded_type(value):
    be = get_backend()
    t = AttributeType.parse("int(0..1000)")
    ct = escrow.encrypt(be, be.g1_mul(be.g1_generator(), 7), t.encode(value), 3)
    assert escrow.recover(be, escrow.decrypt(be, 7, ct), t) == value
    outside = escrow.encrypt(be, be.g1_mul(be.g1_generator(), 7), t.encode(value) + 1001, 3)
    assert escrow.recover(be, escrow.decrypt(be, 7, outside), t) is None


def test_escrow_costs_at_most_about_two_hundred_bytes(scene, answered):
    request, pres = answered
    plain_request = dataclasses.replace(request, queries=(dataclasses.replace(request.queries[0], escrow=None),))
    plain = _prove(scene, plain_request)
    added = len(pres.to_bytes(scene.be)) - len(plain.to_bytes(scene.be))
    assert 0 < added <= 200, added


def test_an_escrow_clause_is_checked():
    pk = escrow.public_key(get_backend(), 5)
    with pytest.raises(ParameterError):
        EscrowClause("audit-co", pk[:47], "escrow_id", "loan", "req")
    with pytest.raises(ParameterError):
        EscrowClause("audit-co", pk, "escrow_id", "", "req")
    with pytest.raises(ParameterError, match="hidden"):
        CredentialQuery("q", ("d",), ("escrow_id",), escrow=EscrowClause("a", pk, "escrow_id", "l", "r"))
    clause = EscrowClause("audit-co", pk, "escrow_id", "loan", "req")
    assert EscrowClause.from_json(clause.to_json()) == clause
    query = CredentialQuery("q", ("d",), escrow=clause)
    assert CredentialQuery.from_json(query.to_json()) == query
    assert "escrow" not in CredentialQuery("q", ("d",)).to_json()  # old requests keep their bytes


def test_an_unknown_attribute_is_refused_by_the_plan(scene):
    with pytest.raises(ZkCredError):
        compile_plan(_request(scene, attribute="no_such"), [scene.issuer.definition])


# soundness ------------------------------------------------------------------------------------------


def test_a_ciphertext_of_another_value_is_refused(scene, monkeypatch):
    request = _request(scene)
    real = escrow.encrypt
    monkeypatch.setattr(escrow_statement.escrow, "encrypt", lambda be, pk, m, r: real(be, pk, m + 1, r))
    cheat = _prove(scene, request)
    monkeypatch.undo()
    with pytest.raises(PresentationRejected, match="challenge"):
        _verify(scene, request, cheat)


def test_a_ciphertext_moved_from_another_presentation_is_refused(scene, answered):
    request, pres = answered
    other = _prove(scene, request)  # same request, fresh r: another valid ciphertext
    mixed = pres.to_json(scene.be)
    mixed["credentials"][0]["escrow"] = other.to_json(scene.be)["credentials"][0]["escrow"]
    with pytest.raises(PresentationRejected):
        _verify(scene, request, mixed)


@pytest.mark.parametrize(
    "change", [{"label": "loan-43"}, {"request_id": "req-2"}, {"attribute": "income"}, {"auditor": "other"}]
)
def test_a_ciphertext_bound_to_another_request_or_label_is_refused(scene, answered, change):
    request, pres = answered
    q = request.queries[0]
    other = dataclasses.replace(
        request, queries=(dataclasses.replace(q, escrow=dataclasses.replace(q.escrow, **change)),)
    )
    with pytest.raises(PresentationRejected):
        _verify(scene, other, pres)


def test_another_auditor_key_is_refused(scene, answered):
    request, pres = answered
    q = request.queries[0]
    key = escrow.public_key(scene.be, scene.x + 1)
    other = dataclasses.replace(
        request, queries=(dataclasses.replace(q, escrow=dataclasses.replace(q.escrow, auditor_key=key)),)
    )
    with pytest.raises(PresentationRejected):
        _verify(scene, other, pres)


def test_tampering_with_every_byte_of_the_escrow_is_refused(scene, answered):
    request, pres = answered
    good = pres.to_json(scene.be)
    raw = b64d(good["credentials"][0]["escrow"])
    assert len(raw) == 128  # C1, C2, r̂
    count = 0
    for pos in range(len(raw)):
        flipped = bytearray(raw)
        flipped[pos] ^= 0x01 << (pos % 8)
        variant = copy.deepcopy(good)
        variant["credentials"][0]["escrow"] = b64e(bytes(flipped))
        with pytest.raises(ZkCredError):
            _verify(scene, request, variant)
        count += 1
    assert count == 128
    # every field replaced by a valid value of its kind
    cp = pres.credentials[0]
    G = scene.be.g1_generator()
    for field, value in [("escrow_c1", G), ("escrow_c2", G), ("escrow_r_hat", (cp.escrow_r_hat + 1))]:
        tampered = dataclasses.replace(pres, credentials=(dataclasses.replace(cp, **{field: value}),))
        with pytest.raises(PresentationRejected):
            _verify(scene, request, tampered)


def test_a_missing_or_unexpected_escrow_is_refused(scene, answered):
    request, pres = answered
    stripped = pres.to_json(scene.be)
    del stripped["credentials"][0]["escrow"]
    with pytest.raises(PresentationRejected, match="structure"):
        _verify(scene, request, stripped)
    q = request.queries[0]
    plain = dataclasses.replace(request, queries=(dataclasses.replace(q, escrow=None),))
    with pytest.raises(PresentationRejected):
        _verify(scene, plain, pres)


def test_the_binary_form_carries_the_escrow(scene, answered):
    request, pres = answered
    again = Presentation.from_bytes(pres.to_bytes(scene.be), scene.be)
    _verify(scene, request, again)


# py_ecc (the slow backend): a named subset --------------------------------------------------------


def test_py_ecc_completeness_and_a_tamper():
    s = _scene("py_ecc")
    request = PresentationRequest(
        secrets.token_bytes(16),
        "lender",
        TODAY,
        (
            CredentialQuery(
                "credential",
                (s.issuer.definition.id,),
                ("name", "income"),
                non_revoked=False,
                escrow=EscrowClause("audit-co", s.pk, "escrow_id", "loan-1", "req-1"),
            ),
        ),
    )
    pres = _prove(s, request)
    out = _verify(s, request, pres)
    ct = escrow.Ciphertext.from_bytes(s.be, out.escrows["credential"].ciphertext)
    escrow_id = SCHEMA.attribute("escrow_id").type
    assert escrow.recover(s.be, escrow.decrypt(s.be, s.x, ct), escrow_id, [7, 3_141_592_653]) == 3_141_592_653
    cp = pres.credentials[0]
    tampered = dataclasses.replace(pres, credentials=(dataclasses.replace(cp, escrow_r_hat=cp.escrow_r_hat + 1),))
    with pytest.raises(PresentationRejected):
        _verify(s, request, tampered)


def test_escrow_adds_at_most_ten_multiplications_each_side(scene, answered):
    """Counted (not timed): every scalar multiplication and MSM term by neither 0 nor 1."""
    from tests.circuits.test_sigma_protocols import _CountingMultiplications

    request, pres = answered
    plain_request = dataclasses.replace(request, queries=(dataclasses.replace(request.queries[0], escrow=None),))
    counts = {}
    for name, req in (("plain", plain_request), ("escrow", request)):
        be = _CountingMultiplications(scene.be)
        made = create_presentation(req, [scene.issuer.definition], [scene.cred], scene.link, backend=be)
        counts[f"{name}.prove"] = be.counts["g1_mul"]
        be.counts.clear()
        verify_presentation(req, made, {scene.issuer.definition.id: scene.issuer.definition}, backend=be)
        counts[f"{name}.verify"] = be.counts["g1_mul"]
    added_prove = counts["escrow.prove"] - counts["plain.prove"]
    added_verify = counts["escrow.verify"] - counts["plain.verify"]
    assert 0 < added_prove <= 10 and 0 < added_verify <= 10, counts


def test_prover_and_verifier_absorb_the_same_escrow_labels_last(scene, monkeypatch):
    from circuits import constants as k
    from tests.circuits.test_statements import _recording

    request = _request(scene, pseudonym_context="ctx")
    prover = _recording(monkeypatch)
    pres = _prove(scene, request)
    monkeypatch.undo()
    verifier = _recording(monkeypatch)
    _verify(scene, request, pres)
    monkeypatch.undo()
    assert prover == verifier
    escrow_labels = [
        k.ESCROW_LABEL_AUDITOR,
        k.ESCROW_LABEL_KEY,
        k.ESCROW_LABEL_REQUEST_ID,
        k.ESCROW_LABEL_LABEL,
        k.ESCROW_LABEL_C1,
        k.ESCROW_LABEL_C2,
        k.ESCROW_LABEL_T1,
        k.ESCROW_LABEL_T2,
    ]
    start = prover.index(k.ESCROW_LABEL_AUDITOR)
    assert prover[start - 1].startswith(b"dom-sep:" + k.DOMSEP_ESCROW)
    assert prover[start : start + 8] == escrow_labels
    assert prover.index(k.NYM_LABEL_T) < start  # after the pseudonym (plan step 9)
