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

Unique constraints (token hash, offer per credential, (definition, index), a schema's
(name, version), a definition's (schema, tag)) back both up.
Do not point the issuer and an in-process ledger at one SQLite file: the issuer holds its
write lock while it publishes a revocation.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, inspect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.schema import CreateIndex
from sqlmodel import Session, SQLModel

from issuer.models import TABLES
from ledger.sql import WRITE, make_engine

# The engine is the ledger's (SQLite in WAL mode, ``BEGIN IMMEDIATE`` for WRITE transactions).
__all__ = ["create_tables", "make_engine", "read_session", "write_session"]
logger = logging.getLogger(__name__)

#: Unique keys added after their tables first shipped: (table, index name, columns).
_UNIQUE = [
    ("issuer_schemas", "uq_issuer_schema_name_version", ("name", "version")),
    ("issuer_credential_definitions", "uq_issuer_definition_schema_tag", ("schema_id", "tag")),
    ("issuer_credential_definitions", "uq_issuer_definition_superseded_by", ("superseded_by",)),
]
#: Columns added since (nullable): (table, column, SQL type).
_ADDED = [
    ("issuer_credential_definitions", "supersedes", "VARCHAR(128)"),
    ("issuer_credential_definitions", "superseded_by", "VARCHAR(128)"),
]
#: Columns that became nullable (NULL: the record's ledger entry is pending in the outbox).
_NULLABLE = [("issuer_schemas", "ledger_seq"), ("issuer_credential_definitions", "ledger_seq")]


def create_tables(engine: Engine) -> None:
    """Create the issuer's tables (only those) if missing, and bring older ones up to date.

    A table created by an earlier version lacks the columns added later (all nullable, see
    ``issuer.models``); each is added with ``ALTER TABLE … ADD COLUMN`` (and its index).
    Concurrent start-ups may race on that: a column another process added first is fine.
    Then the outbox's upgrades (unique keys, columns that became nullable).
    """
    SQLModel.metadata.create_all(engine, tables=TABLES)
    _add_missing_columns(engine)
    _upgrade_for_outbox(engine)


def _add_missing_columns(engine: Engine) -> None:
    """Every nullable model column an older table lacks, with its index (``ALTER TABLE … ADD COLUMN``)."""
    inspector = inspect(engine)
    for table in TABLES:
        present = {c["name"] for c in inspector.get_columns(table.name)}
        missing = [c for c in table.columns if c.name not in present]
        for column in missing:
            if not column.nullable or column.primary_key:  # needs a value for old rows: not ours to guess
                logger.warning("%s.%s is missing and not nullable: migrate it by hand", table.name, column.name)
                continue
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


def _upgrade_for_outbox(engine: Engine) -> None:
    """Tables from before the outbox: the unique keys of :data:`_UNIQUE`, the nullable :data:`_NULLABLE`.

    A NOT NULL is dropped with ``ALTER COLUMN`` on PostgreSQL; on SQLite by the documented
    way of removing a NOT NULL constraint (sqlite.org/lang_altertable.html §7: rewrite the
    table's SQL under ``writable_schema`` and bump ``schema_version``). A database whose rows
    already repeat a unique key keeps working without it (logged): remove the repeats.
    """
    inspector = inspect(engine)
    for table, column, sql_type in _ADDED:
        if column not in {c["name"] for c in inspector.get_columns(table)}:
            try:
                with engine.begin() as conn:
                    conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}")
            except DBAPIError:  # another process added it meanwhile
                if column not in {c["name"] for c in inspect(engine).get_columns(table)}:
                    raise
    inspector = inspect(engine)
    for table, name, columns in _UNIQUE:
        covered = [tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)]
        covered += [
            tuple(str(c) for c in i["column_names"])  # an expression index (None) never equals plain columns
            for i in inspector.get_indexes(table)
            if i.get("unique") and None not in i["column_names"]
        ]
        if columns in covered:
            continue
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql(f"CREATE UNIQUE INDEX IF NOT EXISTS {name} ON {table} ({', '.join(columns)})")
        except DBAPIError as e:
            logger.error("cannot add the unique key %s(%s): %s", table, ", ".join(columns), type(e.orig).__name__)
    for table, column in _NULLABLE:
        info = {c["name"]: c for c in inspector.get_columns(table)}
        if info[column]["nullable"]:
            continue
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.exec_driver_sql(f"ALTER TABLE {table} ALTER COLUMN {column} DROP NOT NULL")
            continue
        with engine.connect() as conn:
            conn.execution_options(**{WRITE: True})
            with conn.begin():
                sql = conn.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
                ).scalar_one()
                relaxed = sql.replace(f"{column} BIGINT NOT NULL", f"{column} BIGINT")
                if relaxed == sql:
                    raise RuntimeError(f"{table}.{column}: unexpected definition; migrate by hand")
                version = conn.exec_driver_sql("PRAGMA schema_version").scalar_one()
                conn.exec_driver_sql("PRAGMA writable_schema = ON")
                conn.exec_driver_sql(
                    "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (relaxed, table)
                )
                conn.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
                conn.exec_driver_sql("PRAGMA writable_schema = OFF")
        engine.dispose()  # other pooled connections hold the old schema


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
