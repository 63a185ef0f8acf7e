"""The ledger's tables (sqlmodel) and ``SqlStore``: a ``LedgerStore`` on SQLite or PostgreSQL.

Tables (all prefixed ``ledger_`` so the ledger can share a database with the services):

- ``ledger_entries(seq PK, issuer_id, entry_type, entry_hash, body)`` — ``seq`` is the
  primary key, so a duplicate ``seq`` is impossible even if the lock below were bypassed;
- ``ledger_nodes(level, idx, hash; PK(level, idx))`` — every complete perfect subtree,
  leaves at level 0 (an append adds 1 + trailing-ones(n) rows, 2 on average);
- ``ledger_head(id = 1, size, last_hash, frontier, sth_*)`` — the single row every append
  locks and rewrites: the serialisation point of the log;
- ``ledger_issuers(issuer_id PK, public_key, since_seq)`` — each issuer's current key;
- ``ledger_content(content_id PK, seq)`` — every entry's content id
  (``ledger.entries.content_id``): the primary key makes a content appear at most once, and
  a re-sent entry finds the seq it already has.  A database created before this table is
  back-filled from the entries when the store opens (the first of any repeats keeps the id).

An append is one transaction: lock the head, run the domain's ``prepare`` against it,
insert the entry and its nodes, update the head (guarded by ``WHERE size = old size``),
record an issuer key change, commit.  Locking:

- PostgreSQL: ``SELECT … FROM ledger_head WHERE id = 1 FOR UPDATE`` (row lock; readers are
  never blocked — they see the last committed head under READ COMMITTED);
- SQLite: ``BEGIN IMMEDIATE`` (the database write lock, taken before the head is read; the
  WAL journal keeps readers unblocked), with a 30 s busy timeout.

A transient failure (SQLite busy, PostgreSQL serialization/deadlock, a unique-key
violation that only a bypassed lock could cause) is retried with jittered backoff; a
domain error from ``prepare`` rolls back and propagates.  ``DATABASE_URL`` values
``postgres://…``/``postgresql://…`` are read as ``postgresql+psycopg://…``; a PostgreSQL
schema can be chosen with ``?options=-csearch_path%3D<schema>`` (the tests isolate
themselves this way).
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, Engine, LargeBinary, delete, event, func, insert, select
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.pool import StaticPool
from sqlmodel import Field, SQLModel, create_engine

from ledger.constants import HASH_SIZE
from ledger.entries import SignedTreeHead
from ledger.merkle import NodeId
from ledger.note import NoteSignature, parse_signature_line
from ledger.store import EMPTY_HEAD, AppendPlan, Head, StoredEntry


class LedgerEntryRow(SQLModel, table=True):
    __tablename__ = "ledger_entries"

    seq: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    issuer_id: str = Field(max_length=256, index=True)
    entry_type: str = Field(max_length=64)
    entry_hash: bytes = Field(sa_type=LargeBinary)
    body: bytes = Field(sa_type=LargeBinary)


class LedgerNodeRow(SQLModel, table=True):
    __tablename__ = "ledger_nodes"

    level: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    idx: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    hash: bytes = Field(sa_type=LargeBinary)


class LedgerHeadRow(SQLModel, table=True):
    __tablename__ = "ledger_head"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    size: int = Field(sa_type=BigInteger)
    last_hash: bytes = Field(sa_type=LargeBinary)
    frontier: bytes = Field(sa_type=LargeBinary)  # perfect-subtree roots, largest first, 32 bytes each
    sth_time: int | None = Field(default=None, sa_type=BigInteger)
    sth_root: bytes | None = Field(default=None, sa_type=LargeBinary)
    sth_signature: bytes | None = Field(default=None, sa_type=LargeBinary)
    sth_key: bytes | None = Field(default=None, sa_type=LargeBinary)


class LedgerIssuerRow(SQLModel, table=True):
    __tablename__ = "ledger_issuers"

    issuer_id: str = Field(max_length=256, primary_key=True)
    public_key: bytes = Field(sa_type=LargeBinary)
    since_seq: int = Field(sa_type=BigInteger)


class LedgerCosignatureRow(SQLModel, table=True):
    """A witness's cosignature of the ledger's checkpoint of ``size`` (the note signature line)."""

    __tablename__ = "ledger_cosignatures"

    size: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    signer: str = Field(max_length=1024, primary_key=True)  # the witness's key name
    key_id: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    line: bytes = Field(sa_type=LargeBinary)


class LedgerContentRow(SQLModel, table=True):
    __tablename__ = "ledger_content"

    content_id: bytes = Field(sa_type=LargeBinary, primary_key=True)
    seq: int = Field(sa_type=BigInteger)


def _driver(conn: Connection) -> Any:
    """The DBAPI connection under a pooled SQLAlchemy one (sqlite3 or psycopg: hot paths use its cursors)."""
    driver = conn.connection.driver_connection
    if driver is None:  # only after the pool invalidated it, never inside a checkout
        raise RuntimeError("the database connection was invalidated")
    return driver


TABLES = [
    t.__table__  # type: ignore[attr-defined,union-attr]  # SQLModel sets it on table=True classes; its stubs do not say
    for t in (
        LedgerEntryRow,
        LedgerNodeRow,
        LedgerHeadRow,
        LedgerIssuerRow,  # type: ignore[attr-defined]
        LedgerContentRow,
        LedgerCosignatureRow,
    )
]
_entries = LedgerEntryRow.__table__  # type: ignore[attr-defined]
_nodes = LedgerNodeRow.__table__  # type: ignore[attr-defined]
_head = LedgerHeadRow.__table__  # type: ignore[attr-defined]
_issuers = LedgerIssuerRow.__table__  # type: ignore[attr-defined]
_cosignatures = LedgerCosignatureRow.__table__  # type: ignore[attr-defined]
_content = LedgerContentRow.__table__  # type: ignore[attr-defined]
HEAD_ID = 1
#: Execution option marking a write transaction: on SQLite it begins with ``BEGIN IMMEDIATE``.
WRITE = "zkcred_write"


def normalize_url(url: str) -> str:
    """Accept the usual spellings of a PostgreSQL URL and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, *, must_exist: bool = False) -> Engine:
    """An engine for the ledger (and the issuer): SQLite in WAL mode with ``BEGIN IMMEDIATE`` writes.

    Transactions on a connection with the :data:`WRITE` execution option take SQLite's
    write lock when they begin (30 s busy timeout), so no two writers read the old state;
    PostgreSQL relies on row locks. The directory of a SQLite file is created if needed.

    ``must_exist``: refuse a SQLite file that is not there (rather than create an empty one).
    """
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url)
    database = parsed.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    if in_memory:
        engine = create_engine(url, connect_args={"check_same_thread": False}, poolclass=StaticPool)
    else:
        if must_exist and not Path(database).is_file():
            raise FileNotFoundError(f"no ledger database at {database}")
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")

    return engine


