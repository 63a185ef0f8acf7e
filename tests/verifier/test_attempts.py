"""Only a verified presentation spends a request (issue 12 items 6 and 7).

Anyone who sees a request URL can POST to it: garbage and forged presentations get their
reason and leave the request pending for the real holder, up to ``max_attempts`` failures
(counted atomically, SQLite and PostgreSQL, concurrent submitters), after which the request
is rejected (``too-many-attempts``). The URLs the verifier hands out come from its
configured public URL, never from the ``Host`` header.
"""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text

from tests.verifier.helpers import make_service, present, request_body
from tests.verifier.test_single_use import _race
from verifier.api import DEFAULT_PUBLIC_URL, create_app
from verifier.config import Settings
from verifier.db import init_db, make_engine
from verifier.errors import ErrorKind, VerifierError
from verifier.service import Verdict, VerifierService

DBS = pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)


def _create(client, auth, world, **overrides):
    r = client.post("/requests", json=request_body(world, **overrides), headers=auth)
    assert r.status_code == 201, r.text
    return r.json()


def _attempts(service: VerifierService, request_id: str) -> int:
    return service.store.get_request(request_id=request_id)["attempts"]


@DBS
def test_a_stranger_cannot_burn_a_request(client, auth, world, service):
    created = _create(client, auth, world)
    rid, url = created["id"], f"/requests/{created['id']}/presentation"
    other = _create(client, auth, world)
    forged = present(world, world.holders[1], other["request"])  # a valid proof, for another request
    for body, reason in (
        ({"presentation": {}}, "malformed"),
        ({"presentation": {"version": 3, "credentials": "x"}}, "malformed"),
        ({"presentation": forged}, "invalid_proof"),
    ):
        r = client.post(url, json=body)
        assert r.status_code == 200, r.text
        assert r.json() == {"verified": False, "disclosed": {}, "predicates": [], "reason": reason}
        assert client.get(f"/requests/{rid}", headers=auth).json() == {
            "id": rid,
            "status": "pending",
            "deep_link": created["deep_link"],
            "verdict": None,
        }
    assert _attempts(service, rid) == 3
    # The real holder's presentation then verifies, and that spends the request.
    r = client.post(url, json={"presentation": present(world, world.holders[0], created["request"])})
    assert r.status_code == 200 and r.json()["verified"] is True, r.text
    assert client.get(f"/requests/{rid}", headers=auth).json()["status"] == "verified"
    r = client.post(url, json={"presentation": {}})
    assert r.status_code == 409 and r.json()["type"].endswith("/replay")
    # The forged proof's own request was never touched by it.
    assert client.post(f"/requests/{other['id']}/presentation", json={"presentation": forged}).json()["verified"]


@DBS
def test_the_attempt_limit_rejects_after_n(client, auth, world, service):
    service.max_attempts = 3
    created = _create(client, auth, world)
    rid, url = created["id"], f"/requests/{created['id']}/presentation"
    for _ in range(2):
        assert client.post(url, json={"presentation": {}}).json()["reason"] == "malformed"
        assert client.get(f"/requests/{rid}", headers=auth).json()["status"] == "pending"
    last = client.post(url, json={"presentation": {}})
    assert last.status_code == 200 and last.json() == {
        "verified": False,
        "disclosed": {},
        "predicates": [],
        "reason": "too-many-attempts",
    }
    status = client.get(f"/requests/{rid}", headers=auth).json()
    assert status == {"id": rid, "status": "rejected", "verdict": last.json(), "deep_link": created["deep_link"]}
    assert _attempts(service, rid) == 3
    # Rejected for good: even the real holder's presentation is now a replay.
    r = client.post(url, json={"presentation": present(world, world.holders[0], created["request"])})
    assert r.status_code == 409 and r.json()["type"].endswith("/replay")
    assert _attempts(service, rid) == 3


def test_the_limit_is_a_setting_with_a_default():
    assert Settings.from_env({}).max_attempts == 5
    assert Settings.from_env({"ZKCRED_VERIFIER_MAX_ATTEMPTS": "2"}).max_attempts == 2
    with pytest.raises(Exception, match="max_attempts"):
        Settings.from_env({"ZKCRED_VERIFIER_MAX_ATTEMPTS": "0"})


@DBS
def test_concurrent_failures_are_counted_exactly(service, world):
    """Eight strangers at once against a limit of 5: four get their reason, one rejects, three are replays."""
    service.max_attempts = 5
    record = service.create_request(lender="acme", **request_body(world))
    results = _race([service] * 8, record.id, {})
    reasons = sorted(r.reason for r in results if isinstance(r, Verdict))
    assert reasons == ["malformed"] * 4 + ["too-many-attempts"], results
    refused = [r for r in results if isinstance(r, VerifierError)]
    assert len(refused) == 3 and all(e.kind is ErrorKind.REPLAY for e in refused), results
    row = service.store.get_request(request_id=record.id)
    assert row["attempts"] == 5 and row["status"] == "rejected" and row["verdict"]["reason"] == "too-many-attempts"


