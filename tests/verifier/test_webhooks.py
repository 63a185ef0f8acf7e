"""Webhooks (issue 13 item 3): registration and its bad input, signed at-least-once delivery from the
outbox through a real loopback receiver, retries and ``failed``, expiry events, a restart mid-queue.

Every delivery test runs on SQLite and PostgreSQL (``db_url``), the verifier as a real app
(``TestClient``), the receiver a real HTTP server on loopback (``webhook_receiver``), the
dispatcher the real ``Webhooks`` thread with a fast retry schedule.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.servers import dead_url
from tests.verifier.helpers import present, request_body
from tests.verifier.webhook_receiver import receiver
from verifier.api import create_app
from verifier.webhooks import WebhookPolicy, Webhooks, WebhookVerificationError, verify_webhook

DBS = pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
FAST = WebhookPolicy(max_attempts=3, retry_base=0.05, retry_max=0.2, timeout=0.5)


@pytest.fixture
def webhooks(service) -> Iterator[Webhooks]:
    hooks = Webhooks(service.store.engine, FAST, idle=0.05)
    yield hooks
    hooks.stop()


@pytest.fixture
def app_client(service, webhooks) -> Iterator[TestClient]:
    app = create_app(service, public_url="https://verifier.test", webhooks=webhooks)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def _problem(r, status, slug=None):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    if slug is not None:
        assert r.json()["type"] == f"https://zkcred.dev/problems/{slug}", r.text
    return r.json()


def _register(client, auth, url, **extra):
    r = client.post("/webhooks", json={"url": url, **extra}, headers=auth)
    assert r.status_code == 201, r.text
    return r.json()


def _create(client, auth, world, **overrides):
    r = client.post("/requests", json=request_body(world, **overrides), headers=auth)
    assert r.status_code == 201, r.text
    return r.json()


def _wait_log(client, auth, hook_id, status, count=1, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        r = client.get(f"/webhooks/{hook_id}/deliveries", headers=auth, params={"status": status})
        assert r.status_code == 200, r.text
        rows = r.json()["deliveries"]
        if len(rows) >= count:
            return rows
        assert time.monotonic() < deadline, f"no {count} {status} deliveries: {r.text}"
        time.sleep(0.05)


# ---------------------------------------------------------------- registration


@pytest.mark.parametrize(
    ("body", "status", "slug"),
    [
        ({"url": "ftp://127.0.0.1/x"}, 422, "invalid-webhook-url"),
        ({"url": "javascript:alert(1)"}, 422, "invalid-webhook-url"),
        ({"url": "http:///nohost"}, 422, "invalid-webhook-url"),
        ({"url": "http://user:pw@127.0.0.1/x"}, 422, "invalid-webhook-url"),
        ({"url": "http://127.0.0.1:99999/x"}, 422, "invalid-webhook-url"),
        ({"url": "http://127.0.0.1/x#frag"}, 422, "invalid-webhook-url"),
        ({"url": "http://127.0.0.1/a b"}, 422, "invalid-webhook-url"),
        ({"url": "http://127.0.0.1/" + "x" * 2100}, 422, None),
        ({"url": "https://example.com/hook"}, 422, "webhook-host-not-allowed"),
        ({"url": "http://10.0.0.1/hook"}, 422, "webhook-host-not-allowed"),
        ({"url": "http://[::ffff:10.0.0.1]/hook"}, 422, "webhook-host-not-allowed"),
        ({"url": "http://127.0.0.1/x", "events": []}, 422, None),
        ({"url": "http://127.0.0.1/x", "events": ["request.paid"]}, 422, None),
        ({"url": "http://127.0.0.1/x", "events": "request.verified"}, 422, None),
        ({"url": "http://127.0.0.1/x", "events": ["request.verified", "request.verified"]}, 422, None),
        ({"url": "http://127.0.0.1/x", "secret": "mine"}, 422, None),
        ({"url": 42}, 422, None),
        ({}, 422, None),
    ],
)
def test_registration_refuses_bad_input_with_a_problem(client, auth, body, status, slug):
    problem = _problem(client.post("/webhooks", json=body, headers=auth), status, slug)
    assert "mine" not in json.dumps(problem) and "user:pw" not in json.dumps(problem)  # no input echoed
    assert client.get("/webhooks", headers=auth).json() == {"webhooks": []}  # nothing half-written


def test_registration_needs_the_lender_key_and_well_formed_json(client, auth):
    _problem(client.post("/webhooks", json={"url": "http://127.0.0.1/x"}), 401, "unauthorized")
    _problem(client.post("/webhooks", json={"url": "http://127.0.0.1/x"}, headers={"Authorization": "Bearer x"}), 403)
    _problem(client.get("/webhooks"), 401)
    r = client.post(
        "/webhooks", content=b'{"url": "http://127.0.0.1/x",', headers={**auth, "content-type": "application/json"}
    )
    _problem(r, 400, "malformed-json")


def test_configured_hosts_and_https_off_loopback(service):
    hooks = Webhooks(service.store.engine, WebhookPolicy(hosts=("hooks.lender.example", "*.bank.example")))
    assert (
        hooks.register(lender="L", url="https://hooks.lender.example/z")[0]["url"] == "https://hooks.lender.example/z"
    )
    assert hooks.register(lender="L", url="https://eu.bank.example/z")[0]["events"] == [
        "request.verified",
        "request.rejected",
        "request.expired",
    ]
    for url, slug in [
        ("http://hooks.lender.example/z", "invalid-webhook-url"),  # plain http off loopback: refused
        ("https://bank.example/z", "webhook-host-not-allowed"),  # *.bank.example is its subdomains
        ("https://evil-bank.example/z", "webhook-host-not-allowed"),
        ("http://127.0.0.1:9/z", "webhook-host-not-allowed"),  # loopback is not in this list
    ]:
        with pytest.raises(Exception) as e:
            hooks.register(lender="L", url=url)
        assert getattr(e.value, "slug", None) == slug, url


def test_register_list_get_delete_and_lenders_apart(client, auth, service):
    created = _register(client, auth, "http://127.0.0.1:9/h", events=["request.rejected"], description="risk desk")
    assert created["secret"].startswith("whsec_") and created["events"] == ["request.rejected"]
    listed = client.get("/webhooks", headers=auth).json()["webhooks"]
    assert listed == [{k: v for k, v in created.items() if k != "secret"}]  # the secret is shown once
    assert client.get(f"/webhooks/{created['id']}", headers=auth).json() == listed[0]

    other = {"Authorization": f"Bearer {service.create_api_key(lender='other-bank')}"}
    assert client.get("/webhooks", headers=other).json() == {"webhooks": []}
    for method, path in [
        ("GET", f"/webhooks/{created['id']}"),
        ("DELETE", f"/webhooks/{created['id']}"),
        ("GET", f"/webhooks/{created['id']}/deliveries"),
    ]:
        _problem(client.request(method, path, headers=other), 404, "not-found")

    assert client.delete(f"/webhooks/{created['id']}", headers=auth).status_code == 204
    _problem(client.delete(f"/webhooks/{created['id']}", headers=auth), 404)
    _problem(client.get(f"/webhooks/{created['id']}/deliveries", headers=auth), 404)
    assert client.get("/webhooks", headers=auth).json() == {"webhooks": []}


def test_a_lender_has_at_most_16_endpoints(client, auth):
    for i in range(16):
        _register(client, auth, f"http://127.0.0.1:9/h{i}")
    _problem(client.post("/webhooks", json={"url": "http://127.0.0.1:9/h16"}, headers=auth), 422, "too-many-webhooks")


# ---------------------------------------------------------------- delivery


@DBS
def test_verdict_delivered_signed_after_the_receiver_failed_twice(app_client, auth, world, webhooks):
    client = app_client
    with receiver(script=[500, 500]) as rx:
        hook = _register(client, auth, rx.url)
        _register(client, auth, "http://127.0.0.1:9/other", events=["request.expired"])  # not subscribed
        created = _create(client, auth, world)
        webhooks.start()
        r = client.post(
            f"/requests/{created['id']}/presentation",
            json={"presentation": present(world, world.holders[0], created["request"])},
        )
        assert r.status_code == 200 and r.json()["verified"] is True
        (ok,) = rx.wait_for(1)
        rows = _wait_log(client, auth, hook["id"], "delivered")

    posts = rx.received
    assert [p.answered for p in posts] == [500, 500, 200]
    assert len({p.headers["webhook-id"] for p in posts}) == 1 and len({p.body for p in posts}) == 1
    event = verify_webhook(hook["secret"], ok.headers, ok.body)
    status = client.get(f"/requests/{created['id']}", headers=auth).json()
    assert event["type"] == "request.verified"
    assert event["data"] == {"id": created["id"], "status": "verified", "verdict": status["verdict"]}
    assert ok.headers["content-type"] == "application/json"
    with pytest.raises(WebhookVerificationError):
        verify_webhook(_register(client, auth, rx.url)["secret"], ok.headers, ok.body)  # another secret
    with pytest.raises(WebhookVerificationError):
        verify_webhook(hook["secret"], ok.headers, ok.body.replace(b"verified", b"rejected"))  # altered body
    with pytest.raises(WebhookVerificationError):
        verify_webhook(hook["secret"], {**ok.headers, "webhook-signature": "v1"}, ok.body)  # malformed header

    (row,) = rows
    assert row["message_id"] == ok.headers["webhook-id"] and row["attempts"] == 3 and row["status"] == "delivered"
    assert [a["status_code"] for a in row["attempt_log"]] == [500, 500, 200]
    assert [a["error"] for a in row["attempt_log"]] == ["HTTP 500", "HTTP 500", None]
    assert row["payload"] == event and row["next_attempt_at"] is None and row["delivered_at"]


@DBS
def test_an_endpoint_that_times_out_or_fails_ends_failed_and_verification_goes_on(app_client, auth, world, webhooks):
    client = app_client
    with receiver(default=500, script=["hang"], hang_seconds=2.0) as rx:
        failing = _register(client, auth, rx.url)
        dead = _register(client, auth, dead_url() + "/hook")
        webhooks.start()
        t0 = time.monotonic()
        for holder in world.holders[:2]:
            created = _create(client, auth, world)
            r = client.post(
                f"/requests/{created['id']}/presentation",
                json={"presentation": present(world, holder, created["request"])},
            )
            assert r.status_code == 200 and r.json()["verified"] is True
        assert time.monotonic() - t0 < 10  # the verdicts never waited for a delivery
        failed = _wait_log(client, auth, failing["id"], "failed", count=2)
        refused = _wait_log(client, auth, dead["id"], "failed", count=2)
    for row in failed + refused:
        assert row["attempts"] == FAST.max_attempts == len(row["attempt_log"])
    errors = [a["error"] for row in failed for a in row["attempt_log"]]
    assert any(e.startswith("timed out") for e in errors) and "HTTP 500" in errors
    assert all(
        a["status_code"] is None and a["error"].startswith("ConnectError")
        for row in refused
        for a in row["attempt_log"]
    )
    assert webhooks.pending_count() == 0


def test_rejections_are_events_and_failed_attempts_are_not(app_client, auth, world, webhooks, service):
    client = app_client
    with receiver() as rx:
        hook = _register(client, auth, rx.url, events=["request.rejected"])
        created = _create(client, auth, world)
        other = _create(client, auth, world)
        decoy = present(world, world.holders[0], other["request"])  # valid, for another request
        webhooks.start()
        for _ in range(service.max_attempts):
            r = client.post(f"/requests/{created['id']}/presentation", json={"presentation": decoy})
            assert r.status_code == 200 and r.json()["verified"] is False
        assert r.json()["reason"] == "too-many-attempts"
        r = client.post(f"/requests/{other['id']}/presentation", json={"presentation": decoy})
        assert r.json()["verified"] is True  # verified: not an event this endpoint wants
        (got,) = rx.wait_for(1)
        time.sleep(0.3)
    event = verify_webhook(hook["secret"], got.headers, got.body)
    assert event["type"] == "request.rejected" and event["data"]["verdict"]["reason"] == "too-many-attempts"
    assert len(rx.received) == 1  # one event: the earlier failed attempts left the request pending


@DBS
def test_expired_requests_are_events(app_client, auth, world, webhooks, clock):
    client = app_client
    with receiver() as rx:
        hook = _register(client, auth, rx.url, events=["request.expired"])
        clock.now = time.time()  # the service's clock (fixed at set-up) and the dispatcher's (real) agree
        created = _create(client, auth, world, expires_in=1)
        pending = _create(client, auth, world, expires_in=600)
        webhooks.start()
        (got,) = rx.wait_for(1, timeout=15)
    event = verify_webhook(hook["secret"], got.headers, got.body)
    assert event["type"] == "request.expired" and event["data"]["id"] == created["id"]
    assert event["data"]["verdict"] == {"verified": False, "disclosed": {}, "predicates": [], "reason": "expired"}
    assert client.get(f"/requests/{created['id']}", headers=auth).json()["status"] == "expired"
    assert client.get(f"/requests/{pending['id']}", headers=auth).json()["status"] == "pending"
    late = client.post(
        f"/requests/{created['id']}/presentation",
        json={"presentation": present(world, world.holders[0], created["request"])},
    )
    _problem(late, 409, "replay")  # the request is final: no second event
    assert len(rx.received) == 1


@DBS
def test_a_restart_mid_queue_still_delivers(service, auth, world, app_client):
    """A worker claims a delivery and dies before recording it; after the lease another process delivers it."""
    client = app_client
    with receiver() as rx:
        hook = _register(client, auth, rx.url)
        created = _create(client, auth, world)
        r = client.post(
            f"/requests/{created['id']}/presentation",
            json={"presentation": present(world, world.holders[0], created["request"])},
        )
        assert r.json()["verified"] is True
        dying = Webhooks(service.store.engine, FAST)
        assert len(dying._claim(int(time.time() * 1000))) == 1  # claimed, then the process is gone
        assert rx.received == []

        restarted = Webhooks(service.store.engine, FAST)
        later = Webhooks(service.store.engine, FAST, clock=lambda: time.time() + FAST.lease_ms / 1000 + 1)
        try:
            restarted.start()
            time.sleep(0.5)
            assert rx.received == []  # the lease still holds: nobody delivers twice at once
            later.start()  # a process whose clock is past the lease (as the restarted one's will be)
            (got,) = rx.wait_for(1)
        finally:
            restarted.stop()
            later.stop()
    assert verify_webhook(hook["secret"], {**got.headers}, got.body)["data"]["id"] == created["id"]
    (row,) = _wait_log(client, auth, hook["id"], "delivered")
    assert row["attempts"] == 1


def test_deleting_an_endpoint_cancels_its_pending_deliveries(app_client, auth, world, webhooks):
    client = app_client
    hook = _register(client, auth, dead_url() + "/hook")
    created = _create(client, auth, world)
    client.post(
        f"/requests/{created['id']}/presentation",
        json={"presentation": present(world, world.holders[0], created["request"])},
    )
    (row,) = _wait_log(client, auth, hook["id"], "pending")
    assert row["attempts"] == 0 and row["event"] == "request.verified"
    assert client.delete(f"/webhooks/{hook['id']}", headers=auth).status_code == 204
    assert webhooks.pending_count() == 0


def test_verify_webhook_refuses_stale_timestamps_and_bad_secrets():
    from verifier.webhooks import new_secret, signed_headers

    secret, body = new_secret(), b'{"type":"request.verified"}'
    old = signed_headers(secret, "msg_x", int(time.time()) - 600, body)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(secret, old, body)
    with pytest.raises(WebhookVerificationError):
        verify_webhook("not-a-secret!", signed_headers(secret, "msg_x", int(time.time()), body), body)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(secret, {}, body)


def test_the_hosts_setting_is_parsed_once_and_checked(tmp_path):
    from verifier.config import ConfigError, Settings

    env = {
        "ZKCRED_STATE_DIR": str(tmp_path),
        "ZKCRED_VERIFIER_WEBHOOK_HOSTS": " Hooks.Lender.example, *.bank.example,10.1.0.0/16",
    }
    settings = Settings.from_env(env)
    assert settings.webhook_hosts == ("hooks.lender.example", "*.bank.example", "10.1.0.0/16")
    policy = WebhookPolicy.from_settings(settings)
    assert policy.check_url("https://10.1.2.3/hook") and policy.check_url("https://a.bank.example/hook")
    assert Settings.from_env({"ZKCRED_STATE_DIR": str(tmp_path)}).webhook_hosts == (
        "localhost",
        "127.0.0.0/8",
        "::1/128",
    )
    for bad in ("exa mple.com", "*.", "http://x.example", "a..b"):
        with pytest.raises(ConfigError, match="webhook_hosts"):
            Settings.from_env({**env, "ZKCRED_VERIFIER_WEBHOOK_HOSTS": bad})
    with pytest.raises(ConfigError, match="webhook_timeout"):
        Settings.from_env({**env, "ZKCRED_VERIFIER_WEBHOOK_TIMEOUT": "0"})


@DBS
def test_two_dispatchers_on_one_database_deliver_each_event_once(app_client, auth, world, clock, db_url):
    """Two worker processes' dispatchers (an engine each) race to expire 40 requests and to claim their
    deliveries: every request expires once and every event is POSTed exactly once."""
    from verifier.db import make_engine

    client = app_client
    with receiver() as rx:
        _register(client, auth, rx.url, events=["request.expired"])
        clock.now = time.time()
        ids = {_create(client, auth, world, expires_in=1)["id"] for _ in range(40)}
        time.sleep(1.1)
        engines = [make_engine(db_url) for _ in range(2)]
        patient = WebhookPolicy(timeout=10)  # no POST times out: a retry would be a (legitimate) second POST
        workers = [Webhooks(engine, patient, idle=0.01) for engine in engines]
        try:
            for w in workers:
                w.start()
            got = rx.wait_for(40)
            time.sleep(0.5)
        finally:
            for w, engine in zip(workers, engines, strict=True):
                w.stop()
                engine.dispose()
    assert len(rx.received) == 40 and len({p.headers["webhook-id"] for p in rx.received}) == 40
    assert {json.loads(p.body)["data"]["id"] for p in got} == ids


def test_a_verdict_wakes_its_workers_dispatcher(service, auth, world):
    """With a 60 s idle poll, only the wake-up after the verdict can deliver it within seconds."""
    hooks = Webhooks(service.store.engine, FAST, idle=60)
    app = create_app(service, public_url="https://verifier.test", webhooks=hooks)
    with TestClient(app, raise_server_exceptions=False) as client, receiver() as rx:
        _register(client, auth, rx.url)
        created = _create(client, auth, world)
        presentation = present(world, world.holders[0], created["request"])
        hooks.start()
        time.sleep(0.3)  # its first step ran: now it sleeps for a minute unless woken
        try:
            t0 = time.monotonic()
            client.post(f"/requests/{created['id']}/presentation", json={"presentation": presentation})
            rx.wait_for(1, timeout=20)
            assert time.monotonic() - t0 < 20
        finally:
            hooks.stop()
