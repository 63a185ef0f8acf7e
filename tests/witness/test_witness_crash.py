"""kill -9 of a witness process while a log keeps submitting: after the restart the witness still
holds at least every size it answered 200 for, and never cosigns a rollback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.checkpoint import format_add_checkpoint, parse_size_body
from ledger.log import LedgerLog
from ledger.store import MemoryStore
from tests.ledger.conftest import Issuer, populate

ORIGIN = "ledger.test/crash"


def _start(log: LedgerLog, tmp: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "zkcred",
            "witness",
            "serve",
            "--log",
            log.verifier.vkey(),
            "--port",
            str(port),
            "--database-url",
            f"sqlite:///{tmp / 'w.db'}",
            "--key-file",
            str(tmp / "w-key"),
            "--name",
            "witness.test/c",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/vkey", timeout=0.5)
            return proc
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("witness did not start")


def test_kill_9_loses_no_cosigned_size(tmp_path: Path) -> None:
    log = LedgerLog(MemoryStore(), signing_key=Ed25519PrivateKey.generate(), origin=ORIGIN)
    populate(log, Issuer("acme"), 400)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/add-checkpoint"
    proc = _start(log, tmp_path, port)
    acknowledged = 0
    stop = threading.Event()

    def submit_until_killed() -> None:
        nonlocal acknowledged
        old = 0
        with httpx.Client(timeout=2) as http:
            for size in range(1, 401):
                if stop.is_set():
                    return
                proof = log.consistency_proof(first=old, second=size) if old else []
                try:
                    r = http.post(url, content=format_add_checkpoint(old, proof, log.checkpoint(size).to_bytes()))
                except httpx.HTTPError:
                    return  # killed
                assert r.status_code == 200, r.text
                acknowledged, old = size, size

    worker = threading.Thread(target=submit_until_killed)
    worker.start()
    time.sleep(1.0)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stop.set()
    worker.join()
    assert 0 < acknowledged < 400  # killed mid-stream
    proc = _start(log, tmp_path, port)
    try:
        with httpx.Client(timeout=5) as http:
            # ask with old size 0: the 409 names the size it recorded
            r = http.post(url, content=format_add_checkpoint(0, [], log.checkpoint(400).to_bytes()))
            assert r.status_code == 409 and r.headers["content-type"] == "text/x.tlog.size"
            recorded = parse_size_body(r.content)
            assert recorded >= acknowledged  # nothing acknowledged was lost (it may hold one more)
            assert recorded <= acknowledged + 1
            # an older checkpoint (a rollback) is refused, the next consistent one cosigned
            assert (
                http.post(
                    url, content=format_add_checkpoint(recorded, [], log.checkpoint(recorded).to_bytes())
                ).status_code
                == 200
            )
            back = http.post(url, content=format_add_checkpoint(recorded, [], log.checkpoint(recorded - 1).to_bytes()))
            assert back.status_code == 400  # old size above the checkpoint's: no rollback
            proof = log.consistency_proof(first=recorded, second=400)
            assert (
                http.post(
                    url, content=format_add_checkpoint(recorded, proof, log.checkpoint(400).to_bytes())
                ).status_code
                == 200
            )
    finally:
        proc.terminate()
        proc.wait(timeout=10)
