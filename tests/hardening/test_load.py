"""Scale-out: the verifier on PostgreSQL with 2 uvicorn workers under 32 concurrent clients (loopback).

Real processes (``bench.compare_http._Services``: the ledger and the issuer as ``zkcred
… serve`` start them, a wallet holding one revocable credential; then ``zkcred verifier
serve --workers 2`` on a PostgreSQL schema of its own). For ``ZKCRED_LOAD_SECONDS``
(default 10 — CI's bounded form; 60 for the full run), 32 client threads, each with its
own keep-alive connection, loop over one lender/holder cycle:

1. ``POST /requests`` (lender, a write: a new nonce) → 201;
2. ``GET /requests/{id}/document`` (holder) → 200;
3. ``POST /requests/{id}/presentation`` with a real presentation made for *another*
   request (full verification, then the verdict is written) → 200 ``invalid_proof``;
4. the same again → 200 ``invalid_proof`` (a failed presentation spends nothing; a second
   attempt, counted by a conditional update);
5. ``GET /requests/{id}`` (lender) → ``pending``.

Meanwhile, races: valid presentations (made before the clock starts) are each posted by 4
clients at the same instant, to whichever worker picks them up → exactly one ``verified``,
three 409 ``replay``. Zero errors (any other status, any transport error) and no nonce
accepted twice. Throughput (all requests and writes), p50/p99 per kind go to
``docs/benchmarks/load.json`` and a line in ``docs/benchmarks/load.md`` when
``ZKCRED_LOAD_WRITE=1`` (else to the test's temporary directory, so CI leaves the tree clean).

With ``--webhooks`` (or ``ZKCRED_LOAD_WEBHOOKS=1``) the lender has a webhook endpoint: a
receiver in its own process on loopback that answers every 10th POST with 500. The verifier
takes ``max_attempts=2``, so step 4 rejects the request for good (``too-many-attempts``) and
step 5 reads ``rejected``: every cycle and every race ends in a verdict and an event. After
the run, every verdict must have been delivered — no request without a delivery, none
delivered twice with different content or ids, every signature valid, each body's verdict
the one ``GET /requests/{id}`` reports — and the figures go to ``load-webhooks.json`` (a
line in ``load.md`` marked "webhooks").
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import statistics
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.postgres import postgres_unreachable

SECONDS = float(os.environ.get("ZKCRED_LOAD_SECONDS", "10"))
CLIENTS = 32
WORKERS = 2
RACES = 8 if SECONDS < 30 else 24
RACERS = 4
SHAPE = {
    "attributes": [("income", "int", 64000), ("birth_date", "date", "1990-12-10"), ("country", "string", "NL")],
    "disclose": ["country"],
}
ROOT = Path(__file__).resolve().parents[2]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


@pytest.mark.load
@pytest.mark.postgres
def test_verifier_on_postgres_with_two_workers_under_32_clients(tmp_path, request):
    reason = postgres_unreachable()
    if reason:
        pytest.skip(reason)
    from bench.compare_http import _Services

    webhooks = request.config.getoption("--webhooks") or os.environ.get("ZKCRED_LOAD_WEBHOOKS") == "1"
    services = _Services(tmp_path, SHAPE, lambda _: None)
    cleanup = None
    hook: _Hook | None = None
    try:
        env = None
        if webhooks:
            hook = _Hook(tmp_path)
            env = {
                "ZKCRED_VERIFIER_MAX_ATTEMPTS": "2",
                "ZKCRED_VERIFIER_WEBHOOK_RETRY_BASE": "0.2",
                "ZKCRED_VERIFIER_WEBHOOK_RETRY_MAX": "2",
            }
        proc, base, key, cleanup = services.verifier("postgresql", WORKERS, env=env)
        lender_h = {"Authorization": f"Bearer {key}"}
        if hook is not None:
            r = httpx.post(f"{base}/webhooks", json={"url": hook.url}, headers=lender_h, timeout=30)
            assert r.status_code == 201, r.text
            hook.secret = r.json()["secret"]
        ask = {
            "disclose": ["country"],
            "credential_definitions": [services.definition_id],
            "expires_in": 3600,
            "max_staleness": 3600,
            "predicates": [{"attribute": "income", "op": ">=", "value": 50000}],
        }
        prep = httpx.Client(base_url=base, timeout=60)

        def new_request() -> dict:
            r = prep.post("/requests", json=ask, headers=lender_h)
            assert r.status_code == 201, r.text
            return r.json()

        # before the clock: a decoy (valid, for a request of its own) and the valid presentations to race
        decoy = services.wallet.present(services.wallet.prepare(new_request()["request"]).approve())[0]
        races = []
        for _ in range(RACES):
            created = new_request()
            races.append((created, services.wallet.present(services.wallet.prepare(created["request"]).approve())[0]))
        for _ in range(2 * WORKERS):  # warm every worker's resolver (ledger replay) outside the clock
            created = new_request()
            prep.post(f"/requests/{created['id']}/presentation", json={"presentation": decoy})

        lock = threading.Lock()
        lat: dict[str, list[float]] = {k: [] for k in ("create", "document", "verdict", "retry", "status", "race")}
        errors: list[str] = []
        cycles = [0]
        finals: dict[str, str] = {}  # request id → its final status (webhooks: every cycle ends in one)
        retry_reason, after_retry = ("too-many-attempts", "rejected") if webhooks else ("invalid_proof", "pending")
        stop = threading.Event()

        def timed(kind: str, fn, expect: int):
            t0 = time.perf_counter()
            try:
                r = fn()
            except httpx.HTTPError as e:
                with lock:
                    errors.append(f"{kind}: {e!r}")
                return None
            ms = (time.perf_counter() - t0) * 1e3
            with lock:
                lat[kind].append(ms)
                if r.status_code != expect:
                    errors.append(f"{kind}: {r.status_code} {r.text[:160]}")
                    return None
            return r

        def client_loop() -> None:
            with httpx.Client(base_url=base, timeout=60) as c:
                while not stop.is_set():
                    r = timed("create", lambda: c.post("/requests", json=ask, headers=lender_h), 201)
                    if r is None:
                        continue
                    rid = r.json()["id"]
                    timed("document", lambda rid=rid: c.get(f"/requests/{rid}/document"), 200)
                    r = timed(
                        "verdict",
                        lambda rid=rid: c.post(f"/requests/{rid}/presentation", json={"presentation": decoy}),
                        200,
                    )
                    if r is not None and r.json() != {
                        "verified": False,
                        "disclosed": {},
                        "predicates": [],
                        "reason": "invalid_proof",
                    }:
                        with lock:
                            errors.append(f"decoy verdict: {r.text[:160]}")
                    r = timed(
                        "retry",
                        lambda rid=rid: c.post(f"/requests/{rid}/presentation", json={"presentation": decoy}),
                        200,
                    )
                    if r is not None and r.json()["reason"] != retry_reason:
                        with lock:
                            errors.append(f"retry verdict: {r.text[:160]}")
                    elif r is not None and webhooks:
                        with lock:
                            finals[rid] = "rejected"
                    r = timed("status", lambda rid=rid: c.get(f"/requests/{rid}", headers=lender_h), 200)
                    # failures never spend a request (webhooks: the second, at max_attempts=2, rejects it)
                    if r is not None and r.json()["status"] != after_retry:
                        with lock:
                            errors.append(f"status after a verdict: {r.text[:160]}")
                    with lock:
                        cycles[0] += 1

        race_results: list[list[int]] = []

        def race(created: dict, presentation: dict) -> None:
            barrier = threading.Barrier(RACERS)
            statuses: list[int] = []

            def one() -> None:
                with httpx.Client(base_url=base, timeout=60) as c:
                    barrier.wait()
                    t0 = time.perf_counter()
                    try:
                        r = c.post(f"/requests/{created['id']}/presentation", json={"presentation": presentation})
                    except httpx.HTTPError as e:
                        with lock:
                            errors.append(f"race: {e!r}")
                        return
                    with lock:
                        lat["race"].append((time.perf_counter() - t0) * 1e3)
                        statuses.append(200 if r.status_code == 200 and r.json()["verified"] else r.status_code)

            threads = [threading.Thread(target=one) for _ in range(RACERS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            race_results.append(sorted(statuses))

        clients = [threading.Thread(target=client_loop, daemon=True) for _ in range(CLIENTS)]
        t0 = time.perf_counter()
        for t in clients:
            t.start()
        gap = SECONDS / (RACES + 1)
        for created, presentation in races:
            time.sleep(gap)
            race(created, presentation)
        while time.perf_counter() - t0 < SECONDS:
            time.sleep(0.05)
        stop.set()
        for t in clients:
            t.join(timeout=120)
        wall = time.perf_counter() - t0

        assert not errors, f"{len(errors)} errors, first: {errors[:5]}"
        assert all(r == [200] + [409] * (RACERS - 1) for r in race_results), race_results  # one acceptance per nonce
        for created, _ in races:
            assert prep.get(f"/requests/{created['id']}", headers=lender_h).json()["status"] == "verified"
            finals[created["id"]] = "verified"
        delivered = None
        if hook is not None:
            delivered = hook.check(finals, prep, lender_h, stopped=time.perf_counter())
        total = sum(len(v) for v in lat.values())
        writes = len(lat["create"]) + len(lat["verdict"]) + len(races)
        result = {
            "measured": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "commit": subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
            ).stdout.strip(),
            "command": f"ZKCRED_LOAD_SECONDS={SECONDS:g} ZKCRED_LOAD_WRITE=1 .venv/bin/python -m pytest "
            "tests/hardening/test_load.py -m load",
            "machine": f"{os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}",
            "setup": {
                "database": "postgresql",
                "workers": WORKERS,
                "clients": CLIENTS,
                "seconds": round(wall, 1),
                "loopback": True,
                "note": "clients and server share the machine's cores",
            },
            "requests": total,
            "writes": writes,
            "cycles": cycles[0],
            "errors": len(errors),
            "races": len(races),
            "nonces_accepted_twice": 0,
            "throughput_rps": round(total / wall, 1),
            "write_throughput_rps": round(writes / wall, 1),
            "latency_ms": {
                k: {"n": len(v), "p50": round(statistics.median(v), 1), "p99": round(_pct(v, 0.99), 1)}
                for k, v in lat.items()
                if v
            },
        }
        if delivered is not None:
            result["command"] += " --webhooks"
            result["setup"]["webhooks"] = (
                "one endpoint: a receiver process on loopback answering every 10th POST with 500; "
                "max_attempts=2 (every cycle ends rejected); retries 0.2 s doubling to 2 s"
            )
            result["webhooks"] = delivered
        every = [x for v in lat.values() for x in v]
        result["latency_ms"]["all"] = {
            "n": len(every),
            "p50": round(statistics.median(every), 1),
            "p99": round(_pct(every, 0.99), 1),
        }
        out = ROOT / "docs" / "benchmarks" if os.environ.get("ZKCRED_LOAD_WRITE") == "1" else tmp_path
        (out / ("load-webhooks.json" if webhooks else "load.json")).write_text(json.dumps(result, indent=2) + "\n")
        hooked = ""
        if delivered is not None:
            hooked = (
                f" **Webhooks**: {delivered['verdicts']} verdicts, each delivered ({delivered['posts']} POSTs, "
                f"{delivered['answered_500']} answered 500 and retried, {delivered['duplicates']} duplicates with "
                f"the same id and body, 0 missing or different); the queue drained {delivered['drain_s']} s after "
                f"the clients stopped."
            )
        line = (
            f"- {result['measured']} ({result['commit']}){' **with webhooks**' if webhooks else ''}, "
            f"{WORKERS} workers on PostgreSQL, {CLIENTS} clients, "
            f"{wall:.0f} s: {total} requests ({result['throughput_rps']} req/s; writes "
            f"{result['write_throughput_rps']}/s), p50 {result['latency_ms']['all']['p50']} ms, p99 "
            f"{result['latency_ms']['all']['p99']} ms (verdicts: p50 {result['latency_ms']['verdict']['p50']} ms, "
            f"p99 {result['latency_ms']['verdict']['p99']} ms); 0 errors; {len(races)} races × {RACERS}, "
            f"no nonce accepted twice.{hooked}\n"
        )
        md = out / "load.md"
        if not md.exists():
            md.write_text(
                "# Verifier under load (tests/hardening/test_load.py)\n\n"
                + (__doc__ or "").split("\n\n")[1]
                + "\n\nFigures in load.json; one line per full run:\n\n"
            )
        with md.open("a") as f:
            f.write(line)
        print("\n" + line)
        assert total > 0 and cycles[0] > 0
    finally:
        if cleanup is not None:
            try:
                services._stop(proc)
            finally:
                cleanup()
        if hook is not None:
            hook.close()
        services.close()


class _Hook:
    """The lender's webhook receiver, in its own process (``tests.verifier.webhook_receiver``)."""

    FAIL_EVERY = 10

    def __init__(self, tmp: Path) -> None:
        import socket
        import sys

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/hooks/zkcred"
        self.log = tmp / "webhooks.jsonl"
        self.secret = ""
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.verifier.webhook_receiver", str(port), str(self.log), str(self.FAIL_EVERY)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=(tmp / "receiver.log").open("wb"),
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(self.url, timeout=1)  # 405: it listens
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and self.proc.poll() is None, "the receiver did not start"
                time.sleep(0.1)

    def posts(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.endswith("}")]

    def check(self, finals: dict[str, str], client: httpx.Client, lender_h: dict, stopped: float) -> dict:
        """Wait until every final verdict was delivered (≤ 120 s), then check each delivery (class doc)."""
        from verifier.webhooks import verify_webhook

        deadline = time.monotonic() + 120
        while True:
            posts = self.posts()
            ok = {json.loads(p["body"])["data"]["id"] for p in posts if p["answered"] == 200}
            missing = finals.keys() - ok
            if not missing:
                break
            assert time.monotonic() < deadline, f"{len(missing)} verdicts never delivered, e.g. {sorted(missing)[:3]}"
            time.sleep(0.25)
        drain = time.perf_counter() - stopped
        by_request: dict[str, list[dict]] = {}
        for p in posts:
            headers = {"webhook-id": p["id"], "webhook-timestamp": p["timestamp"], "webhook-signature": p["signature"]}
            event = verify_webhook(self.secret, headers, p["body"])  # raises on a bad signature
            by_request.setdefault(event["data"]["id"], []).append({**p, "event": event})
        assert by_request.keys() == finals.keys(), "a delivery for a request with no final verdict"
        for request_id, got in by_request.items():
            assert len({p["body"] for p in got}) == 1, f"{request_id}: delivered with different content"
            assert len({p["id"] for p in got}) == 1, f"{request_id}: delivered under different ids"
            event = got[0]["event"]
            assert event["data"]["status"] == finals[request_id] == event["type"].removeprefix("request.")
        for request_id in list(finals)[:200]:  # the body is the verdict the lender reads (a sample)
            view = client.get(f"/requests/{request_id}", headers=lender_h).json()
            assert by_request[request_id][0]["event"]["data"]["verdict"] == view["verdict"], request_id
        answered_ok = sum(1 for p in posts if p["answered"] == 200)
        return {
            "verdicts": len(finals),
            "posts": len(posts),
            "answered_500": sum(1 for p in posts if p["answered"] == 500),
            "duplicates": answered_ok - len(finals),
            "missing": 0,
            "different_content": 0,
            "drain_s": round(drain, 1),
        }

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
