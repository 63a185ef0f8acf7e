"""Publishing to the ledger: the ``LedgerPublisher`` Protocol, in-process and over HTTP.

The issuer signs every entry with its own Ed25519 ledger key (``ledger.entries`` rules:
an ``issuer_registration`` is self-signed by the key it registers; every later entry is
signed by the key registered for the issuer id). Two implementations:

- :class:`InProcessPublisher` wraps a ``ledger.log.LedgerLog`` (the demo, the tests):
  ``LedgerLog.append`` signs against the head under the store's write lock.
- :class:`HttpPublisher` wraps a ``ledger.client.LedgerClient``: it reads the head
  (``/tree-head`` gives the size; the chain hash is recomputed from the last entry's
  canonical bytes), signs, ``POST /entries``, and on ``chain-conflict`` (another writer
  got there first) re-signs on the head the ledger names, a few times.

Both are idempotent through the ledger: an entry whose content (issuer, type, payload) the
ledger already holds is answered with its seq, not appended again — so ``issuer.outbox``
may re-send after a crash without publishing twice.

Ledger errors become ``IssuerError``: a refusal (bad payload, bad signature, someone
else's issuer id) is ``LEDGER_REFUSED`` (502), an unreachable ledger ``LEDGER_UNAVAILABLE``
(503). Neither leaks a secret: details come from the ledger's own problem text.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any, Protocol

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from issuer.errors import ErrorKind, IssuerError
from ledger import merkle
from ledger.client import LedgerClient
from ledger.constants import MAX_PAGE
from ledger.entries import Entry, SignedTreeHead, entry_hash, parse_entry, verify_tree_head
from ledger.errors import EntryRejected, LedgerError, QuorumNotMet, VerificationFailed
from ledger.log import LedgerLog

logger = logging.getLogger(__name__)


class LedgerPublisher(Protocol):
    """Where the issuer's public objects go. ``publish`` returns the entry's sequence number."""

    def publish(
        self, *, key: Ed25519PrivateKey, issuer_id: str, entry_type: str, payload: Mapping[str, Any]
    ) -> int: ...

    def issuer_key(self, issuer_id: str) -> bytes | None:
        """The Ed25519 key currently registered for ``issuer_id`` (None if not registered)."""
        ...

    def issuer_entries(self, issuer_id: str) -> list[dict[str, Any]]:
        """Every entry of ``issuer_id`` on the ledger, in order (``zkcred issuer reconcile``)."""
        ...

    def ping(self) -> None:
        """Readiness: raise if the ledger cannot be reached (a cheap read)."""
        ...


def _refused(e: LedgerError) -> IssuerError:
    if isinstance(e, EntryRejected) and e.reason == "issuer-exists":
        return IssuerError(ErrorKind.LEDGER_REFUSED, f"ledger: {e.detail}", slug="issuer-exists")
    return IssuerError(ErrorKind.LEDGER_REFUSED, f"the ledger refused the entry: {e.detail}")


class InProcessPublisher:
    """Publish into a ``LedgerLog`` living in this process."""

    def __init__(self, log: LedgerLog) -> None:
        self.log = log

    def publish(self, *, key: Ed25519PrivateKey, issuer_id: str, entry_type: str, payload: Mapping[str, Any]) -> int:
        try:
            return self.log.append(key=key, issuer=issuer_id, entry_type=entry_type, payload=payload).seq
        except LedgerError as e:
            raise _refused(e) from e

    def issuer_key(self, issuer_id: str) -> bytes | None:
        return self.log.store.issuer_key(issuer_id)

    def issuer_entries(self, issuer_id: str) -> list[dict[str, Any]]:
        found, start = [], 0
        while page := self.log.entries(start=start, limit=MAX_PAGE):
            found += [json.loads(e.body) for e in page if e.issuer == issuer_id]
            start += len(page)
        return found

    def ping(self) -> None:
        self.log.head()


class HttpPublisher:
    """Publish to a ledger service over HTTP through ``LedgerClient``."""

    def __init__(self, client: LedgerClient, *, attempts: int = 8) -> None:
        self.client = client
        self.attempts = attempts

    def ping(self) -> None:
        self.client.fetch_tree_head()

    def publish(self, *, key: Ed25519PrivateKey, issuer_id: str, entry_type: str, payload: Mapping[str, Any]) -> int:
        try:
            # sign on the head, POST, re-sign on a chain conflict (LedgerClient.publish_entry); then the receipt
            entry, receipt = self.client.publish_entry(
                key=key, author=issuer_id, entry_type=entry_type, payload=payload, attempts=self.attempts
            )
            return self._checked(entry, receipt)
        except LedgerError as e:
            if getattr(e, "status", 400) >= 500:
                raise IssuerError(ErrorKind.LEDGER_UNAVAILABLE, f"ledger error: {e.detail}") from e
            raise _refused(e) from e
        except httpx.HTTPError as e:
            raise IssuerError(ErrorKind.LEDGER_UNAVAILABLE, f"the ledger is unreachable ({type(e).__name__})") from e

    def _checked(self, entry: Entry, receipt: Mapping[str, Any]) -> int:
        """The seq the receipt names, once the receipt proves the ledger holds this entry (or its content).

        A ledger that answers "appended" must show it: the tree head in the receipt is signed
        by the pinned ledger key, and an inclusion proof puts the entry's leaf (or, for an
        ``existing`` answer, the leaf of the earlier entry with the same issuer, type and
        payload) under that tree head's root.  The issuer keeps no record a ledger could later
        deny.  Without a pinned key only the receipt's own hashes are checked.
        """
        try:
            seq = int(receipt["seq"])
            existing = bool(receipt.get("existing", False))
            sth = SignedTreeHead.from_json(receipt["tree_head"])
            if existing:
                held = parse_entry(self.client.fetch_entry(seq), seq=seq)
                if (held.issuer, held.type, held.payload) != (entry.issuer, entry.type, entry.payload):
                    raise VerificationFailed(f"entry {seq} is not the content the ledger said it holds", seq=seq)
                body = held.canonical()
            else:
                body = entry.canonical()
                if seq != entry.seq or bytes.fromhex(receipt["entry_hash"]) != entry_hash(body):
                    raise VerificationFailed(f"the receipt for entry {entry.seq} names another entry", seq=seq)
            if self.client.ledger_key is None:
                return seq
            verify_tree_head(sth, self.client.ledger_key)
            if not 0 <= seq < sth.size:
                raise VerificationFailed(f"the receipt's tree head (size {sth.size}) does not hold entry {seq}")
            _, proof = self.client.inclusion_proof(seq=seq, tree_size=sth.size)
            if not merkle.verify_inclusion(merkle.leaf_hash(body), seq, sth.size, proof, sth.root):
                raise VerificationFailed(f"entry {seq} is not under the receipt's signed tree head", seq=seq)
            return seq
        except (KeyError, TypeError, ValueError) as e:
            raise IssuerError(ErrorKind.LEDGER_REFUSED, f"the ledger's receipt is malformed ({e!r})") from e
        except VerificationFailed as e:
            logger.error("ledger receipt failed verification: %s", e.detail)
            raise IssuerError(ErrorKind.LEDGER_REFUSED, f"the ledger's receipt does not verify: {e.detail}") from e

    def _witnessed_head(self, wait: float = 3.0):  # type: ignore[no-untyped-def]
        """The verified checkpoint, once it covers the ledger's head (witnesses cosign a round behind)."""
        target = self.client.fetch_tree_head().size
        deadline = time.monotonic() + wait
        while True:
            try:
                checkpoint = self.client.checkpoint()
            except QuorumNotMet:  # nothing witnessed yet: wait as for a lagging checkpoint
                if time.monotonic() >= deadline:
                    raise
            else:
                if checkpoint.size >= target or time.monotonic() >= deadline:
                    return checkpoint
            time.sleep(0.05)

    def issuer_key(self, issuer_id: str) -> bytes | None:
        """Replay the issuer's registration and rotations from the ledger's entries.

        With the ledger's key pinned on the client, the entries are read against its verified
        checkpoint (and the client's witness policy): the issuer sees what everyone sees.
        """
        key: bytes | None = None
        for doc in self.issuer_entries(issuer_id):
            if doc.get("type") == "issuer_registration":
                key = bytes.fromhex(doc["payload"]["ledger_key"])
            elif doc.get("type") == "key_rotation":
                key = bytes.fromhex(doc["payload"]["new_ledger_key"])
        return key

    def issuer_entries(self, issuer_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        start = 0
        try:
            checkpoint = self._witnessed_head() if self.client.ledger_key is not None else None
            while True:
                if checkpoint is not None:
                    if start >= checkpoint.size:
                        return found
                    page = [
                        e.to_json()
                        for e in self.client.verified_entries(start=start, limit=MAX_PAGE, tree_head=checkpoint)
                    ]
                else:
                    page = self.client.fetch_entries(start=start, limit=MAX_PAGE)
                found += [doc for doc in page if isinstance(doc, dict) and doc.get("issuer") == issuer_id]
                if len(page) < MAX_PAGE:
                    return found
                start += len(page)
        except httpx.HTTPError as e:
            raise IssuerError(ErrorKind.LEDGER_UNAVAILABLE, f"the ledger is unreachable ({type(e).__name__})") from e
        except LedgerError as e:
            raise IssuerError(ErrorKind.LEDGER_UNAVAILABLE, f"ledger error: {e.detail}") from e
