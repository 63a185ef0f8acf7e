"""The HTTP service: reads, proofs, the client-side verifier, and RFC 9457 refusals (never a 500)."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import merkle
from ledger.api import create_app
from ledger.audit import audit_remote
from ledger.checkpoint import Checkpoint, log_signer, sign_checkpoint
from ledger.client import LedgerClient, verify_entry_run
from ledger.constants import PROBLEM_TYPE_PREFIX
from ledger.entries import SignedTreeHead, canonical_json
from ledger.errors import ChainConflict, EntryRejected, VerificationFailed
from ledger.log import LedgerLog, now_ms
from ledger.store import MemoryStore
from tests.ledger.conftest import Issuer, populate, sample_payloads


@pytest.fixture
def http(log: LedgerLog) -> TestClient:
    return TestClient(create_app(log), raise_server_exceptions=False)


def _problem(response, status: int, slug: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == PROBLEM_TYPE_PREFIX + slug
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def test_reads_and_proofs(http: TestClient, log: LedgerLog) -> None:
    empty = http.get("/tree-head").json()
    assert empty["size"] == 0 and empty["root"] == merkle.EMPTY_ROOT.hex()
    acme = Issuer("acme")
    populate(log, acme, 9)
    sth = SignedTreeHead.from_json(http.get("/tree-head").json())
    assert sth.size == 9 and sth.key == log.public_key
    page = http.get("/entries", params={"start": 2, "limit": 3}).json()
    assert [e["seq"] for e in page["entries"]] == [2, 3, 4] and page["size"] == 9
    one = http.get("/entries/4")
    assert one.content == canonical_json(one.json()) == log.entry(4).body  # byte-exact canonical JSON
    leaf = merkle.leaf_hash(one.content)
    inc = http.get("/proofs/inclusion", params={"seq": 4, "tree_size": 9}).json()
    assert bytes.fromhex(inc["leaf_hash"]) == leaf
    assert merkle.verify_inclusion(leaf, 4, 9, [bytes.fromhex(p) for p in inc["proof"]], sth.root)
    old = log.root(5)
    con = http.get("/proofs/consistency", params={"first": 5, "second": 9}).json()
    assert merkle.verify_consistency(5, 9, old, sth.root, [bytes.fromhex(p) for p in con["proof"]])
    assert http.get("/proofs/consistency", params={"first": 5}).json()["second"] == 9


def test_post_entries_and_the_client(http: TestClient, log: LedgerLog) -> None:
    client = LedgerClient("http://ledger", ledger_key=log.public_key, http=http)
    acme = Issuer("acme")
    first = client.tree_head()
    receipt = client.submit(acme.entry(log, "issuer_registration", acme.registration()))
    assert receipt["seq"] == 0
    for kind, payload in sample_payloads(acme).items():
        if kind not in ("issuer_registration", "key_rotation"):
            client.submit(acme.entry(log, kind, payload))
    second = client.tree_head()
    assert second.size == 5
    client.verify_growth(first, second)
    entries = client.verified_entries(start=1, limit=10, tree_head=second)
    assert [e.type for e in entries] == ["schema", "credential_definition", "revocation_registry", "revocation"]
    assert client.verified_entry(0, tree_head=second).issuer == "acme"
    report = audit_remote(client, ledger_key=log.public_key, page=2)
    assert report.size == 5 and report.root == second.root
    fresh = {**sample_payloads(acme)["schema"], "schema_id": "acme/schema/fresh"}
    with pytest.raises(ChainConflict):
        client.submit(acme.entry(log, "schema", fresh, seq=2))
    with pytest.raises(EntryRejected) as info:
        client.submit(acme.entry(log, "schema", sample_payloads(acme)["schema"], key=Ed25519PrivateKey.generate()))
    assert info.value.reason == "bad-signature"


def test_client_detects_lies(http: TestClient, log: LedgerLog) -> None:
    populate(log, Issuer("acme"), 5)
    client = LedgerClient("http://ledger", ledger_key=log.public_key, http=http)
    sth = client.tree_head()
    docs = client.fetch_entries(start=0, limit=5)
    _, proof = client.inclusion_proof(seq=4, tree_size=5)
    verify_entry_run(docs, start=0, tree_head=sth, last_inclusion_proof=proof)
    doctored = [dict(d) for d in docs]
    doctored[1]["time"] += 1  # a changed entry breaks the link from the next one
    with pytest.raises(VerificationFailed) as info:
        verify_entry_run(doctored, start=0, tree_head=sth, last_inclusion_proof=proof)
    assert info.value.seq == 2
    with pytest.raises(VerificationFailed):
        verify_entry_run(docs[:4], start=0, tree_head=sth, last_inclusion_proof=proof)  # wrong proof
    with pytest.raises(VerificationFailed):
        verify_entry_run(docs, start=1, tree_head=sth, last_inclusion_proof=proof)  # wrong position
    other = LedgerClient(
        "http://ledger", ledger_key=Ed25519PrivateKey.generate().public_key().public_bytes_raw(), http=http
    )
    with pytest.raises(VerificationFailed):
        other.tree_head()  # not the pinned key
    forked = sign_checkpoint(Checkpoint(log.origin, 3, b"\x00" * 32), log_signer(log.origin, log._signing_key))
    with pytest.raises(VerificationFailed):  # signed by the ledger, but not a prefix of what it shows now
        client.verify_growth(forked, sth)
    foreign = sign_checkpoint(
        Checkpoint(log.origin, 3, log.root(3)), log_signer(log.origin, Ed25519PrivateKey.generate())
    )
    with pytest.raises(VerificationFailed):  # consistent, but not signed by the pinned key
        client.verify_growth(foreign, sth)
    client.verify_growth(log.checkpoint(3), sth)


def test_post_refusals_are_problem_json(http: TestClient, log: LedgerLog) -> None:
    acme, mallory = Issuer("acme"), Issuer("mallory")
    acme.register(log)
    schema = sample_payloads(acme)["schema"]

    def post(entry) -> object:  # type: ignore[no-untyped-def]
        return http.post("/entries", json=entry if isinstance(entry, dict) else entry.to_json())

    _problem(post(acme.entry(log, "schema", schema, key=mallory.key)), 403, "bad-signature")
    _problem(post(acme.entry(log, "teleport", {"to": "mars"})), 422, "unknown-type")
    conflict = _problem(post(acme.entry(log, "schema", schema, prev_hash=b"\x01" * 32)), 409, "chain-conflict")
    assert conflict["expected_seq"] == 1 and conflict["expected_prev_hash"] == log.head().last_hash.hex()
    _problem(post(mallory.entry(log, "schema", schema)), 422, "unknown-issuer")
    imposter = Issuer("acme")
    _problem(post(imposter.entry(log, "issuer_registration", imposter.registration())), 409, "issuer-exists")
    repeat = post(acme.entry(log, "issuer_registration", acme.registration()))  # a re-sent registration
    assert repeat.status_code == 200 and repeat.json()["seq"] == 0 and repeat.json()["existing"] is True
    _problem(post(acme.entry(log, "schema", {"schema_id": "x"})), 422, "invalid-payload")
    _problem(post(acme.entry(log, "schema", schema, time=now_ms() + 3_600_000)), 422, "clock-skew")
    _problem(post({"seq": "zero"}), 422, "malformed-entry")
    # one mapping on every service (servicekit.problems): unparsable 400 malformed-json, off-model 422 invalid-request
    _problem(
        http.post("/entries", content=b"{not json", headers={"content-type": "application/json"}), 400, "malformed-json"
    )
    _problem(http.post("/entries", json=[1, 2]), 422, "invalid-request")
    assert log.head().size == 1


def test_read_refusals_are_problem_json(http: TestClient, log: LedgerLog) -> None:
    populate(log, Issuer("acme"), 3)
    _problem(http.get("/entries/3"), 404, "not-found")
    _problem(http.get("/entries/-1"), 422, "invalid-request")
    _problem(http.get("/entries/abc"), 422, "invalid-request")
    _problem(http.get("/entries/99999999999999999999999"), 422, "invalid-request")
    _problem(http.get("/entries", params={"limit": 0}), 422, "invalid-request")
    _problem(http.get("/entries", params={"limit": 5000}), 422, "invalid-request")
    _problem(http.get("/proofs/inclusion", params={"seq": 3}), 422, "invalid-request")
    _problem(http.get("/proofs/inclusion", params={"seq": 0, "tree_size": 4}), 422, "invalid-request")
    _problem(http.get("/proofs/inclusion"), 422, "invalid-request")
    _problem(http.get("/proofs/consistency", params={"first": 2, "second": 1}), 422, "invalid-request")
    _problem(http.get("/nowhere"), 404, "not-found")
    assert http.get("/entries", params={"start": 10}).json()["entries"] == []


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=JSON, field=st.sampled_from(["seq", "time", "type", "issuer", "payload", "prev_hash", "signature", None]))
def test_garbage_is_never_a_500(body: object, field: str | None) -> None:
    log = LedgerLog(MemoryStore(), signing_key=Ed25519PrivateKey.generate())
    http = TestClient(create_app(log), raise_server_exceptions=False)
    acme = Issuer("acme")
    acme.register(log)
    doc = acme.entry(log, "schema", sample_payloads(acme)["schema"]).to_json()
    sent = body if field is None else {**doc, field: body}
    response = http.post("/entries", content=json.dumps(sent), headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"