def create_tables(engine: Engine) -> None:
    """Create the ledger's tables (only those) and its head row, if missing."""
    SQLModel.metadata.create_all(engine, tables=TABLES)
    with engine.connect() as conn:
        conn.execution_options(**{WRITE: True})
        with conn.begin():
            if conn.execute(select(_head.c.id).where(_head.c.id == HEAD_ID)).first() is None:
                conn.execute(insert(_head).values(id=HEAD_ID, size=0, last_hash=EMPTY_HEAD.last_hash, frontier=b""))
            _backfill_content(conn)


def _backfill_content(conn: Connection) -> None:
    """Index the content of entries appended before ``ledger_content`` existed (inside the caller's write lock)."""
    indexed = conn.execute(select(func.count()).select_from(_content)).scalar_one()
    size = conn.execute(select(func.count()).select_from(_entries)).scalar_one()
    if indexed >= size:
        return
    from ledger.entries import Entry  # the body is what check_entry accepted: it parses

    known = set(conn.execute(select(_content.c.seq)).scalars())
    rows = []
    seen: set[bytes] = set(conn.execute(select(_content.c.content_id)).scalars())
    for seq, body in conn.execute(select(_entries.c.seq, _entries.c.body).order_by(_entries.c.seq)):
        if seq in known:
            continue
        cid = Entry.model_validate_json(bytes(body)).content_id()
        if cid not in seen:  # an old log may repeat a content: the first entry keeps the id
            seen.add(cid)
            rows.append({"content_id": cid, "seq": seq})
    if rows:
        conn.execute(insert(_content), rows)


