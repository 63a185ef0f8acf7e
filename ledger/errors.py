"""The ledger's errors: one small hierarchy, detail in attributes, a stable problem type each.

``LedgerError`` carries what the HTTP layer needs to write an RFC 9457 problem: an HTTP
``status`` and a stable ``type`` URI (``https://zkcred.dev/problems/<slug>``, the prefix
of the other services too).  The one exception handler in ``ledger.api`` maps any
``LedgerError`` to problem+json, so the domain code never imports HTTP.

- ``InvalidRequest`` (422, ``invalid-request`` as everywhere, ``servicekit.problems``): a
  read asked for something the log cannot answer (a range past the tree).
- ``NotFound`` (404): no such entry.
- ``EntryRejected`` (403/422): an appended entry is not acceptable; ``reason`` says why
  (``unknown-type``, ``invalid-payload``, ``bad-signature``, ``unknown-issuer``, …) and is
  the problem type's slug.
- ``ChainConflict`` (409): the entry was built on a head that is no longer the head
  (wrong ``seq`` or ``prev_hash``); re-read the head, re-sign, retry.
- ``VerificationFailed``: a proof, tree head or entry did not verify on the client or
  auditor side; ``seq`` names the first bad entry where there is one.  Its kinds for C2SP
  notes: ``MalformedNote`` (400: a note, checkpoint, vkey, policy or add-checkpoint body
  breaks its format), ``NoteNotVerified`` (403: no trusted signature, or a bad one from a
  trusted key) and ``QuorumNotMet`` (the witness policy's quorum is missing; ``missing``
  names who) — all fail closed wherever a ``VerificationFailed`` is caught.

The boolean ``verify_*`` functions of ``ledger.merkle`` are the one exception to "raise,
don't return False": their names and signatures are fixed by issue 4 for auditors.
"""

from __future__ import annotations

from ledger.constants import PROBLEM_TYPE_PREFIX


class LedgerError(Exception):
    """Base of every ledger error."""

    status: int = 400
    slug: str = "error"
    title: str = "Ledger error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    @property
    def type_uri(self) -> str:
        return PROBLEM_TYPE_PREFIX + self.slug


class InvalidRequest(LedgerError):
    status = 422
    slug = "invalid-request"
    title = "Invalid request"


class NotFound(LedgerError):
    status = 404
    slug = "not-found"
    title = "Not found"


# reason -> (HTTP status, title).  The reason is the problem type's slug.
REJECTION_REASONS: dict[str, tuple[int, str]] = {
    "malformed-entry": (422, "Malformed entry"),
    "unknown-type": (422, "Unknown entry type"),
    "invalid-payload": (422, "Invalid payload"),
    "unknown-issuer": (422, "Unknown issuer"),
    "issuer-exists": (409, "Issuer already registered"),
    "bad-signature": (403, "Signature does not verify under the issuer's registered key"),
    "clock-skew": (422, "Entry time too far from the ledger's clock"),
    "not-an-auditor": (422, "Escrow opening by a writer that is no registered auditor"),
    "no-opening-record": (409, "No decryption record for this ciphertext on the ledger"),
    "opening-mismatch": (409, "The decryption record names another request or label"),
}


class EntryRejected(LedgerError):
    def __init__(self, reason: str, detail: str, *, seq: int | None = None) -> None:
        if reason not in REJECTION_REASONS:
            raise ValueError(f"unknown rejection reason {reason!r}")
        super().__init__(detail)
        self.reason = reason
        self.seq = seq
        self.status, self.title = REJECTION_REASONS[reason]
        self.slug = reason


class ChainConflict(LedgerError):
    status = 409
    slug = "chain-conflict"
    title = "Entry does not extend the current head"

    def __init__(self, detail: str, *, expected_seq: int, expected_prev_hash: bytes) -> None:
        super().__init__(detail)
        self.expected_seq = expected_seq
        self.expected_prev_hash = expected_prev_hash


class VerificationFailed(LedgerError):
    status = 422
    slug = "verification-failed"
    title = "Verification failed"

    def __init__(self, detail: str, *, seq: int | None = None) -> None:
        super().__init__(detail if seq is None else f"entry {seq}: {detail}")
        self.seq = seq
        self.reason = detail


class MalformedNote(VerificationFailed):
    """A signed note, checkpoint, vkey, policy or add-checkpoint body breaks its format (C2SP)."""

    status = 400
    slug = "malformed-note"
    title = "Malformed signed note"


class NoteNotVerified(VerificationFailed):
    """No trusted key signed the note, or (``bad_signature``) a trusted key's signature fails."""

    status = 403
    slug = "note-not-verified"
    title = "Signed note not verified"

    def __init__(self, detail: str, *, bad_signature: bool) -> None:
        super().__init__(detail)
        self.bad_signature = bad_signature


class QuorumNotMet(VerificationFailed):
    """A checkpoint lacks the cosignatures the consumer's witness policy requires; ``missing`` names who."""

    status = 422
    slug = "quorum-not-met"
    title = "Checkpoint not cosigned by a witness quorum"

    def __init__(self, detail: str, *, missing: list[str]) -> None:
        super().__init__(detail)
        self.missing = missing
