"""Webhooks survive the verifier dying mid-queue: real processes, killed at a crash point, restarted.

``zkcred verifier serve`` (SQLite, then PostgreSQL) with ``ZKCRED_CRASH_AT`` set SIGKILLs
itself in the webhook dispatcher — after claiming a delivery (``webhook:claimed``: nothing
sent), or after the receiver answered 200 but before the delivery was recorded
(``webhook:delivered``). Started again on the same database without the crash point, the
verifier delivers the verdict once the dead process's lease runs out: the receiver gets it
(again, for ``delivered`` — the same ``webhook-id`` and the same bytes, so it deduplicates),
and the delivery log says ``delivered``. The verdict itself is answered before any of this
(or, when the crash beats the answer to the socket, committed and carried by the webhook).
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.hardening.test_load import SHAPE
from tests.postgres import postgres_unreachable
from tests.verifier.webhook_receiver import receiver
from verifier.webhooks import verify_webhook

TIMEOUT = 1.0  # ZKCRED_VERIFIER_WEBHOOK_TIMEOUT: the lease is 2 × timeout + 5 s = 7 s


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    from bench.compare_http import _Services

    services = _Services(tmp_path_factory.mktemp("webhook-restart"), SHAPE, lambda _: None)
    yield services
    services.close()


@pytest.mark.parametrize(
    ("database", "crash_at", "posts"),
    [
        ("sqlite", "webhook:claimed", 1),
        ("sqlite", "webhook:delivered", 2),
        pytest.param("postgresql", "webhook:delivered", 2, marks=pytest.mark.postgres),
    ],
)
def test_a_verdict_queued_when_the_verifier_dies_is_delivered_after_the_restart(services, database, crash_at, posts):
    if database == "postgresql" and (reason := postgres_unreachable()):
        pytest.skip(reason)
    env = {"ZKCRED_VERIFIER_WEBHOOK_TIMEOUT": str(TIMEOUT), "ZKCRED_VERIFIER_WEBHOOK_RETRY_BASE": "0.2"}
    proc, base, key, cleanup = services.verifier(database, 1, env={**env, "ZKCRED_CRASH_AT": crash_at})
    restarted = None
    try:
        lender = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60)
        with receiver() as rx:
            hook = lender.post("/webhooks", json={"url": rx.url, "events": ["request.verified"]}).json()
            created = lender.post(
                "/requests",
                json={
                    "disclose": ["country"],
                    "credential_definitions": [services.definition_id],
                    "predicates": [{"attribute": "income", "op": ">=", "value": 50000}],
                },
            ).json()
            presentation = services.wallet.present(services.wallet.prepare(created["request"]).approve())[0]
            t0 = time.monotonic()
            try:
                answer = httpx.post(created["presentation_url"], json={"presentation": presentation}, timeout=60)
                assert answer.status_code == 200 and answer.json()["verified"] is True  # answered at once
                verdict = answer.json()
            except httpx.RemoteProtocolError:
                # On a loaded machine the dispatcher, woken by the commit, can reach its crash point
                # before the server has written the answer: the verdict is committed all the same,
                # and the webhook (checked below) carries it.
                verdict = None
            proc.wait(timeout=30)  # the dispatcher reached the crash point: the process is gone
            assert proc.returncode != 0
            assert len(rx.received) == posts - 1  # delivered (200) but never recorded, or nothing sent

            restarted = services.restart_verifier(env)
            got = rx.wait_for(posts, timeout=60)
            waited = time.monotonic() - t0
        assert len({p.headers["webhook-id"] for p in got}) == 1 and len({p.body for p in got}) == 1
        event = verify_webhook(hook["secret"], got[-1].headers, got[-1].body)
        assert event["type"] == "request.verified" and event["data"]["id"] == created["id"]
        if verdict is not None:
            assert event["data"]["verdict"] == verdict
        assert event["data"]["verdict"]["verified"] is True
        (row,) = lender.get(f"/webhooks/{hook['id']}/deliveries").json()["deliveries"]
        assert row["status"] == "delivered" and row["message_id"] == got[0].headers["webhook-id"]
        assert [a["status_code"] for a in row["attempt_log"]] == [200]  # the dead process recorded nothing
        assert waited < 60
    finally:
        for p in (proc, restarted):
            if p is not None:
                services._stop(p)
        cleanup()