def _split_hashes(blob: bytes) -> tuple[bytes, ...]:
    return tuple(bytes(blob[i : i + HASH_SIZE]) for i in range(0, len(blob), HASH_SIZE))


def _head_from_row(row) -> Head:  # type: ignore[no-untyped-def]
    sth = None
    if row.sth_signature is not None:
        sth = SignedTreeHead(
            size=row.size,
            root=bytes(row.sth_root),
            time=row.sth_time,
            signature=bytes(row.sth_signature),
            key=bytes(row.sth_key),
        )
    return Head(size=row.size, last_hash=bytes(row.last_hash), frontier=_split_hashes(row.frontier), tree_head=sth)


class _Sql:
    """The append transaction's statements, as plain SQL for the DBAPI driver.

    The hot path bypasses SQLAlchemy's statement layer: an append is five short
    statements, and on PostgreSQL the writes go out in one pipelined round trip (psycopg
    pipeline mode).  This roughly halves the time per append; the statements name the
    sqlmodel tables above and nothing else.
    """

    def __init__(self, dialect: str) -> None:
        self.param = p = "%s" if dialect == "postgresql" else "?"
        lock = " FOR UPDATE" if dialect == "postgresql" else ""  # SQLite: BEGIN IMMEDIATE has locked
        self.read_head = (
            "SELECT size, last_hash, frontier, sth_time, sth_root, sth_signature, sth_key"
            f" FROM ledger_head WHERE id = {p}"
        )
        self.head = self.read_head + lock
        self.issuer = f"SELECT public_key FROM ledger_issuers WHERE issuer_id = {p}"
        self.insert_entry = (
            "INSERT INTO ledger_entries (seq, issuer_id, entry_type, entry_hash, body)"
            f" VALUES ({p}, {p}, {p}, {p}, {p})"
        )
        self.insert_node = f"INSERT INTO ledger_nodes (level, idx, hash) VALUES ({p}, {p}, {p})"
        self.content = f"SELECT seq FROM ledger_content WHERE content_id = {p}"
        self.insert_content = f"INSERT INTO ledger_content (content_id, seq) VALUES ({p}, {p})"
        self.update_head = (
            f"UPDATE ledger_head SET size = {p}, last_hash = {p}, frontier = {p}, sth_time = {p},"
            f" sth_root = {p}, sth_signature = {p}, sth_key = {p} WHERE id = {p} AND size = {p}"
        )
        self.upsert_issuer = (
            f"INSERT INTO ledger_issuers (issuer_id, public_key, since_seq) VALUES ({p}, {p}, {p})"
            " ON CONFLICT (issuer_id) DO UPDATE SET public_key = excluded.public_key,"
            " since_seq = excluded.since_seq"
        )


@dataclass
class _SqlView:
    cursor: Any
    sql: _Sql
    head: Head
    prefetched: dict[str, bytes | None]
    content: dict[bytes, int | None] = dataclasses.field(default_factory=dict)  # prefetched content ids

    def issuer_key(self, issuer_id: str) -> bytes | None:
        if issuer_id in self.prefetched:
            return self.prefetched[issuer_id]
        self.cursor.execute(self.sql.issuer, (issuer_id,))
        row = self.cursor.fetchone()
        return None if row is None else bytes(row[0])

    def content_seq(self, content_id: bytes) -> int | None:
        if content_id in self.content:
            return self.content[content_id]
        self.cursor.execute(self.sql.content, (content_id,))
        row = self.cursor.fetchone()
        return None if row is None else int(row[0])


