"""The resolver trusts only what verifies against the pinned ledger key, rebuilds definitions and
checks their ids, tracks accumulator values, and enforces staleness — end to end through the API."""

from __future__ import annotations

import dataclasses
import secrets

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from circuits import bbs
from circuits.codec import b64e
from ledger.entries import public_key_bytes
from tests.verifier.helpers import (
    ISSUER_ID,
    REGISTRY_ID,
    Clock,
    make_service,
    present,
    publish_definition,
    request_body,
)
from verifier.api import create_app
from verifier.resolver import (
    DefinitionMismatch,
    LedgerResolver,
    LedgerUnavailable,
    LocalLedgerSource,
    StaleAccumulator,
    UnknownAccumulator,
    UnknownDefinition,
)


def _resolver(world, clock=None, **kw) -> LedgerResolver:
    return LedgerResolver(
        LocalLedgerSource(world.log, ledger_key=world.ledger_public), refresh_interval=0, clock=clock or Clock(), **kw
    )


def test_definition_is_rebuilt_from_the_ledger(world):
    resolver = _resolver(world, page=2)  # several pages, each checked against the tree head
    d = resolver.definition(world.definition.id)
    assert d == world.definition and d.id == world.definition.id
    assert resolver.tree_head.size == world.log.head().size
    with pytest.raises(UnknownDefinition):
        resolver.definition("creddef:" + "0" * 32)


def test_entries_that_do_not_rebuild_their_id_are_refused(fresh_world, tmp_path, clock):
    w = fresh_world
    sk = bbs.keygen(secrets.token_bytes(32), suite=bbs.SHA256)
    other = dataclasses.replace(
        w.definition, tag="v2", revocation=None, public_key=bbs.sk_to_pk(sk, suite=bbs.SHA256, backend=w.be)
    )
    # The entry names other.id but carries another BBS key (an issuer's slip, or a lie).
    publish_definition(
        w.log, w.issuer_key, other, definition_overrides={"bbs_public_key": b64e(w.definition.public_key)}
    )
    with pytest.raises(DefinitionMismatch):
        _resolver(w).definition(other.id)

    service, engine = make_service(w, f"sqlite:///{tmp_path}/v.db", clock)
    key = service.create_api_key(lender="acme")
    with TestClient(create_app(service)) as client:
        r = client.post(
            "/requests",
            json=request_body(w, credential_definitions=[other.id]),
            headers={"Authorization": f"Bearer {key}"},
        )
        assert r.status_code == 422 and r.json()["type"].endswith("/definition-mismatch")
        # A presentation naming it (for a request accepting the real one) is not accepted either.
        rid = client.post("/requests", json=request_body(w), headers={"Authorization": f"Bearer {key}"}).json()["id"]
        doc = client.get(f"/requests/{rid}/document").json()
        pres = present(w, w.holders[0], doc["request"])
        pres["credentials"][0]["definition_id"] = other.id
        assert (
            client.post(f"/requests/{rid}/presentation", json={"presentation": pres}).json()["reason"]
            == "definition_not_accepted"
        )
    engine.dispose()


def test_only_the_registry_issuer_moves_its_accumulator(fresh_world):
    w = fresh_world
    mallory = Ed25519PrivateKey.generate()
    w.log.append(
        key=mallory,
        issuer="mallory",
        entry_type="issuer_registration",
        payload={"ledger_key": public_key_bytes(mallory).hex()},
    )
    w.log.append(
        key=mallory,
        issuer="mallory",
        entry_type="revocation",
        payload={"registry_id": REGISTRY_ID, "handles": ["00"], "values": [b64e(w.be.g1_to_bytes(w.V))]},
    )
    resolver = _resolver(w)
    assert [s.height for s in resolver.history(w.definition.id)] == [w.registry_seq]
    seq = w.revoke(2)
    assert [s.height for s in _resolver(w).history(w.definition.id)] == [w.registry_seq, seq]


