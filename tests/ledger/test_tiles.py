"""C2SP tlog-tiles: written to a directory, served by a static HTTP server, read and verified by a client."""

from __future__ import annotations

import functools
import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import merkle
from ledger.errors import QuorumNotMet, VerificationFailed
from ledger.log import LedgerLog
from ledger.note import CosignatureSigner, NoteSignature
from ledger.policy import CheckpointTrust, simple_policy
from ledger.store import MemoryStore
from ledger.tiles import (
    TileClient,
    TileError,
    decode_bundle,
    encode_bundle,
    encode_index,
    tile_path,
    tiles_for_size,
    write_tiles,
)
from tests.ledger.conftest import Issuer
from verifier.resolver import LedgerResolver

ORIGIN = "ledger.test/tiles"


def test_paths_and_tile_sets_are_the_specs() -> None:
    assert encode_index(1234067) == "x001/x234/067" and encode_index(0) == "000" and encode_index(1000) == "x001/000"
    assert tile_path(0, 1234067) == "tile/0/x001/x234/067"
    assert tile_path(2, 5, 17) == "tile/2/005.p/17" and tile_path("entries", 3, 1) == "tile/entries/003.p/1"
    # "a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial level 0 tile of
    # width 112, one full level 1 tile, one partial level 1 tile of width 17, and one partial level 2
    # tile of width 1"
    tiles = tiles_for_size(70_000)
    assert sum(1 for lv, _, w in tiles if lv == 0 and w == 256) == 273
    assert [(lv, n, w) for lv, n, w in tiles if w != 256] == [(0, 273, 112), (1, 1, 17), (2, 0, 1)]
    assert [(lv, n, w) for lv, n, w in tiles if lv == 1 and w == 256] == [(1, 0, 256)]
    # "a tree of size 256 will be represented by a full level 0 tile and a partial level 1 tile of width 1"
    assert tiles_for_size(256) == [(0, 0, 256), (1, 0, 1)] and tiles_for_size(0) == []
    assert decode_bundle(encode_bundle([b"a", b"", b"xyz"])) == [b"a", b"", b"xyz"]
    with pytest.raises(TileError):
        encode_bundle([b"x" * 65536])
    with pytest.raises(VerificationFailed):
        decode_bundle(b"\x00\x05abc")


@pytest.fixture(scope="module")
def big_log() -> LedgerLog:
    """600 entries: two full level-0 tiles, a partial one of 88, a partial level-1 tile of 2."""
    log = LedgerLog(MemoryStore(), signing_key=Ed25519PrivateKey.generate(), origin=ORIGIN)
    issuer = Issuer("acme")
    issuer.register(log)
    for i in range(599):
        log.append(
            key=issuer.key,
            issuer=issuer.id,
            entry_type="revocation",
            payload={"registry_id": "r", "handles": [f"{i:04x}"], "values": ["d" * 96]},
        )
    return log


