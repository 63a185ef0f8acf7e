"""The ledger suite runs on every store: MemoryStore, SqlStore on SQLite, SqlStore on PostgreSQL.

PostgreSQL comes from ``ZKCRED_TEST_POSTGRES`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); each test gets a freshly created
schema of its own (``search_path`` in the URL), dropped afterwards, so parallel workers
and other engineers' tests on the same database never see each other's tables.  If the
server is unreachable the PostgreSQL cases skip, saying why.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from ledger.entries import Entry, public_key_bytes, sign_entry
from ledger.log import LedgerLog, now_ms
from ledger.sql import SqlStore
from ledger.store import LedgerStore, MemoryStore
from tests.postgres import postgres_schema


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A database URL for the backend named by ``request.param`` (``sqlite`` or ``postgres``)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/ledger.db"
    else:
        with postgres_schema() as url:
            yield url


STORES = ["memory", "sqlite", "postgres"]


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path) -> Iterator[LedgerStore]:  # type: ignore[no-untyped-def]
    if request.param == "memory":
        yield MemoryStore()
        return
    if request.param == "sqlite":
        sql = SqlStore(f"sqlite:///{tmp_path}/ledger.db")
        yield sql
        sql.close()
        return
    with postgres_schema() as url:
        sql = SqlStore(url)
        yield sql
        sql.close()


@pytest.fixture
def ledger_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def log(store: LedgerStore, ledger_key: Ed25519PrivateKey) -> LedgerLog:
    return LedgerLog(store, signing_key=ledger_key)


# ---------------------------------------------------------------- issuers and payloads


@dataclasses.dataclass
class Issuer:
    id: str
    key: Ed25519PrivateKey = dataclasses.field(default_factory=Ed25519PrivateKey.generate)

    @property
    def public(self) -> bytes:
        return public_key_bytes(self.key)

    def registration(self) -> dict[str, Any]:
        return {"ledger_key": self.public.hex(), "bbs_public_keys": ["qrs0dGVzdA"], "name": self.id}

    def register(self, log: LedgerLog) -> None:
        log.append(key=self.key, issuer=self.id, entry_type="issuer_registration", payload=self.registration())

    def entry(
        self,
        log: LedgerLog,
        entry_type: str,
        payload: dict[str, Any],
        *,
        key: Ed25519PrivateKey | None = None,
        seq: int | None = None,
        prev_hash: bytes | None = None,
        time: int | None = None,
    ) -> Entry:
        """An entry signed for the log's current head (or the given seq/prev_hash)."""
        head = log.head()
        return sign_entry(
            key=key or self.key,
            seq=head.size if seq is None else seq,
            time=now_ms() if time is None else time,
            entry_type=entry_type,
            issuer=self.id,
            payload=payload,
            prev_hash=head.last_hash if prev_hash is None else prev_hash,
        )


def sample_payloads(issuer: Issuer) -> dict[str, dict[str, Any]]:
    """One valid payload of each type (crypto values are opaque strings)."""
    return {
        "issuer_registration": issuer.registration(),
        "schema": {
            "schema_id": f"{issuer.id}/schema/loan/1",
            "name": "loan",
            "version": "1.0",
            "attributes": [{"name": "income", "type": "decimal(2)"}, {"name": "birth", "type": "date"}],
        },
        "credential_definition": {
            "cred_def_id": f"{issuer.id}/cd/1",
            "schema_id": f"{issuer.id}/schema/loan/1",
            "ciphersuite": "BLS12-381-SHA-256",
            "bbs_public_key": "a" * 192,
        },
        "revocation_registry": {
            "registry_id": f"{issuer.id}/rr/1",
            "cred_def_id": f"{issuer.id}/cd/1",
            "capacity": 10_000,
            "q": "b" * 192,
            "v0": "c" * 96,
        },
        "revocation": {"registry_id": f"{issuer.id}/rr/1", "handles": ["0a", "0b"], "values": ["d" * 96, "e" * 96]},
        "key_rotation": {"new_ledger_key": public_key_bytes(Ed25519PrivateKey.generate()).hex()},
    }


def populate(log: LedgerLog, issuer: Issuer, n: int = 6) -> None:
    """Register ``issuer`` and append ``n - 1`` more entries of varied types (no rotation)."""
    issuer.register(log)
    payloads = sample_payloads(issuer)
    kinds = ["schema", "credential_definition", "revocation_registry", "revocation"]
    for i in range(n - 1):
        kind = kinds[i % len(kinds)]
        payload = dict(payloads[kind])
        if kind == "revocation":
            payload["handles"] = [f"{i:04x}"]
            payload["values"] = [f"{i:096x}"]
        elif i >= len(kinds):  # the log holds each content once: vary the object's id
            key = {"schema": "schema_id", "credential_definition": "cred_def_id", "revocation_registry": "registry_id"}[
                kind
            ]
            payload[key] = f"{payload[key]}/{i}"
        log.append(key=issuer.key, issuer=issuer.id, entry_type=kind, payload=payload)


# ---------------------------------------------------------------- tampering with what a store keeps


def tamper_entry(store: LedgerStore, seq: int, **fields: bytes) -> None:
    """Overwrite stored fields of entry ``seq`` (``body``, ``entry_hash``) behind the log's back."""
    if isinstance(store, MemoryStore):
        store._entries[seq] = dataclasses.replace(store._entries[seq], **fields)
        return
    assert isinstance(store, SqlStore)
    sets = ", ".join(f"{name} = :{name}" for name in fields)
    with store.engine.begin() as conn:
        conn.execute(text(f"UPDATE ledger_entries SET {sets} WHERE seq = :seq"), {**fields, "seq": seq})


def tamper_node(store: LedgerStore, level: int, index: int, value: bytes) -> None:
    if isinstance(store, MemoryStore):
        store._nodes[(level, index)] = value
        return
    assert isinstance(store, SqlStore)
    with store.engine.begin() as conn:
        conn.execute(
            text("UPDATE ledger_nodes SET hash = :h WHERE level = :l AND idx = :i"),
            {"h": value, "l": level, "i": index},
        )