def test_a_ledger_signed_by_another_key_is_not_followed(world):
    wrong = public_key_bytes(Ed25519PrivateKey.generate())
    with pytest.raises(LedgerUnavailable):
        LedgerResolver(LocalLedgerSource(world.log, ledger_key=wrong)).definition(world.definition.id)


def test_a_tampered_entry_is_not_followed(fresh_world):
    w = fresh_world
    entries = w.log.store._entries
    i = w.registry_seq - 1  # the credential_definition entry
    entries[i] = dataclasses.replace(entries[i], body=entries[i].body.replace(b'"tag":"v1"', b'"tag":"v9"'))
    with pytest.raises(LedgerUnavailable):
        _resolver(w).definition(w.definition.id)


def test_a_forked_log_is_detected(fresh_world):
    """After the resolver saw tree size n, a ledger presenting a tree that does not extend it is refused."""
    w = fresh_world
    resolver = _resolver(w)
    resolver.definition(w.definition.id)
    w.revoke(2)
    head = w.log.store._head
    w.log.store._head = dataclasses.replace(head, frontier=(b"\x00" * 32,) + head.frontier[1:])
    w.log.store._head = dataclasses.replace(w.log.store._head, tree_head=None)  # re-signed with the bad root
    with pytest.raises(LedgerUnavailable):
        resolver.refresh()


def test_accumulator_values_and_staleness(fresh_world):
    w, clock = fresh_world, Clock()
    resolver = _resolver(w, clock)
    d = w.definition.id
    v0 = w.be.g1_to_bytes(w.V)
    assert resolver.accumulator_at(d, w.registry_seq, max_staleness=0) == v0  # the latest: always accepted
    t1 = int(clock.now * 1000) - 100_000  # superseded 100 s ago
    s1 = w.revoke(2, now_ms=t1)
    v1 = w.be.g1_to_bytes(w.V)
    assert resolver.accumulator_at(d, s1, max_staleness=0) == v1  # refreshed: a new height
    assert resolver.accumulator_at(d, w.registry_seq, max_staleness=300) == v0
    with pytest.raises(StaleAccumulator):
        resolver.accumulator_at(d, w.registry_seq, max_staleness=60)
    assert resolver.accumulator_at(d, s1 - 1, max_staleness=300) == v0  # between entries: the value then
    for bad in (-1, w.registry_seq - 1, 10**9, True):
        with pytest.raises(UnknownAccumulator):
            resolver.accumulator_at(d, bad, max_staleness=300)
    clock.advance(1000)
    assert resolver.accumulator_at(d, s1, max_staleness=0) == v1  # the latest never goes stale


def test_staleness_end_to_end(fresh_world, tmp_path, clock):
    """V0 superseded 100 s ago: accepted within max_staleness=300, rejected as stale within 60;
    the updated holder proves against the latest value; the revoked holder cannot."""
    w = fresh_world
    service, engine = make_service(w, f"sqlite:///{tmp_path}/v.db", clock)
    auth = {"Authorization": f"Bearer {service.create_api_key(lender='acme')}"}
    seq = w.revoke(2, now_ms=int(clock.now * 1000) - 100_000)
    event = w.pending_event[0]

    def answer(holder, max_staleness):
        with TestClient(create_app(service)) as client:
            created = client.post("/requests", json=request_body(w, max_staleness=max_staleness), headers=auth).json()
            r = client.post(
                f"/requests/{created['id']}/presentation", json={"presentation": present(w, holder, created["request"])}
            )
            assert r.status_code == 200
            return r.json()

    holder = w.holders[0]
    assert answer(holder, 300)["verified"] is True
    assert answer(holder, 60)["reason"] == "stale"
    revoked = w.holders[2]
    assert answer(revoked, 60)["reason"] == "stale"
    w.update(holder, event, seq)
    assert answer(holder, 0)["verified"] is True
    # The revoked holder claiming the latest value with its old witness: the membership proof fails.
    revoked.height, revoked.accumulator = seq, w.V
    assert answer(revoked, 0)["reason"] == "revocation"
    engine.dispose()


