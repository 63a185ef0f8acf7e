"""The audit replays from entry 0 and fails AT the first entry anyone changed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from ledger.audit import audit_store
from ledger.entries import public_key_bytes
from ledger.errors import VerificationFailed
from ledger.log import LedgerLog
from ledger.sql import SqlStore
from ledger.store import MemoryStore
from tests.ledger.conftest import Issuer, populate, tamper_entry, tamper_node
from zkcred import ledger_cli

N = 6


def _fails_at(log: LedgerLog, seq: int | None) -> VerificationFailed:
    with pytest.raises(VerificationFailed) as info:
        audit_store(log.store, ledger_key=log.public_key)
    assert info.value.seq == seq, info.value.detail
    return info.value


def test_clean_log_audits(log: LedgerLog) -> None:
    populate(log, Issuer("acme"), N)
    seen: list[tuple[int, int]] = []
    report = audit_store(log.store, ledger_key=log.public_key, page=4, progress=lambda d, t: seen.append((d, t)))
    assert (report.size, report.issuers, report.key_pinned) == (N, 1, True)
    assert report.root == log.tree_head().root
    assert seen[-1] == (N, N)


def test_changing_any_byte_of_any_entry_fails_at_that_entry(log: LedgerLog) -> None:
    n = 4  # registration, schema, credential definition, revocation registry
    populate(log, Issuer("acme"), n)
    store = log.store
    originals = [e.body for e in store.entries(start=0, limit=n)]
    # every byte on the in-memory store; a stride through every entry on the databases
    stride = 1 if isinstance(store, MemoryStore) else 23
    checked = 0
    for seq, body in enumerate(originals):
        for pos in range(seq % stride, len(body), stride):
            tampered = bytearray(body)
            tampered[pos] ^= 1 if pos % 2 else 0x80
            tamper_entry(store, seq, body=bytes(tampered))
            _fails_at(log, seq)
            checked += 1
        tamper_entry(store, seq, body=body)
    assert checked >= (n * 250 if stride == 1 else n * 10)
    audit_store(store, ledger_key=log.public_key)  # restored


def test_truncated_or_reformatted_entry_fails_at_it(log: LedgerLog) -> None:
    populate(log, Issuer("acme"), N)
    body = log.entry(2).body
    for bad in (body[:-1], body + b" ", b" " + body, body.replace(b'":', b'": ', 1), b""):
        tamper_entry(log.store, 2, body=bad)
        _fails_at(log, 2)


def test_stored_hashes_and_nodes_are_checked(log: LedgerLog) -> None:
    populate(log, Issuer("acme"), N)
    good_hash = log.entry(3).entry_hash
    tamper_entry(log.store, 3, entry_hash=b"\x00" * 32)
    assert "chain hash" in _fails_at(log, 3).detail
    tamper_entry(log.store, 3, entry_hash=good_hash)
    audit_store(log.store, ledger_key=log.public_key)
    tamper_node(log.store, 1, 1, b"\x01" * 32)  # the node over leaves 2 and 3
    assert "Merkle node" in _fails_at(log, 3).detail
    tamper_node(log.store, 0, 1, b"\x01" * 32)  # a leaf hash: fails at that leaf, before the node
    _fails_at(log, 1)


def test_tree_head_is_checked(log: LedgerLog) -> None:
    populate(log, Issuer("acme"), N)
    audit_store(log.store)  # the key the tree head names
    err = _fails_at_key(log, public_key_bytes(Ed25519PrivateKey.generate()))
    assert err.seq is None and "tree head" in err.detail


def _fails_at_key(log: LedgerLog, key: bytes) -> VerificationFailed:
    with pytest.raises(VerificationFailed) as info:
        audit_store(log.store, ledger_key=key)
    return info.value


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zkcred", "ledger", "audit", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )


def test_audit_cli_exits_nonzero_naming_the_entry(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ledger.db"
    store = SqlStore(url)
    log = LedgerLog(store, signing_key=Ed25519PrivateKey.generate())
    populate(log, Issuer("acme"), N)
    ok = CliRunner().invoke(ledger_cli.app, ["audit", url, "--ledger-key", log.public_key.hex()])
    assert ok.exit_code == 0, ok.output
    assert f"OK {N} entries" in ok.output
    body = bytearray(log.entry(4).body)
    body[len(body) // 2] ^= 1
    tamper_entry(store, 4, body=bytes(body))
    bad = _run_cli(url)  # the real command, for its exit status
    assert bad.returncode == 1, bad.stderr
    assert "AUDIT FAILED at entry 4" in bad.stderr
    store.close()
