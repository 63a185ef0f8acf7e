"""The ledger's domain logic: accept entries onto the chain, sign tree heads, serve proofs.

``LedgerLog`` is used in-process (the demo, tests, the benchmark) and behind HTTP
(``ledger.api``) alike; it knows no HTTP and no SQL, only a ``LedgerStore``.

Appending entry n (``submit`` for an entry signed elsewhere, ``append`` to sign in
process), inside the store's write transaction:

1. the envelope and the payload for its type validate (``ledger.entries.parse_entry``);
2. ``seq == n`` and ``prev_hash == entry_hash(entry n-1)`` — else ``ChainConflict``: the
   writer built on a stale head and must re-read, re-sign and retry (compare-and-swap);
3. the signer is the issuer's registered key: for ``issuer_registration`` the key it
   registers (the id must be new), for every other type the issuer's current key; a
   ``verifier_registration`` likewise, under the id derived from its key
   (``ledger.entries.verifier_id_of``) — verifier ids publish nothing but their
   registration and key rotations, and no issuer may take one;
   a ``key_rotation`` makes its ``new_ledger_key`` current from entry n+1 on;
4. the leaf joins the Merkle frontier, the completed perfect-subtree nodes are stored, and
   the ledger signs the new tree head (size n+1, root, time) with its own key.

Idempotent appends: before step 2, an entry whose content id (``ledger.entries.content_id``:
issuer, type, payload) is already on the log is not appended again; the writer gets the
receipt of the entry that is there (``Receipt.existing``; ``POST /entries`` answers 200
instead of 201).  So a writer that lost a receipt (crash, timeout) re-sends the same
payload, re-signed on the new head, and learns where it landed.  One exception: a
``key_rotation`` to a key the issuer was rotated to before, and is not its current key,
is refused (``invalid-payload``) — answering it with the old entry would hide that the
rotation did not happen.

``check_entry`` (steps 1–3) is shared with ``ledger.audit``, so a replay applies exactly
the rules the append applied.  Proofs come from stored nodes: O(log n) reads in one query.
"""

from __future__ import annotations

import logging
import time as _time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import merkle
from ledger.checkpoint import Checkpoint, SignedCheckpoint, default_origin, log_signer, sign_checkpoint
from ledger.constants import MAX_CLOCK_SKEW_MS, MAX_PAGE
from ledger.entries import (
    VERIFIER_ENTRY_TYPES,
    Entry,
    SignedTreeHead,
    content_id,
    entry_hash,
    is_verifier_id,
    parse_entry,
    public_key_bytes,
    sign_entry,
    sign_tree_head,
    verifier_id_of,
    verify_entry_signature,
)
from ledger.errors import ChainConflict, EntryRejected, InvalidRequest, NotFound
from ledger.policy import Policy
from ledger.store import AppendPlan, AppendView, Head, LedgerStore, StoredEntry

logger = logging.getLogger(__name__)


def now_ms() -> int:
    return _time.time_ns() // 1_000_000


@dataclass(frozen=True)
class CheckedEntry:
    entry: Entry
    body: bytes
    entry_hash: bytes
    leaf_hash: bytes
    issuer_key: tuple[str, bytes] | None  # the issuer's key from the next entry on, if it changes
    content_id: bytes = b""


class _AlreadyOnLog(Exception):
    """Raised inside the append transaction (which it aborts) when the content is on the log."""

    def __init__(self, seq: int) -> None:
        super().__init__(seq)
        self.seq = seq


