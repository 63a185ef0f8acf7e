"""Escrow on the ledger (issue 16): auditors and their decryption records, checked as every reader checks them.

An auditor is a ledger writer: an ``issuer_registration`` gives its id an Ed25519 key, then
an ``auditor_registration`` (signed by that key) publishes its escrow key and name. Before
it decrypts a ciphertext, the auditor appends an ``escrow_opening`` naming the ciphertext
(SHA-256 of ``C1 ‖ C2``), the verifier's request id, the lender's label and a reason — so
every opening is public and the holder's wallet sees it after a sync.

:class:`EscrowView` replays entries in log order and accepts an opening only if

1. its writer is a registered auditor at that point of the log, and
2. it is signed by that writer's key current at that point (registration, rotations);

otherwise :meth:`EscrowView.feed` raises :class:`~ledger.errors.EntryRejected` (``not-an-auditor``,
``bad-signature``). The log itself already refuses an entry not signed by its writer's key;
the view checks again so a reader trusts no server, and adds rule 1, which the log does not
know. ``opening(auditor, ciphertext)`` answers "was this ciphertext opened, by whom, when",
and a missing record is ``None``: :func:`require_opening` refuses it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ledger.entries import Entry, parse_entry, verify_entry_signature
from ledger.errors import EntryRejected

__all__ = ["Auditor", "EscrowView", "Opening", "require_opening"]


@dataclass(frozen=True)
class Auditor:
    id: str
    name: str
    escrow_key: str  # base64url of the compressed G1 point
    seq: int


@dataclass(frozen=True)
class Opening:
    """One checked decryption record."""

    auditor: str
    request_id: str
    label: str
    ciphertext: str  # hex SHA-256 of C1 ‖ C2
    reason: str
    seq: int
    time: int  # ms since the epoch, signed by the auditor


class EscrowView:
    """Auditors and checked openings of a log, fed its entries in order (from entry 0)."""

    def __init__(self) -> None:
        self.keys: dict[str, bytes] = {}
        self.auditors: dict[str, Auditor] = {}
        self.openings: list[Opening] = []

    @classmethod
    def of(cls, entries: Iterable[Entry | dict]) -> EscrowView:
        view = cls()
        for entry in entries:
            view.feed(entry)
        return view

    def feed(self, unverified: Entry | dict) -> None:
        entry = parse_entry(unverified)
        p = entry.payload
        if entry.type == "issuer_registration":
            self.keys.setdefault(entry.issuer, bytes.fromhex(p["ledger_key"]))
        elif entry.type == "key_rotation":
            self._check_signed(entry)
            self.keys[entry.issuer] = bytes.fromhex(p["new_ledger_key"])
        elif entry.type == "auditor_registration":
            self._check_signed(entry)
            self.auditors[entry.issuer] = Auditor(entry.issuer, p["name"], p["escrow_key"], entry.seq)
        elif entry.type == "escrow_opening":
            if entry.issuer not in self.auditors:
                raise EntryRejected(
                    "not-an-auditor", f"{entry.issuer!r} opened an escrow but is no registered auditor", seq=entry.seq
                )
            self._check_signed(entry)
            self.openings.append(
                Opening(entry.issuer, p["request_id"], p["label"], p["ciphertext"], p["reason"], entry.seq, entry.time)
            )

    def _check_signed(self, entry: Entry) -> None:
        key = self.keys.get(entry.issuer)
        if key is None:
            raise EntryRejected("unknown-issuer", f"issuer {entry.issuer!r} is not registered", seq=entry.seq)
        verify_entry_signature(entry, key)

    def auditor(self, auditor_id: str) -> Auditor | None:
        return self.auditors.get(auditor_id)

    def opening(self, *, auditor: str, ciphertext: str) -> Opening | None:
        """The first checked record of ``auditor`` opening ``ciphertext`` (hex digest), if any."""
        return next((o for o in self.openings if o.auditor == auditor and o.ciphertext == ciphertext), None)


def require_opening(view: EscrowView, *, auditor: str, ciphertext: str, request_id: str, label: str) -> Opening:
    """The record that must precede a decryption; refuses a missing one or one for another request or label."""
    found = view.opening(auditor=auditor, ciphertext=ciphertext)
    if found is None:
        raise EntryRejected(
            "no-opening-record", f"no decryption record of {auditor!r} for this ciphertext on the ledger"
        )
    if (found.request_id, found.label) != (request_id, label):
        raise EntryRejected(
            "opening-mismatch",
            f"the ledger's record {found.seq} names request {found.request_id!r}, label {found.label!r}",
        )
    return found
