"""Ledger figures for ``python -m bench revocation``: append throughput and proof time at 10^6.

Each function returns ``{"median_ms", "min_ms", "max_ms", ...}`` (extra keys may be ignored):

- ``append_sqlite`` / ``append_postgres``: ms per append, each timed alone, through the
  whole domain path an issuer's POST takes — sign the entry (issuer side), ``submit``
  (parse, validate, pre-check, lock, re-check, verify the Ed25519 signature, extend the
  Merkle frontier, sign the tree head, write entry + nodes + head, commit).  Extra key
  ``appends_per_s`` is the sustained rate over the whole run.  SQLite runs in WAL mode with
  ``synchronous=FULL`` (every commit durable); PostgreSQL with the server's settings.
- ``inclusion_1e6`` / ``consistency_1e6``: ms per proof from a SQLite ledger of 10^6
  entries, through ``LedgerLog`` (head read + one query for the O(log n) stored nodes),
  at random positions.  The 10^6-leaf tree is synthetic: its leaves and every perfect-
  subtree node are bulk-loaded (building it with real signed appends would take an hour);
  proofs read only nodes and the head, so what is timed is exactly what the service does.
  The tree is built once per process and reused by both functions.
"""

from __future__ import annotations

import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import merkle
from ledger.entries import public_key_bytes, sign_entry
from ledger.log import LedgerLog, now_ms
from ledger.sql import SqlStore, create_tables, make_engine, normalize_url

POSTGRES_URL = os.environ.get(
    "ZKCRED_BENCH_POSTGRES",
    os.environ.get("ZKCRED_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
)
MILLION = 10**6


def _stats(times_ms: list[float], **extra: Any) -> dict[str, Any]:
    return {
        "median_ms": statistics.median(times_ms),
        "min_ms": min(times_ms),
        "max_ms": max(times_ms),
        "runs": len(times_ms),
        **extra,
    }


def _time_appends(url: str, appends: int) -> dict[str, Any]:
    store = SqlStore(url)
    log = LedgerLog(store, signing_key=Ed25519PrivateKey.generate())
    key = Ed25519PrivateKey.generate()
    log.append(
        key=key, issuer="bench", entry_type="issuer_registration", payload={"ledger_key": public_key_bytes(key).hex()}
    )
    times: list[float] = []
    head = log.head()
    start = time.perf_counter()
    for i in range(appends):
        t0 = time.perf_counter()
        entry = sign_entry(
            key=key,
            seq=head.size,
            time=now_ms(),
            entry_type="revocation",
            issuer="bench",
            payload={"registry_id": "bench/rr/1", "handles": [f"{i:064x}"], "values": [secrets.token_hex(48)]},
            prev_hash=head.last_hash,
        )
        receipt = log.submit(entry)
        times.append((time.perf_counter() - t0) * 1e3)
        head = log.head() if receipt.seq != head.size else _next_head(head, receipt)
    elapsed = time.perf_counter() - start
    store.close()
    return _stats(times, appends_per_s=appends / elapsed)


def _next_head(head, receipt):  # type: ignore[no-untyped-def]
    """The head after our own append, without a read (a single writer knows it)."""
    from ledger.store import Head

    return Head(size=receipt.seq + 1, last_hash=receipt.entry_hash, frontier=(), tree_head=receipt.tree_head)


def append_sqlite(appends: int = 1000) -> dict[str, Any]:
    """ms per append on a fresh SQLite ledger file."""
    with tempfile.TemporaryDirectory(prefix="zkcred-bench-") as tmp:
        return _time_appends(f"sqlite:///{tmp}/ledger.db", appends)


def append_postgres(appends: int = 1000, url: str | None = None) -> dict[str, Any]:
    """ms per append on PostgreSQL, in a schema of its own that is dropped afterwards.

    Raises ``RuntimeError`` naming the URL if the server is unreachable.
    """
    import psycopg

    base = normalize_url(url or POSTGRES_URL)
    dsn = base.replace("postgresql+psycopg://", "postgresql://", 1)
    schema = f"ledger_bench_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.OperationalError as e:
        raise RuntimeError(f"PostgreSQL unreachable at {base}: {e}") from e
    try:
        sep = "&" if "?" in base else "?"
        return _time_appends(f"{base}{sep}options=-csearch_path%3D{schema}", appends)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


# ---------------------------------------------------------------- proofs at 10^6 entries

_million: dict[str, Any] = {}


def _million_entry_log() -> LedgerLog:
    """A SQLite ledger whose tree has 10^6 leaves (nodes and head only), built once."""
    if "log" in _million:
        return _million["log"]
    tmp = tempfile.TemporaryDirectory(prefix="zkcred-bench-1e6-")
    url = f"sqlite:///{tmp.name}/ledger.db"
    engine = make_engine(url)
    create_tables(engine)
    frontier: tuple[bytes, ...] = ()
    rows: list[tuple[int, int, bytes]] = []
    for n in range(MILLION):
        frontier, completed = merkle.append_leaf(frontier, n, merkle.leaf_hash(b"bench entry %d" % n))
        rows.extend(completed)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO ledger_nodes (level, idx, hash) VALUES (?, ?, ?)", rows)
        conn.exec_driver_sql(
            "UPDATE ledger_head SET size = ?, frontier = ? WHERE id = 1", (MILLION, b"".join(frontier))
        )
    store = SqlStore(engine=engine, create=False)
    log = LedgerLog(store, signing_key=Ed25519PrivateKey.generate())
    _million.update(log=log, tmp=tmp, root=merkle.frontier_root(frontier))
    return log


def _time_calls(call: Callable[[], None], repeats: int) -> dict[str, Any]:
    call()  # warm-up: connection, statement cache
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        times.append((time.perf_counter() - t0) * 1e3)
    return _stats(times)


def inclusion_1e6(repeats: int = 200) -> dict[str, Any]:
    """ms per inclusion proof of a random entry in the tree of 10^6 entries (SQLite)."""
    log = _million_entry_log()
    root = _million["root"]
    sample = log.inclusion_proof(seq=123_456, tree_size=MILLION)
    assert merkle.verify_inclusion(sample.leaf_hash, 123_456, MILLION, sample.proof, root)

    def call() -> None:
        log.inclusion_proof(seq=secrets.randbelow(MILLION), tree_size=MILLION)

    return _time_calls(call, repeats)


def consistency_1e6(repeats: int = 200) -> dict[str, Any]:
    """ms per consistency proof from a random earlier size to 10^6 entries (SQLite)."""
    log = _million_entry_log()
    root = _million["root"]
    first = 654_321
    proof = log.consistency_proof(first=first, second=MILLION)
    assert merkle.verify_consistency(first, MILLION, log.root(first), root, proof)

    def call() -> None:
        log.consistency_proof(first=1 + secrets.randbelow(MILLION - 1), second=MILLION)

    return _time_calls(call, repeats)


def run_all() -> dict[str, dict[str, Any]]:
    """Every ledger figure (for a quick look: ``python -m bench.revocation_ledger``)."""
    results: dict[str, dict[str, Any]] = {"append_sqlite": append_sqlite()}
    try:
        results["append_postgres"] = append_postgres()
    except RuntimeError as e:
        results["append_postgres"] = {"skipped": str(e)}
    t0 = time.perf_counter()
    _million_entry_log()
    results["build_1e6"] = {"seconds": time.perf_counter() - t0}
    results["inclusion_1e6"] = inclusion_1e6()
    results["consistency_1e6"] = consistency_1e6()
    return results


if __name__ == "__main__":
    import json

    print(json.dumps(run_all(), indent=2))
