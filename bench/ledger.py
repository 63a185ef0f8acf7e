"""``python -m bench ledger``: what witnessing costs (issue 17).

Operations (ms; median, min, max over ``--repeats`` samples after two warm-ups):

- ``append_http``: an issuer's signed entry ``POST /entries`` to the committed receipt, the
  ledger (``zkcred ledger serve``, SQLite WAL + ``synchronous=FULL``) in its own process;
- ``append_to_cosigned_3w``: from that same POST until ``GET /checkpoint`` returns a
  checkpoint that includes the entry and verifies under a 3-of-3 witness policy — the
  ledger submitting in the background to three ``zkcred witness serve`` processes (SQLite
  state) on loopback; the client polls ``/checkpoint`` every millisecond, so the figure
  includes up to ~1 ms of polling granularity;
- ``add_checkpoint``: one witness's ``Witness.add_checkpoint`` in process (parse, verify the
  log's signature, verify the consistency proof, cosign, compare-and-swap on SQLite).

Every process is a separate Python interpreter on this (shared, 2-core) machine, so the
numbers include scheduling among five processes.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import common
from ledger.checkpoint import format_add_checkpoint, log_verifier
from ledger.client import LedgerClient
from ledger.entries import public_key_bytes, sign_entry
from ledger.keys import key_from_file
from ledger.log import LedgerLog, now_ms
from ledger.note import CosignatureSigner
from ledger.policy import format_policy, simple_policy
from ledger.sql import SqlStore

ORIGIN = "bench.example/ledger"
HEADER = ["backend", "operation", "median ms", "min ms", "max ms"]


def _stats(times_ms: list[float]) -> dict[str, Any]:
    return {
        "median_ms": statistics.median(times_ms),
        "min_ms": min(times_ms),
        "max_ms": max(times_ms),
        "runs": len(times_ms),
    }


def append_to_cosigned(samples: int) -> dict[str, dict[str, Any]]:
    tmp = Path(tempfile.mkdtemp(prefix="zkcred-bench-witness-"))
    env = {**os.environ, "ZKCRED_LEDGER_ORIGIN": ORIGIN}
    env.pop("ZKCRED_LEDGER_SIGNING_KEY", None)
    ledger_key = key_from_file(tmp / "ledger-key")
    log_vkey = log_verifier(ORIGIN, public_key_bytes(ledger_key))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        witnesses = []
        for i in (1, 2, 3):
            port, name = common.free_port(), f"bench.example/w{i}"
            signer = CosignatureSigner(name, key_from_file(tmp / f"w{i}-key"))
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "zkcred",
                        "witness",
                        "serve",
                        "--log",
                        log_vkey.vkey(),
                        "--port",
                        str(port),
                        "--database-url",
                        f"sqlite:///{tmp / f'w{i}.db'}",
                        "--key-file",
                        str(tmp / f"w{i}-key"),
                        "--name",
                        name,
                    ],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            witnesses.append((name, signer.verifier, f"http://127.0.0.1:{port}"))
            common.wait_until_up(f"http://127.0.0.1:{port}/vkey", procs[-1])
        (tmp / "witnesses").write_text(format_policy(simple_policy(witnesses, 3, log=log_vkey)))
        port = common.free_port()
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "zkcred",
                    "ledger",
                    "serve",
                    "--port",
                    str(port),
                    "--database-url",
                    f"sqlite:///{tmp / 'ledger.db'}",
                    "--key-file",
                    str(tmp / "ledger-key"),
                    "--witnesses",
                    str(tmp / "witnesses"),
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        url = f"http://127.0.0.1:{port}"
        common.wait_until_up(f"{url}/tree-head", procs[-1])
        consumer = simple_policy([(n, v, None) for n, v, _ in witnesses], 3, log=log_vkey)
        client = LedgerClient(url, ledger_key=public_key_bytes(ledger_key), origin=ORIGIN, policy=consumer)
        return _measure(client, samples)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


def _measure(client: LedgerClient, samples: int) -> dict[str, dict[str, Any]]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    issuer = Ed25519PrivateKey.generate()
    receipt = client.submit(
        sign_entry(
            key=issuer,
            seq=0,
            time=now_ms(),
            entry_type="issuer_registration",
            issuer="bench",
            payload={"ledger_key": public_key_bytes(issuer).hex()},
            prev_hash=bytes(32),
        )
    )
    appends, cosigned = [], []
    for i in range(samples + 2):
        entry = sign_entry(
            key=issuer,
            seq=receipt["seq"] + 1,
            time=now_ms(),
            entry_type="revocation",
            issuer="bench",
            payload={"registry_id": "r", "handles": [f"{i:04x}"], "values": ["d" * 96]},
            prev_hash=bytes.fromhex(receipt["entry_hash"]),
        )
        t0 = time.perf_counter()
        receipt = client.submit(entry)
        t1 = time.perf_counter()
        deadline = t1 + 30
        while True:
            try:
                if client.checkpoint().size > receipt["seq"]:
                    break
            except Exception:  # not yet cosigned by all three (QuorumNotMet): poll again
                pass
            if time.perf_counter() > deadline:
                raise RuntimeError("no cosigned checkpoint within 30 s")
            time.sleep(0.001)
        t2 = time.perf_counter()
        if i >= 2:
            appends.append((t1 - t0) * 1000)
            cosigned.append((t2 - t0) * 1000)
    return {"append_http": _stats(appends), "append_to_cosigned_3w": _stats(cosigned)}


def add_checkpoint(samples: int) -> dict[str, Any]:
    """One witness step in process: the checkpoint of size n+1 after n, with its consistency proof."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from witness.core import Witness
    from witness.sql import SqlWitnessStore

    tmp = Path(tempfile.mkdtemp(prefix="zkcred-bench-add-"))
    log = LedgerLog(SqlStore(f"sqlite:///{tmp / 'ledger.db'}"), signing_key=Ed25519PrivateKey.generate(), origin=ORIGIN)
    issuer = Ed25519PrivateKey.generate()
    log.append(
        key=issuer,
        issuer="bench",
        entry_type="issuer_registration",
        payload={"ledger_key": public_key_bytes(issuer).hex()},
    )
    witness = Witness(
        CosignatureSigner("bench.example/w", Ed25519PrivateKey.generate()),
        [log.verifier],
        SqlWitnessStore(f"sqlite:///{tmp / 'w.db'}"),
    )
    witness.add_checkpoint(format_add_checkpoint(0, [], log.checkpoint().to_bytes()))
    times = []
    for i in range(samples + 2):
        old = log.head().size
        log.append(
            key=issuer,
            issuer="bench",
            entry_type="revocation",
            payload={"registry_id": "r", "handles": [f"{i:04x}"], "values": ["d" * 96]},
        )
        body = format_add_checkpoint(old, log.consistency_proof(first=old, second=old + 1), log.checkpoint().to_bytes())
        t0 = time.perf_counter()
        witness.add_checkpoint(body)
        if i >= 2:
            times.append((time.perf_counter() - t0) * 1000)
    return _stats(times)


