"""The issuer's tables (sqlmodel). Every table is prefixed ``issuer_``.

What is secret is sealed (``issuer.sealing``: AES-256-GCM under ``ZKCRED_MASTER_KEY``,
bound to table/column/row) and lives only in ``*_sealed`` columns:

- ``issuer_identity.ledger_key_sealed`` — the Ed25519 seed that signs ledger entries;
- ``issuer_credential_definitions.bbs_secret_key_sealed`` — the BBS secret key;
- ``issuer_credential_definitions.accumulator_secret_sealed`` — the registry secret α;
- ``issuer_offers.values_sealed`` — the attribute values of an offer (canonical JSON);
  kept after issuance so a credential can be re-issued, never in a plaintext column;
- ``issuer_issuance_receipts.response_sealed`` — the issuance answer (credential, values,
  witness), so a holder whose answer was lost (a crash, a timeout) gets the same credential
  by sending the same request with the same token again.

What the issuer publishes goes through ``issuer_outbox`` (``issuer.outbox``): a row written
in the transaction of the record it publishes, marked with its ledger seq once delivered.
A record's ``ledger_seq`` (``registry_seq``, ``accumulator_seq``, ``revocation_seq``) is
NULL while its entry is pending. ``(name, version)`` of a schema and ``(schema_id, tag)``
of a definition are unique.

Bearer tokens (admin tokens, offer tokens) are stored as SHA-256 hashes only.
Credentials hold no attribute values: status, revocation index, definition, times.
The audit trail (``issuer_audit``) names the admin token (id and label) behind every
admin write, the action, the object and non-secret detail — never a token or a value.

Columns added after a table first shipped are nullable, so ``issuer.db.create_tables``
adds them to an existing database (``ALTER TABLE … ADD COLUMN``).

API models (request and response bodies) live in ``issuer.api``; the API never returns
a table model (template ``models.py``, STYLE §1.7).
"""

from __future__ import annotations

import datetime as _dt

from sqlalchemy import BigInteger, Column, DateTime, Integer, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def _ts(**kw) -> Column:  # type: ignore[no-untyped-def]
    return Column(DateTime(timezone=True), **kw)


class IssuerIdentity(SQLModel, table=True):
    """The single row (id = 1) naming this issuer on the ledger, with its sealed signing key."""

    __tablename__ = "issuer_identity"

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    issuer_id: str = Field(max_length=256)
    name: str | None = Field(default=None, max_length=256)
    ledger_public_key: str = Field(max_length=64)  # hex
    ledger_key_sealed: bytes = Field(sa_type=LargeBinary)
    registration_seq: int | None = Field(default=None, sa_type=BigInteger)
    created_at: _dt.datetime = Field(sa_column=_ts(nullable=False))


class SchemaRow(SQLModel, table=True):
    __tablename__ = "issuer_schemas"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_issuer_schema_name_version"),)

    id: str = Field(primary_key=True, max_length=128)  # content id, circuits.credentials.Schema.id
    name: str = Field(max_length=128, index=True)
    version: str = Field(max_length=32)
    schema_doc: str = Field(sa_type=Text)  # canonical Schema.to_json()
    ledger_seq: int | None = Field(default=None, sa_type=BigInteger)  # None: publication pending
    created_at: _dt.datetime = Field(sa_column=_ts(nullable=False))


class CredentialDefinitionRow(SQLModel, table=True):
    __tablename__ = "issuer_credential_definitions"
    __table_args__ = (UniqueConstraint("schema_id", "tag", name="uq_issuer_definition_schema_tag"),)

    id: str = Field(primary_key=True, max_length=128)  # content id, CredentialDefinition.id
    schema_id: str = Field(foreign_key="issuer_schemas.id", max_length=128, index=True)
    tag: str = Field(max_length=64)
    revocable: bool
    capacity: int | None = Field(default=None, sa_type=BigInteger)
    validity_days: int
    definition_json: str = Field(sa_type=Text)  # canonical CredentialDefinition.to_json() (public)
    bbs_secret_key_sealed: bytes = Field(sa_type=LargeBinary)
    ledger_seq: int | None = Field(default=None, sa_type=BigInteger)  # None: publication pending
    # revocation registry (revocable definitions only)
    registry_id: str | None = Field(default=None, max_length=128, unique=True)
    accumulator_secret_sealed: bytes | None = Field(default=None, sa_type=LargeBinary)
    accumulator: bytes | None = Field(default=None, sa_type=LargeBinary)  # current V (public, G1 compressed)
    accumulator_seq: int | None = Field(default=None, sa_type=BigInteger)  # ledger entry that published V
    registry_seq: int | None = Field(default=None, sa_type=BigInteger)
    next_index: int = Field(default=0, sa_type=BigInteger)  # next free revocation index
    # key rotation (added later: nullable, so issuer.db adds them to an existing table)
    supersedes: str | None = Field(default=None, max_length=128)
    superseded_by: str | None = Field(default=None, max_length=128, unique=True)
    created_at: _dt.datetime = Field(sa_column=_ts(nullable=False))


