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

from sqlalchemy import BigInteger, Engine, LargeBinary, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel

from ledger.sql import WRITE, make_engine
from witness.core import LogRecord


class WitnessLogRow(SQLModel, table=True):
    __tablename__ = "witness_logs"

    origin: str = Field(primary_key=True, max_length=1024)
    size: int = Field(sa_type=BigInteger)
    root: bytes = Field(sa_type=LargeBinary)
    checkpoint: bytes = Field(sa_type=LargeBinary)
    updated_ms: int = Field(sa_type=BigInteger)


_logs = WitnessLogRow.__table__  # type: ignore[attr-defined]


class SqlWitnessStore:
    def __init__(self, url: str | None = None, *, engine: Engine | None = None) -> None:
        if (url is None) == (engine is None):
            raise TypeError("give exactly one of url or engine")
        self.engine = engine if engine is not None else make_engine(url)  # type: ignore[arg-type]
        SQLModel.metadata.create_all(self.engine, tables=[_logs])

    def close(self) -> None:
        self.engine.dispose()

    def get(self, origin: str) -> LogRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(_logs).where(_logs.c.origin == origin)).first()
        if row is None:
            return None
        return LogRecord(row.origin, row.size, bytes(row.root), bytes(row.checkpoint))

    def compare_and_swap(self, old: LogRecord | None, new: LogRecord) -> bool:
        values = {"size": new.size, "root": new.root, "checkpoint": new.checkpoint, "updated_ms": time.time_ns() // 10**6}
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
