"""Engine, tables and ``SqlRequestStore``: the verifier's state on SQLite or PostgreSQL.

The URL comes from ``verifier.config.Settings`` (default ``<state dir>/verifier.db``, see
docs/configuration.md); ``postgres://`` and ``postgresql://`` are read as ``postgresql+psycopg://``.
A PostgreSQL schema can be chosen
with ``?options=-csearch_path%3D<schema>`` (the tests isolate themselves this way).

Every API process is stateless: any number of workers share one database. The only
write that must be exclusive — answering a request — is one conditional ``UPDATE``
(``finish_request``): under PostgreSQL's READ COMMITTED the second of two concurrent
updates waits for the first's row lock, re-reads the row, no longer sees
``status = 'pending'`` and updates nothing; SQLite serialises writers with its database
lock (busy timeout 30 s, WAL so readers never block). A presentation that does not
verify is counted the same way (``record_failed_attempt``: a conditional increment, then
a conditional rejection at the limit, one transaction).
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, insert, inspect, text, update
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, create_engine, select

from ledger.sql import normalize_url
from servicekit.settings import current_state_dir
from verifier.config import ConfigError
from verifier.models import TABLES, WEBHOOK_TABLES, ApiKey, PseudonymRow, RequestRow, StateRow, VerifierTable
from verifier.webhooks import enqueue as enqueue_webhooks

DEFAULT_DATABASE_URL = f"sqlite:///{current_state_dir()}/verifier.db"  # a fallback; the service uses its Settings


def make_engine(url: str | None = None) -> Engine:
    """An engine for ``url`` (default: ``DEFAULT_DATABASE_URL``); creates the SQLite directory."""
    url = normalize_url(url or DEFAULT_DATABASE_URL)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def init_db(engine: Engine) -> None:
    """Create the verifier's tables (only those) if they do not exist; add columns newer code needs."""
    VerifierTable.metadata.create_all(engine, tables=TABLES + WEBHOOK_TABLES)
    columns = {c["name"] for c in inspect(engine).get_columns(RequestRow.__tablename__)}
    # columns of issue 12 a database made before it lacks: the attempt limit, the lender's purpose
    for column, ddl in (("attempts", "INTEGER NOT NULL DEFAULT 0"), ("purpose", "TEXT")):
        if column in columns:
            continue
        try:
            with engine.begin() as conn:
                conn.execute(text(f"ALTER TABLE {RequestRow.__tablename__} ADD COLUMN {column} {ddl}"))
        except Exception:  # another worker added it first
            if column not in {c["name"] for c in inspect(engine).get_columns(RequestRow.__tablename__)}:
                raise


def console_secret(engine: Engine) -> bytes:
    """The key the lender console signs its session cookies with: made once, shared by every worker.

    Kept in ``verifier_state`` (``console_key``): whoever reads this database can forge a
    console session — and could read every request and verdict anyway.
    """
    with Session(engine) as s:
        row = s.get(StateRow, "console_key")
        if row is None:
            s.add(StateRow(name="console_key", value=secrets.token_hex(32)))
            try:
                s.commit()
            except Exception:  # another worker made it first: use theirs
                s.rollback()
            row = s.get(StateRow, "console_key")
        assert row is not None
        return bytes.fromhex(row.value)


def check_pinned_ledger_key(engine: Engine, key: bytes) -> None:
    """Record the pinned ledger key at first start; refuse (``ConfigError``) a different one later.

    A verifier's stored verdicts were checked against one ledger: a changed pin means the
    configuration points at another ledger (or the ledger lost its key), never a routine change.
    """
    with Session(engine) as s:
        row = s.get(StateRow, "ledger_public_key")
        if row is None:
            s.add(StateRow(name="ledger_public_key", value=key.hex()))
            try:
                s.commit()
            except Exception:  # another worker recorded it first: compare with theirs
                s.rollback()
                row = s.get(StateRow, "ledger_public_key")
        if row is not None and row.value != key.hex():
            raise ConfigError(
                f"the pinned ledger key changed: this verifier's database was set up with ledger key "
                f"{row.value}, the configuration now pins {key.hex()} (ZKCRED_LEDGER_PUBLIC_KEY or the "
                "ledger key in the state directory)"
            )


