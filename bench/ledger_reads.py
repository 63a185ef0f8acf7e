"""``python -m bench ledger-reads [--entries N] [--repeats R] [--clients C] [--json]``: tiles against the API.

Issue 17 asks whether the read path scales past one machine: a wallet or verifier can read
the ledger from C2SP tiles on any static server instead of the ledger's API. This bench
reads the same ledger of ``--entries`` entries (default 10⁶) both ways, each verified end
to end against the signed checkpoint, and reports medians with min and max:

- ``checkpoint``: fetch and verify the checkpoint (API: ``GET /checkpoint``; tiles: the
  ``checkpoint`` file, checked against the root recomputed from the tiles);
- ``page_256``: one page of 256 entries at a random, bundle-aligned position, proven
  against that checkpoint (API: ``GET /entries`` + an inclusion proof; tiles: the entry
  bundle, its level-0 tile, and the tiles of one inclusion proof) — with a fresh tile cache
  per read, so the tiles side pays every fetch a cold reader pays;
- ``pages_per_s_C``: what the *server* delivers: pages served per second to ``--clients``
  threads fetching at once, without verifying (the requests a page read makes: API
  ``/entries`` + ``/proofs/inclusion``; tiles: the entry bundle and the tiles of levels 0–2
  it needs), from one ``zkcred ledger serve`` process and one ``python -m http.server``
  process. The client threads share one interpreter, so this is a floor on what the
  servers can do, not a ceiling.

The ledger is built once, in bulk, into ``$XDG_CACHE_HOME/zkcred-bench/ledger-<N>/``
(``~/.cache`` by default; about 1.5 GB and a few minutes for 10⁶): the entries are real
signed revocation entries on a real RFC 6962 tree, written by SQL in one transaction
rather than one ``POST`` each (that would take hours and measure appends, which
``python -m bench ledger`` does). The API side is ``zkcred ledger serve`` on that SQLite
database; the tiles side is the standard library's static server on the tiles directory.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert, update

from bench import common
from ledger import merkle
from ledger.checkpoint import log_verifier
from ledger.client import LedgerClient
from ledger.entries import public_key_bytes, sign_entry, sign_tree_head
from ledger.keys import key_from_file
from ledger.log import LedgerLog, check_entry, now_ms
from ledger.policy import CheckpointTrust
from ledger.sql import HEAD_ID, LedgerEntryRow, LedgerHeadRow, LedgerIssuerRow, LedgerNodeRow, SqlStore
from ledger.tiles import WIDTH, TileClient, tile_path, write_tiles

ORIGIN = "bench.example/reads"
ISSUER = "bench-issuer"
HEADER = ["side", "operation", "median", "min", "max"]
CHUNK = 20_000


def _cache_dir(entries: int) -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "zkcred-bench" / f"ledger-{entries}"


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build(directory: Path, entries: int) -> None:
    """A ledger of ``entries`` signed entries (the first registers the issuer) and its tiles, written in bulk."""
    directory.mkdir(parents=True, exist_ok=True)
    ledger_key = key_from_file(directory / "ledger-key")
    store = SqlStore(f"sqlite:///{directory / 'ledger.db'}")
    log = LedgerLog(store, signing_key=ledger_key, origin=ORIGIN)
    issuer = Ed25519PrivateKey.generate()
    registration = log.append(
        key=issuer,
        issuer=ISSUER,
        entry_type="issuer_registration",
        payload={"ledger_key": public_key_bytes(issuer).hex()},
    )
    head = store.head()
    issuer_key = public_key_bytes(issuer)
    frontier, size, prev = head.frontier, head.size, head.last_hash
    start = time.perf_counter()
    with store.engine.begin() as conn:
        while size < entries:
            rows, nodes = [], []
            for _ in range(min(CHUNK, entries - size)):
                entry = sign_entry(
                    key=issuer,
                    seq=size,
                    time=registration.tree_head.time,
                    entry_type="revocation",
                    issuer=ISSUER,
                    payload={"registry_id": "r", "handles": [f"{size:08x}"], "values": ["d" * 96]},
                    prev_hash=prev,
                )
                checked = check_entry(
                    entry, seq=size, prev_hash=prev, issuer_key=lambda _: issuer_key, verified_key=issuer_key
                )
                frontier, completed = merkle.append_leaf(frontier, size, checked.leaf_hash)
                rows.append(
                    {
                        "seq": size,
                        "issuer_id": ISSUER,
                        "entry_type": "revocation",
                        "entry_hash": checked.entry_hash,
                        "body": checked.body,
                    }
                )
                nodes += [{"level": lv, "idx": ix, "hash": h} for lv, ix, h in completed]
                size, prev = size + 1, checked.entry_hash
            conn.execute(insert(LedgerEntryRow.__table__), rows)  # type: ignore[attr-defined]
            conn.execute(insert(LedgerNodeRow.__table__), nodes)  # type: ignore[attr-defined]
            rate = (size - head.size) / (time.perf_counter() - start)
            _progress(f"  {size:>9,} entries ({rate:,.0f}/s)")
        sth = sign_tree_head(key=ledger_key, size=size, root=merkle.frontier_root(frontier), time=now_ms())
        conn.execute(
            update(LedgerHeadRow.__table__)  # type: ignore[attr-defined]
            .where(LedgerHeadRow.__table__.c.id == HEAD_ID)  # type: ignore[attr-defined]
            .values(
                size=size,
                last_hash=prev,
                frontier=b"".join(frontier),
                sth_time=sth.time,
                sth_root=sth.root,
                sth_signature=sth.signature,
                sth_key=sth.key,
            )
        )
        assert conn.execute(LedgerIssuerRow.__table__.select()).first() is not None  # type: ignore[attr-defined]
    log = LedgerLog(SqlStore(f"sqlite:///{directory / 'ledger.db'}"), signing_key=ledger_key, origin=ORIGIN)
    if log.root() != merkle.frontier_root(frontier):
        raise RuntimeError("the bulk-built tree does not give its own root")
    _progress(f"  writing tiles for {size:,} entries …")
    write_tiles(log, directory / "tiles")
    (directory / "complete").write_text(str(size))


def _stats(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": len(values)}


def _timed(fn: Callable[[], object], repeats: int) -> dict[str, float]:
    fn()  # warm-up: connections, imports, the server's caches
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return _stats(times)


def _throughput(read_page: Callable[[random.Random], object], clients: int, seconds: float) -> float:
    counts = [0] * clients
    stop = time.monotonic() + seconds

    def worker(i: int) -> None:
        rng = random.Random(i)
        while time.monotonic() < stop:
            read_page(rng)
            counts[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / seconds


def measure(directory: Path, repeats: int, clients: int, seconds: float) -> dict[str, Any]:
    ledger_key = key_from_file(directory / "ledger-key")
    trust = CheckpointTrust(log_verifier(ORIGIN, public_key_bytes(ledger_key)))
    tmp = Path(tempfile.mkdtemp(prefix="zkcred-bench-reads-"))
    services = common.Services(tmp)
    try:
        api_url = services.spawn(
            "ledger",
            [
                sys.executable,
                "-m",
                "zkcred",
                "ledger",
                "serve",
                "--port",
                "{port}",
                "--database-url",
                f"sqlite:///{directory / 'ledger.db'}",
                "--key-file",
                str(directory / "ledger-key"),
            ],
            ready="/tree-head",
            env={"ZKCRED_LEDGER_ORIGIN": ORIGIN},
        )
        tiles_url = services.spawn(
            "tiles",
            [
                sys.executable,
                "-m",
                "http.server",
                "{port}",
                "--bind",
                "127.0.0.1",
                "--directory",
                str(directory / "tiles"),
            ],
            ready="/checkpoint",
        )
        limits = httpx.Limits(max_connections=4 * clients)
        http = httpx.Client(timeout=60, limits=limits)
        api_http = httpx.Client(base_url=api_url, timeout=60, limits=limits)
        api = LedgerClient(api_url, ledger_key=public_key_bytes(ledger_key), origin=ORIGIN, http=api_http)
        checkpoint = api.checkpoint()
        size = checkpoint.size
        bundles = size // WIDTH

        def api_page(rng: random.Random) -> object:
            start = rng.randrange(bundles) * WIDTH
            return api.verified_entries(start=start, limit=WIDTH, tree_head=checkpoint)

        def tiles_page(rng: random.Random) -> object:
            start = rng.randrange(bundles) * WIDTH
            return TileClient(tiles_url, trust, http=http).verified_entries(
                start=start, limit=WIDTH, tree_head=checkpoint
            )

        rng = random.Random(1)
        first = tiles_page(random.Random(7))
        if first != api_page(random.Random(7)):
            raise RuntimeError("the tiles and the API disagree on a page")
        results: dict[str, dict[str, Any]] = {
            "api": {
                "checkpoint": _timed(api.checkpoint, repeats),
                "page_256": _timed(lambda: api_page(rng), repeats),
            },
            "tiles": {
                "checkpoint": _timed(lambda: TileClient(tiles_url, trust, http=http).checkpoint(), repeats),
                "page_256": _timed(lambda: tiles_page(rng), repeats),
            },
        }

        def api_raw(rng: random.Random) -> object:
            start = rng.randrange(bundles) * WIDTH
            api_http.get("/entries", params={"start": start, "limit": WIDTH}).raise_for_status()
            return api_http.get(
                "/proofs/inclusion", params={"seq": start + WIDTH - 1, "tree_size": size}
            ).raise_for_status()

        def tiles_raw(rng: random.Random) -> object:
            index = rng.randrange(bundles)
            paths = [tile_path("entries", index), tile_path(0, index)]
            paths += [
                tile_path(level, index >> (8 * level))
                for level in (1, 2)
                if (index >> (8 * level)) < size >> (8 * (level + 1))
            ]
            for path in paths:
                http.get(f"{tiles_url}/{path}").raise_for_status()
            return paths

        results["api"][f"pages_per_s_{clients}"] = _throughput(api_raw, clients, seconds)
        results["tiles"][f"pages_per_s_{clients}"] = _throughput(tiles_raw, clients, seconds)
        return {"entries": size, "results": results}
    finally:
        services.close()


def rows(report: dict[str, Any]) -> list[list[str]]:
    out = []
    for side, ops in report["results"].items():
        for op, v in ops.items():
            if isinstance(v, dict):
                out.append([side, op, f"{v['median']:.2f} ms", f"{v['min']:.2f}", f"{v['max']:.2f}"])
            else:
                out.append([side, op, f"{v:.0f}/s", "", ""])
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench ledger-reads", description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--clients", type=int, default=8, help="threads reading at once for the throughput figure")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long the throughput figure reads")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.entries < 2 * WIDTH:
        parser.error(f"--entries must be at least {2 * WIDTH}")
    directory = _cache_dir(args.entries)
    if not (directory / "complete").exists():
        _progress(f"building a ledger of {args.entries:,} entries in {directory} (once) …")
        for name in ("ledger.db", "ledger.db-wal", "ledger.db-shm"):
            (directory / name).unlink(missing_ok=True)
        build(directory, args.entries)
    report = measure(directory, args.repeats, args.clients, args.seconds)
    report["machine"] = {"command": "python -m bench ledger-reads " + " ".join(argv), "line": common.machine_line()}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        common.print_table(f"zkcred bench ledger-reads ({report['entries']:,} entries)", HEADER, rows(report))
        print(f"`{report['machine']['command']}` — {report['machine']['line']}")
    return 0