def test_ledger_unavailable_is_503_and_leaves_the_request_open(world, tmp_path, clock):
    service, engine = make_service(world, f"sqlite:///{tmp_path}/v.db", clock)
    auth = {"Authorization": f"Bearer {service.create_api_key(lender='acme')}"}
    with TestClient(create_app(service)) as client:
        created = client.post("/requests", json=request_body(world), headers=auth).json()
        pres = present(world, world.holders[0], created["request"])
        fresh = _resolver(world)
        fresh.source = LocalLedgerSource(world.log, ledger_key=public_key_bytes(Ed25519PrivateKey.generate()))
        service.resolver = fresh  # a restarted worker that cannot verify the ledger
        r = client.post(f"/requests/{created['id']}/presentation", json={"presentation": pres})
        assert r.status_code == 503 and r.json()["type"].endswith("/ledger-unavailable")
        assert client.get(f"/requests/{created['id']}", headers=auth).json()["status"] == "pending"
        service.resolver = _resolver(world)
        assert client.post(f"/requests/{created['id']}/presentation", json={"presentation": pres}).json()["verified"]
    engine.dispose()


def test_registry_of_another_issuer_does_not_complete_a_definition(fresh_world):
    """A revocable definition whose registry entry is signed by someone else does not resolve."""
    w = fresh_world
    d = dataclasses.replace(
        w.definition, tag="v3", revocation=dataclasses.replace(w.definition.revocation, id="revreg:v3")
    )
    w.append(
        "credential_definition",
        {
            "cred_def_id": d.id,
            "schema_id": d.schema_id,
            "ciphersuite": d.suite,
            "bbs_public_key": b64e(d.public_key),
            "tag": d.tag,
        },
    )
    mallory = Ed25519PrivateKey.generate()
    w.log.append(
        key=mallory,
        issuer="mallory",
        entry_type="issuer_registration",
        payload={"ledger_key": public_key_bytes(mallory).hex()},
    )
    w.log.append(
        key=mallory,
        issuer="mallory",
        entry_type="revocation_registry",
        payload={
            "registry_id": "revreg:v3",
            "cred_def_id": d.id,
            "capacity": d.revocation.capacity,
            "q": b64e(d.revocation.Q),
            "v0": b64e(w.be.g1_to_bytes(w.V)),
        },
    )
    with pytest.raises(DefinitionMismatch):
        _resolver(w).definition(d.id)
    assert ISSUER_ID == d.issuer_id


def test_resolver_follows_the_ledger_over_http(fresh_world):
    """The same checks through ``ledger.client.LedgerClient`` against the ledger's HTTP API."""
    from ledger.api import create_app as ledger_app
    from ledger.client import LedgerClient

    w, clock = fresh_world, Clock()
    with TestClient(ledger_app(w.log)) as http:
        resolver = LedgerResolver(
            LedgerClient("http://testserver", ledger_key=w.ledger_public, http=http), refresh_interval=0, clock=clock
        )
        assert resolver.definition(w.definition.id) == w.definition
        s1 = w.revoke(2, now_ms=int(clock.now * 1000) - 100_000)
        assert resolver.accumulator_at(w.definition.id, s1, max_staleness=0) == w.be.g1_to_bytes(w.V)
        with pytest.raises(StaleAccumulator):
            resolver.accumulator_at(w.definition.id, w.registry_seq, max_staleness=60)
        wrong = LedgerResolver(
            LedgerClient("http://testserver", ledger_key=public_key_bytes(Ed25519PrivateKey.generate()), http=http)
        )
        with pytest.raises(LedgerUnavailable):
            wrong.definition(w.definition.id)
