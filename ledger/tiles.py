"""C2SP tlog-tiles: the ledger as static files any web server or object store can serve, and a client.

Layout under a directory (= the URL prefix)::

    checkpoint                      the served checkpoint (``LedgerLog.latest_checkpoint``: cosigned)
    tile/<L>/<N>[.p/<W>]            256 (or W < 256) hashes of 32 bytes: the RFC 6962 nodes at
                                    height 8·L, indices N·256 … N·256+W-1
    tile/entries/<N>[.p/<W>]        entry bundle: uint16 big-endian length || canonical entry bytes, ×W

``<N>`` is written in 3-digit groups, all but the last prefixed with ``x``
(``1234067`` → ``x001/x234/067``).  A tile's hashes are exactly the stored perfect-subtree
nodes of ``ledger.merkle`` at level ``8·L``, so writing them reads nodes, never leaves.

``write_tiles`` writes what the current (cosigned) checkpoint needs: every full tile and
bundle not yet written (they are immutable; rewriting is skipped), the partial ones for its
size, then the checkpoint last — each file through a temporary name and ``os.replace``, so
a reader never sees a half-written file nor a checkpoint whose tiles are missing.

``TileWriter`` keeps such a directory current from the ledger service
(``ZKCRED_LEDGER_TILES_DIR``).  ``TileClient`` reads them over HTTP and trusts nothing it has
not verified: the checkpoint
under a ``CheckpointTrust`` (pinned key, origin, witness quorum); any Merkle node it needs is
taken from the tiles, and proofs are checked against the checkpoint's root; entries from a
bundle are hashed and must equal the level-0 tile's leaf hashes, which are proven against
the root.  It implements the resolver's ``LedgerSource`` (``tree_head``, ``verify_growth``,
``verified_entries``), so a verifier can follow a static mirror instead of the service.

Departure: the spec's bundles length-prefix entries with a uint16, so an entry above 65 535
bytes (a revocation of ~600 handles or more) cannot be bundled: ``write_tiles`` raises
``TileError`` and the service's ``/entries`` stays the way to read such a log.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

from ledger import merkle
from ledger.checkpoint import SignedCheckpoint
from ledger.client import verify_entry_run, verify_growth_with
from ledger.constants import HASH_SIZE
from ledger.entries import Entry
from ledger.errors import LedgerError, VerificationFailed
from ledger.log import LedgerLog
from ledger.merkle import NodeId
from ledger.policy import CheckpointTrust

logger = logging.getLogger(__name__)
WIDTH = 256
TILE_HEIGHT = 8
MAX_ENTRY = 0xFFFF


class TileError(LedgerError):
    status = 422
    slug = "tile-error"
    title = "Cannot write tiles"


def encode_index(n: int) -> str:
    """``1234067`` → ``x001/x234/067``; ``5`` → ``005``."""
    if n < 0:
        raise ValueError("a tile index is non-negative")
    groups = []
    while True:
        groups.append(f"{n % 1000:03d}")
        n //= 1000
        if n == 0:
            break
    groups.reverse()
    return "/".join(["x" + g for g in groups[:-1]] + [groups[-1]])


def tile_path(level: int | str, index: int, width: int = WIDTH) -> str:
    """``tile/<L>/<N>`` (full) or ``tile/<L>/<N>.p/<W>`` (partial); ``level="entries"`` for bundles."""
    if not 1 <= width <= WIDTH:
        raise ValueError("a tile is 1 to 256 hashes wide")
    suffix = "" if width == WIDTH else f".p/{width}"
    return f"tile/{level}/{encode_index(index)}{suffix}"


def tiles_for_size(size: int) -> list[tuple[int, int, int]]:
    """Every (level, index, width) tile of a tree of ``size`` leaves, partial ones included."""
    out = []
    level = 0
    while size >> (TILE_HEIGHT * level):
        hashes = size >> (TILE_HEIGHT * level)  # complete nodes at height 8·level
        out += [(level, n, WIDTH) for n in range(hashes // WIDTH)]
        if hashes % WIDTH:
            out.append((level, hashes // WIDTH, hashes % WIDTH))
        level += 1
    return out


def encode_bundle(bodies: Sequence[bytes]) -> bytes:
    out = bytearray()
    for body in bodies:
        if len(body) > MAX_ENTRY:
            raise TileError(f"an entry of {len(body)} bytes does not fit a tlog-tiles bundle (uint16 lengths)")
        out += len(body).to_bytes(2, "big") + body
    return bytes(out)


def decode_bundle(data: bytes) -> list[bytes]:
    out, i = [], 0
    while i < len(data):
        if i + 2 > len(data):
            raise VerificationFailed("truncated entry bundle")
        n = int.from_bytes(data[i : i + 2], "big")
        if i + 2 + n > len(data):
            raise VerificationFailed("truncated entry bundle")
        out.append(data[i + 2 : i + 2 + n])
        i += 2 + n
    return out


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_tiles(log: LedgerLog, directory: str | os.PathLike[str]) -> SignedCheckpoint:
    """Write the tiles, bundles and checkpoint of the log's served checkpoint under ``directory``."""
    root = Path(directory)
    checkpoint = log.latest_checkpoint()
    size = checkpoint.size
    for level, index, width in tiles_for_size(size):
        path = root / tile_path(level, index, width)
        if width == WIDTH and path.exists():
            continue  # full tiles never change
        ids = [(TILE_HEIGHT * level, index * WIDTH + i) for i in range(width)]
        nodes = log.store.nodes(ids)
        _write(path, b"".join(nodes[i] for i in ids))
        if level == 0:
            bodies = [e.body for e in log.store.entries(start=index * WIDTH, limit=width)]
            _write(root / tile_path("entries", index, width), encode_bundle(bodies))
    _write(root / "checkpoint", checkpoint.to_bytes())
    return checkpoint