@pytest.fixture
def static(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A plain static file server (python's http.server) over a directory, on a free loopback port."""
    handler = functools.partial(_Quiet, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def test_a_static_mirror_is_read_and_verified(big_log: LedgerLog, static: tuple[Path, str]) -> None:
    directory, url = static
    cp = write_tiles(big_log, directory)
    assert cp.size == 600 and (directory / "checkpoint").read_bytes() == cp.to_bytes()
    assert (directory / "tile/0/002.p/88").stat().st_size == 88 * 32 and (directory / "tile/1/000.p/2").exists()
    client = TileClient(url, CheckpointTrust(big_log.verifier))
    got = client.checkpoint()
    assert (got.size, got.root) == (600, big_log.root())
    for size in (1, 255, 256, 257, 511, 512, 599):
        assert client.root(size) == big_log.root(size)  # partial nodes folded from the tiles
        assert client.consistency_proof(first=size, second=600) == big_log.consistency_proof(first=size, second=600)
    seen = []
    start = 0
    while start < 600:
        batch = client.verified_entries(start=start, limit=1000, tree_head=got)
        seen += [e.seq for e in batch]
        start += len(batch)
    assert seen == list(range(600))
    assert [e.seq for e in client.verified_entries(start=300, limit=5, tree_head=got)] == [300, 301, 302, 303, 304]
    resolver = LedgerResolver(client)  # a verifier following the static mirror, not the service
    assert resolver.refresh().size == 600


def test_tampered_tiles_and_bundles_are_refused(big_log: LedgerLog, static: tuple[Path, str]) -> None:
    directory, url = static
    write_tiles(big_log, directory)
    client = TileClient(url, CheckpointTrust(big_log.verifier))
    cp = client.checkpoint()
    bundle = directory / "tile/entries/001"
    original = bundle.read_bytes()
    bundle.write_bytes(original.replace(b'"0101"', b'"0102"', 1))
    with pytest.raises(VerificationFailed):
        TileClient(url, CheckpointTrust(big_log.verifier)).verified_entries(start=256, limit=10, tree_head=cp)
    bundle.write_bytes(original)
    tile = directory / "tile/1/000.p/2"
    good = tile.read_bytes()
    tile.write_bytes(bytes([good[0] ^ 1]) + good[1:])
    with pytest.raises(VerificationFailed):  # the root computed from the tiles is not the signed one
        TileClient(url, CheckpointTrust(big_log.verifier)).checkpoint()
    tile.write_bytes(good[:40])
    with pytest.raises(VerificationFailed):
        TileClient(url, CheckpointTrust(big_log.verifier)).checkpoint()
    tile.write_bytes(good)
    (directory / "tile/0/000").write_bytes(bytes(256 * 32))  # a forged level-0 tile: leaves do not match
    with pytest.raises(VerificationFailed):
        TileClient(url, CheckpointTrust(big_log.verifier)).verified_entries(start=0, limit=3, tree_head=cp)


def test_incremental_writes_keep_full_tiles_and_serve_the_cosigned_checkpoint(
    tmp_path: Path, static: tuple[Path, str]
) -> None:
    directory, url = static
    log = LedgerLog(MemoryStore(), signing_key=Ed25519PrivateKey.generate(), origin=ORIGIN)
    issuer = Issuer("acme")
    issuer.register(log)
    for i in range(259):
        log.append(
            key=issuer.key,
            issuer=issuer.id,
            entry_type="revocation",
            payload={"registry_id": "r", "handles": [f"{i:04x}"], "values": ["d" * 96]},
        )
    write_tiles(log, directory)
    full = directory / "tile/0/000"
    before = full.stat().st_mtime_ns
    w = CosignatureSigner("witness.test/w1", Ed25519PrivateKey.generate())
    policy = simple_policy([(w.name, w.verifier, None)], 1)
    log.witness_policy = policy
    cosigned = log.checkpoint(258)
    log.store.add_cosignatures(258, [NoteSignature(w.name, w.key_id, w.sign(cosigned.checkpoint.text().encode()))])
    cp = write_tiles(log, directory)  # the served checkpoint is the cosigned one (258), not the head (260)
    assert cp.size == 258 and full.stat().st_mtime_ns == before
    client = TileClient(url, CheckpointTrust(log.verifier, policy))
    assert client.checkpoint().size == 258
    assert merkle.verify_consistency(
        258, 260, log.root(258), log.root(260), log.consistency_proof(first=258, second=260)
    )
    strict = simple_policy(
        [
            (w.name, w.verifier, None),
            ("w2", CosignatureSigner("witness.test/w2", Ed25519PrivateKey.generate()).verifier, None),
        ],
        2,
    )
    with pytest.raises(QuorumNotMet):
        TileClient(url, CheckpointTrust(log.verifier, strict)).checkpoint()


def test_the_tiles_command(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ledger.keys import key_from_file
    from ledger.sql import SqlStore
    from zkcred import ledger_cli

    url, key = f"sqlite:///{tmp_path}/ledger.db", tmp_path / "key"
    log = LedgerLog(SqlStore(url), signing_key=key_from_file(key), origin=ORIGIN)
    Issuer("acme").register(log)
    runner = CliRunner()
    out = runner.invoke(
        ledger_cli.app,
        ["tiles", str(tmp_path / "www"), "--database-url", url, "--key-file", str(key)],
        env={"ZKCRED_LEDGER_ORIGIN": ORIGIN},
    )
    assert out.exit_code == 0, out.output
    assert (tmp_path / "www/checkpoint").read_bytes() == log.checkpoint().to_bytes()
    assert (tmp_path / "www/tile/entries/000.p/1").exists()
    missing = runner.invoke(
        ledger_cli.app, ["tiles", str(tmp_path / "x"), "--database-url", f"sqlite:///{tmp_path}/no.db"]
    )
    assert missing.exit_code == 1 and "Traceback" not in missing.output


def test_the_ledger_service_keeps_its_tiles_current(tmp_path: Path, static: tuple[Path, str]) -> None:
    from fastapi.testclient import TestClient

    from ledger.api import create_app
    from ledger.tiles import TileWriter

    directory, url = static
    log = LedgerLog(MemoryStore(), signing_key=Ed25519PrivateKey.generate(), origin=ORIGIN)
    writer = TileWriter(log, directory, interval=0.05)
    issuer = Issuer("acme")
    with TestClient(create_app(log, tiles=writer)):  # the lifespan starts and stops the writer
        issuer.register(log)
        client = TileClient(url, CheckpointTrust(log.verifier))
        deadline = time.monotonic() + 10
        while True:
            try:
                if client.checkpoint().size == 1:
                    break
            except VerificationFailed:
                pass  # not written yet
            assert time.monotonic() < deadline, "the tiles never caught up"
            time.sleep(0.05)
    assert writer.write_if_changed() is False  # nothing changed since
    assert log.listeners == []
