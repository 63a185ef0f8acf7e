"""Eight writer processes on one database leave one gapless chain: no fork, gap or duplicate."""

from __future__ import annotations

import json
import multiprocessing
from collections import Counter

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.audit import audit_store
from ledger.entries import public_key_bytes
from ledger.sql import SqlStore
from tests.ledger.writer_process import write

WRITERS = 8
APPENDS = 12  # per writer, after its registration


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_concurrent_writers_make_one_chain(db_url: str) -> None:
    store = SqlStore(db_url)  # tables exist before the writers start
    store.engine.dispose()  # no open connection crosses the fork
    seed = bytes(range(32))
    # fork: the writers start at once with the modules already imported (spawn would spend
    # seconds re-importing in 8 processes on 2 cores); each opens its own engine.
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with ctx.Pool(WRITERS) as pool:
        conflicts = pool.starmap(write, [(db_url, seed, w, APPENDS) for w in range(WRITERS)])
    total = WRITERS * (APPENDS + 1)
    head = store.head()
    assert head.size == total
    assert store.count_entries() == total  # no extra rows beside the chain
    entries = store.entries(start=0, limit=10 * total)
    assert [e.seq for e in entries] == list(range(total))
    per_issuer = Counter(json.loads(e.body)["issuer"] for e in entries)
    assert per_issuer == {f"w{w}": APPENDS + 1 for w in range(WRITERS)}
    ledger_key = public_key_bytes(Ed25519PrivateKey.from_private_bytes(seed))
    report = audit_store(store, ledger_key=ledger_key)  # every link, signature, node and the head
    assert report.size == total and report.issuers == WRITERS
    assert sum(conflicts) >= 0  # conflicts are retried, never written
    store.close()