class SqlRequestStore:
    """``verifier.service.RequestStore`` on SQLAlchemy/sqlmodel."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # api keys
    def add_api_key(self, *, lender: str, key_hash: str, prefix: str, created_ms: int) -> None:
        with Session(self.engine) as s:
            s.add(ApiKey(lender=lender, key_hash=key_hash, prefix=prefix, created_ms=created_ms))
            s.commit()

    def revoke_api_keys(self, *, key_hash: str | None = None, lender: str | None = None, revoked_ms: int) -> int:
        cond = col(ApiKey.key_hash) == key_hash if key_hash is not None else col(ApiKey.lender) == lender
        with Session(self.engine) as s:
            result = s.connection().execute(
                update(ApiKey).where(cond, col(ApiKey.revoked_ms).is_(None)).values(revoked_ms=revoked_ms)
            )
            s.commit()
            return result.rowcount or 0

    def lender_for_key(self, *, key_hash: str) -> str | None:
        with Session(self.engine) as s:
            row = s.exec(
                select(ApiKey).where(col(ApiKey.key_hash) == key_hash, col(ApiKey.revoked_ms).is_(None))
            ).first()
            return None if row is None else row.lender

    # requests
    def insert_request(self, record: Any) -> None:
        with Session(self.engine) as s:
            s.add(
                RequestRow(
                    id=record.id,
                    lender=record.lender,
                    nonce=record.nonce_b64,
                    status=record.status,
                    created_ms=record.created_ms,
                    expires_ms=record.expires_ms,
                    max_staleness=record.max_staleness,
                    request_json=record.request_json,
                    purpose=record.purpose,
                    verdict_json=None,
                    answered_ms=None,
                )
            )
            s.commit()

    def get_request(self, *, request_id: str) -> dict[str, Any] | None:
        with Session(self.engine) as s:
            row = s.get(RequestRow, request_id)
            if row is None:
                return None
            data = row.model_dump()
            data["verdict"] = json.loads(row.verdict_json) if row.verdict_json else None
            return data

    def finish_request(
        self,
        *,
        request_id: str,
        status: str,
        verdict: dict[str, Any],
        answered_ms: int,
        pseudonym: dict[str, str] | None = None,
    ) -> bool:
        """Record the verdict iff the request is still pending; True if this call did (single use).

        ``pseudonym`` (``{lender, context, pseudonym}``) is recorded in the same transaction,
        only by the call that records the verdict; so are the webhook deliveries of the
        verdict (``verifier.webhooks.enqueue``).
        """
        stmt = (
            update(RequestRow)
            .where(col(RequestRow.id) == request_id, col(RequestRow.status) == "pending")
            .values(status=status, verdict_json=json.dumps(verdict, separators=(",", ":")), answered_ms=answered_ms)
        )
        with self.engine.begin() as conn:
            if conn.execute(stmt).rowcount != 1:
                return False
            if pseudonym is not None:
                conn.execute(
                    insert(PseudonymRow).values(
                        lender=pseudonym["lender"],
                        context=pseudonym["context"],
                        pseudonym=pseudonym["pseudonym"],
                        request_id=request_id,
                        verified_ms=answered_ms,
                    )
                )
            enqueue_webhooks(conn, request_id=request_id, status=status, verdict=verdict, at_ms=answered_ms)
            return True

    def record_failed_attempt(
        self, *, request_id: str, max_attempts: int, verdict: dict[str, Any], answered_ms: int
    ) -> str:
        """Count one presentation that did not verify; ``"pending"``, ``"rejected"`` or ``"answered"``.

        One transaction: ``attempts = attempts + 1`` iff the request is still pending (the row
        lock, or SQLite's write lock, is held from there to the commit), then — iff that made
        ``attempts`` reach ``max_attempts`` — the request is rejected with ``verdict``. So of
        any number of concurrent failures exactly ``max_attempts`` are counted and exactly one
        rejects (and queues the webhook deliveries of that verdict); a call on an answered
        request changes nothing and says ``"answered"``.
        """
        pending = (col(RequestRow.id) == request_id, col(RequestRow.status) == "pending")
        with self.engine.begin() as conn:
            counted = conn.execute(update(RequestRow).where(*pending).values(attempts=RequestRow.attempts + 1))
            if counted.rowcount != 1:
                return "answered"
            rejected = conn.execute(
                update(RequestRow)
                .where(*pending, col(RequestRow.attempts) >= max_attempts)
                .values(
                    status="rejected", verdict_json=json.dumps(verdict, separators=(",", ":")), answered_ms=answered_ms
                )
            )
            if rejected.rowcount != 1:
                return "pending"
            enqueue_webhooks(conn, request_id=request_id, status="rejected", verdict=verdict, at_ms=answered_ms)
            return "rejected"

    def list_requests(self, *, lender: str, limit: int = 100) -> list[dict[str, Any]]:
        """``lender``'s requests, newest first (the web console's list)."""
        query = select(RequestRow).where(RequestRow.lender == lender)
        with Session(self.engine) as s:
            rows = s.exec(query.order_by(RequestRow.created_ms.desc(), RequestRow.id).limit(limit))  # type: ignore[attr-defined]
            return [
                {**row.model_dump(), "verdict": json.loads(row.verdict_json) if row.verdict_json else None}
                for row in rows
            ]

    # pseudonyms
    def pseudonym_of(self, *, request_id: str) -> dict[str, Any] | None:
        """The pseudonym recorded with a verified request: ``{seq, lender, context, pseudonym, …}``."""
        with Session(self.engine) as s:
            row = s.exec(select(PseudonymRow).where(PseudonymRow.request_id == request_id)).first()
            return None if row is None else row.model_dump()

    def pseudonym_records(self, *, lender: str, pseudonym: str, before_seq: int | None = None) -> list[dict[str, Any]]:
        """``lender``'s verified requests carrying ``pseudonym`` (oldest first; only those before ``before_seq``)."""
        query = select(PseudonymRow).where(PseudonymRow.lender == lender, PseudonymRow.pseudonym == pseudonym)
        if before_seq is not None:
            query = query.where(col(PseudonymRow.seq) < before_seq)
        with Session(self.engine) as s:
            return [row.model_dump() for row in s.exec(query.order_by(col(PseudonymRow.seq)).limit(1000))]