def _check_repeat(entry: Entry, seq: int | None, current_key: Callable[[str], bytes | None]) -> None:
    """Raise ``_AlreadyOnLog`` for a repeat of entry ``seq`` — or refuse a rotation back to an old key.

    A repeat is answered only if its signature verifies under the issuer's current key (a
    writer with the wrong key learns so, as it would without the repeat). A re-sent
    ``key_rotation`` that landed is signed by the key it replaced: it is answered without
    that check — the answer (where public content is on the log) reveals nothing secret.
    """
    if seq is None:
        return
    current = current_key(entry.issuer)
    if entry.type == "key_rotation":
        if current != bytes.fromhex(entry.payload["new_ledger_key"]):
            raise EntryRejected(
                "invalid-payload",
                f"key_rotation: {entry.issuer!r} was rotated to this key before (entry {seq}); rotate to a fresh key",
            )
    elif current is None:
        raise EntryRejected("unknown-issuer", f"issuer {entry.issuer!r} is not registered")
    else:
        verify_entry_signature(entry, current)
    raise _AlreadyOnLog(seq)


def _check_author_kind(entry: Entry, seq: int) -> None:
    """Verifier ids (``verifier-<hex>``, ``ledger.entries.is_verifier_id``) publish only
    ``verifier_registration`` and ``key_rotation``; nobody else publishes a ``verifier_registration``."""
    if is_verifier_id(entry.issuer):
        if entry.type not in VERIFIER_ENTRY_TYPES:
            raise EntryRejected(
                "invalid-payload",
                f"{entry.type}: ids of the form verifier-<hex> are verifiers', which publish only "
                f"{sorted(VERIFIER_ENTRY_TYPES)}",
                seq=seq,
            )
    elif entry.type in ("verifier_registration", "verifier_update"):
        raise EntryRejected(
            "invalid-payload", f"{entry.type}: the author id must be verifier_id_of(its registered key)", seq=seq
        )


def check_entry(
    unverified: Entry | Mapping[str, Any] | bytes,
    *,
    seq: int,
    prev_hash: bytes,
    issuer_key: Callable[[str], bytes | None],
    verified_key: bytes | None = None,
) -> CheckedEntry:
    """Steps 1–3 of the append: parse, chain link, signature by the registered key.

    ``verified_key``: a key the caller has already checked this entry's signature against
    (outside the write lock); if it is the signer the rules require, the check is skipped.
    """
    entry = parse_entry(unverified, seq=seq)
    if entry.seq != seq or entry.prev_hash_bytes != prev_hash:
        raise ChainConflict(
            f"entry claims seq {entry.seq} after {entry.prev_hash[:16]}…, "
            f"but the head is seq {seq} after {prev_hash.hex()[:16]}…",
            expected_seq=seq,
            expected_prev_hash=prev_hash,
        )
    current = issuer_key(entry.issuer)
    update: tuple[str, bytes] | None = None
    _check_author_kind(entry, seq)
    if entry.type in ("issuer_registration", "verifier_registration"):
        if current is not None:
            raise EntryRejected("issuer-exists", f"{entry.issuer!r} is already registered", seq=seq)
        signer = bytes.fromhex(entry.payload["ledger_key"])
        if entry.type == "verifier_registration" and entry.issuer != verifier_id_of(signer):
            raise EntryRejected(
                "invalid-payload",
                f"verifier_registration: a verifier's id is derived from its key ({verifier_id_of(signer)}), "
                f"not {entry.issuer!r}",
                seq=seq,
            )
        update = (entry.issuer, signer)
    else:
        if current is None:
            raise EntryRejected("unknown-issuer", f"issuer {entry.issuer!r} is not registered", seq=seq)
        signer = current
        if entry.type == "key_rotation":  # payload already validated by parse_entry
            new_key = bytes.fromhex(entry.payload["new_ledger_key"])
            if new_key == current:
                raise EntryRejected("invalid-payload", "key_rotation: the new key is the current key", seq=seq)
            update = (entry.issuer, new_key)
    if signer != verified_key:
        verify_entry_signature(entry, signer)
    body = entry.canonical()
    return CheckedEntry(
        entry=entry,
        body=body,
        entry_hash=entry_hash(body),
        leaf_hash=merkle.leaf_hash(body),
        issuer_key=update,
        content_id=entry.content_id(),
    )


