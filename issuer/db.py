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
from pathlib import Path

from sqlalchemy import Engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel, create_engine

from issuer.models import TABLES

_WRITE = "zkcred_issuer_write"


def normalize_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str) -> Engine:
    """An engine for ``url``; creates the SQLite file's directory if needed."""
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    database = parsed.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    if in_memory:
        engine = create_engine(url, connect_args={"check_same_thread": False}, poolclass=StaticPool)
    else:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")

    return engine


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
    with Session(engine.execution_options(**{_WRITE: True}), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
