"""Replay a ledger from entry 0 and check everything: anyone can audit the log.

For each entry n, in order:

1. its stored bytes are JSON in RFC 8785 canonical form (so the hashes below are the
   hashes of exactly what was signed);
2. ``check_entry`` — the same rules the append applied (``ledger.log``): typed payload,
   ``seq == n``, ``prev_hash`` = chain hash of entry n-1, the issuer's Ed25519 signature
   under the key registered (or rotated to) *earlier in the log*;
3. its content id (issuer, type, payload: ``ledger.entries.content_id``) appears for the
   first time — the log refuses repeats, so a repeat means a writer's retry was appended
   twice (a log written before the rule, or a ledger bug);
4. the stored chain hash and leaf hash (where the source keeps them) equal the recomputed
   ones, and, for a database, every Merkle node the entry completes equals the stored node
   that proofs are served from.

Then the replayed tree must match the signed tree head: same size, same root, and the
signature verifies under the ledger key (pinned by the caller, else the one the tree head
names — the report says which).  Over HTTP the ledger's C2SP checkpoint is checked too:
signed by that key under its origin, cosigned by the quorum of a witness policy if one is
given, and its root equal to the replayed root at its size.  The first failure raises
``VerificationFailed`` naming the entry (``seq``) or the tree head (``seq=None``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ledger import merkle
from ledger.checkpoint import SignedCheckpoint, log_verifier
from ledger.constants import GENESIS_PREV_HASH, MAX_PAGE
from ledger.entries import SignedTreeHead, canonical_json, verify_tree_head
from ledger.errors import ChainConflict, EntryRejected, VerificationFailed
from ledger.log import check_entry
from ledger.policy import CheckpointTrust, Policy
from ledger.store import LedgerStore, StoredEntry

Progress = Callable[[int, int], None]  # (entries checked, entries in total)


@dataclass(frozen=True)
class AuditItem:
    seq: int
    body: bytes
    entry_hash: bytes | None = None  # as stored, when the source keeps it
    leaf_hash: bytes | None = None


@dataclass(frozen=True)
class AuditReport:
    size: int
    root: bytes
    tree_head: SignedTreeHead | None  # None only for a log that is empty and never signed
    ledger_key: bytes | None
    key_pinned: bool
    issuers: int
    checkpoint: SignedCheckpoint | None = None  # the verified checkpoint, when audited over HTTP
    cosigners: tuple[str, ...] = ()  # the policy's witnesses that cosigned it
    roots: Mapping[int, bytes] = dataclasses.field(default_factory=dict)  # replayed roots at the watched sizes


class Replay:
    """The state of a replay: chain head, Merkle frontier, issuer keys."""

    def __init__(self, watch: Iterable[int] = ()) -> None:
        self.size = 0
        self.last_hash = GENESIS_PREV_HASH
        self.frontier: tuple[bytes, ...] = ()
        self.keys: dict[str, bytes] = {}
        self.watch = set(watch)  # sizes whose root to remember (checkpoints to compare with)
        self.roots: dict[int, bytes] = {0: merkle.EMPTY_ROOT} if 0 in self.watch else {}
        self.contents: dict[bytes, int] = {}  # content id -> first seq (32 bytes + an int per entry)

    def feed(self, item: AuditItem) -> list[tuple[int, int, bytes]]:
        """Check one entry; return the Merkle nodes it completes."""
        n = self.size
        if item.seq != n:
            raise VerificationFailed(f"expected entry {n} here, found entry {item.seq}", seq=n)
        try:
            doc = json.loads(item.body)
        except ValueError as e:  # includes bad UTF-8
            raise VerificationFailed(f"stored bytes are not JSON: {e}", seq=n) from e
        try:
            checked = check_entry(doc, seq=n, prev_hash=self.last_hash, issuer_key=self.keys.get)
        except ChainConflict as e:
            raise VerificationFailed(f"does not continue the chain: {e.detail}", seq=n) from e
        except EntryRejected as e:
            raise VerificationFailed(f"{e.reason}: {e.detail}", seq=n) from e
        if checked.body != item.body:  # checked.body is the RFC 8785 form of what was parsed
            raise VerificationFailed("stored bytes are not canonical JSON (RFC 8785)", seq=n)
        first = self.contents.setdefault(checked.content_id, n)
        if first != n:
            raise VerificationFailed(
                f"repeats entry {first} (same issuer, type and payload): one publication appended twice", seq=n
            )
        if item.entry_hash is not None and item.entry_hash != checked.entry_hash:
            raise VerificationFailed("stored chain hash differs from the hash of the entry", seq=n)
        if item.leaf_hash is not None and item.leaf_hash != checked.leaf_hash:
            raise VerificationFailed("stored leaf hash differs from the hash of the entry", seq=n)
        self.frontier, nodes = merkle.append_leaf(self.frontier, n, checked.leaf_hash)
        self.last_hash = checked.entry_hash
        if checked.issuer_key is not None:
            self.keys[checked.issuer_key[0]] = checked.issuer_key[1]
        self.size = n + 1
        if self.size in self.watch:
            self.roots[self.size] = merkle.frontier_root(self.frontier)
        return nodes

    def check_root(self, size: int, root: bytes, what: str = "tree head") -> None:
        """The replay so far has ``size`` entries and the Merkle root ``root`` (of a verified view)."""
        if size != self.size:
            raise VerificationFailed(f"{what}: signs size {size}, replay has {self.size} entries")
        if root != merkle.frontier_root(self.frontier):
            raise VerificationFailed(f"{what}: signed root differs from the replayed Merkle root")

    def finish(self, tree_head: SignedTreeHead | None, ledger_key: bytes | None) -> AuditReport:
        root = merkle.frontier_root(self.frontier)
        if tree_head is None:
            if self.size:
                raise VerificationFailed("tree head: none stored for a non-empty log")
            return AuditReport(0, root, None, ledger_key, ledger_key is not None, 0)
        self.check_root(tree_head.size, tree_head.root)
        key = ledger_key if ledger_key is not None else tree_head.key
        try:
            verify_tree_head(tree_head, key)
        except VerificationFailed as e:
            raise VerificationFailed(f"tree head: {e.detail}") from e
        return AuditReport(
            size=self.size,
            root=root,
            tree_head=tree_head,
            ledger_key=key,
            key_pinned=ledger_key is not None,
            issuers=len(self.keys),
        )


def audit_items(
    pages: Iterable[Sequence[AuditItem]],
    *,
    total: int,
    check_nodes: Callable[[list[tuple[int, int, bytes]]], None] | None = None,
    progress: Progress | None = None,
    watch: Iterable[int] = (),
) -> Replay:
    replay = Replay(watch)
    for page in pages:
        completed: list[tuple[int, int, bytes]] = []
        for item in page:
            try:
                completed.extend(replay.feed(item))
            except VerificationFailed:
                if check_nodes is not None and completed:
                    check_nodes(completed)  # a bad node of an earlier entry is the first failure
                raise
        if check_nodes is not None and completed:
            check_nodes(completed)
        if progress is not None:
            progress(replay.size, total)
    if replay.size != total:
        raise VerificationFailed(f"entry {replay.size} is missing", seq=replay.size)
    return replay


def _pages(
    total: int, page: int, fetch: Callable[[int, int], Sequence[Any]], item: Callable[[int, Any], AuditItem]
) -> Iterable[list[AuditItem]]:
    """Fetch entries 0 … total-1 a page at a time; stop early if the source runs short."""
    for start in range(0, total, page):
        limit = min(page, total - start)
        rows = fetch(start, limit)
        yield [item(start + i, row) for i, row in enumerate(rows[:limit])]
        if len(rows) < limit:
            return


def audit_store(
    store: LedgerStore,
    *,
    ledger_key: bytes | None = None,
    page: int = MAX_PAGE,
    progress: Progress | None = None,
) -> AuditReport:
    """Audit a ledger database (or any ``LedgerStore``), including its stored Merkle nodes and head."""
    head = store.head()

    def check_nodes(completed: list[tuple[int, int, bytes]]) -> None:
        stored = store.nodes([(level, index) for level, index, _ in completed])
        for level, index, h in completed:
            if stored.get((level, index)) != h:
                last_leaf = ((index + 1) << level) - 1
                raise VerificationFailed(f"stored Merkle node ({level}, {index}) is wrong", seq=last_leaf)

    def fetch(start: int, limit: int) -> list[StoredEntry]:
        return store.entries(start=start, limit=limit)

    def item(_: int, e: StoredEntry) -> AuditItem:
        return AuditItem(e.seq, e.body, e.entry_hash, e.leaf_hash)

    pages = _pages(head.size, page, fetch, item)
    replay = audit_items(pages, total=head.size, check_nodes=check_nodes, progress=progress)
    if head.last_hash != replay.last_hash or head.frontier != replay.frontier:
        raise VerificationFailed("tree head: the stored head row differs from the replay")
    return replay.finish(head.tree_head, ledger_key)


class EntrySource(Protocol):
    """What ``audit_remote`` needs from a ledger service (``ledger.client.LedgerClient``)."""

    def fetch_tree_head(self) -> SignedTreeHead: ...

    def fetch_checkpoint(self) -> bytes: ...

    def fetch_entries(self, *, start: int, limit: int) -> list[Any]: ...


def _canonical_or_fail(doc: Any, seq: int) -> bytes:
    try:
        return canonical_json(doc)
    except Exception as e:  # values outside I-JSON, non-JSON types
        raise VerificationFailed(f"served entry is not canonicalisable JSON: {e}", seq=seq) from e


def audit_remote(
    source: EntrySource,
    *,
    ledger_key: bytes | None = None,
    origin: str | None = None,
    policy: Policy | None = None,
    page: int = MAX_PAGE,
    progress: Progress | None = None,
    served: bytes | None = None,
    watch: Iterable[int] = (),
) -> AuditReport:
    """Audit a ledger through its HTTP API: the entries up to its tree head and its checkpoint.

    ``origin``: the log's expected origin line; by default the one the checkpoint names (the
    key, pinned or named, is what identifies the ledger).  ``served``: audit against these
    checkpoint bytes rather than a fresh ``GET /checkpoint``; ``watch``: more sizes whose replayed roots
    the report keeps (``roots``), to compare views (``audit_views``).
    """
    tree_head = source.fetch_tree_head()
    key = ledger_key if ledger_key is not None else tree_head.key
    raw = served if served is not None else source.fetch_checkpoint()
    checkpoint, cosigners = verify_checkpoint_for_audit(raw, key, origin=origin, policy=policy)
    total = max(tree_head.size, checkpoint.size)
    watched = {checkpoint.size, tree_head.size, *(w for w in watch if 0 <= w <= total)}

    def fetch(start: int, limit: int) -> list[Any]:
        return source.fetch_entries(start=start, limit=limit)

    # the position is the seq; check_entry then compares it with the entry's own
    pages = _pages(total, page, fetch, lambda seq, doc: AuditItem(seq, _canonical_or_fail(doc, seq)))
    replay = audit_items(pages, total=total, progress=progress, watch=watched)
    if replay.roots.get(checkpoint.size) != checkpoint.root:
        raise VerificationFailed(f"checkpoint: its root differs from the replayed root at size {checkpoint.size}")
    if replay.roots.get(tree_head.size) != tree_head.root:
        raise VerificationFailed("tree head: signed root differs from the replayed Merkle root")
    try:
        verify_tree_head(tree_head, key)
    except VerificationFailed as e:
        raise VerificationFailed(f"tree head: {e.detail}") from e
    return AuditReport(
        size=total,
        root=merkle.frontier_root(replay.frontier),
        tree_head=tree_head,
        ledger_key=key,
        key_pinned=ledger_key is not None,
        issuers=len(replay.keys),
        checkpoint=checkpoint,
        cosigners=tuple(cosigners),
        roots=dict(replay.roots),
    )


def verify_checkpoint_for_audit(
    data: bytes, key: bytes, *, origin: str | None = None, policy: Policy | None = None
) -> tuple[SignedCheckpoint, list[str]]:
    """Open a served checkpoint under ``key`` (and ``policy``); ``VerificationFailed`` at the tree head."""
    try:
        named = SignedCheckpoint.parse(data).origin if origin is None else origin
        return CheckpointTrust(log_verifier(named, key), policy).verify_with_cosigners(data)
    except VerificationFailed as e:
        raise VerificationFailed(f"checkpoint: {e.detail}") from e


# ---------------------------------------------------------------- several views: is there a fork?


@dataclass(frozen=True)
class Fork:
    """Two checkpoints signed by the same ledger key that no append-only log can both have produced."""

    views: tuple[str, str]  # who showed them (the caller's names: URLs, "witness w1", …)
    reason: str
    evidence: tuple[SignedCheckpoint, SignedCheckpoint]  # smaller size first


class ForkDetected(VerificationFailed):
    status = 409
    slug = "fork-detected"
    title = "The ledger showed two histories"

    def __init__(self, fork: Fork) -> None:
        super().__init__(fork.reason)
        self.fork = fork


def audit_views(
    sources: Sequence[EntrySource],
    *,
    ledger_key: bytes | None = None,
    origin: str | None = None,
    policy: Policy | None = None,
    page: int = MAX_PAGE,
    progress: Progress | None = None,
    names: Sequence[str] | None = None,
) -> list[AuditReport]:
    """Audit several views of one ledger (e.g. what two parties were shown) and compare them.

    Each view is replayed in full (``audit_remote``; the witness quorum is checked after the
    comparison, so an unwitnessed branch is still compared).  Two checkpoints signed by the
    ledger's key fork if they have the same size and different roots, or if the larger view's
    *replayed* root at the smaller size is not the smaller checkpoint's root — conclusive
    evidence, since each root was recomputed from that view's entries.  Raises
    ``ForkDetected`` (with both checkpoints) or the first view's ``VerificationFailed``.
    """
    names = list(names) if names is not None else [f"view {i + 1}" for i in range(len(sources))]
    raws = [s.fetch_checkpoint() for s in sources]
    sizes = set()
    for raw in raws:
        try:
            sizes.add(SignedCheckpoint.parse(raw).size)
        except VerificationFailed as e:
            raise VerificationFailed(f"checkpoint: {e.detail}") from e
    reports = [
        audit_remote(s, ledger_key=ledger_key, origin=origin, page=page, progress=progress, served=raw, watch=sizes)
        for s, raw in zip(sources, raws, strict=True)
    ]
    keys = {r.ledger_key for r in reports}
    if len(keys) > 1:
        raise VerificationFailed("the views are signed by different ledger keys: different ledgers, not one forked")
    for i, a in enumerate(reports):
        for j, b in enumerate(reports):
            ca, cb = a.checkpoint, b.checkpoint
            assert ca is not None and cb is not None
            if i >= j or ca.origin != cb.origin:
                continue
            (x, cx), (y, cy) = sorted([(i, ca), (j, cb)], key=lambda t: t[1].size)
            larger = reports[y]
            if cx.size == cy.size and cx.root != cy.root:
                reason = f"two checkpoints of size {cx.size} with different roots"
            elif larger.roots.get(cx.size, cx.root) != cx.root:
                reason = (
                    f"the checkpoint of size {cy.size} is not an extension of the checkpoint of size "
                    f"{cx.size}: its entries give another root at size {cx.size}"
                )
            else:
                continue
            raise ForkDetected(Fork((names[x], names[y]), reason, (cx, cy)))
    if policy is not None:  # no fork between the views: now each must carry the quorum
        for r in reports:
            assert r.checkpoint is not None and r.ledger_key is not None
            verify_checkpoint_for_audit(r.checkpoint.to_bytes(), r.ledger_key, origin=origin, policy=policy)
    return reports


class WithheldView(VerificationFailed):
    """The ledger showed the auditor a tree smaller than one a witness had already cosigned."""

    slug = "withheld-view"
    title = "The ledger withheld entries a witness has seen"


def compare_with_witnesses(
    report: AuditReport, seen: Sequence[tuple[str, bytes]], *, name: str = "the ledger", origin: str | None = None
) -> list[SignedCheckpoint]:
    """Check what each witness last cosigned (``GET <origin hash>/checkpoint``) against an audited view.

    ``seen``: (witness name, the checkpoint it serves), fetched *before* the audit, so an honest
    ledger's head is at least as large.  Each must be signed by the audited ledger key; its root
    must be the replayed root at its size (``report.roots``: audit with ``watch=`` those sizes),
    else ``ForkDetected`` with both checkpoints; a size above the audited tree is a
    ``WithheldView``.  Returns the witnesses' checkpoints.
    """
    assert report.checkpoint is not None and report.ledger_key is not None
    out = []
    for witness, raw in seen:
        try:
            cp, _ = verify_checkpoint_for_audit(raw, report.ledger_key, origin=origin or report.checkpoint.origin)
        except VerificationFailed as e:
            raise VerificationFailed(f"{witness}'s checkpoint: {e.detail}") from e
        if cp.size > report.size:
            raise WithheldView(
                f"{name} showed a tree of {report.size} entries, but {witness} had already cosigned "
                f"size {cp.size}: entries were withheld from this view"
            )
        if report.roots.get(cp.size) != cp.root:
            raise ForkDetected(
                Fork(
                    (name, witness),
                    f"{witness} cosigned another tree of size {cp.size} than the one this view's entries give",
                    (report.checkpoint, cp),
                )
            )
        out.append(cp)
    return out
