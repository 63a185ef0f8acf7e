"""Issue 13 item 4: live status — ``GET /requests/{id}?wait=N`` and ``/events`` (SSE)."""

from __future__ import annotations

import json
import threading
import time

import pytest

from tests.verifier.helpers import present, request_body


def _create(client, auth, world):
    r = client.post("/requests", json=request_body(world), headers=auth)
    assert r.status_code == 201, r.text
    return r.json()


def _submit_later(client, world, created, delay: float) -> threading.Thread:
    presentation = present(world, world.holders[0], created["request"])

    def go() -> None:
        time.sleep(delay)
        r = client.post(f"/requests/{created['id']}/presentation", json={"presentation": presentation})
        assert r.status_code == 200, r.text

    t = threading.Thread(target=go)
    t.start()
    return t


def test_a_waiter_returns_when_another_thread_submits(client, auth, world):
    created = _create(client, auth, world)
    t = _submit_later(client, world, created, 0.5)
    start = time.monotonic()
    r = client.get(f"/requests/{created['id']}", params={"wait": 20}, headers=auth)
    took = time.monotonic() - start
    t.join()
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "verified" and r.json()["verdict"]["verified"] is True
    assert 0.4 <= took < 10  # answered on the change, not at the deadline (and the submit was not blocked)


def test_a_wait_times_out_with_the_pending_state(client, auth, world):
    created = _create(client, auth, world)
    start = time.monotonic()
    r = client.get(f"/requests/{created['id']}?wait=0.7", headers=auth)
    took = time.monotonic() - start
    assert r.status_code == 200 and r.json()["status"] == "pending" and r.json()["verdict"] is None
    assert took >= 0.65
    # No wait (or wait=0) answers at once, as before.
    assert client.get(f"/requests/{created['id']}?wait=0", headers=auth).json()["status"] == "pending"


def test_a_final_request_answers_a_waiter_at_once(client, auth, world):
    created = _create(client, auth, world)
    _submit_later(client, world, created, 0).join()
    start = time.monotonic()
    assert client.get(f"/requests/{created['id']}?wait=30", headers=auth).json()["status"] == "verified"
    assert time.monotonic() - start < 2


@pytest.mark.parametrize("wait", ["31", "-1", "abc", "1e9", "nan"])
def test_bad_waits_are_422(client, auth, world, wait):
    created = _create(client, auth, world)
    r = client.get(f"/requests/{created['id']}?wait={wait}", headers=auth)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")


def test_waiting_keeps_the_auth_rules(client, auth, world, service):
    created = _create(client, auth, world)
    assert client.get(f"/requests/{created['id']}?wait=1").status_code == 401
    other = {"Authorization": f"Bearer {service.create_api_key(lender='other-bank')}"}
    assert client.get(f"/requests/{created['id']}?wait=1", headers=other).status_code == 403
    assert client.get("/requests/nope?wait=1", headers=auth).status_code == 404
    assert client.get(f"/requests/{created['id']}/events", headers=other).status_code == 403


def _events(text: str) -> list[dict]:
    out = []
    for block in text.split("\n\n"):
        lines = [ln for ln in block.splitlines() if not ln.startswith(":")]
        if lines:
            assert lines[0] == "event: status"
            out.append(json.loads(lines[1].removeprefix("data: ")))
    return out


def test_events_stream_pending_then_verified_then_closes(client, auth, world):
    created = _create(client, auth, world)
    t = _submit_later(client, world, created, 0.5)
    with client.stream("GET", f"/requests/{created['id']}/events", headers=auth) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        body = "".join(r.iter_text())  # returns only because the server closes the stream
    t.join()
    assert [e["status"] for e in _events(body)] == ["pending", "verified"]


def test_events_of_an_expired_request_say_so_and_close(client, auth, world, clock):
    created = _create(client, auth, world)
    clock.advance(3600)
    r = client.get(f"/requests/{created['id']}/events", headers=auth)
    assert r.status_code == 200 and [e["status"] for e in _events(r.text)] == ["expired"]


DBS = pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)


@DBS
def test_a_waiter_sees_a_presentation_another_worker_recorded(client, auth, world, db_url, clock):
    """Two apps on one database (as two worker processes): the waiter's app never sees the submit."""
    from fastapi.testclient import TestClient

    from tests.verifier.helpers import make_service
    from verifier.api import create_app

    other_service, engine = make_service(world, db_url, clock)
    try:
        with TestClient(create_app(other_service, public_url="https://verifier.test")) as other:
            created = _create(client, auth, world)
            t = _submit_later(other, world, created, 0.5)
            r = client.get(f"/requests/{created['id']}?wait=20", headers=auth)
            t.join()
            assert r.json()["status"] == "verified"
    finally:
        engine.dispose()