@DBS
def test_garbage_racing_the_holder_does_not_spend_the_request(service, world):
    second = service.create_request(lender="acme", **request_body(world))
    mixed = [service] * 3
    # garbage and the holder's proof at once: whatever the order, the holder's proof verifies
    barrier = threading.Barrier(3)
    out: list[object] = [None] * 3
    bodies = [{}, {"version": 3}, present(world, world.holders[0], second.request.to_json())]

    def submit(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            out[i] = mixed[i].submit_presentation(request_id=second.id, unverified_presentation=bodies[i])
        except VerifierError as e:
            out[i] = e

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert isinstance(out[2], Verdict) and out[2].verified, out
    assert service.store.get_request(request_id=second.id)["status"] == "verified"


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_two_workers_on_postgresql_count_attempts_once_each(world, db_url, clock):
    first, engine1 = make_service(world, db_url, clock)
    second, engine2 = make_service(world, db_url, clock)
    try:
        first.max_attempts = second.max_attempts = 4
        record = first.create_request(lender="acme", **request_body(world))
        results = _race([first, second] * 3, record.id, {})
        reasons = sorted(r.reason for r in results if isinstance(r, Verdict))
        assert reasons == ["malformed"] * 3 + ["too-many-attempts"], results
        assert sum(isinstance(r, VerifierError) for r in results) == 2
        assert second.store.get_request(request_id=record.id)["attempts"] == 4
    finally:
        engine1.dispose()
        engine2.dispose()


@DBS
def test_record_failed_attempt_on_an_answered_request_changes_nothing(service, world):
    record = service.create_request(lender="acme", **request_body(world))
    assert service.store.finish_request(request_id=record.id, status="verified", verdict={"v": 1}, answered_ms=1)
    assert (
        service.store.record_failed_attempt(request_id=record.id, max_attempts=5, verdict={"v": 2}, answered_ms=2)
        == "answered"
    )
    row = service.store.get_request(request_id=record.id)
    assert row["attempts"] == 0 and row["verdict"] == {"v": 1} and row["status"] == "verified"


def test_a_stale_presentation_leaves_the_request_pending(fresh_world, tmp_path, clock):
    """A holder behind the ledger gets ``stale`` and may retry the same request after updating."""
    world = fresh_world
    svc, engine = make_service(world, f"sqlite:///{tmp_path}/v.db", clock)
    try:
        key = svc.create_api_key(lender="acme")
        with TestClient(create_app(svc, public_url="https://verifier.test")) as c:
            created = c.post(
                "/requests", json=request_body(world, max_staleness=0), headers={"Authorization": f"Bearer {key}"}
            ).json()
            holder = world.holders[0]
            world.revoke(2)  # the accumulator moves on; holder 0 has not updated
            clock.advance(5)
            url = f"/requests/{created['id']}/presentation"
            r = c.post(url, json={"presentation": present(world, holder, created["request"])})
            assert r.json()["reason"] == "stale"
            event, seq = world.pending_event
            world.update(holder, event, seq)  # "sync"
            r = c.post(url, json={"presentation": present(world, holder, created["request"])})
            assert r.json()["verified"] is True, r.text
    finally:
        engine.dispose()


@DBS
def test_urls_come_from_the_configured_public_url_never_the_host_header(client, auth, world):
    created = client.post("/requests", json=request_body(world), headers={**auth, "Host": "evil.example"}).json()
    rid = created["id"]
    assert created["request_url"] == f"https://verifier.test/requests/{rid}/document"
    assert created["presentation_url"] == f"https://verifier.test/requests/{rid}/presentation"
    doc = client.get(
        f"/requests/{rid}/document", headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    ).json()
    assert doc["presentation_url"] == f"https://verifier.test/requests/{rid}/presentation"
    assert doc["max_staleness"] == 600


def test_without_a_public_url_the_urls_are_the_default_not_the_host(service, world, api_key):
    with TestClient(create_app(service), base_url="http://evil.example") as c:
        created = c.post("/requests", json=request_body(world), headers={"Authorization": f"Bearer {api_key}"})
        assert created.status_code == 201, created.text
        assert created.json()["request_url"].startswith(DEFAULT_PUBLIC_URL + "/requests/")
        assert "evil" not in created.text


@DBS
def test_init_db_adds_the_attempts_column_to_an_older_table(db_url):
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE TABLE verifier_requests (id VARCHAR(64) PRIMARY KEY, lender VARCHAR(128) NOT NULL, "
                    "nonce VARCHAR(128) NOT NULL UNIQUE, status VARCHAR(16) NOT NULL, created_ms BIGINT NOT NULL, "
                    "expires_ms BIGINT NOT NULL, max_staleness BIGINT NOT NULL, request_json TEXT NOT NULL, "
                    "verdict_json TEXT, answered_ms BIGINT)"
                )
            )
            conn.execute(
                text("INSERT INTO verifier_requests VALUES ('r1', 'acme', 'n1', 'pending', 0, 1, 0, '{}', NULL, NULL)")
            )
        init_db(engine)
        init_db(engine)  # idempotent
        assert "attempts" in {c["name"] for c in inspect(engine).get_columns("verifier_requests")}
        with engine.connect() as conn:
            assert conn.execute(text("SELECT attempts FROM verifier_requests WHERE id = 'r1'")).scalar() == 0
    finally:
        engine.dispose()


def test_the_dry_run_spends_nothing(client, auth, world, service):
    """``check_presentation`` reaches ``submit_presentation``'s verdict and records nothing."""
    created = _create(client, auth, world)
    rid = created["id"]
    good = present(world, world.holders[0], created["request"])
    for _ in range(2):  # any number of times: the nonce is not spent
        verdict = service.check_presentation(request_id=rid, unverified_presentation=good)
        assert verdict.verified and verdict.disclosed
    bad = service.check_presentation(request_id=rid, unverified_presentation={})
    assert not bad.verified and bad.reason == "malformed"
    assert _attempts(service, rid) == 0
    assert client.get(f"/requests/{rid}", headers=auth).json()["status"] == "pending"
    with pytest.raises(VerifierError) as e:
        service.check_presentation(request_id="no-such-request", unverified_presentation=good)
    assert e.value.kind == ErrorKind.NOT_FOUND
    # and the real submission still gets the same verdict, once
    assert service.submit_presentation(request_id=rid, unverified_presentation=good) == verdict
