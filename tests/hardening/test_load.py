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
def test_verifier_on_postgres_with_two_workers_under_32_clients(tmp_path):
    reason = postgres_unreachable()
    if reason:
        pytest.skip(reason)
    from bench.compare_http import _Services

    services = _Services(tmp_path, SHAPE, lambda _: None)
    cleanup = None
    try:
        proc, base, key, cleanup = services.verifier("postgresql", WORKERS)
        lender_h = {"Authorization": f"Bearer {key}"}
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
                    r = timed("status", lambda rid=rid: c.get(f"/requests/{rid}", headers=lender_h), 200)
                    if r is not None and r.json()["status"] != "pending":  # failures never spend a request
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
        every = [x for v in lat.values() for x in v]
        result["latency_ms"]["all"] = {
            "n": len(every),
            "p50": round(statistics.median(every), 1),
            "p99": round(_pct(every, 0.99), 1),
        }
        out = ROOT / "docs" / "benchmarks" if os.environ.get("ZKCRED_LOAD_WRITE") == "1" else tmp_path
        (out / "load.json").write_text(json.dumps(result, indent=2) + "\n")
        line = (
            f"- {result['measured']} ({result['commit']}), {WORKERS} workers on PostgreSQL, {CLIENTS} clients, "
            f"{wall:.0f} s: {total} requests ({result['throughput_rps']} req/s; writes "
            f"{result['write_throughput_rps']}/s), p50 {result['latency_ms']['all']['p50']} ms, p99 "
            f"{result['latency_ms']['all']['p99']} ms (verdicts: p50 {result['latency_ms']['verdict']['p50']} ms, "
            f"p99 {result['latency_ms']['verdict']['p99']} ms); 0 errors; {len(races)} races × {RACERS}, "
            f"no nonce accepted twice.\n"
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
        services.close()
