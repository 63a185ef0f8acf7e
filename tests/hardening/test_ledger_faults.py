"""Ledger faults: ``kill -9`` the ledger service in the middle of a stream of appends, restart, audit.

``zkcred ledger serve`` runs on a free loopback port (SQLite; PostgreSQL in a schema of its
own, with 2 workers). Eight writer threads — eight issuers — append signed entries over
HTTP the way a remote issuer does (read the head, sign, POST; on 409 re-read and retry).
While they write, the whole process group gets SIGKILL; the ledger is restarted on the same
database and the writers go on; this happens ``KILLS`` times. Afterwards:

- ``zkcred ledger audit <url> --ledger-key <pinned>`` passes (every hash, chain link,
  signature, Merkle node and the signed tree head, replayed from entry 0);
- every append that was acknowledged (201 with a receipt) is in the log at the seq its
  receipt named, with the entry hash it named — and the log is one gapless chain of
  exactly the entries that were written (acknowledged or lost with the connection, never
  half-written).

Eight concurrent writers on one database are also covered, process against process, by
``tests/ledger/test_concurrency.py`` (store level); here they go through HTTP and survive kills.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.entries import public_key_bytes, sign_entry
from tests.hardening.conftest import free_ports
from tests.postgres import postgres_schema

WRITERS = 8
KILLS = 2
KILLS_SURVIVED: dict[str, int] = {}


class LedgerProcess:
    def __init__(self, tmp: Path, database_url: str, workers: int) -> None:
        self.port = free_ports(1)[0]
        self.url = f"http://127.0.0.1:{self.port}"
        self.key_file = tmp / "ledger.key"
        self.database_url = database_url
        self.workers = workers
        self.proc: subprocess.Popen | None = None
        self.public_key = public_key_bytes(Ed25519PrivateKey.generate())  # replaced on first start

    def start(self) -> None:
        env = {**os.environ, "DATABASE_URL": self.database_url}
        # the log goes to a file: a pipe nobody reads fills up (64 KiB of access lines) and blocks the server
        log_file = (self.key_file.parent / "ledger.log").open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "zkcred",
                "ledger",
                "serve",
                "--port",
                str(self.port),
                "--key-file",
                str(self.key_file),
                "--database-url",
                self.database_url,
                "--workers",
                str(self.workers),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
            start_new_session=True,
        )
        log_file.close()
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                r = httpx.get(self.url + "/tree-head", timeout=2)
                if r.status_code == 200:
                    self.public_key = bytes.fromhex(r.json()["key"])
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise AssertionError(
                    "ledger did not start: " + (self.key_file.parent / "ledger.log").read_text()[-2000:]
                )
            time.sleep(0.2)
        raise AssertionError("ledger did not start in 60 s")

    def kill9(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)  # the server and every worker, no clean shutdown
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


class Writer(threading.Thread):
    """One issuer appending revocation-like entries until told to stop; records every receipt."""

    def __init__(self, ledger: LedgerProcess, index: int, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.ledger, self.index, self.stop_event = ledger, index, stop
        self.key = Ed25519PrivateKey.generate()
        self.issuer = f"writer-{index}"
        self.acked: list[tuple[int, str]] = []  # (seq, entry_hash) of 201 receipts
        self.registered = False
        self.n = 0
        self.errors: list[str] = []

    def _append(self, client: httpx.Client, entry_type: str, payload: dict) -> bool:
        while not self.stop_event.is_set():
            head = client.get(self.ledger.url + "/tree-head").json()
            if head["last_entry_hash"] is None:
                continue
            entry = sign_entry(
                key=self.key,
                seq=head["size"],
                time=int(time.time() * 1000),
                entry_type=entry_type,
                issuer=self.issuer,
                payload=payload,
                prev_hash=bytes.fromhex(head["last_entry_hash"]),
            )
            r = client.post(self.ledger.url + "/entries", json=entry.to_json())
            if r.status_code in (200, 201):  # 200: a re-sent entry (a lost receipt), answered with the one there
                receipt = r.json()
                self.acked.append((receipt["seq"], receipt["entry_hash"]))
                return True
            if r.status_code == 409 and r.json()["type"].endswith("/chain-conflict"):
                continue
            if r.status_code == 409 and r.json()["type"].endswith("/issuer-exists"):
                return True  # our registration landed before a kill, its receipt was lost
            self.errors.append(f"{r.status_code} {r.text[:200]}")
            return False
        return False

    def run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self.stop_event.is_set():
                try:
                    if not self.registered:
                        self.registered = self._append(
                            client, "issuer_registration", {"ledger_key": public_key_bytes(self.key).hex()}
                        )
                        continue
                    self.n += 1
                    self._append(
                        client,
                        "revocation",
                        {
                            "registry_id": f"{self.issuer}/rr",
                            "handles": [f"{self.index:02x}{self.n:06x}"],
                            "values": [f"v{self.n:08d}"],
                        },
                    )
                except (httpx.HTTPError, ValueError):
                    time.sleep(0.05)  # the ledger is down (killed): wait for it to come back


def _run(tmp: Path, database_url: str, workers: int, label: str) -> None:
    ledger = LedgerProcess(tmp, database_url, workers)
    ledger.start()
    stop = threading.Event()
    writers = [Writer(ledger, i, stop) for i in range(WRITERS)]
    try:
        for w in writers:
            w.start()
        for _ in range(KILLS):
            time.sleep(1.5)  # appends in flight
            before = sum(len(w.acked) for w in writers)
            ledger.kill9()
            KILLS_SURVIVED[label] = KILLS_SURVIVED.get(label, 0) + 1
            time.sleep(0.3)
            ledger.start()
            assert before > 0, "no append was acknowledged before the kill"
        time.sleep(1.0)  # appends after the last restart too
        stop.set()
        for w in writers:
            w.join(timeout=30)
        assert not [e for w in writers for e in w.errors], [e for w in writers for e in w.errors][:5]

        audit = subprocess.run(
            [sys.executable, "-m", "zkcred", "ledger", "audit", ledger.url, "--ledger-key", ledger.public_key.hex()],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "COLUMNS": "200"},
        )
        assert audit.returncode == 0, audit.stdout + audit.stderr
        assert "OK" in audit.stdout + audit.stderr

        acked = sorted(a for w in writers for a in w.acked)
        size = httpx.get(ledger.url + "/tree-head").json()["size"]
        entries = []
        while len(entries) < size:
            page = httpx.get(ledger.url + "/entries", params={"start": len(entries), "limit": 1000}).json()
            entries += page["entries"]
        assert [e["seq"] for e in entries] == list(range(size))  # gapless
        from ledger.entries import canonical_json, entry_hash

        hashes = {e["seq"]: entry_hash(canonical_json(e)).hex() for e in entries}
        for seq, h in acked:
            assert hashes.get(seq) == h, f"acknowledged append {seq} is missing or different after the kills"
        assert (
            len(acked) <= size <= len(acked) + WRITERS * (KILLS + 1)
        )  # at most one unacknowledged per writer per kill
        print(f"\n{label}: {size} entries, {len(acked)} acknowledged, {KILLS} kills survived, audit OK")
    finally:
        stop.set()
        ledger.stop()


def test_kill9_during_appends_sqlite(tmp_path):
    _run(tmp_path, f"sqlite:///{tmp_path}/ledger.db", 1, "sqlite")


@pytest.mark.postgres
def test_kill9_during_appends_postgres(tmp_path):
    with postgres_schema("ledger_kill") as url:
        _run(tmp_path, url, 2, "postgres")