@dataclass(frozen=True)
class Receipt:
    """What a writer gets back: where its entry landed and the tree head that includes it."""

    seq: int
    entry_hash: bytes
    leaf_hash: bytes
    tree_head: SignedTreeHead
    existing: bool = False  # the content was already on the log (at seq): nothing was appended

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "entry_hash": self.entry_hash.hex(),
            "leaf_hash": self.leaf_hash.hex(),
            "tree_head": self.tree_head.to_json(),
            "existing": self.existing,
        }


@dataclass(frozen=True)
class InclusionProof:
    seq: int
    tree_size: int
    leaf_hash: bytes
    proof: list[bytes]

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "tree_size": self.tree_size,
            "leaf_hash": self.leaf_hash.hex(),
            "proof": [p.hex() for p in self.proof],
        }


class LedgerLog:
    """An append-only log of signed entries over a ``LedgerStore``, signing tree heads with ``signing_key``."""

    def __init__(
        self,
        store: LedgerStore,
        *,
        signing_key: Ed25519PrivateKey,
        clock: Callable[[], int] = now_ms,
        max_clock_skew_ms: int = MAX_CLOCK_SKEW_MS,
        origin: str | None = None,
        witness_policy: Policy | None = None,
    ) -> None:
        self.store = store
        self._signing_key = signing_key
        self.public_key = public_key_bytes(signing_key)
        self.origin = origin or default_origin()
        self._note_signer = log_signer(self.origin, signing_key)
        self.verifier = self._note_signer.verifier  # vkey: self.verifier.vkey()
        self.witness_policy = witness_policy  # the quorum the served checkpoint aims for (ledger.witnessing)
        self.listeners: list[Callable[[int], None]] = []  # told the new size after each append (never blocking)
        self._clock = clock
        self._max_skew = max_clock_skew_ms
        self._key_cache: dict[str, bytes] = {}  # issuer -> key believed current (a hint, never trusted)

    def __repr__(self) -> str:  # never show the signing key
        return f"LedgerLog(store={type(self.store).__name__}, key={self.public_key.hex()[:16]}…)"

    # ------------------------------------------------------------ writes

    def submit(self, unverified: Entry | Mapping[str, Any] | bytes, *, now: int | None = None) -> Receipt:
        """Append an entry signed by its issuer, if it extends the current head (``POST /entries``)."""
        entry = parse_entry(unverified)  # cheap checks before taking the write lock
        now = self._clock() if now is None else now
        if abs(entry.time - now) > self._max_skew:
            raise EntryRejected("clock-skew", f"entry time {entry.time} is more than {self._max_skew} ms from {now}")

        # Verify the signature before taking the write lock, under the key believed current
        # (cached; a stale key only costs a second verification), so that the lock is held
        # briefly.  Under the lock everything is checked again, and the signature too unless
        # that key is still the current one.
        try:
            signer = self._preverify(entry)
        except EntryRejected:
            # a re-sent key_rotation that landed is signed by the key it replaced: is it a repeat?
            try:
                _check_repeat(entry, self.store.content_seq(entry.content_id()), self.store.issuer_key)
            except _AlreadyOnLog as e:
                return self._existing(e.seq)
            raise

        def prepare(view: AppendView) -> AppendPlan:
            head = view.head
            _check_repeat(entry, view.content_seq(entry.content_id()), view.issuer_key)
            checked = check_entry(
                entry, seq=head.size, prev_hash=head.last_hash, issuer_key=view.issuer_key, verified_key=signer
            )
            return self._plan(head, checked, now)

        return self._append(prepare, entry.issuer, entry.content_id())

    def _preverify(self, entry: Entry) -> bytes | None:
        """The key this entry's signature verifies under (outside the lock), or EntryRejected."""
        if entry.type in ("issuer_registration", "verifier_registration"):
            signer: bytes | None = bytes.fromhex(entry.payload["ledger_key"])
            verify_entry_signature(entry, signer)  # type: ignore[arg-type]
            return signer
        signer = self._key_cache.get(entry.issuer)
        try:
            if signer is None:
                raise EntryRejected("bad-signature", "no cached key")
            verify_entry_signature(entry, signer)
        except EntryRejected:
            signer = self._fresh_key(entry.issuer)  # the key may have rotated meanwhile
            if signer is not None:
                verify_entry_signature(entry, signer)
        return signer

    def _fresh_key(self, issuer: str) -> bytes | None:
        key = self.store.issuer_key(issuer)
        if key is not None:
            if len(self._key_cache) >= 10_000:
                self._key_cache.clear()
            self._key_cache[issuer] = key
        return key

    def append(
        self,
        *,
        key: Ed25519PrivateKey,
        issuer: str,
        entry_type: str,
        payload: Mapping[str, Any],
        now: int | None = None,
    ) -> Receipt:
        """Sign an entry for ``issuer`` against the head as it is under the write lock, and append it.

        For writers that hold their key in this process (the demo, tests, the benchmark):
        no compare-and-swap retries, since the entry is built on the locked head.
        """
        now = self._clock() if now is None else now

        def prepare(view: AppendView) -> AppendPlan:
            head = view.head
            entry = sign_entry(
                key=key,
                seq=head.size,
                time=now,
                entry_type=entry_type,
                issuer=issuer,
                payload=payload,
                prev_hash=head.last_hash,
            )
            _check_repeat(entry, view.content_seq(entry.content_id()), view.issuer_key)
            checked = check_entry(entry, seq=head.size, prev_hash=head.last_hash, issuer_key=view.issuer_key)
            return self._plan(head, checked, now)

        return self._append(prepare, issuer, content_id(issuer, entry_type, payload))

    def _existing(self, seq: int) -> Receipt:
        stored = self.entry(seq)
        logger.debug("append >>> seq=%d already holds this content", seq)
        return Receipt(
            seq=seq, entry_hash=stored.entry_hash, leaf_hash=stored.leaf_hash, tree_head=self.tree_head(), existing=True
        )

    def _append(self, prepare: Callable[[AppendView], AppendPlan], issuer: str, content: bytes) -> Receipt:
        try:
            plan = self.store.append(prepare, issuer_hint=issuer, content_hint=content)
        except _AlreadyOnLog as e:
            return self._existing(e.seq)
        if plan.issuer_key is not None:
            self._key_cache[plan.issuer_key[0]] = plan.issuer_key[1]
        for listener in self.listeners:
            try:
                listener(plan.head.size)
            except Exception:  # a listener (the witness submitter) must never fail an append
                logger.exception("append listener failed")
        assert plan.head.tree_head is not None
        logger.debug("append >>> seq=%d entry_hash=%s", plan.entry.seq, plan.entry.entry_hash.hex()[:16])
        return Receipt(
            seq=plan.entry.seq,
            entry_hash=plan.entry.entry_hash,
            leaf_hash=plan.entry.leaf_hash,
            tree_head=plan.head.tree_head,
        )

    def _plan(self, head: Head, checked: CheckedEntry, now: int) -> AppendPlan:
        frontier, nodes = merkle.append_leaf(head.frontier, head.size, checked.leaf_hash)
        sth_time = max(now, head.tree_head.time) if head.tree_head else now  # tree heads never go back in time
        sth = sign_tree_head(
            key=self._signing_key, size=head.size + 1, root=merkle.frontier_root(frontier), time=sth_time
        )
        return AppendPlan(
            entry=StoredEntry(
                seq=head.size,
                body=checked.body,
                entry_hash=checked.entry_hash,
                leaf_hash=checked.leaf_hash,
                issuer=checked.entry.issuer,
                entry_type=checked.entry.type,
                content_id=checked.content_id,
            ),
            nodes=nodes,
            head=Head(size=head.size + 1, last_hash=checked.entry_hash, frontier=frontier, tree_head=sth),
            issuer_key=checked.issuer_key,
        )

    # ------------------------------------------------------------ reads

    def head(self) -> Head:
        return self.store.head()

    def tree_head(self) -> SignedTreeHead:
        """The latest signed tree head (signed afresh if the log is empty or the ledger key changed)."""
        head = self.store.head()
        if head.tree_head is not None and head.tree_head.key == self.public_key:
            return head.tree_head
        return sign_tree_head(
            key=self._signing_key, size=head.size, root=merkle.frontier_root(head.frontier), time=self._clock()
        )

    def checkpoint(self, tree_size: int | None = None) -> SignedCheckpoint:
        """The C2SP checkpoint of the tree of ``tree_size`` entries (default: the head), signed by the ledger.

        Ed25519 is deterministic, so the same size always gives the same bytes; nothing is stored.
        """
        if tree_size is None:
            head = self.store.head()
            size, root = head.size, merkle.frontier_root(head.frontier)
        else:
            size, root = tree_size, self.root(tree_size)
        return sign_checkpoint(Checkpoint(self.origin, size, root), self._note_signer)

    def latest_checkpoint(self) -> SignedCheckpoint:
        """What ``GET /checkpoint`` serves: the newest checkpoint that carries the witness quorum.

        With a witness policy: the largest size whose stored cosignatures satisfy its quorum,
        with every cosignature kept for it; if none does yet, the head's checkpoint with what
        it has (consumers with a policy will refuse it: fail closed).  Without one: the head.
        """
        head = self.store.head()
        stored = self.store.cosignatures()
        policy = self.witness_policy
        if policy is not None:
            named = {(w.verifier.name, w.verifier.key_id): w.name for w in policy.witnesses.values()}
            for size, lines in stored:
                if size > head.size:
                    continue  # cosigned on another branch or a rolled-back database: never served
                cosigners = {named[(s.name, s.key_id)] for s in lines if (s.name, s.key_id) in named}
                if policy.satisfied(cosigners):
                    return self.checkpoint(size).with_cosignatures(lines)
        at_head = next((lines for size, lines in stored if size == head.size), [])
        return self.checkpoint().with_cosignatures(at_head)

    def entry(self, seq: int) -> StoredEntry:
        found = self.store.entries(start=seq, limit=1) if seq >= 0 else []
        if not found:
            raise NotFound(f"no entry {seq}; the log has {self.store.head().size} entries")
        return found[0]

    def entries(self, *, start: int, limit: int = MAX_PAGE) -> list[StoredEntry]:
        if start < 0 or limit < 1:
            raise InvalidRequest("start must be >= 0 and limit >= 1")
        return self.store.entries(start=start, limit=min(limit, MAX_PAGE))

    def _tree_size(self, tree_size: int | None) -> int:
        size = self.store.head().size
        if tree_size is None:
            return size
        if not 0 <= tree_size <= size:
            raise InvalidRequest(f"tree size {tree_size} is not between 0 and the log's size {size}")
        return tree_size

    def inclusion_proof(self, *, seq: int, tree_size: int | None = None) -> InclusionProof:
        """The RFC 9162 audit path of entry ``seq`` in the tree of ``tree_size`` entries (default: all)."""
        size = self._tree_size(tree_size)
        if not 0 <= seq < size:
            raise InvalidRequest(f"entry {seq} is not in a tree of size {size}")
        plan = merkle.inclusion_proof_plan(seq, size)
        *proof, leaf = merkle.resolve_plan([*plan, [(0, seq)]], self.store.nodes)
        return InclusionProof(seq=seq, tree_size=size, leaf_hash=leaf, proof=proof)

    def consistency_proof(self, *, first: int, second: int | None = None) -> list[bytes]:
        """The RFC 9162 proof that the tree of ``first`` entries is a prefix of the tree of ``second``."""
        second = self._tree_size(second)
        if not 0 <= first <= second:
            raise InvalidRequest(f"first ({first}) must be between 0 and second ({second})")
        return merkle.resolve_plan(merkle.consistency_proof_plan(first, second), self.store.nodes)

    def root(self, tree_size: int | None = None) -> bytes:
        """The root of the tree of the first ``tree_size`` entries."""
        size = self._tree_size(tree_size)
        (root,) = merkle.resolve_plan([merkle.perfect_subtrees(0, size)], self.store.nodes)
        return root
