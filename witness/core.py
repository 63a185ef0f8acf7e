"""The witness's domain logic: C2SP tlog-witness ``add-checkpoint``, cosigning with ``cosignature/v1``
(Ed25519, type 0x04) or ML-DSA-44 (``subtree/v1``, type 0x06).

A witness is configured with the logs it witnesses (origin + the log's Ed25519 vkey) and
keeps, per origin, the latest checkpoint it cosigned.  ``Witness.add_checkpoint(body)``
applies the spec's checks in order and either returns the cosignature lines or raises
``WitnessError`` with the spec's status:

1. the body parses (``old <size>``, ≤ 63 proof hashes, an empty line, a checkpoint) — 400;
2. the origin is a configured log — 404;
3. a signature from the log's key verifies, and no line of that key fails — 403;
4. ``old size <= checkpoint size`` — 400;
5. ``old size`` is the size of the latest checkpoint cosigned for the origin (0 if none) —
   409, with the stored size as a ``text/x.tlog.size`` body;
6. a size-0 checkpoint has the empty tree's root; ``old size`` 0 comes with no proof; else
   the RFC 6962 consistency proof from the stored (size, root) to the checkpoint verifies
   (equal sizes: equal roots) — 422;
7. cosign (timestamp now, never 0) and persist *atomically with the check of step 5*: the
   store's ``compare_and_swap`` succeeds only if the record is still exactly the one the
   checks ran against.  If another request moved it meanwhile, this one gets the 409 it
   would have got had it come second — so concurrent requests never roll a log back and a
   cosignature is never released for a size the witness has not recorded (the race the
   tlog-witness text describes).  A crash before the commit releases nothing; a crash after
   it leaves the new size recorded, and the log's retry gets a 409 and resubmits.

A refused checkpoint that the log did sign is evidence of misbehaviour; it is logged with
the record it contradicts (the spec allows this), kept in ``Witness.evidence`` (bounded) and,
if the store can (``SqlWitnessStore.add_evidence``), in the database for whoever audits the
log later (``GET /<origin hash>/evidence``, not part of tlog-witness).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ledger import merkle
from ledger.checkpoint import SignedCheckpoint, parse_add_checkpoint
from ledger.errors import MalformedNote, NoteNotVerified
from ledger.note import CosignatureSigner, Ed25519Verifier, MLDSACosignatureSigner, Note, NoteSignature, open_note

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LogRecord:
    """The latest checkpoint a witness cosigned for one log."""

    origin: str
    size: int
    root: bytes
    checkpoint: bytes  # the checkpoint as cosigned: the log's signature and this witness's cosignature


class WitnessStore(Protocol):
    def get(self, origin: str) -> LogRecord | None: ...

    def compare_and_swap(self, old: LogRecord | None, new: LogRecord) -> bool:
        """Replace ``old`` (None: no record yet) by ``new`` atomically.

        False if the record's (size, root) is no longer ``old``'s: another request got there first.
        """
        ...

    def add_evidence(self, evidence: Evidence) -> None:
        """Keep a refused, log-signed checkpoint (a store may bound how many per log)."""
        ...

    def evidence(self, origin: str, limit: int = 100) -> list[Evidence]:
        """The kept evidence for ``origin``, newest first."""
        ...


class WitnessError(Exception):
    """A refusal with the tlog-witness status; ``size`` is set for 409 (the body is that size)."""

    def __init__(self, status: int, detail: str, *, size: int | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.size = size


@dataclass(frozen=True)
class Evidence:
    """A checkpoint the log signed that the witness refused as inconsistent."""

    origin: str
    reason: str
    checkpoint: bytes
    old_size: int
    recorded: LogRecord | None


def origin_hash(origin: str) -> str:
    """tlog-witness monitoring path: lowercase hex SHA-256 of the origin."""
    return hashlib.sha256(origin.encode()).hexdigest()


class Witness:
    def __init__(
        self,
        signer: CosignatureSigner | MLDSACosignatureSigner,
        logs: Iterable[Ed25519Verifier],
        store: WitnessStore,
        *,
        evidence_kept: int = 100,
    ) -> None:
        self.signer = signer
        self.store = store
        self.logs: dict[str, list[Ed25519Verifier]] = {}
        for v in logs:
            self.logs.setdefault(v.name, []).append(v)  # a log may have more than one key (rotation)
        self.evidence: deque[Evidence] = deque(maxlen=evidence_kept)

    def __repr__(self) -> str:
        return f"Witness({self.signer.verifier.vkey()!r}, logs={sorted(self.logs)})"

    @property
    def vkey(self) -> str:
        return self.signer.verifier.vkey()

    def add_checkpoint(self, body: bytes) -> bytes:
        """``POST /add-checkpoint``: the cosignature line(s), or ``WitnessError`` (see the module doc)."""
        try:
            request = parse_add_checkpoint(body)
            signed = SignedCheckpoint.parse(request.checkpoint)
        except MalformedNote as e:
            raise WitnessError(400, e.detail) from e
        origin = signed.origin
        keys = self.logs.get(origin)
        if keys is None:
            raise WitnessError(404, f"unknown log origin {origin[:100]!r}")
        try:
            opened = open_note(signed.note, keys)
        except NoteNotVerified as e:
            raise WitnessError(403, e.detail) from e
        if request.old_size > signed.size:
            raise WitnessError(400, f"old size {request.old_size} is larger than the checkpoint's {signed.size}")

        record = self.store.get(origin)
        self._check(record, request.old_size, request.proof, signed, request.checkpoint)
        text = signed.note.text.encode()  # exactly the text the log signed
        line = NoteSignature(self.signer.name, self.signer.key_id, self.signer.sign(text))
        # what the monitoring endpoint serves: the log signatures verified here and this cosignature
        cosigned = Note(signed.note.text, (*(sig for _, sig in opened.verified), line)).to_bytes()
        new = LogRecord(origin, signed.size, signed.root, cosigned)
        if not self.store.compare_and_swap(record, new):
            current = self.store.get(origin)
            size = current.size if current else 0
            raise WitnessError(409, f"the latest cosigned size is {size} (a concurrent request moved it)", size=size)
        logger.info("add_checkpoint >>> %s cosigned at size %d", origin, signed.size)
        return line.line().encode()

    def _check(
        self, record: LogRecord | None, old_size: int, proof: Sequence[bytes], signed: SignedCheckpoint, raw: bytes
    ) -> None:
        stored_size = record.size if record else 0
        if old_size != stored_size:
            raise WitnessError(409, f"the latest cosigned size is {stored_size}, not {old_size}", size=stored_size)
        reason = None
        if signed.size == 0 and signed.root != merkle.EMPTY_ROOT:
            reason = "a checkpoint of size 0 must have the empty tree's root"
        elif old_size == 0 and proof:
            reason = "from size 0 the consistency proof is empty"
        elif old_size > 0:
            assert record is not None
            if not merkle.verify_consistency(old_size, signed.size, record.root, signed.root, list(proof)):
                reason = (
                    f"the checkpoint of size {signed.size} is not consistent with the cosigned "
                    f"checkpoint of size {old_size}"
                )
        if reason is not None:
            evidence = Evidence(signed.origin, reason, raw, old_size, record)
            self.evidence.append(evidence)
            try:
                self.store.add_evidence(evidence)
            except Exception:  # keeping evidence must never turn a 422 into a 500
                logger.exception("could not store the evidence")
            logger.warning(
                "add_checkpoint: %s refused: %s; evidence: %r (recorded: %r)",
                signed.origin,
                reason,
                raw[:2000],
                record.checkpoint[:2000] if record else None,
            )
            raise WitnessError(422, reason)

    def evidence_for(self, origin_hex: str) -> list[Evidence]:
        """The refused checkpoints the log signed (newest first), from the store if it keeps them."""
        for origin in self.logs:
            if origin_hash(origin) == origin_hex:
                return self.store.evidence(origin)
        raise WitnessError(404, "not a log this witness witnesses")

    def latest(self, origin_hex: str) -> bytes:
        """``GET <origin hash>/checkpoint``: the latest cosigned checkpoint of that log (404 if none)."""
        for origin in self.logs:
            if origin_hash(origin) == origin_hex:
                record = self.store.get(origin)
                if record is not None:
                    return record.checkpoint
        raise WitnessError(404, "no checkpoint cosigned for that origin")


class MemoryWitnessStore:
    """A ``WitnessStore`` in process memory (tests, the demo); the lock makes the swap atomic."""

    def __init__(self, *, evidence_kept: int = 1000) -> None:
        self._records: dict[str, LogRecord] = {}
        self._evidence: dict[str, deque[Evidence]] = {}
        self._evidence_kept = evidence_kept
        self._lock = threading.Lock()

    def add_evidence(self, evidence: Evidence) -> None:
        with self._lock:
            kept = self._evidence.setdefault(evidence.origin, deque(maxlen=self._evidence_kept))
            kept.append(evidence)

    def evidence(self, origin: str, limit: int = 100) -> list[Evidence]:
        return list(reversed(self._evidence.get(origin, ())))[:limit]

    def get(self, origin: str) -> LogRecord | None:
        return self._records.get(origin)

    def compare_and_swap(self, old: LogRecord | None, new: LogRecord) -> bool:
        with self._lock:
            current = self._records.get(new.origin)
            if (current is None) != (old is None) or (
                current is not None and old is not None and (current.size, current.root) != (old.size, old.root)
            ):
                return False
            self._records[new.origin] = new
            return True