class OfferRow(SQLModel, table=True):
    __tablename__ = "issuer_offers"

    id: str = Field(primary_key=True, max_length=64)
    definition_id: str = Field(foreign_key="issuer_credential_definitions.id", max_length=128, index=True)
    token_hash: str = Field(max_length=64, unique=True)
    values_sealed: bytes = Field(sa_type=LargeBinary)
    used: bool = Field(default=False)
    created_at: _dt.datetime = Field(sa_column=_ts(nullable=False))
    expires_at: _dt.datetime = Field(sa_column=_ts(nullable=False))
    used_at: _dt.datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    # status: cancelled if cancelled_at, else issued if used, else expired if expires_at <= now, else pending
    cancelled_at: _dt.datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    batch_id: str | None = Field(default=None, max_length=64, index=True)  # POST /admin/offers/bulk


class CredentialRow(SQLModel, table=True):
    __tablename__ = "issuer_credentials"
    __table_args__ = (UniqueConstraint("definition_id", "revocation_index", name="uq_issuer_credential_index"),)

    id: str = Field(primary_key=True, max_length=64)
    definition_id: str = Field(foreign_key="issuer_credential_definitions.id", max_length=128, index=True)
    offer_id: str = Field(foreign_key="issuer_offers.id", max_length=64, unique=True)
    status: str = Field(max_length=16, index=True)  # issued | revoked
    revocation_index: int | None = Field(default=None, sa_type=BigInteger)
    expiry: _dt.date
    issued_at: _dt.datetime = Field(sa_column=_ts(nullable=False))
    revoked_at: _dt.datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    revocation_seq: int | None = Field(default=None, sa_type=BigInteger)  # ledger entry of the revocation


class IssuanceReceiptRow(SQLModel, table=True):
    """The answer to the one request an offer was used for (sealed), written in the issuance transaction."""

    __tablename__ = "issuer_issuance_receipts"

    offer_id: str = Field(primary_key=True, foreign_key="issuer_offers.id", max_length=64)
    request_hash: str = Field(max_length=64)  # SHA-256 of the holder's request bytes, hex
    response_sealed: bytes = Field(sa_type=LargeBinary)
    created_at: _dt.datetime = Field(sa_column=_ts(nullable=False))


class AdminToken(SQLModel, table=True):
    __tablename__ = "issuer_admin_tokens"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=128)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: _dt.datetime = Field(sa_column=_ts(nullable=False))
    revoked_at: _dt.datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class OutboxRow(SQLModel, table=True):
    """One ledger entry to publish, written in the transaction of the record it publishes.

    Delivered in ``id`` order; ``ledger_seq`` is set (with ``delivered_at``) once the ledger
    holds it. ``content_id`` is the ledger's (``ledger.entries.content_id``, hex): the same
    entry is queued once, and a re-send after a crash is answered by the ledger with the
    seq it already has. ``subject``/``subject_id`` name the record that learns the seq.
    """

    __tablename__ = "issuer_outbox"

    id: int | None = Field(
        default=None, primary_key=True, sa_type=BigInteger().with_variant(Integer, "sqlite")
    )  # SQLite: rowid
    entry_type: str = Field(max_length=64)
    payload: str = Field(sa_type=Text)  # canonical JSON (public: what the ledger will show)
    content_id: str = Field(max_length=64, unique=True)
    subject: str = Field(max_length=32)  # schema | credential_definition | revocation_registry | revocation
    subject_id: str = Field(max_length=128, index=True)
    ledger_seq: int | None = Field(default=None, sa_type=BigInteger, index=True)  # None: pending
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, sa_type=Text)  # the ledger's answer, never a secret
    created_at: _dt.datetime = Field(sa_column=_ts(nullable=False))
    delivered_at: _dt.datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class AuditRow(SQLModel, table=True):
    """One admin write: who (admin token id + its label at the time), what, when, on which object.

    ``detail`` is canonical JSON of non-secret facts (ids, counts, ledger seqs) — never a
    token, a key or an attribute value. Written in the transaction of the write itself.
    """

    __tablename__ = "issuer_audit"

    id: int | None = Field(
        default=None, primary_key=True, sa_type=BigInteger().with_variant(Integer, "sqlite")
    )  # SQLite: rowid autoincrement
    at: _dt.datetime = Field(sa_column=_ts(nullable=False, index=True))
    token_id: str | None = Field(default=None, max_length=64, index=True)  # None: CLI or in-process
    actor: str = Field(max_length=128, index=True)  # the token's label (name), or "cli" / "in-process"
    action: str = Field(max_length=64, index=True)  # e.g. offer.create, credential.revoke
    object_type: str = Field(max_length=32)
    object_id: str = Field(max_length=128, index=True)
    detail: str = Field(sa_type=Text)


TABLES = [
    m.__table__  # type: ignore[attr-defined,union-attr]  # SQLModel sets it on table=True classes; its stubs do not say
    for m in (
        IssuerIdentity,
        SchemaRow,
        CredentialDefinitionRow,
        OfferRow,
        CredentialRow,
        AdminToken,
        OutboxRow,
        IssuanceReceiptRow,
        AuditRow,
    )
]