class SqlStore:
    """A ``LedgerStore`` on any SQLAlchemy database; tested on SQLite and PostgreSQL."""

    def __init__(
        self,
        url: str | None = None,
        *,
        engine: Engine | None = None,
        create: bool = True,
        max_attempts: int = 50,
    ) -> None:
        if (url is None) == (engine is None):
            raise TypeError("give exactly one of url or engine")
        self.engine = engine if engine is not None else make_engine(url, must_exist=not create)  # type: ignore[arg-type]
        self._max_attempts = max_attempts
        self._postgres = self.engine.dialect.name == "postgresql"
        self._sql = _Sql(self.engine.dialect.name)
        if create:
            create_tables(self.engine)

    def __repr__(self) -> str:
        return f"SqlStore({self.engine.url.render_as_string(hide_password=True)!r})"

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------ reads

    def _query(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Run one read on the DBAPI cursor (hot reads skip SQLAlchemy's statement layer)."""
        with self.engine.connect() as conn:
            cur = _driver(conn).cursor()
            try:
                cur.execute(sql, params)
                return cur.fetchall()
            finally:
                cur.close()

    def head(self) -> Head:
        rows = self._query(self._sql.read_head, (HEAD_ID,))
        if not rows:
            raise RuntimeError("ledger tables are not initialised (no head row)")
        return _head_from_row(_HeadRow(*rows[0]))

    def entries(self, *, start: int, limit: int) -> list[StoredEntry]:
        if start < 0 or limit < 1:
            return []
        stmt = (
            select(
                _entries.c.seq,
                _entries.c.body,
                _entries.c.entry_hash,
                _entries.c.issuer_id,
                _entries.c.entry_type,
                _nodes.c.hash,
            )
            .join(_nodes, (_nodes.c.level == 0) & (_nodes.c.idx == _entries.c.seq))
            .where(_entries.c.seq >= start, _entries.c.seq < start + limit)
            .order_by(_entries.c.seq)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [
            StoredEntry(
                seq=r.seq,
                body=bytes(r.body),
                entry_hash=bytes(r.entry_hash),
                leaf_hash=bytes(r.hash),
                issuer=r.issuer_id,
                entry_type=r.entry_type,
            )
            for r in rows
        ]

    def nodes(self, ids: Sequence[NodeId]) -> dict[NodeId, bytes]:
        if not ids:
            return {}
        # One query: per level an IN list on the primary key (a row-value
        # ``(level, idx) IN (...)`` makes SQLite scan the table).  Plain SQL: building the
        # same statement as SQLAlchemy expressions costs more than running it.
        by_level: dict[int, list[int]] = {}
        for level, index in ids:
            by_level.setdefault(level, []).append(index)
        p = self._sql.param
        where = " OR ".join(f"(level = {p} AND idx IN ({', '.join([p] * len(idxs))}))" for idxs in by_level.values())
        params = [v for level, idxs in by_level.items() for v in (level, *idxs)]
        rows = self._query(f"SELECT level, idx, hash FROM ledger_nodes WHERE {where}", params)
        return {(level, idx): bytes(h) for level, idx, h in rows}

    def issuer_key(self, issuer_id: str) -> bytes | None:
        rows = self._query(self._sql.issuer, (issuer_id,))
        return bytes(rows[0][0]) if rows else None

    def add_cosignatures(self, size: int, lines: Sequence[NoteSignature]) -> None:
        """Keep witnesses' cosignatures of the checkpoint of ``size`` (a newer one replaces the same key's)."""
        with self.engine.connect() as conn:
            conn.execution_options(**{WRITE: True})
            with conn.begin():
                for sig in lines:
                    key = (
                        (_cosignatures.c.size == size)
                        & (_cosignatures.c.signer == sig.name)
                        & (_cosignatures.c.key_id == sig.key_id)
                    )
                    conn.execute(delete(_cosignatures).where(key))
                    conn.execute(
                        insert(_cosignatures).values(
                            size=size, signer=sig.name, key_id=sig.key_id, line=sig.line().encode()
                        )
                    )

    def cosignatures(self, *, sizes: int = 16) -> list[tuple[int, list[NoteSignature]]]:
        """Cosignatures of the ``sizes`` largest cosigned sizes, largest first."""
        with self.engine.connect() as conn:
            wanted = (
                conn.execute(select(_cosignatures.c.size).distinct().order_by(_cosignatures.c.size.desc()).limit(sizes))
                .scalars()
                .all()
            )
            if not wanted:
                return []
            rows = conn.execute(
                select(_cosignatures.c.size, _cosignatures.c.line).where(_cosignatures.c.size.in_(wanted))
            ).all()
        by_size: dict[int, list[NoteSignature]] = {}
        for size, line in rows:
            by_size.setdefault(size, []).append(parse_signature_line(bytes(line).decode()[:-1]))
        return sorted(by_size.items(), reverse=True)

    def content_seq(self, content_id: bytes) -> int | None:
        rows = self._query(self._sql.content, (content_id,))
        return int(rows[0][0]) if rows else None

    def count_entries(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(_entries)).scalar_one()

    # ------------------------------------------------------------ the append transaction

    def append(
        self,
        prepare: Callable[[_SqlView], AppendPlan],
        *,
        issuer_hint: str | None = None,
        content_hint: bytes | None = None,
    ) -> AppendPlan:
        for attempt in range(1, self._max_attempts + 1):
            try:
                return self._append_once(prepare, issuer_hint, content_hint)
            except (OperationalError, IntegrityError, DBAPIError) as e:
                if not self._transient(e) or attempt == self._max_attempts:
                    raise
                # jittered backoff, 0.5–2 ms growing to ~50 ms
                time.sleep((secrets.randbelow(1500) + 500) * min(attempt, 25) / 1_000_000)
        raise AssertionError("unreachable")

    def _transient(self, e: DBAPIError) -> bool:
        if isinstance(e, IntegrityError):
            return True  # a duplicate seq or node: someone else appended first; re-read the head
        text = str(e.orig).lower() if e.orig is not None else ""
        if "locked" in text or "busy" in text:
            return True
        code = getattr(e.orig, "sqlstate", None)
        return code in {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock not available

    def _append_once(
        self, prepare: Callable[[_SqlView], AppendPlan], issuer_hint: str | None, content_hint: bytes | None = None
    ) -> AppendPlan:
        sql = self._sql
        with self.engine.connect() as conn:
            conn.execution_options(**{WRITE: True})
            with conn.begin():
                driver = _driver(conn)
                cur = driver.cursor()
                hint_cur = driver.cursor() if issuer_hint is not None else None
                content_cur = driver.cursor() if content_hint is not None else None
                # lock the head, prefetch the issuer's key and the content id: one round trip on PostgreSQL
                with driver.pipeline() if self._postgres else contextlib.nullcontext():
                    cur.execute(sql.head, (HEAD_ID,))
                    if hint_cur is not None:
                        hint_cur.execute(sql.issuer, (issuer_hint,))
                    if content_cur is not None:
                        content_cur.execute(sql.content, (content_hint,))
                row = cur.fetchone()
                if row is None:
                    raise RuntimeError("ledger tables are not initialised (no head row)")
                old = _head_from_row(_HeadRow(*row))
                prefetched: dict[str, bytes | None] = {}
                if hint_cur is not None:
                    key_row = hint_cur.fetchone()
                    prefetched[issuer_hint] = None if key_row is None else bytes(key_row[0])  # type: ignore[index]
                content: dict[bytes, int | None] = {}
                if content_cur is not None:
                    content_row = content_cur.fetchone()
                    content[content_hint] = None if content_row is None else int(content_row[0])  # type: ignore[index]
                plan = prepare(_SqlView(cur, sql, old, prefetched, content))
                new, entry, sth = plan.head, plan.entry, plan.head.tree_head
                if entry.seq != old.size or new.size != old.size + 1 or sth is None:
                    raise RuntimeError("append plan does not extend the head")  # a bug in the caller
                head_update = cur if not self._postgres else driver.cursor()
                with driver.pipeline() if self._postgres else contextlib.nullcontext():
                    cur.execute(
                        sql.insert_entry,
                        (entry.seq, entry.issuer, entry.entry_type, entry.entry_hash, entry.body),
                    )
                    cur.executemany(sql.insert_node, plan.nodes)
                    if entry.content_id:
                        cur.execute(sql.insert_content, (entry.content_id, entry.seq))
                    if plan.issuer_key is not None:
                        cur.execute(sql.upsert_issuer, (*plan.issuer_key, entry.seq + 1))
                    head_update.execute(
                        sql.update_head,
                        (
                            new.size,
                            new.last_hash,
                            b"".join(new.frontier),
                            sth.time,
                            sth.root,
                            sth.signature,
                            sth.key,
                            HEAD_ID,
                            old.size,
                        ),
                    )
                if head_update.rowcount != 1:
                    raise RuntimeError("ledger head changed under the write lock")
                return plan


@dataclass(frozen=True)
class _HeadRow:
    size: int
    last_hash: bytes
    frontier: bytes
    sth_time: int | None
    sth_root: bytes | None
    sth_signature: bytes | None
    sth_key: bytes | None
