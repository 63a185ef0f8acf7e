"""Scenario 5 of ``python -m bench compare``: the zkcred verifier over HTTP on loopback.

Real processes, as ``zkcred serve`` starts them: the ledger and the issuer (SQLite, in a
temporary directory) and, per configuration, the verifier (``zkcred verifier serve
--workers W``) on SQLite or on the PostgreSQL at 127.0.0.1:5432 (database ``test``, a
schema of its own, dropped afterwards). A wallet accepts one revocable credential over
HTTP (same 10-attribute shape as the other scenarios).

For each (database, workers, clients): ``M`` requests are created by the lender
(``POST /requests``: 2 disclosed, income ≥ 50 000, non-revocation) and answered by the
wallet *before* the clock starts (every nonce is single-use, so each needs its own
presentation). Then ``clients`` threads, each with its own keep-alive ``httpx.Client``,
post the presentations (``POST /requests/{id}/presentation``) as fast as they get
verdicts: a bounded run of ``M`` requests. Reported: throughput (M / wall time), p50 and
p99 latency per POST, and errors (any non-200 or an unverified verdict). A few untimed
warm-up presentations first let every worker load the ledger into its resolver.

The load generator shares the machine's cores with the server (loopback), so the
figures are what one 2-core box does with both ends; AnonCreds ships no HTTP verifier,
so this scenario has zkcred only.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypedDict

import httpx

POSTGRES = os.environ.get("ZKCRED_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


class Mode(TypedDict):
    """Requests per line, and the client counts, worker counts and databases to combine."""

    requests: int
    clients: tuple[int, ...]
    workers: tuple[int, ...]
    databases: tuple[str, ...]


FULL: Mode = {"requests": 40, "clients": (1, 8, 32), "workers": (1, 2), "databases": ("sqlite", "postgresql")}
QUICK: Mode = {"requests": 8, "clients": (1, 8), "workers": (1, 2), "databases": ("sqlite", "postgresql")}
WARMUP_PER_WORKER = 2


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the service exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=2.0)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"{url}: no answer after {timeout:.0f} s")


class _Services:
    """The ledger and issuer processes, one wallet with one credential, and the verifier configurations."""

    def __init__(self, tmp: Path, shape: dict[str, Any], log: Callable[[str], None]) -> None:
        from issuer import db as issuer_db
        from issuer.service import create_admin_token
        from ledger.entries import public_key_bytes
        from ledger.keys import load_signing_key

        self.tmp, self.shape, self.log = tmp, shape, log
        self.procs: list[subprocess.Popen] = []
        key_file = tmp / "ledger-key"
        self.ledger_key = public_key_bytes(load_signing_key(key_file))
        self.ledger_url = f"http://127.0.0.1:{_port()}"
        self._spawn(
            "ledger",
            ["ledger", "serve", "--port", self.ledger_url.rsplit(":", 1)[1], "--key-file", str(key_file)],
            {"DATABASE_URL": f"sqlite:///{tmp / 'ledger.db'}"},
            f"{self.ledger_url}/tree-head",
        )
        issuer_url = f"http://127.0.0.1:{_port()}"
        issuer_db_url = f"sqlite:///{tmp / 'issuer.db'}"
        engine = issuer_db.make_engine(issuer_db_url)
        issuer_db.create_tables(engine)
        admin = {"Authorization": f"Bearer {create_admin_token(engine, name='bench')}"}
        engine.dispose()
        self._spawn(
            "issuer",
            ["issuer", "serve", "--dev", "--port", issuer_url.rsplit(":", 1)[1]],
            {"DATABASE_URL": issuer_db_url, "ZKCRED_LEDGER_URL": self.ledger_url, "ZKCRED_ISSUER_URL": issuer_url},
            f"{issuer_url}/openapi.json",
        )
        with httpx.Client(base_url=issuer_url, headers=admin, timeout=60) as iss:
            schema = self._ok(
                iss.post(
                    "/admin/schemas",
                    json={
                        "name": "applicant",
                        "version": "1.0",
                        "attributes": [{"name": n, "type": t} for n, t, _ in shape["attributes"]],
                    },
                ),
                201,
            )
            cred_def = self._ok(
                iss.post(
                    "/admin/credential-definitions",
                    json={
                        "schema_id": schema["id"],
                        "tag": "bench",
                        "revocable": True,
                        "capacity": 1000,
                        "validity_days": 365,
                    },
                ),
                201,
            )
            offer = self._ok(
                iss.post(
                    "/admin/offers",
                    json={
                        "credential_definition_id": cred_def["id"],
                        "attributes": {n: v for n, _, v in shape["attributes"]},
                    },
                ),
                201,
            )
        from circuits.backend import get_backend
        from wallet import Wallet

        self.definition_id = cred_def["id"]
        self.wallet = Wallet.create(
            tmp / "wallet.db",
            secrets.token_urlsafe(16),
            ledger_url=self.ledger_url,
            ledger_key=self.ledger_key,
            backend=get_backend("blst"),
        )
        self.wallet.accept_offer(offer)

    @staticmethod
    def _ok(response: httpx.Response, status: int) -> dict:
        if response.status_code != status:
            raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text[:300]}")
        return response.json()

    def _spawn(self, name: str, args: list[str], env: dict[str, str], ready_url: str) -> subprocess.Popen:
        out = open(self.tmp / f"{name}-{len(self.procs)}.log", "wb")  # closed with the process
        base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "ZKCRED_CONFIG")}
        base["ZKCRED_STATE_DIR"] = str(self.tmp)  # everything (the issuer's --dev key too) in the temporary directory
        proc = subprocess.Popen(
            [sys.executable, "-m", "zkcred", *args],
            env={**base, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append(proc)
        _wait(ready_url, proc)
        return proc

    @staticmethod
    def _stop(proc: subprocess.Popen) -> None:
        """SIGTERM to the service's own process group (uvicorn and its workers), SIGKILL if it lingers."""
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def close(self) -> None:
        self.wallet.close()
        for proc in reversed(self.procs):
            self._stop(proc)

    # one verifier configuration ------------------------------------------------------------

    def verifier(
        self, database: str, workers: int, *, env: dict[str, str] | None = None
    ) -> tuple[subprocess.Popen, str, str, Callable[[], None]]:
        """Start a verifier; returns (process, base URL, lender API key, cleanup).

        ``env``: more environment for it (e.g. webhook settings); :meth:`restart_verifier`
        starts it again on the same database and port.
        """
        from verifier.db import SqlRequestStore, init_db, make_engine
        from verifier.service import VerifierService

        cleanup: Callable[[], None] = lambda: None  # noqa: E731
        if database == "sqlite":
            url = f"sqlite:///{self.tmp / f'verifier-{secrets.token_hex(4)}.db'}"
        else:
            import psycopg

            schema = f"bench_compare_{secrets.token_hex(4)}"
            plain = POSTGRES.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(plain, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'CREATE SCHEMA "{schema}"')
            url = f"{POSTGRES}?options=-csearch_path%3D{schema}"

            def cleanup() -> None:
                with psycopg.connect(plain, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

        engine = make_engine(url)
        init_db(engine)
        key = VerifierService(
            store=SqlRequestStore(engine),
            resolver=None,  # type: ignore[arg-type]
            verifier_id="bench",
        ).create_api_key(lender="bench")
        engine.dispose()
        base = f"http://127.0.0.1:{_port()}"
        self.verifier_config = (database, workers, url, base)
        return self.restart_verifier(env), base, key, cleanup

    def restart_verifier(self, env: dict[str, str] | None = None) -> subprocess.Popen:
        """(Re)start the last :meth:`verifier` — same database, port and workers — with ``env``."""
        database, workers, url, base = self.verifier_config
        return self._spawn(
            f"verifier-{database}-w{workers}",
            ["verifier", "serve", "--port", base.rsplit(":", 1)[1], "--workers", str(workers)],
            {
                "DATABASE_URL": url,
                "ZKCRED_LEDGER_URL": self.ledger_url,
                "ZKCRED_VERIFIER_URL": base,
                "ZKCRED_LEDGER_PUBLIC_KEY": self.ledger_key.hex(),
                **(env or {}),
            },
            f"{base}/openapi.json",
        )

    def prepared(self, base: str, key: str, n: int) -> list[tuple[str, dict]]:
        """n (presentation URL, presentation) pairs for fresh requests; the wallet proves each."""
        ask = {
            "disclose": list(self.shape["disclose"]),
            "credential_definitions": [self.definition_id],
            "predicates": [{"attribute": "income", "op": ">=", "value": 50000}],
            "expires_in": 3600,
            "max_staleness": 3600,
        }
        out = []
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as lender:
            for _ in range(n):
                created = self._ok(lender.post("/requests", json=ask), 201)
                presentation, _ = self.wallet.present(self.wallet.prepare(created["request"]).approve())
                out.append((created["presentation_url"], presentation))
        return out


def _load(jobs: list[tuple[str, dict]], clients: int) -> dict[str, Any]:
    """Post every job with ``clients`` threads; latency per POST, throughput over the whole run."""
    lock = threading.Lock()
    queue = list(reversed(jobs))
    latencies: list[float] = []
    errors: list[str] = []

    def worker() -> None:
        with httpx.Client(timeout=120) as client:
            while True:
                with lock:
                    if not queue:
                        return
                    url, presentation = queue.pop()
                t0 = time.perf_counter()
                try:
                    r = client.post(url, json={"presentation": presentation})
                    ok = r.status_code == 200 and r.json().get("verified") is True
                    detail = f"{r.status_code} {r.text[:120]}"
                except httpx.HTTPError as e:
                    ok, detail = False, repr(e)
                ms = (time.perf_counter() - t0) * 1e3
                with lock:
                    latencies.append(ms)
                    if not ok:
                        errors.append(detail)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, max(0, round(0.99 * len(ordered)) - 1))]
    return {
        "requests": len(jobs),
        "clients": clients,
        "throughput_rps": len(jobs) / wall,
        "wall_s": wall,
        "p50_ms": statistics.median(ordered),
        "p99_ms": p99,
        "min_ms": ordered[0],
        "max_ms": ordered[-1],
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
    }


