"""The durable outbox: what the issuer publishes, recorded with the record, delivered idempotently.

DESIGN §8: "a crash never loses or duplicates an entry". Every record that has a public
side writes, in its own database transaction, an ``issuer_outbox`` row holding the ledger
entry to publish (type and canonical payload, ``issuer.models.OutboxRow``). Then:

1. **after commit**, the request that made the record delivers the outbox up to its row
   (:meth:`Outbox.deliver` with ``through=``) and answers as before when the ledger takes
   it; when the ledger is down it answers at once that publication is pending;
2. **on start-up** (``IssuerService.open``) and **in a background loop** (:meth:`Outbox.start`:
   every second while idle, exponential backoff from 0.5 s to 30 s while the ledger is down
   or refusing), whatever is pending is delivered;
3. ``zkcred issuer reconcile`` (:func:`reconcile`) compares the records with the ledger,
   publishes what is missing, marks what is already there, and reports the rest.

Delivery is **in ``id`` order, stopping at the first failure**, so the ledger sees entries in
the order their records were committed: a definition after its schema, a registry after its
definition, revocations of one registry in the order of its accumulator values (the
definition row lock serialises them, so their ids are in that order). A refused entry
(a bug, a misconfiguration) therefore holds back the rest until an operator acts; it is
logged and shown by ``reconcile``.

**Idempotent.** The ledger keeps each content id — (issuer, type, payload), ``ledger.entries
.content_id`` — once and answers a re-sent entry with the seq it already has. So a crash
between the ledger's append and our "delivered" mark, or two deliverers (two workers, the
loop and ``reconcile``) racing, re-send an entry and learn its seq; nothing is published
twice. A delivered row is marked with that seq, and the record it publishes learns it too
(``_ON_DELIVERED``), in one transaction.

**Crash points.** ``ZKCRED_CRASH_AT=<name>`` makes the process SIGKILL itself when it reaches
:func:`crash_point` ``name`` — the crash suite (``tests/hardening/test_issuer_crash.py``) uses
it to kill the issuer between every two steps. Unset, it costs one dictionary lookup.

The background loop, its backoff and the crash points are ``servicekit.outbox``, shared with
the verifier's webhook deliveries (``verifier.webhooks``).
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, inspect, update
from sqlmodel import Session, col, select

from circuits.codec import b64d
from issuer import db
from issuer.errors import ErrorKind, IssuerError
from issuer.models import CredentialDefinitionRow, CredentialRow, IssuerIdentity, OutboxRow, SchemaRow
from issuer.publisher import LedgerPublisher
from ledger.entries import canonical_json, content_id
from servicekit.outbox import CRASH_ENV, DeliveryLoop, Step, crash_point

logger = logging.getLogger(__name__)

__all__ = ["CRASH_ENV", "Delivery", "Outbox", "ReconcileReport", "crash_point", "enqueue", "reconcile"]


def utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def enqueue(
    session: Session,
    *,
    issuer_id: str,
    entry_type: str,
    payload: Mapping[str, Any],
    subject: str,
    subject_id: str,
    now: _dt.datetime,
) -> int:
    """Queue an entry in the caller's transaction (with the record it publishes); its outbox id."""
    body = canonical_json(dict(payload)).decode()
    row = OutboxRow(
        entry_type=entry_type,
        payload=body,
        subject=subject,
        subject_id=subject_id,
        content_id=content_id(issuer_id, entry_type, payload).hex(),
        created_at=now,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id


# ------------------------------------------------------------------ what a delivery tells the record


def _schema_published(session: Session, row: OutboxRow, seq: int) -> None:
    session.exec(
        update(SchemaRow)
        .where(col(SchemaRow.id) == row.subject_id)  # type: ignore[call-overload]
        .values(ledger_seq=seq)
    )


def _definition_published(session: Session, row: OutboxRow, seq: int) -> None:
    session.exec(
        update(CredentialDefinitionRow)  # type: ignore[call-overload]
        .where(col(CredentialDefinitionRow.id) == row.subject_id)
        .values(ledger_seq=seq)
    )


def _registry_published(session: Session, row: OutboxRow, seq: int) -> None:
    v0 = b64d(json.loads(row.payload)["v0"])
    rows = CredentialDefinitionRow
    session.exec(
        update(rows)
        .where(col(rows.registry_id) == row.subject_id)  # type: ignore[call-overload]
        .values(registry_seq=seq)
    )
    # V0 is the current value until the first revocation: then this entry published it
    session.exec(
        update(rows)
        .where(
            col(rows.registry_id) == row.subject_id,  # type: ignore[call-overload]
            col(rows.accumulator) == v0,
            col(rows.accumulator_seq).is_(None),
        )
        .values(accumulator_seq=seq)
    )


def _revocation_published(session: Session, row: OutboxRow, seq: int) -> None:
    payload = json.loads(row.payload)
    session.exec(
        update(CredentialRow)
        .where(col(CredentialRow.id) == row.subject_id)  # type: ignore[call-overload]
        .values(revocation_seq=seq)
    )
    rows = CredentialDefinitionRow
    latest = b64d(payload["values"][-1])
    session.exec(
        update(rows)
        .where(
            col(rows.registry_id) == payload["registry_id"],  # type: ignore[call-overload]
            col(rows.accumulator) == latest,
            col(rows.accumulator_seq).is_(None),
        )
        .values(accumulator_seq=seq)
    )


#: subject → how the record learns its entry's seq (same transaction as the outbox mark).
_ON_DELIVERED: dict[str, Callable[[Session, OutboxRow, int], None]] = {
    "schema": _schema_published,
    "credential_definition": _definition_published,
    "revocation_registry": _registry_published,
    "revocation": _revocation_published,
}


@dataclass(frozen=True)
class Delivery:
    """What one :meth:`Outbox.deliver` did: entries delivered, entries still pending, the error that stopped it."""

    delivered: int
    pending: int
    error: IssuerError | None = None


class Outbox:
    """Delivers ``issuer_outbox`` in order through a ``LedgerPublisher``, idempotently."""

    def __init__(
        self,
        *,
        engine: Engine,
        publisher: LedgerPublisher,
        issuer_id: str,
        key: Callable[[], Any],
        register: Callable[[], None],
        clock: Callable[[], _dt.datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.publisher = publisher
        self.issuer_id = issuer_id
        self._key = key
        self._register = register
        self._clock = clock
        self._lock = threading.Lock()  # one deliverer per process; across processes the ledger dedupes
        self._loop = DeliveryLoop(self._step, name="issuer-outbox")

    # -------------------------------------------------------------- reading

    def pending(self) -> list[OutboxRow]:
        with db.read_session(self.engine) as session:
            return list(
                session.exec(
                    select(OutboxRow).where(col(OutboxRow.ledger_seq).is_(None)).order_by(col(OutboxRow.id))
                ).all()
            )

    def seq_of(self, outbox_id: int) -> int | None:
        with db.read_session(self.engine) as session:
            row = session.get(OutboxRow, outbox_id)
        return None if row is None else row.ledger_seq

    # -------------------------------------------------------------- delivering

    def deliver(self, *, through: int | None = None) -> Delivery:
        """Publish pending entries in ``id`` order (only up to ``through``, if given); stop at a failure.

        Never raises for the ledger being down or refusing: that is the returned ``error``,
        recorded on the row (``attempts``, ``last_error``) for ``reconcile`` and the logs.
        """
        delivered = 0
        with self._lock:
            rows = [r for r in self.pending() if through is None or r.id <= through]  # type: ignore[operator]
            if not rows:
                return Delivery(0, 0)
            try:
                self._register()
            except IssuerError as e:
                if e.kind not in (ErrorKind.LEDGER_UNAVAILABLE, ErrorKind.LEDGER_REFUSED):
                    raise
                self._failed(rows[0], e)
                return Delivery(0, len(rows), e)
            for i, row in enumerate(rows):
                crash_point(f"{row.subject}:before-publish")
                try:
                    seq = self.publisher.publish(
                        key=self._key(),
                        issuer_id=self.issuer_id,
                        entry_type=row.entry_type,
                        payload=json.loads(row.payload),
                    )
                except IssuerError as e:
                    if e.kind not in (ErrorKind.LEDGER_UNAVAILABLE, ErrorKind.LEDGER_REFUSED):
                        raise
                    self._failed(row, e)
                    return Delivery(delivered, len(rows) - i, e)
                crash_point(f"{row.subject}:published")  # on the ledger, not yet marked here
                self.mark(row, seq)
                delivered += 1
        return Delivery(delivered, 0)

    def mark(self, row: OutboxRow, seq: int) -> bool:
        """Record that ``row`` is the ledger's entry ``seq`` (and tell its record); False if marked already."""
        with db.write_session(self.engine) as session:
            done = session.exec(
                update(OutboxRow)  # type: ignore[call-overload]
                .where(col(OutboxRow.id) == row.id, col(OutboxRow.ledger_seq).is_(None))
                .values(ledger_seq=seq, delivered_at=self._clock(), last_error=None)
            )
            if done.rowcount != 1:
                return False  # another deliverer marked it (with the same seq: the ledger dedupes)
            _ON_DELIVERED[row.subject](session, row, seq)
        logger.info("published %s %s as ledger entry %d", row.entry_type, row.subject_id, seq)
        return True

    def _failed(self, row: OutboxRow, error: IssuerError) -> None:
        level = logging.WARNING if error.kind is ErrorKind.LEDGER_UNAVAILABLE else logging.ERROR
        logger.log(level, "publication of %s %s pending: %s", row.entry_type, row.subject_id, error.detail)
        with db.write_session(self.engine) as session:
            session.exec(
                update(OutboxRow)
                .where(col(OutboxRow.id) == row.id)  # type: ignore[call-overload]
                .values(attempts=OutboxRow.attempts + 1, last_error=error.detail[:1000])
            )

    # -------------------------------------------------------------- the background loop

    def start(self) -> None:
        """Deliver what is pending from a daemon thread, with backoff while the ledger fails (``servicekit.outbox``)."""
        self._loop.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._loop.stop(timeout)

    def _step(self) -> Step:
        return Step.FAILING if self.deliver().pending else Step.IDLE


# ------------------------------------------------------------------ reconcile: the records against the ledger


@dataclass
class ReconcileReport:
    """What ``zkcred issuer reconcile`` found and did; ``ok`` when the records and the ledger agree."""

    issuer_id: str
    dry_run: bool
    ledger_entries: int = 0  # entries of this issuer on the ledger
    published: list[dict[str, Any]] = field(default_factory=list)  # delivered now
    marked: list[dict[str, Any]] = field(default_factory=list)  # pending here, already on the ledger: marked
    pending: list[dict[str, Any]] = field(default_factory=list)  # still to publish (dry run: would publish)
    unrecorded: list[dict[str, Any]] = field(default_factory=list)  # on the ledger, unknown to the records
    mismatched: list[dict[str, Any]] = field(default_factory=list)  # a record names an entry that is not its own

    @property
    def ok(self) -> bool:
        return not (self.pending or self.unrecorded or self.mismatched or (self.dry_run and self.marked))

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "issuer_id": self.issuer_id,
            "dry_run": self.dry_run,
            "ledger_entries": self.ledger_entries,
            "published": self.published,
            "marked": self.marked,
            "pending": self.pending,
            "unrecorded": self.unrecorded,
            "mismatched": self.mismatched,
        }


_ID_FIELD = {
    "schema": "schema_id",
    "credential_definition": "cred_def_id",
    "revocation_registry": "registry_id",
    "revocation": "registry_id",
    "issuer_registration": "ledger_key",
    "key_rotation": "new_ledger_key",
}


def _item(row: OutboxRow, **extra: Any) -> dict[str, Any]:
    return {"outbox_id": row.id, "type": row.entry_type, "subject": row.subject, "subject_id": row.subject_id, **extra}


def _expected_seqs(session: Session) -> Iterable[tuple[int, str, str, str]]:
    """(seq, entry type, payload id field value, what the record is) for every seq a record holds."""
    for s in session.exec(select(SchemaRow).where(col(SchemaRow.ledger_seq).is_not(None))).all():
        yield s.ledger_seq, "schema", s.id, f"schema {s.id}"  # type: ignore[misc]
    for d in session.exec(select(CredentialDefinitionRow)).all():
        if d.ledger_seq is not None:
            yield d.ledger_seq, "credential_definition", d.id, f"credential definition {d.id}"
        if d.registry_seq is not None and d.registry_id is not None:
            yield d.registry_seq, "revocation_registry", d.registry_id, f"revocation registry {d.registry_id}"
    revoked = session.exec(
        select(CredentialRow, CredentialDefinitionRow)
        .join(CredentialDefinitionRow, col(CredentialRow.definition_id) == col(CredentialDefinitionRow.id))
        .where(col(CredentialRow.revocation_seq).is_not(None))
    ).all()
    for c, d in revoked:
        yield c.revocation_seq, "revocation", d.registry_id, f"revocation of credential {c.id}"  # type: ignore[misc]


def reconcile(
    *, engine: Engine, entries: Callable[[str], Iterable[Mapping[str, Any]]], outbox: Outbox | None
) -> ReconcileReport:
    """Compare the issuer's records with its entries on the ledger; repair unless ``outbox`` is None (dry run).

    ``entries``: the ledger's entries of an issuer id (``LedgerPublisher.issuer_entries``).
    A dry run writes nothing, not even a schema upgrade (a database from before the outbox
    has no ``issuer_outbox``: nothing is queued in it).
    Repairs: a pending entry the ledger already holds is marked with its seq; the other
    pending entries are published, in order. Reported, never repaired: entries of this
    issuer the records do not know (``unrecorded``: e.g. published twice by a version
    without the outbox) and records naming an entry that is not theirs (``mismatched``).
    """
    with db.read_session(engine) as session:
        identity = session.get(IssuerIdentity, 1)
        if identity is None:
            raise IssuerError(ErrorKind.NOT_FOUND, "this database has no issuer identity (the issuer never started)")
        issuer_id = identity.issuer_id
        has_outbox = inspect(engine).has_table(OutboxRow.__tablename__)  # type: ignore[arg-type]
        rows = list(session.exec(select(OutboxRow).order_by(col(OutboxRow.id))).all()) if has_outbox else []
        expected = list(_expected_seqs(session))
    report = ReconcileReport(issuer_id=issuer_id, dry_run=outbox is None)
    by_seq: dict[int, Mapping[str, Any]] = {}
    by_content: dict[str, int] = {}
    for entry in entries(issuer_id):
        entry_seq = int(entry["seq"])
        by_seq[entry_seq] = entry
        by_content.setdefault(content_id(issuer_id, entry["type"], entry["payload"]).hex(), entry_seq)
    report.ledger_entries = len(by_seq)

    known: set[int] = set()
    if identity.registration_seq is not None and identity.registration_seq >= 0:
        known.add(identity.registration_seq)
    known.update(s for s, d in by_seq.items() if d["type"] == "issuer_registration")  # one per issuer id
    for row in rows:
        if row.ledger_seq is not None:
            known.add(row.ledger_seq)
            doc = by_seq.get(row.ledger_seq)
            if doc is None or content_id(issuer_id, doc["type"], doc["payload"]).hex() != row.content_id:
                report.mismatched.append(
                    _item(row, seq=row.ledger_seq, problem="the ledger's entry at this seq is not this publication")
                )
            continue
        seq = by_content.get(row.content_id)
        if seq is not None:
            known.add(seq)
            if outbox is not None:
                outbox.mark(row, seq)
            report.marked.append(_item(row, seq=seq))
    for seq, entry_type, object_id, what in expected:
        known.add(seq)
        doc = by_seq.get(seq)
        if doc is None or doc["type"] != entry_type or doc["payload"].get(_ID_FIELD[entry_type]) != object_id:
            report.mismatched.append(
                {
                    "seq": seq,
                    "type": entry_type,
                    "subject_id": object_id,
                    "problem": f"the {what} names ledger entry {seq}, which is not it",
                }
            )

    marked = {m["outbox_id"] for m in report.marked}
    if outbox is not None:
        before = {r.id: r for r in outbox.pending()}
        outbox.deliver()
        after = {r.id: r for r in outbox.pending()}
        with db.read_session(engine) as session:
            for outbox_id, row in before.items():
                if outbox_id in after:
                    continue
                fresh = session.get(OutboxRow, outbox_id)
                assert fresh is not None and fresh.ledger_seq is not None
                known.add(fresh.ledger_seq)
                report.published.append(_item(row, seq=fresh.ledger_seq))
        report.pending = [_item(r, attempts=r.attempts, last_error=r.last_error) for r in after.values()]
    else:
        report.pending = [
            _item(r, attempts=r.attempts, last_error=r.last_error)
            for r in rows
            if r.ledger_seq is None and r.id not in marked
        ]
    for seq in sorted(by_seq.keys() - known):
        doc = by_seq[seq]
        field_name = _ID_FIELD.get(doc["type"], "")
        report.unrecorded.append(
            {
                "seq": seq,
                "type": doc["type"],
                "id": doc["payload"].get(field_name) if isinstance(doc["payload"], dict) else None,
            }
        )
    return report
