"""The issuer's database: an engine from ``DATABASE_URL``, its tables, read and write sessions.

SQLite (default ``./.zkcred/issuer.db``) or PostgreSQL (``postgresql+psycopg://…``; the
spellings ``postgres://`` and ``postgresql://`` are accepted). A PostgreSQL schema can be
chosen with ``?options=-csearch_path%3D<schema>`` (the tests isolate themselves so).

Write transactions that must not interleave (claiming an offer, taking the next
revocation index, revoking) run in :func:`write_session`:

- PostgreSQL: ``UPDATE … WHERE used = false`` / ``next_index = next_index + 1`` take row
  locks; a concurrent transaction waits, then re-evaluates its ``WHERE`` on the committed
  row (READ COMMITTED), so one token gives one credential and indexes never repeat;
- SQLite: the transaction starts with ``BEGIN IMMEDIATE`` (the database write lock, 30 s
  busy timeout), so two writers never both read the old state. WAL keeps readers free.

Unique constraints (token hash, offer per credential, (definition, index)) back both up.
Do not point the issuer and an in-process ledger at one SQLite file: the issuer holds its
write lock while it publishes a revocation.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, inspect
from sqlalchemy.schema import CreateIndex
from sqlmodel import Session, SQLModel

from issuer.models import TABLES
from ledger.sql import WRITE, make_engine

# The engine is the ledger's (SQLite in WAL mode, ``BEGIN IMMEDIATE`` for WRITE transactions).
__all__ = ["create_tables", "make_engine", "read_session", "write_session"]


def create_tables(engine: Engine) -> None:
    """Create the issuer's tables (only those) if missing, and add nullable columns added since.

    A table created by an earlier version lacks the columns added later (all nullable, see
    ``issuer.models``); each is added with ``ALTER TABLE … ADD COLUMN`` (and its index).
    Concurrent start-ups may race on that: a column another process added first is fine.
    """
    SQLModel.metadata.create_all(engine, tables=TABLES)
    inspector = inspect(engine)
    for table in TABLES:
        present = {c["name"] for c in inspector.get_columns(table.name)}
        missing = [c for c in table.columns if c.name not in present]
        for column in missing:
            if not column.nullable or column.primary_key:
                raise RuntimeError(f"{table.name}.{column.name} is missing and not nullable: migrate by hand")
            ddl = column.type.compile(dialect=engine.dialect)
            try:
                with engine.begin() as conn:
                    conn.exec_driver_sql(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {ddl}')
                    for index in table.indexes:
                        if column.name in {c.name for c in index.columns}:
                            conn.execute(CreateIndex(index, if_not_exists=True))
            except Exception:  # another worker added it between our inspection and now
                if column.name not in {c["name"] for c in inspect(engine).get_columns(table.name)}:
                    raise


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """One serialised write transaction: commit on success, roll back on any exception."""
    with Session(engine.execution_options(**{WRITE: True}), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