def available() -> str | None:
    """None if scenario 5 can run here, else why not."""
    try:
        import verifier.api
        import verifier.service  # noqa: F401
        import wallet  # noqa: F401
    except ImportError as e:
        return f"the verifier service is not importable ({e})"
    return None


def run(
    shape: dict[str, Any], *, quick: bool, log: Callable[[str], None] = print, label: str = "zkcred-blst"
) -> tuple[list[dict], list[str]]:
    """Rows for compare.py (kind ``http``) and notes (a database that could not be used, errors)."""
    mode = QUICK if quick else FULL
    rows: list[dict] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmpdir:
        services = _Services(Path(tmpdir), shape, log)
        try:
            for database in mode["databases"]:
                for workers in mode["workers"]:
                    t0 = time.perf_counter()
                    try:
                        proc, base, key, cleanup = services.verifier(database, workers)
                    except Exception as e:  # e.g. no PostgreSQL here: say so, measure the rest
                        notes.append(
                            f"scenario 5, {database}, {workers} worker(s): not run ({e.__class__.__name__}: "
                            f"{str(e)[:160]})"
                        )
                        log(f"  http {database} w{workers}: not run: {e}")
                        continue
                    try:
                        warm = services.prepared(base, key, WARMUP_PER_WORKER * workers)
                        _load(warm, workers)
                        for clients in mode["clients"]:
                            jobs = services.prepared(base, key, mode["requests"])
                            result = _load(jobs, clients)
                            rows.append(
                                {
                                    "id": f"http.{database}.w{workers}.c{clients}",
                                    "scenario": "5. verifier over HTTP",
                                    "what": f"{database}, {workers} worker{'s' if workers > 1 else ''}, "
                                    f"{clients} client{'s' if clients > 1 else ''}",
                                    "kind": "http",
                                    "params": {"database": database, "workers": workers, "clients": clients},
                                    "values": {label: result},
                                }
                            )
                            log(
                                f"  http {database} w{workers} c{clients}: {result['throughput_rps']:.1f} req/s, "
                                f"p50 {result['p50_ms']:.0f} ms, p99 {result['p99_ms']:.0f} ms, "
                                f"errors {result['errors']}"
                            )
                    finally:
                        services._stop(proc)
                        cleanup()
                    log(f"  http {database} w{workers}: [{time.perf_counter() - t0:.0f} s]")
        finally:
            services.close()
    return rows, notes
