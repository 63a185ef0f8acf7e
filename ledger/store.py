"""Ledger storage: the ``LedgerStore`` Protocol and ``MemoryStore``, its in-memory implementation.

The store knows nothing about signatures or entry types; ``ledger.log`` decides *what* to
append, the store makes it durable *atomically*.  What a store keeps:

- entries by ``seq`` (canonical bytes + chain hash), gapless from 0;
- Merkle nodes ``(level, index) -> hash`` for every complete perfect subtree, leaves at
  level 0, so any proof for any tree size reads O(log n) nodes (``ledger.merkle`` plans);
- the head: size, hash of the last entry, the frontier (perfect-subtree roots of the
  current size, largest first) and the latest signed tree head;
- the current Ed25519 key of each registered issuer;
- the content id of every entry (``ledger.entries.content_id``) and its seq, unique: the
  same (issuer, type, payload) is on the log at most once (idempotent re-sends);
- witnesses' cosignatures of the ledger's checkpoints, by tree size (``ledger.witnessing``).

Invariants every implementation keeps (the shared suite in ``tests/ledger`` checks them):

1. ``append(prepare)`` is one transaction.  ``prepare`` is called with a view of the head
   and issuer keys taken *under the store's write lock*; what it returns (the entry, the
   nodes it completes, the new head, an issuer key change) is written all or nothing.  A
   domain error raised by ``prepare`` aborts the append and propagates unchanged.
2. Appends are serialised: two writers never see the same head, so the chain cannot fork,
   skip or repeat a ``seq`` (SQL stores add a unique key on ``seq`` as a second line).
3. Nothing ever changes an entry or a node once written.

Pattern: docknetwork ``vb_accumulator/src/persistence.rs`` and pymerkle ``core.py`` +
``concrete/*`` (STYLE §2.8.7); ``ledger.sql.SqlStore`` is the durable implementation.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ledger.constants import GENESIS_PREV_HASH
from ledger.entries import SignedTreeHead
from ledger.merkle import NodeId
from ledger.note import NoteSignature


@dataclass(frozen=True)
class StoredEntry:
    seq: int
    body: bytes  # RFC 8785 canonical JSON of the signed entry
    entry_hash: bytes  # chain hash: the next entry's prev_hash
    leaf_hash: bytes  # RFC 9162 leaf hash of body, the node (0, seq)
    issuer: str  # copied from body, for indexing
    entry_type: str  # copied from body, for indexing
    content_id: bytes = b""  # ledger.entries.content_id of body (set on append; reads may leave it empty)


@dataclass(frozen=True)
class Head:
    size: int
    last_hash: bytes  # entry_hash of entry size-1, GENESIS_PREV_HASH when empty
    frontier: tuple[bytes, ...]
    tree_head: SignedTreeHead | None  # latest signed, of this size; None when empty


EMPTY_HEAD = Head(size=0, last_hash=GENESIS_PREV_HASH, frontier=(), tree_head=None)


@dataclass(frozen=True)
class AppendPlan:
    entry: StoredEntry
    nodes: list[tuple[int, int, bytes]]  # (level, index, hash) completed by this append
    head: Head  # the head after the append
    issuer_key: tuple[str, bytes] | None = None  # (issuer id, its new current key)


class AppendView(Protocol):
    """What ``prepare`` may read inside the append transaction."""

    @property
    def head(self) -> Head: ...

    def issuer_key(self, issuer_id: str) -> bytes | None: ...

    def content_seq(self, content_id: bytes) -> int | None:
        """The seq of the entry with this content id, if the log has one."""
        ...


class LedgerStore(Protocol):
    def head(self) -> Head: ...

    def entries(self, *, start: int, limit: int) -> list[StoredEntry]: ...

    def nodes(self, ids: Sequence[NodeId]) -> dict[NodeId, bytes]: ...

    def issuer_key(self, issuer_id: str) -> bytes | None: ...

    def content_seq(self, content_id: bytes) -> int | None: ...

    def append(
        self,
        prepare: Callable[[AppendView], AppendPlan],
        *,
        issuer_hint: str | None = None,
        content_hint: bytes | None = None,
    ) -> AppendPlan:
        """``issuer_hint``/``content_hint``: the issuer key and content id ``prepare`` will ask for (prefetched)."""
        ...

    def add_cosignatures(self, size: int, lines: Sequence[NoteSignature]) -> None:
        """Keep witnesses' cosignatures (already verified) of the checkpoint of ``size``."""
        ...

    def cosignatures(self, *, sizes: int = 16) -> list[tuple[int, list[NoteSignature]]]:
        """The cosignatures of the ``sizes`` largest cosigned sizes, largest first."""
        ...


@dataclass
class _MemoryView:
    store: MemoryStore

    @property
    def head(self) -> Head:
        return self.store._head

    def issuer_key(self, issuer_id: str) -> bytes | None:
        return self.store._issuers.get(issuer_id)

    def content_seq(self, content_id: bytes) -> int | None:
        return self.store._content.get(content_id)


@dataclass
class MemoryStore:
    """A LedgerStore in process memory: for tests, the demo, and as the executable spec."""

    _entries: list[StoredEntry] = field(default_factory=list)
    _nodes: dict[NodeId, bytes] = field(default_factory=dict)
    _issuers: dict[str, bytes] = field(default_factory=dict)
    _content: dict[bytes, int] = field(default_factory=dict)
    _head: Head = EMPTY_HEAD
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _cosignatures: dict[int, dict[tuple[str, int], NoteSignature]] = field(default_factory=dict)

    def add_cosignatures(self, size: int, lines: Sequence[NoteSignature]) -> None:
        with self._lock:
            at = self._cosignatures.setdefault(size, {})
            for sig in lines:
                at[(sig.name, sig.key_id)] = sig

    def cosignatures(self, *, sizes: int = 16) -> list[tuple[int, list[NoteSignature]]]:
        return [
            (size, list(self._cosignatures[size].values())) for size in sorted(self._cosignatures, reverse=True)[:sizes]
        ]

    def head(self) -> Head:
        return self._head

    def entries(self, *, start: int, limit: int) -> list[StoredEntry]:
        return self._entries[start : start + limit] if start >= 0 and limit > 0 else []

    def nodes(self, ids: Sequence[NodeId]) -> dict[NodeId, bytes]:
        return {i: self._nodes[i] for i in ids if i in self._nodes}

    def issuer_key(self, issuer_id: str) -> bytes | None:
        return self._issuers.get(issuer_id)

    def content_seq(self, content_id: bytes) -> int | None:
        return self._content.get(content_id)

    def append(
        self,
        prepare: Callable[[AppendView], AppendPlan],
        *,
        issuer_hint: str | None = None,
        content_hint: bytes | None = None,
    ) -> AppendPlan:
        with self._lock:
            plan = prepare(_MemoryView(self))
            if plan.entry.seq != len(self._entries) or plan.head.size != plan.entry.seq + 1:
                raise RuntimeError("append plan does not extend the head")  # a bug in the caller
            new_nodes = {(level, index): h for level, index, h in plan.nodes}
            if new_nodes.keys() & self._nodes.keys():
                raise RuntimeError("append plan overwrites Merkle nodes")
            if plan.entry.content_id in self._content:
                raise RuntimeError("append plan repeats an entry's content")  # a bug in the caller
            self._entries.append(plan.entry)
            self._nodes.update(new_nodes)
            if plan.entry.content_id:
                self._content[plan.entry.content_id] = plan.entry.seq
            if plan.issuer_key is not None:
                self._issuers[plan.issuer_key[0]] = plan.issuer_key[1]
            self._head = plan.head
            return plan