def run(backends: list[str], repeats: int) -> dict[str, Any]:
    samples = max(repeats, 5)
    results = append_to_cosigned(samples)
    results["add_checkpoint"] = add_checkpoint(samples)
    return {"results": {"ledger": results}, **_sizes()}


def _sizes() -> dict[str, Any]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ledger.checkpoint import Checkpoint, log_signer, sign_checkpoint
    from ledger.note import NoteSignature

    cp = sign_checkpoint(Checkpoint(ORIGIN, 10**6, bytes(32)), log_signer(ORIGIN, Ed25519PrivateKey.generate()))
    w = CosignatureSigner("bench.example/w1", Ed25519PrivateKey.generate())
    line = NoteSignature(w.name, w.key_id, w.sign(cp.checkpoint.text().encode())).line()
    return {
        "sizes": {
            "checkpoint_note": len(cp.to_bytes()),
            "cosignature_line": len(line.encode()),
            "checkpoint_3_cosignatures": len(cp.to_bytes()) + 3 * len(line.encode()),
        }
    }


def rows(report: dict[str, Any]) -> list[list[str]]:
    return [
        [name, op, f"{r['median_ms']:.3f}", f"{r['min_ms']:.3f}", f"{r['max_ms']:.3f}"]
        for name, ops in report["results"].items()
        for op, r in ops.items()
    ]
