"""The witness's durable state (sqlmodel): one row per log, updated by compare-and-swap.

``witness_logs(origin PK, size, root, checkpoint, updated_ms)``.  ``compare_and_swap``:

- no record yet: ``INSERT`` — a concurrent first request hits the primary key and loses;
- else ``UPDATE … WHERE origin = ? AND size = <old size> AND root = <old root>`` — exactly
  one of several concurrent requests built on the same record changes a row.

Each is one committed transaction (SQLite: ``BEGIN IMMEDIATE`` + WAL + ``synchronous=FULL``
through ``ledger.sql.make_engine``; PostgreSQL: the row update is atomic under READ
COMMITTED), so once ``add-checkpoint`` answers, its size is on disk.
"""

from __future__ import annotations

import time

from sqlalchemy import BigInteger, Engine, LargeBinary, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel

from ledger.sql import WRITE, make_engine
from witness.core import Evidence, LogRecord


class WitnessLogRow(SQLModel, table=True):
    __tablename__ = "witness_logs"

    origin: str = Field(primary_key=True, max_length=1024)
    size: int = Field(sa_type=BigInteger)
    root: bytes = Field(sa_type=LargeBinary)
    checkpoint: bytes = Field(sa_type=LargeBinary)
    updated_ms: int = Field(sa_type=BigInteger)


class WitnessEvidenceRow(SQLModel, table=True):
    """A checkpoint the log signed that the witness refused, and the record it contradicted."""

    __tablename__ = "witness_evidence"

    id: int | None = Field(default=None, primary_key=True)
    origin: str = Field(max_length=1024, index=True)
    reason: str = Field(max_length=1024)
    checkpoint: bytes = Field(sa_type=LargeBinary)
    old_size: int = Field(sa_type=BigInteger)
    recorded: bytes | None = Field(default=None, sa_type=LargeBinary)  # the cosigned checkpoint it contradicts
    time_ms: int = Field(sa_type=BigInteger)


_logs = WitnessLogRow.__table__  # type: ignore[attr-defined]
_evidence = WitnessEvidenceRow.__table__  # type: ignore[attr-defined]
MAX_EVIDENCE_PER_LOG = 1000


class SqlWitnessStore:
    def __init__(self, url: str | None = None, *, engine: Engine | None = None) -> None:
        if (url is None) == (engine is None):
            raise TypeError("give exactly one of url or engine")
        self.engine = engine if engine is not None else make_engine(url)  # type: ignore[arg-type]
        SQLModel.metadata.create_all(self.engine, tables=[_logs, _evidence])

    def close(self) -> None:
        self.engine.dispose()

    def get(self, origin: str) -> LogRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(_logs).where(_logs.c.origin == origin)).first()
        if row is None:
            return None
        return LogRecord(row.origin, row.size, bytes(row.root), bytes(row.checkpoint))

    def compare_and_swap(self, old: LogRecord | None, new: LogRecord) -> bool:
        values = {
            "size": new.size,
            "root": new.root,
            "checkpoint": new.checkpoint,
            "updated_ms": time.time_ns() // 10**6,
        }
        try:
            with self.engine.connect() as conn:
                conn.execution_options(**{WRITE: True})
                with conn.begin():
                    if old is None:
                        conn.execute(insert(_logs).values(origin=new.origin, **values))
                        return True
                    result = conn.execute(
                        update(_logs)
                        .where(_logs.c.origin == new.origin, _logs.c.size == old.size, _logs.c.root == old.root)
                        .values(**values)
                    )
                    return result.rowcount == 1
        except IntegrityError:
            return False

    def add_evidence(self, e: Evidence) -> None:
        """Keep a refused, log-signed checkpoint (at most ``MAX_EVIDENCE_PER_LOG`` per log: a log cannot
        fill the witness's disk by signing junk)."""
        with self.engine.connect() as conn:
            conn.execution_options(**{WRITE: True})
            with conn.begin():
                count = conn.execute(
                    select(func.count()).select_from(_evidence).where(_evidence.c.origin == e.origin)
                ).scalar_one()
                if count >= MAX_EVIDENCE_PER_LOG:
                    return
                conn.execute(
                    insert(_evidence).values(
                        origin=e.origin,
                        reason=e.reason[:1024],
                        checkpoint=e.checkpoint,
                        old_size=e.old_size,
                        recorded=e.recorded.checkpoint if e.recorded else None,
                        time_ms=time.time_ns() // 10**6,
                    )
                )

    def evidence(self, origin: str, limit: int = 100) -> list[Evidence]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(_evidence).where(_evidence.c.origin == origin).order_by(_evidence.c.id.desc()).limit(limit)
            ).all()
        return [
            Evidence(
                r.origin,
                r.reason,
                bytes(r.checkpoint),
                r.old_size,
                None if r.recorded is None else _record_of(origin, bytes(r.recorded)),
            )
            for r in rows
        ]


def _record_of(origin: str, checkpoint: bytes) -> LogRecord | None:
    from ledger.checkpoint import SignedCheckpoint
    from ledger.errors import MalformedNote

    try:
        signed = SignedCheckpoint.parse(checkpoint)
    except MalformedNote:
        return None
    return LogRecord(origin, signed.size, signed.root, checkpoint)