class TileClient:
    """Read a tiled ledger over HTTP, verifying everything against a trusted checkpoint."""

    def __init__(
        self, base_url: str, trust: CheckpointTrust, *, http: httpx.Client | None = None, timeout: float = 10.0
    ) -> None:
        self.trust = trust
        self.ledger_key: bytes | None = trust.log.public_key
        self._base = base_url.rstrip("/")
        self._http = http or httpx.Client(timeout=timeout)
        self._tiles: dict[tuple[int, int, int], bytes] = {}
        self._published = 0  # size of the last checkpoint verified: the partial tiles that exist

    def _get(self, path: str) -> bytes:
        try:
            response = self._http.get(f"{self._base}/{path}")
        except httpx.HTTPError as e:
            raise VerificationFailed(f"cannot fetch {path}: {type(e).__name__}") from e
        if response.status_code != 200:
            raise VerificationFailed(f"{path}: HTTP {response.status_code}")
        return response.content

    def checkpoint(self) -> SignedCheckpoint:
        """The published checkpoint, verified (key, origin, quorum) and checked against the tiles."""
        checkpoint = self.trust.verify(self._get("checkpoint"), fresh=True)
        if self.root(checkpoint.size, within=checkpoint.size) != checkpoint.root:
            raise VerificationFailed(f"the tiles do not give the checkpoint's root at size {checkpoint.size}")
        self._published = max(self._published, checkpoint.size)
        return checkpoint

    tree_head = checkpoint  # the LedgerSource name

    def _tile(self, level: int, index: int, size: int) -> bytes:
        hashes = size >> (TILE_HEIGHT * level)
        width = WIDTH if (index + 1) * WIDTH <= hashes else hashes % WIDTH
        if width == 0 or index * WIDTH >= hashes:
            raise VerificationFailed(f"tile {level}/{index} is not part of a tree of size {size}")
        key = (level, index, width)
        if key not in self._tiles:
            data = self._get(tile_path(level, index, width))
            if len(data) != width * HASH_SIZE:
                raise VerificationFailed(f"tile {level}/{index} has {len(data)} bytes, not {width * HASH_SIZE}")
            self._tiles[key] = data
        return self._tiles[key]

    def _nodes(self, size: int) -> Callable[[Sequence[NodeId]], dict[NodeId, bytes]]:
        """A ``merkle.resolve_plan`` fetcher: any complete node of the tree of ``size``, from its tile.

        ``size`` must be a size the log published a checkpoint for (its partial tiles exist);
        every node of a smaller tree is in the same tiles.
        """

        def fetch(ids: Sequence[NodeId]) -> dict[NodeId, bytes]:
            out = {}
            for height, idx in ids:
                level, r = divmod(height, TILE_HEIGHT)
                first = idx << r  # the node covers 2^r hashes at height 8·level
                tile = self._tile(level, first // WIDTH, size)
                start = first % WIDTH
                hashes = [tile[i * HASH_SIZE : (i + 1) * HASH_SIZE] for i in range(start, start + (1 << r))]
                if len(hashes[-1]) != HASH_SIZE:
                    raise VerificationFailed(f"tile {level}/{first // WIDTH} is too short for node {(height, idx)}")
                out[(height, idx)] = merkle.root_hash(hashes) if r else hashes[0]
            return out

        return fetch

    def root(self, size: int, *, within: int | None = None) -> bytes:
        """The root of the first ``size`` entries, from the tiles of the published tree ``within``."""
        within = max(size, self._published) if within is None else within
        (root,) = merkle.resolve_plan([merkle.perfect_subtrees(0, size)], self._nodes(within))
        return root

    def consistency_proof(self, *, first: int, second: int) -> list[bytes]:
        return merkle.resolve_plan(merkle.consistency_proof_plan(first, second), self._nodes(second))

    def verify_growth(self, old: SignedCheckpoint, new: SignedCheckpoint) -> None:
        for cp in (old, new):
            self.trust.verify(cp)
        verify_growth_with(old, new, lambda a, b: self.consistency_proof(first=a, second=b))

    def verified_entries(self, *, start: int, limit: int, tree_head: SignedCheckpoint) -> list[Entry]:
        """Entries ``start …`` (at most ``limit``, within one bundle) proven against ``tree_head``."""
        checkpoint = self.trust.verify(tree_head)
        size = checkpoint.size
        if not 0 <= start < size or limit < 1:
            raise VerificationFailed(f"no entries from {start} in a tree of size {size}")
        index = start // WIDTH
        width = min(WIDTH, size - index * WIDTH)
        bodies = decode_bundle(self._get(tile_path("entries", index, width)))
        if len(bodies) != width:
            raise VerificationFailed(f"entry bundle {index} has {len(bodies)} entries, not {width}")
        tile = self._tile(0, index, size)
        for i, body in enumerate(bodies):  # every entry is the leaf the tile names
            if merkle.leaf_hash(body) != tile[i * HASH_SIZE : (i + 1) * HASH_SIZE]:
                raise VerificationFailed("entry does not hash to its leaf in the tile", seq=index * WIDTH + i)
        stop = min(index * WIDTH + width, start + limit)
        docs: list[dict[str, Any]] = []
        for seq in range(start, stop):
            try:
                docs.append(json.loads(bodies[seq - index * WIDTH]))
            except ValueError as e:
                raise VerificationFailed(f"entry is not JSON: {e}", seq=seq) from e
        last = stop - 1
        plan = merkle.inclusion_proof_plan(last, size)
        proof = merkle.resolve_plan(plan, self._nodes(size))
        return verify_entry_run(docs, start=start, tree_head=checkpoint, last_inclusion_proof=proof)


class TileWriter:
    """Keeps a tiles directory current in the background: after appends (coalesced) and every ``interval``.

    The served checkpoint changes when witnesses cosign, not only on appends, so the writer
    also polls; it rewrites only when the served checkpoint's bytes changed.  A failure is
    logged and retried on the next turn; it never reaches an append.
    """

    def __init__(self, log: LedgerLog, directory: str | os.PathLike[str], *, interval: float = 1.0) -> None:
        self.log = log
        self.directory = directory
        self.interval = interval
        self._event = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last: bytes | None = None

    def start(self) -> TileWriter:
        self.log.listeners.append(self.notify)
        self._thread = threading.Thread(target=self._run, name="tile-writer", daemon=True)
        self._thread.start()
        self._event.set()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._event.set()
        if self.notify in self.log.listeners:
            self.log.listeners.remove(self.notify)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def notify(self, size: int | None = None) -> None:
        self._event.set()

    def write_if_changed(self) -> bool:
        served = self.log.latest_checkpoint().to_bytes()
        if served == self._last:
            return False
        self._last = write_tiles(self.log, self.directory).to_bytes()
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            self._event.wait(self.interval)
            self._event.clear()
            if self._stop.is_set():
                return
            try:
                self.write_if_changed()
            except Exception:
                logger.exception("writing tiles failed; retrying")
