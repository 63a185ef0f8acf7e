"""The issuer's database: an engine from ``DATABASE_URL``, its tables, read and write sessions.

SQLite (default ``<state dir>/issuer.db``, ``issuer.config.Settings``) or PostgreSQL (``postgresql+psycopg://…``; the
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

from sqlalchemy import Engine
from sqlmodel import Session, SQLModel

from issuer.models import TABLES
from ledger.sql import WRITE, make_engine

# The engine is the ledger's (SQLite in WAL mode, ``BEGIN IMMEDIATE`` for WRITE transactions).
__all__ = ["create_tables", "make_engine", "read_session", "write_session"]


def create_tables(engine: Engine) -> None:
    """Create the issuer's tables (only those) if missing."""
    SQLModel.metadata.create_all(engine, tables=TABLES)


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
