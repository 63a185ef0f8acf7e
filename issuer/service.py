r"""The issuer's role logic (anoncreds-rs ``services/issuer.rs`` verbs): no HTTP here.

:class:`IssuerService` is used in process (the demo, tests) and behind ``issuer.api``
alike. It owns a database engine (``issuer.db``), a :class:`~issuer.sealing.Sealer`
under the master key, and a :class:`~issuer.publisher.LedgerPublisher`.

Publication goes through the durable outbox (``issuer.outbox``): a record and the ledger
entry that publishes it are written in ONE transaction; the entry is delivered right after
the commit (the caller waits, as it always did), or — ledger down — later by the outbox
loop, at start-up or by ``zkcred issuer reconcile``; the record's ``ledger_seq`` is None
meanwhile (the API answers 202 ``publication: pending``). Delivery is idempotent (the
ledger answers a re-sent entry with the seq it has), so ``kill -9`` at any point loses
nothing and publishes nothing twice (``tests/hardening/test_issuer_crash.py``).

Steps and what each publishes (ledger payload field names, ``ledger.entries``):

1. start-up (:meth:`IssuerService.open`): load or create the issuer's identity — its
   ledger id and Ed25519 key (sealed) — and register it on the ledger if it is not yet
   (``issuer_registration {ledger_key, bbs_public_keys: [], name}``, self-signed).
2. :meth:`create_schema` → ``schema {schema_id, name, version, attributes}`` with
   ``schema_id = circuits.credentials.Schema.id`` (content-addressed).
3. :meth:`create_credential_definition`: BBS keys from ``bbs.keygen(secrets.token_bytes(32))``;
   if revocable, an accumulator registry (``circuits.accumulator.setup_registry``, id
   ``revreg:<128 random bits>``, handles ``y_i = handle(registry_id UTF-8, i)``). Publishes
   ``credential_definition {cred_def_id, schema_id, ciphersuite, bbs_public_key, tag}``
   then ``revocation_registry {registry_id, cred_def_id, capacity, q, v0}``. With the
   schema entry and the issuer id these rebuild the exact ``CredentialDefinition``, whose
   content id is ``cred_def_id``. A schema's (name, version) and a definition's (schema,
   tag) are unique keys: a second one is CONFLICT naming the first (``existing_id``).
   :meth:`rotate_credential_definition` (issuer key rotation) makes a new definition whose
   ``credential_definition`` entry also carries ``supersedes: <old id>``.
4. :meth:`create_offer` / :meth:`create_offers` (bulk, all or nothing): values checked
   against the schema now (refused values never reach a holder); a one-time token (256
   bits), stored as SHA-256; values sealed. A pending offer of a revocable definition
   reserves a revocation index, so a full registry is refused here, not at acceptance.
   :meth:`cancel_offer` closes a pending offer (its token is refused from then on).
5. :meth:`issue_credential`, in ONE serialised write transaction: claim the offer
   (``UPDATE … SET used = true WHERE used = false`` — two concurrent requests with one
   token give one credential), take the next revocation index, check the holder's
   commitment and blind-sign (``circuits.issuance.create_credential``), compute the
   witness against the current accumulator value. Any failure rolls all of it back, so a
   bad commitment neither burns the token nor an index. The answer is kept, sealed
   (``issuer_issuance_receipts``): the same request with the same token gets the same
   credential again, so a holder whose answer was lost (a crash) retries safely. Issuance
   waits until the definition, its registry and the current accumulator value are on the
   ledger (503 ``publication-pending`` meanwhile), so a witness always names a ledger V.
6. :meth:`revoke`: ``V' = (y + α)^{-1}·V`` → ``revocation {registry_id, handles: [hex y],
   values: [b64 V']}``; the credential is marked revoked, V' made current and the entry
   queued in one transaction under the definition's row lock, so revocations of one
   registry are queued — and published — in the order of their values. A second revoke
   is ``CONFLICT``.

Every admin write (schemas, definitions, offers, cancellations, revocations, admin tokens)
adds an ``issuer_audit`` record in its own transaction, naming the :class:`Actor` — the
admin token's id and label — the action and the object; never a secret.

Expiry of a credential is the issue date (UTC) plus the definition's ``validity_days``.
A credential of a non-revocable definition still signs a (hidden) handle message: a fresh
random scalar, so the message layout is the same for every credential.
Every domain error is an :class:`~issuer.errors.IssuerError` with a kind; circuits
errors are wrapped (``raise … from e``).

Departure from STYLE §2.6: the service talks to sqlmodel sessions directly rather than
through a store Protocol; the tables are few and the transactions (row locks, claim
updates) are the point of this module, so hiding them would hide the correctness.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import re
import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, and_, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from circuits import accumulator, bbs
from circuits.attributes import AttributeType
from circuits.backend import GroupBackend, get_backend
from circuits.codec import b64d, b64e
from circuits.credentials import (
    AttributeSpec,
    CredentialDefinition,
    RevocationRegistry,
    Schema,
    canonical_json,
)
from circuits.errors import ZkCredError
from circuits.issuance import create_credential
from circuits.sigma import random_scalar
from issuer import db
from issuer.config import ConfigError, Settings
from issuer.errors import ErrorKind, IssuerError
from issuer.models import (
    AdminToken,
    AuditRow,
    CredentialDefinitionRow,
    CredentialRow,
    IssuanceReceiptRow,
    IssuerIdentity,
    OfferRow,
    SchemaRow,
)
from issuer.outbox import Delivery, Outbox, crash_point, enqueue
from issuer.publisher import LedgerPublisher
from issuer.sealing import Sealer, UnsealError, new_token, token_hash

logger = logging.getLogger(__name__)

#: Largest revocation registry a definition may ask for: setting one up hashes every handle
#: (~1 µs each) inside the request, and the ledger caps capacity at 2^32.
MAX_REGISTRY_CAPACITY = 1_000_000
MAX_VALIDITY_DAYS = 36_500
MAX_PAGE = 1000
STATUSES = ("issued", "revoked")
OFFER_STATUSES = ("pending", "issued", "cancelled", "expired")
#: Most offers one POST /admin/offers/bulk creates (all or nothing, one transaction).
MAX_BULK_OFFERS = 1000
#: What the audit trail records (``action`` values).
AUDIT_ACTIONS = (
    "admin_token.create",
    "admin_token.revoke",
    "schema.create",
    "credential_definition.create",
    "offer.create",
    "offer.cancel",
    "credential.revoke",
)
SUITE = "BLS12-381-SHA-256"


def utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def _aware(t: _dt.datetime | None) -> _dt.datetime | None:
    """SQLite returns naive datetimes; everything stored is UTC."""
    if t is None:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=_dt.UTC)


def _iso(t: _dt.datetime | None) -> str | None:
    t = _aware(t)
    return None if t is None else t.astimezone(_dt.UTC).isoformat().replace("+00:00", "Z")


def _as_utc(t: _dt.datetime, name: str) -> _dt.datetime:
    """A query bound in UTC (naive means UTC), as the stored times are; INPUT if it has no UTC form."""
    try:
        return t.replace(tzinfo=_dt.UTC) if t.tzinfo is None else t.astimezone(_dt.UTC)
    except OverflowError as e:  # e.g. 0001-01-01T00:00+14:00 is before year 1 in UTC
        raise _input(f"{name}: outside the years 1–9999 in UTC") from e


def _input(detail: str, slug: str = "invalid-input") -> IssuerError:
    return IssuerError(ErrorKind.INPUT, detail, slug=slug)


# ------------------------------------------------------------------ what the service returns


@dataclass(frozen=True)
class SchemaInfo:
    id: str
    name: str
    version: str
    attributes: list[dict[str, str]]
    ledger_seq: int | None  # None: publication pending (issuer.outbox)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "attributes": self.attributes,
            "ledger_seq": self.ledger_seq,
            "publication": _publication(self.ledger_seq),
        }


@dataclass(frozen=True)
class DefinitionInfo:
    id: str
    schema_id: str
    tag: str
    revocable: bool
    capacity: int | None
    validity_days: int
    definition: CredentialDefinition
    ledger_seq: int | None  # None: publication pending (issuer.outbox)
    registry_seq: int | None = None  # the revocation_registry entry (revocable definitions)
    supersedes: str | None = None  # key rotation: the definition this one replaces
    superseded_by: str | None = None  # … and the one that replaced this one

    @property
    def published(self) -> bool:
        return self.ledger_seq is not None and (not self.revocable or self.registry_seq is not None)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "schema_id": self.schema_id,
            "tag": self.tag,
            "revocable": self.revocable,
            "capacity": self.capacity,
            "validity_days": self.validity_days,
            "definition": self.definition.to_json(),
            "ledger_seq": self.ledger_seq,
            "registry_seq": self.registry_seq,
            "publication": "published" if self.published else "pending",
            "supersedes": self.supersedes,
            "superseded_by": self.superseded_by,
        }


@dataclass(frozen=True)
class CredentialInfo:
    """An issued credential as the admin API shows it: never its attribute values."""

    id: str
    definition_id: str
    status: str
    revocation_index: int | None
    issued_at: str
    revoked_at: str | None
    offer_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "definition_id": self.definition_id,
            "status": self.status,
            "revocation_index": self.revocation_index,
            "issued_at": self.issued_at,
            "revoked_at": self.revoked_at,
            "offer_id": self.offer_id,
        }


@dataclass(frozen=True)
class RevokeResult:
    id: str
    status: str
    ledger_seq: int | None  # None: publication pending (issuer.outbox)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "ledger_seq": self.ledger_seq,
            "publication": _publication(self.ledger_seq),
        }


def _publication(seq: int | None) -> str:
    """``published`` once the ledger holds the entry, ``pending`` while the outbox still delivers it."""
    return "pending" if seq is None else "published"


@dataclass(frozen=True)
class Actor:
    """Who performs an admin write, as the audit trail records it: the admin token's id and label.

    Never the token itself. ``token_id`` is None for the CLI and in-process callers.
    """

    token_id: str | None
    label: str


#: The actor of writes made in process without a token (the demo, tests) and of the CLI.
IN_PROCESS = Actor(None, "in-process")
CLI = Actor(None, "cli")


@dataclass(frozen=True)
class OfferInfo:
    """An offer as the admin API shows it: never its token or attribute values."""

    id: str
    credential_definition_id: str
    status: str  # pending | issued | cancelled | expired
    created_at: str
    expires_at: str
    issued_at: str | None
    cancelled_at: str | None
    credential_id: str | None  # once issued
    batch_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "credential_definition_id": self.credential_definition_id,
            "status": self.status,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "issued_at": self.issued_at,
            "cancelled_at": self.cancelled_at,
            "credential_id": self.credential_id,
            "batch_id": self.batch_id,
        }


@dataclass(frozen=True)
class AuditInfo:
    id: int
    at: str
    actor: str
    token_id: str | None
    action: str
    object_type: str
    object_id: str
    detail: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "actor": self.actor,
            "token_id": self.token_id,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "detail": self.detail,
        }


def _offer_status(row: OfferRow, now: _dt.datetime) -> str:
    if row.cancelled_at is not None:
        return "cancelled"
    if row.used:
        return "issued"
    expires_at = _aware(row.expires_at)
    assert expires_at is not None
    return "expired" if expires_at <= now else "pending"


def _offer_info(row: OfferRow, credential_id: str | None, now: _dt.datetime) -> OfferInfo:
    return OfferInfo(
        row.id,
        row.definition_id,
        _offer_status(row, now),
        _iso(row.created_at) or "",
        _iso(row.expires_at) or "",
        _iso(row.used_at),
        _iso(row.cancelled_at),
        credential_id,
        row.batch_id,
    )


def _offer_status_filter(status: str, now: _dt.datetime) -> Any:
    """The SQL condition for one status, exactly as :func:`_offer_status` decides it."""
    open_ = (col(OfferRow.cancelled_at).is_(None), col(OfferRow.used) == False)  # noqa: E712
    if status == "cancelled":
        return col(OfferRow.cancelled_at).is_not(None)
    if status == "issued":
        return and_(col(OfferRow.cancelled_at).is_(None), col(OfferRow.used) == True)  # noqa: E712
    if status == "expired":
        return and_(*open_, col(OfferRow.expires_at) <= now)
    return and_(*open_, col(OfferRow.expires_at) > now)


def _audit_info(row: AuditRow) -> AuditInfo:
    assert row.id is not None
    return AuditInfo(
        row.id,
        _iso(row.at) or "",
        row.actor,
        row.token_id,
        row.action,
        row.object_type,
        row.object_id,
        json.loads(row.detail),
    )


def _audit(
    session: Any, actor: Actor | None, action: str, object_type: str, object_id: str, at: _dt.datetime, **detail: Any
) -> None:
    """Add one audit record to ``session`` — inside the transaction of the write it records."""
    assert action in AUDIT_ACTIONS, action
    actor = actor or IN_PROCESS
    session.add(
        AuditRow(
            at=at,
            token_id=actor.token_id,
            actor=actor.label,
            action=action,
            object_type=object_type,
            object_id=object_id,
            detail=canonical_json(detail).decode(),
        )
    )


def _schema_info(row: SchemaRow) -> SchemaInfo:
    data = json.loads(row.schema_doc)
    return SchemaInfo(row.id, row.name, row.version, data["attributes"], row.ledger_seq)


def _definition_info(row: CredentialDefinitionRow) -> DefinitionInfo:
    return DefinitionInfo(
        row.id,
        row.schema_id,
        row.tag,
        row.revocable,
        row.capacity,
        row.validity_days,
        CredentialDefinition.from_json(json.loads(row.definition_json)),
        row.ledger_seq,
        row.registry_seq,
        row.supersedes,
        row.superseded_by,
    )


def _credential_info(row: CredentialRow) -> CredentialInfo:
    return CredentialInfo(
        row.id,
        row.definition_id,
        row.status,
        row.revocation_index,
        _iso(row.issued_at) or "",
        _iso(row.revoked_at),
        row.offer_id,
    )


# ------------------------------------------------------------------ sealing purposes (table/column/row)


def _p_ledger_key(issuer_id: str) -> str:
    return f"issuer_identity/ledger_key/{issuer_id}"


def _p_bbs(definition_id: str) -> str:
    return f"issuer_credential_definitions/bbs_secret_key/{definition_id}"


def _p_alpha(definition_id: str) -> str:
    return f"issuer_credential_definitions/accumulator_secret/{definition_id}"


def _p_values(offer_id: str) -> str:
    return f"issuer_offers/values/{offer_id}"


def _p_receipt(offer_id: str) -> str:
    return f"issuer_issuance_receipts/response/{offer_id}"


def _request_hash(request_bytes: bytes) -> str:
    return hashlib.sha256(request_bytes).hexdigest()


def create_admin_token(
    engine: Engine, *, name: str = "admin", now: _dt.datetime | None = None, actor: Actor | None = None
) -> str:
    """A new admin bearer token in the database at ``engine``; returned once, stored as its SHA-256.

    Needs neither the master key nor the ledger (``zkcred issuer create-admin-token``).
    """
    if not isinstance(name, str) or not 0 < len(name) <= 128:
        raise _input("token name: 1–128 characters")
    token = new_token("zka")
    db.create_tables(engine)
    now = now or utcnow()
    token_id = uuid.uuid4().hex
    with db.write_session(engine) as session:
        session.add(AdminToken(id=token_id, name=name, token_hash=token_hash(token), created_at=now))
        _audit(session, actor or CLI, "admin_token.create", "admin_token", token_id, now, name=name)
    return token


def revoke_admin_tokens(
    engine: Engine,
    *,
    token: str | None = None,
    name: str | None = None,
    now: _dt.datetime | None = None,
    actor: Actor | None = None,
) -> int:
    """Revoke the admin token given (by its value) or every token with ``name``; the number revoked.

    Revoked tokens stay in the table (with ``revoked_at``) and authenticate no more (403).
    """
    if (token is None) == (name is None):
        raise _input("revoke by token or by name, not both and not neither")
    db.create_tables(engine)
    cond = AdminToken.token_hash == token_hash(token) if token is not None else AdminToken.name == name
    now = now or utcnow()
    with db.write_session(engine) as session:
        live = session.exec(
            select(AdminToken).where(cond, col(AdminToken.revoked_at).is_(None)).with_for_update()
        ).all()
        for row in live:
            row.revoked_at = now
            session.add(row)
            _audit(session, actor or CLI, "admin_token.revoke", "admin_token", row.id, now, name=row.name)
        count = len(live)
    logger.info("revoke_admin_tokens >>> %d revoked", count)
    return count


def _hide_value(reason: str, value: Any, type_name: str) -> str:
    """``reason`` with the value it quotes replaced by "the value", and nothing else touched.

    ``circuits.attributes`` quotes the raw value first ("{value} is outside the declared
    [a, b]", "{value} has more than …") or last ("not an ISO date: {value!r}"); its other
    messages name types only. So the value is replaced there and only there: replacing
    every occurrence garbled messages ("[the value0, the value00]" for 1 against
    [10, 100], "got the valueType" for None). If the value still appears as a token of
    its own, the message is not used at all.
    """
    for form in dict.fromkeys((repr(value), str(value))):
        if form and reason.startswith(form + " "):
            reason = "the value" + reason[len(form) :]
        if form and reason.endswith(": " + form):
            reason = reason[: -len(form)] + "the value"
    for form in {str(value), repr(value)}:
        if form and re.search(r"(?<![\w.+-])" + re.escape(form) + r"(?![\w.])", reason):
            return f"not a valid {type_name} value"
    return reason


def _check_values(schema: Schema, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values in their typed JSON form, or INPUT naming the attribute — never echoing the value."""
    names = [a.name for a in schema.attributes]
    missing, extra = sorted(set(names) - values.keys()), sorted(set(values) - set(names))
    if missing or extra:
        raise _input(f"attributes: missing {missing}, unexpected {extra}", "invalid-attributes")
    typed = {}
    for a in schema.attributes:
        value = values[a.name]
        try:
            a.type.encode(value)
            typed[a.name] = a.type.to_json(value)
        except (ZkCredError, ValueError, TypeError, ArithmeticError) as e:
            reason = _hide_value(str(e), value, str(a.type))
            raise _input(f"attributes: {a.name} ({a.type}): {reason}", "invalid-attributes") from e
    return typed


def _offer_item(item: Any) -> tuple[str, Mapping[str, Any]]:
    """``(credential_definition_id, attributes)`` of one offer request, or INPUT."""
    if not isinstance(item, Mapping) or set(item) != {"credential_definition_id", "attributes"}:
        raise _input("an offer is an object {credential_definition_id, attributes}")
    did, attributes = item["credential_definition_id"], item["attributes"]
    if not isinstance(did, str) or not 1 <= len(did) <= 128 or "\x00" in did:
        raise _input("credential_definition_id: a string of 1–128 characters (no NUL)")
    if not isinstance(attributes, Mapping) or len(attributes) > 64:
        raise _input("attributes: an object {name: value} of at most 64 attributes", "invalid-attributes")
    return did, attributes


def _bulk_error(errors: list[tuple[int, IssuerError]], total: int) -> IssuerError:
    """One error for a refused bulk request, listing each refused item (nothing was created)."""
    kinds = {(e.kind, e.slug) for _, e in errors}
    kind, slug = (ErrorKind.INPUT, "invalid-offers")
    if len(kinds) == 1 and next(iter(kinds))[0] is not ErrorKind.INPUT:  # e.g. every one registry-full
        kind, slug = next(iter(kinds))
    return IssuerError(kind, f"{len(errors)} of {total} offer(s) refused; none was created", slug=slug, items=errors)


class IssuerService:
    """Schemas, credential definitions, offers, issuance, revocation — one issuer's domain."""

    def __init__(
        self,
        *,
        engine: Engine,
        settings: Settings,
        publisher: LedgerPublisher,
        backend: GroupBackend | None = None,
        clock: Callable[[], _dt.datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.publisher = publisher
        self.backend = backend or get_backend()
        self.clock = clock
        self._sealer = Sealer(settings.master_key)
        self._ledger_key: Ed25519PrivateKey | None = None
        self.issuer_id: str = ""
        self.ledger_public_key: bytes = b""
        self._registered = False
        self._outbox: Outbox | None = None

    def __repr__(self) -> str:
        return f"IssuerService(issuer_id={self.issuer_id!r})"

    # -------------------------------------------------------------- start-up

    @classmethod
    def open(
        cls,
        *,
        settings: Settings,
        publisher: LedgerPublisher,
        engine: Engine | None = None,
        backend: GroupBackend | None = None,
        clock: Callable[[], _dt.datetime] = utcnow,
        register: bool = True,
        deliver: bool = True,
    ) -> IssuerService:
        """Create the tables, load (or create) the issuer identity, register it on the ledger, deliver the outbox.

        Raises :class:`~issuer.config.ConfigError` if the master key does not open this
        database's sealed keys or ``ZKCRED_ISSUER_ID`` contradicts the stored id. An
        unreachable ledger does not stop start-up: registration is retried before the
        first publication, and what is pending in the outbox stays pending (``deliver``:
        try once now — what a crash left behind goes out before the first request).
        """
        engine = engine or db.make_engine(settings.database_url)
        db.create_tables(engine)
        service = cls(engine=engine, settings=settings, publisher=publisher, backend=backend, clock=clock)
        service._load_identity()
        if register:
            try:
                service.ensure_registered()
            except IssuerError as e:
                if e.kind is not ErrorKind.LEDGER_UNAVAILABLE:
                    raise
                logger.warning("issuer registration postponed: %s", e.detail)
        if deliver:
            service.outbox.deliver()
        return service

    def _load_identity(self) -> None:
        for _ in range(2):
            with db.read_session(self.engine) as session:
                row = session.get(IssuerIdentity, 1)
            if row is not None:
                break
            key = Ed25519PrivateKey.generate()
            public = key.public_key().public_bytes_raw()
            issuer_id = self.settings.issuer_id or f"issuer-{public.hex()[:16]}"
            try:
                with db.write_session(self.engine) as session:
                    session.add(
                        IssuerIdentity(
                            id=1,
                            issuer_id=issuer_id,
                            name=self.settings.issuer_name,
                            ledger_public_key=public.hex(),
                            ledger_key_sealed=self._sealer.seal(key.private_bytes_raw(), _p_ledger_key(issuer_id)),
                            created_at=self.clock(),
                        )
                    )
            except IntegrityError:  # another worker created it first: read theirs
                continue
        assert row is not None
        if self.settings.issuer_id and self.settings.issuer_id != row.issuer_id:
            raise ConfigError(
                f"ZKCRED_ISSUER_ID is {self.settings.issuer_id!r}, but this database belongs to "
                f"issuer {row.issuer_id!r}"
            )
        try:
            seed = self._sealer.open(row.ledger_key_sealed, _p_ledger_key(row.issuer_id))
        except UnsealError as e:
            raise ConfigError(
                "ZKCRED_MASTER_KEY does not open this database's keys (it is not the key the database was created with)"
            ) from e
        self._ledger_key = Ed25519PrivateKey.from_private_bytes(seed)
        self.issuer_id = row.issuer_id
        self.ledger_public_key = bytes.fromhex(row.ledger_public_key)
        self._registered = row.registration_seq is not None

    def ensure_registered(self) -> None:
        """Publish ``issuer_registration`` unless the ledger already has our key for our id."""
        if self._registered:
            return
        current = self.publisher.issuer_key(self.issuer_id)
        seq: int | None = None
        if current is None:
            payload: dict[str, Any] = {"ledger_key": self.ledger_public_key.hex(), "bbs_public_keys": []}
            if self.settings.issuer_name:
                payload["name"] = self.settings.issuer_name
            try:
                seq = self.publisher.publish(
                    key=self._key, issuer_id=self.issuer_id, entry_type="issuer_registration", payload=payload
                )
            except IssuerError as e:
                if e.slug != "issuer-exists":
                    raise
                current = self.publisher.issuer_key(self.issuer_id)  # another worker registered us
        if seq is None and current != self.ledger_public_key:
            raise IssuerError(
                ErrorKind.LEDGER_REFUSED,
                f"issuer id {self.issuer_id!r} is registered on the ledger under another key",
                slug="issuer-id-taken",
            )
        with db.write_session(self.engine) as session:
            row = session.get(IssuerIdentity, 1)
            assert row is not None
            if row.registration_seq is None:
                row.registration_seq = seq if seq is not None else -1  # -1: found on the ledger, seq not tracked
                session.add(row)
        self._registered = True
        logger.info("issuer %s registered on the ledger", self.issuer_id)

    def check_keys(self) -> None:
        """Readiness: the master key still opens the stored identity key, and it is the one loaded.

        Raises ``ConfigError`` (never the key) when not; ``GET /health/ready`` names the check.
        """
        with db.read_session(self.engine) as session:
            row = session.get(IssuerIdentity, 1)
        if row is None or self._ledger_key is None:
            raise ConfigError("the issuer identity is not loaded")
        try:
            seed = self._sealer.open(row.ledger_key_sealed, _p_ledger_key(row.issuer_id))
        except UnsealError as e:
            raise ConfigError("ZKCRED_MASTER_KEY does not open the issuer's keys") from e
        if Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw() != self.ledger_public_key:
            raise ConfigError("the stored issuer key is not the one this process loaded")

    @property
    def _key(self) -> Ed25519PrivateKey:
        assert self._ledger_key is not None, "IssuerService.open() loads the identity"
        return self._ledger_key

    def _publish(self, entry_type: str, payload: Mapping[str, Any]) -> int:
        """Publish now, outside any transaction: not crash-safe — queue with :meth:`_enqueue` instead."""
        self.ensure_registered()
        return self.publisher.publish(key=self._key, issuer_id=self.issuer_id, entry_type=entry_type, payload=payload)

    @property
    def outbox(self) -> Outbox:
        """The durable outbox of this issuer's publications (``issuer.outbox``)."""
        if self._outbox is None:
            self._outbox = Outbox(
                engine=self.engine,
                publisher=self.publisher,
                issuer_id=self.issuer_id,
                key=lambda: self._key,
                register=self.ensure_registered,
                clock=self.clock,
            )
        return self._outbox

    def _enqueue(
        self, session: Any, entry_type: str, payload: Mapping[str, Any], *, subject: str, subject_id: str
    ) -> int:
        """Queue a ledger entry in ``session``'s transaction, the one writing the record it publishes."""
        return enqueue(
            session,
            issuer_id=self.issuer_id,
            entry_type=entry_type,
            payload=payload,
            subject=subject,
            subject_id=subject_id,
            now=self.clock(),
        )

    def _deliver_through(self, outbox_id: int) -> Delivery:
        """After the commit: publish the outbox up to ``outbox_id`` now (the response waits, as it always did)."""
        return self.outbox.deliver(through=outbox_id)

    # -------------------------------------------------------------- admin tokens

    def create_admin_token(self, name: str = "admin", *, actor: Actor | None = None) -> str:
        """A new admin bearer token; returned once, stored as its SHA-256 hash."""
        return create_admin_token(self.engine, name=name, now=self.clock(), actor=actor or IN_PROCESS)

    def authenticate_admin(self, token: str | None) -> str:
        """The admin token's id, or UNAUTHORIZED (no token) / FORBIDDEN (not a valid admin token)."""
        return self.admin_actor(token).token_id or ""

    def admin_actor(self, token: str | None) -> Actor:
        """The admin token's id and label (for the audit trail), or UNAUTHORIZED / FORBIDDEN."""
        if not token:
            raise IssuerError(ErrorKind.UNAUTHORIZED, "an admin bearer token is required")
        actor = self.admin_actor_by_hash(token_hash(token))
        if actor is None:
            raise IssuerError(ErrorKind.FORBIDDEN, "the bearer token is not a valid admin token")
        return actor

    def admin_actor_by_hash(self, hashed: str) -> Actor | None:
        """The live admin token stored as ``hashed`` (its SHA-256, hex), or None (unknown or revoked).

        The web console's session refers to its token this way: never the token itself.
        """
        with db.read_session(self.engine) as session:
            row = session.exec(select(AdminToken).where(AdminToken.token_hash == hashed)).first()
        return None if row is None or row.revoked_at is not None else Actor(row.id, row.name)

    # -------------------------------------------------------------- schemas

    def create_schema(
        self, *, name: str, version: str, attributes: list[Mapping[str, Any]], actor: Actor | None = None
    ) -> SchemaInfo:
        """Define a schema and publish it; its id is the hash of its canonical JSON.

        The schema and its ledger entry (outbox) are one transaction; the entry is then
        delivered at once, or later if the ledger is down (``ledger_seq`` None: pending).
        A schema of the same name and version exists already: CONFLICT ``schema-exists``
        naming it (``existing_id``) — the database's unique key decides between concurrent
        creators.
        """
        logger.debug("create_schema >>> name=%r version=%r", name, version)
        try:
            specs = tuple(AttributeSpec(a["name"], AttributeType.parse(a["type"])) for a in attributes)
            schema = Schema(name, version, specs)
        except (ZkCredError, KeyError, TypeError) as e:
            raise _input(f"schema: {e}", "invalid-schema") from e
        self._refuse_duplicate_schema(schema)
        body = schema.to_json()
        try:
            with db.write_session(self.engine) as session:
                session.add(
                    SchemaRow(
                        id=schema.id,
                        name=schema.name,
                        version=schema.version,
                        schema_doc=canonical_json(body).decode(),
                        ledger_seq=None,
                        created_at=self.clock(),
                    )
                )
                session.flush()  # the unique keys are checked here, before anything is queued
                outbox_id = self._enqueue(
                    session, "schema", {"schema_id": schema.id, **body}, subject="schema", subject_id=schema.id
                )
                _audit(
                    session,
                    actor,
                    "schema.create",
                    "schema",
                    schema.id,
                    self.clock(),
                    name=schema.name,
                    version=schema.version,
                )
                crash_point("schema:before-commit")
        except IntegrityError:
            self._refuse_duplicate_schema(schema)  # the concurrent creator's row is committed now
            raise  # not a duplicate: a bug
        crash_point("schema:committed")
        self._deliver_through(outbox_id)
        return self.get_schema(schema.id)

    def _refuse_duplicate_schema(self, schema: Schema) -> None:
        with db.read_session(self.engine) as session:
            found = session.exec(
                select(SchemaRow).where(
                    (col(SchemaRow.id) == schema.id)
                    | ((col(SchemaRow.name) == schema.name) & (col(SchemaRow.version) == schema.version))
                )
            ).first()
        if found is not None:
            raise IssuerError(
                ErrorKind.CONFLICT,
                f"schema {found.name!r} version {found.version!r} exists already ({found.id})",
                slug="schema-exists",
                extra={"existing_id": found.id},
            )

    def list_schemas(self) -> list[SchemaInfo]:
        with db.read_session(self.engine) as session:
            rows = session.exec(select(SchemaRow).order_by(col(SchemaRow.created_at), col(SchemaRow.id))).all()
        return [_schema_info(r) for r in rows]

    def get_schema(self, schema_id: str) -> SchemaInfo:
        with db.read_session(self.engine) as session:
            row = session.get(SchemaRow, schema_id)
        if row is None:
            raise IssuerError(ErrorKind.NOT_FOUND, f"no schema {schema_id!r}")
        return _schema_info(row)

    # -------------------------------------------------------------- credential definitions

    def create_credential_definition(
        self,
        *,
        schema_id: str,
        tag: str,
        revocable: bool,
        capacity: int | None = None,
        validity_days: int = 365,
        actor: Actor | None = None,
        supersedes: str | None = None,
    ) -> DefinitionInfo:
        """BBS keys (and, if revocable, an accumulator registry of ``capacity`` handles), published.

        ``supersedes``: the definition this one replaces (:meth:`rotate_credential_definition`).
        """
        logger.debug(
            "create_credential_definition >>> schema_id=%r tag=%r revocable=%r capacity=%r",
            schema_id,
            tag,
            revocable,
            capacity,
        )
        if not isinstance(tag, str) or not 0 < len(tag) <= 64 or not tag.isprintable():
            raise _input("tag: 1–64 printable characters")
        if (
            isinstance(validity_days, bool)
            or not isinstance(validity_days, int)
            or not 1 <= validity_days <= MAX_VALIDITY_DAYS
        ):
            raise _input(f"validity_days: an integer in [1, {MAX_VALIDITY_DAYS}]")
        if revocable:
            if (
                isinstance(capacity, bool)
                or not isinstance(capacity, int)
                or not 1 <= capacity <= MAX_REGISTRY_CAPACITY
            ):
                raise _input(f"a revocable definition needs a capacity in [1, {MAX_REGISTRY_CAPACITY}]")
        elif capacity is not None:
            raise _input("capacity applies to revocable definitions only")
        with db.read_session(self.engine) as session:
            schema_row = session.get(SchemaRow, schema_id)
        if schema_row is None:
            raise _input(f"no schema {schema_id!r}", "unknown-schema")
        schema = Schema.from_json(json.loads(schema_row.schema_doc))
        self._refuse_duplicate_definition(schema.id, tag)

        be = self.backend
        sk = bbs.keygen(secrets.token_bytes(32), suite=bbs.SHA256)
        pk = bbs.sk_to_pk(sk, suite=bbs.SHA256, backend=be)
        registry = secret = None
        if revocable:
            assert capacity is not None
            registry_id = f"revreg:{secrets.token_hex(16)}"
            secret, registry = accumulator.setup_registry(registry_id.encode(), capacity, backend=be)
            rev = RevocationRegistry(registry_id, capacity, be.g2_to_bytes(registry.Q))
        else:
            rev = None
        definition = CredentialDefinition(self.issuer_id, schema, tag, pk, rev, SUITE)
        did = definition.id

        row = CredentialDefinitionRow(
            id=did,
            schema_id=schema.id,
            tag=tag,
            revocable=bool(revocable),
            capacity=capacity if revocable else None,
            validity_days=validity_days,
            definition_json=canonical_json(definition.to_json()).decode(),
            bbs_secret_key_sealed=self._sealer.seal(sk, _p_bbs(did)),
            ledger_seq=None,
            created_at=self.clock(),
            supersedes=supersedes,
        )
        announced: dict[str, Any] = {
            "cred_def_id": did,
            "schema_id": schema.id,
            "ciphersuite": definition.suite,
            "bbs_public_key": b64e(pk),
            "tag": tag,
        }
        if supersedes is not None:
            announced["supersedes"] = supersedes
        entries: list[tuple[str, dict[str, Any], str, str]] = [
            ("credential_definition", announced, "credential_definition", did)
        ]
        if rev is not None and registry is not None and secret is not None:
            v0 = be.g1_to_bytes(registry.V0)
            row.registry_id = rev.id
            row.accumulator_secret_sealed = self._sealer.seal(secret.alpha.to_bytes(32, "big"), _p_alpha(did))
            row.accumulator = v0  # accumulator_seq and registry_seq: when the registry entry is delivered
            entries.append(
                (
                    "revocation_registry",
                    {
                        "registry_id": rev.id,
                        "cred_def_id": did,
                        "capacity": rev.capacity,
                        "q": b64e(rev.Q),
                        "v0": b64e(v0),
                    },
                    "revocation_registry",
                    rev.id,
                )
            )
        try:
            with db.write_session(self.engine) as session:
                session.add(row)
                session.flush()  # the unique keys are checked here, before anything is queued
                if supersedes is not None:  # one successor per definition, even for concurrent rotations
                    done = session.exec(
                        update(CredentialDefinitionRow)  # type: ignore[call-overload]
                        .where(
                            col(CredentialDefinitionRow.id) == supersedes,
                            col(CredentialDefinitionRow.superseded_by).is_(None),
                        )
                        .values(superseded_by=did)
                    )
                    if done.rowcount != 1:
                        raise self._superseded_error(supersedes)
                outbox_id = 0
                for entry_type, payload, subject, subject_id in entries:
                    outbox_id = self._enqueue(session, entry_type, payload, subject=subject, subject_id=subject_id)
                _audit(
                    session,
                    actor,
                    "credential_definition.create",
                    "credential_definition",
                    did,
                    self.clock(),
                    schema_id=schema.id,
                    tag=tag,
                    revocable=bool(revocable),
                    capacity=row.capacity,
                    registry_id=row.registry_id,
                    supersedes=supersedes,
                )
                crash_point("credential_definition:before-commit")
        except IntegrityError:
            self._refuse_duplicate_definition(schema.id, tag)  # a concurrent creator committed first
            raise  # not a duplicate: a bug
        crash_point("credential_definition:committed")
        self._deliver_through(outbox_id)
        return self.get_credential_definition(did)

    def rotate_credential_definition(
        self,
        definition_id: str,
        *,
        tag: str | None = None,
        validity_days: int | None = None,
        capacity: int | None = None,
        actor: Actor | None = None,
    ) -> DefinitionInfo:
        """A new definition (fresh BBS key, fresh registry) that supersedes ``definition_id``.

        Same schema; tag, validity and capacity as the old one unless given (the tag
        becomes ``<tag>#r2``, ``#r3``, …). The ledger entry carries ``supersedes``, so
        wallets and verifiers learn the successor. The old definition takes no new offers
        and issues no more (409 ``definition-superseded`` with ``successor_id``); its
        credentials keep verifying wherever a lender's request still lists it, and can be
        revoked as before. A definition is superseded once.
        """
        logger.debug("rotate_credential_definition >>> %r", definition_id)
        with db.read_session(self.engine) as session:
            old = session.get(CredentialDefinitionRow, definition_id)
        if old is None:
            raise IssuerError(ErrorKind.NOT_FOUND, f"no credential definition {definition_id!r}")
        if old.superseded_by is not None:
            raise self._superseded_error(definition_id, old.superseded_by)
        if tag is None:
            base, sep, n = old.tag.rpartition("#r")
            tag = f"{base}#r{int(n) + 1}" if sep and n.isdigit() else f"{old.tag}#r2"
        return self.create_credential_definition(
            schema_id=old.schema_id,
            tag=tag,
            revocable=old.revocable,
            capacity=(capacity or old.capacity) if old.revocable else capacity,
            validity_days=validity_days or old.validity_days,
            supersedes=old.id,
            actor=actor,
        )

    def _superseded_error(self, definition_id: str, successor: str | None = None) -> IssuerError:
        if successor is None:
            with db.read_session(self.engine) as session:
                row = session.get(CredentialDefinitionRow, definition_id)
            successor = row.superseded_by if row is not None else None
        return IssuerError(
            ErrorKind.CONFLICT,
            f"credential definition {definition_id} is superseded by {successor}",
            slug="definition-superseded",
            extra={"successor_id": successor},
        )

    def _refuse_superseded(self, definition_id: str) -> None:
        with db.read_session(self.engine) as session:
            row = session.get(CredentialDefinitionRow, definition_id)
        if row is not None and row.superseded_by is not None:
            raise self._superseded_error(definition_id, row.superseded_by)

    def _refuse_duplicate_definition(self, schema_id: str, tag: str) -> None:
        with db.read_session(self.engine) as session:
            found = session.exec(
                select(CredentialDefinitionRow).where(
                    col(CredentialDefinitionRow.schema_id) == schema_id, col(CredentialDefinitionRow.tag) == tag
                )
            ).first()
        if found is not None:
            raise IssuerError(
                ErrorKind.CONFLICT,
                f"a credential definition of this schema with tag {tag!r} exists already ({found.id})",
                slug="definition-exists",
                extra={"existing_id": found.id},
            )

    def list_credential_definitions(self) -> list[DefinitionInfo]:
        with db.read_session(self.engine) as session:
            rows = session.exec(
                select(CredentialDefinitionRow).order_by(
                    col(CredentialDefinitionRow.created_at), col(CredentialDefinitionRow.id)
                )
            ).all()
        return [_definition_info(r) for r in rows]

    def get_credential_definition(self, definition_id: str) -> DefinitionInfo:
        with db.read_session(self.engine) as session:
            row = session.get(CredentialDefinitionRow, definition_id)
        if row is None:
            raise IssuerError(ErrorKind.NOT_FOUND, f"no credential definition {definition_id!r}")
        return _definition_info(row)

    # -------------------------------------------------------------- offers

    def create_offer(
        self, *, credential_definition_id: str, attributes: Mapping[str, Any], actor: Actor | None = None
    ) -> dict[str, Any]:
        """An offer document for a holder, with its one-time token (returned here only).

        For a revocable definition the offer reserves a revocation index until it is issued,
        cancelled or expires; with none left it is refused now (REGISTRY_FULL), not when the
        holder accepts it (see :meth:`create_offers`).
        """
        logger.debug("create_offer >>> definition=%r", credential_definition_id)
        item = {"credential_definition_id": credential_definition_id, "attributes": attributes}
        try:
            return self.create_offers([item], actor=actor, batch=False)["items"][0]
        except IssuerError as e:
            if e.items:  # one item: its own problem, as before bulk offers existed
                raise e.items[0][1] from e
            raise

    def create_offers(self, items: Sequence[Any], *, actor: Actor | None = None, batch: bool = True) -> dict[str, Any]:
        """Up to :data:`MAX_BULK_OFFERS` offers, all or nothing: ``{batch_id, items: [offer…]}`` in order.

        ``batch_id`` (on each offer, in the listing and the audit) names this call; with
        ``batch=False`` (:meth:`create_offer`) there is none.

        Every item is checked before anything is written; if any is refused, nothing is
        created and the error lists each refused item as ``(index, IssuerError)`` (kind
        and slug of the items' problem if they all share one that is not INPUT — e.g. REGISTRY_FULL,
        or CONFLICT ``definition-superseded`` for a rotated definition — else INPUT ``invalid-offers``).

        Reservations: a *pending* offer (neither issued nor cancelled, not expired) of a
        revocable definition holds one revocation index. An offer is refused unless
        ``next_index + pending + new ≤ capacity``, counted under the definition row's lock
        (PostgreSQL ``FOR UPDATE``; SQLite's write lock), which issuance also takes, so
        concurrent offers and issuances never over-commit the registry. An expired or
        cancelled offer frees its index; an issued one turned it into ``next_index``.
        """
        if not isinstance(items, Sequence) or isinstance(items, (str, bytes)):
            raise _input("offers: a list")
        if not 1 <= len(items) <= MAX_BULK_OFFERS:
            raise _input(f"offers: 1–{MAX_BULK_OFFERS} items")
        logger.debug("create_offers >>> %d item(s)", len(items))
        errors: list[tuple[int, IssuerError]] = []
        prepared: list[tuple[int, CredentialDefinitionRow, CredentialDefinition, dict[str, Any]]] = []
        definitions: dict[str, tuple[CredentialDefinitionRow, CredentialDefinition] | None] = {}
        for index, item in enumerate(items):
            try:
                did, attributes = _offer_item(item)
                if did not in definitions:
                    with db.read_session(self.engine) as session:
                        row = session.get(CredentialDefinitionRow, did)
                    definitions[did] = (
                        None if row is None else (row, CredentialDefinition.from_json(json.loads(row.definition_json)))
                    )
                found = definitions[did]
                if found is None:
                    raise _input(f"no credential definition {did!r}", "unknown-credential-definition")
                if found[0].superseded_by is not None:  # checked again under the row lock below
                    raise self._superseded_error(did, found[0].superseded_by)
                prepared.append((index, found[0], found[1], _check_values(found[1].schema, attributes)))
            except IssuerError as e:
                errors.append((index, e))
        if errors:
            raise _bulk_error(errors, len(items))

        batch_id = f"batch_{uuid.uuid4().hex}" if batch else None
        now = self.clock()
        expires_at = now + _dt.timedelta(seconds=self.settings.offer_ttl_seconds)
        out: list[dict[str, Any]] = []
        with db.write_session(self.engine) as session:
            wanted: dict[str, list[int]] = {}
            for index, row, _, _ in prepared:
                wanted.setdefault(row.id, []).append(index)
            for did in sorted(wanted):  # one lock order: concurrent bulks never deadlock
                # the row lock orders this against issuance and against a rotation superseding it
                drow = session.exec(
                    select(CredentialDefinitionRow)
                    .where(CredentialDefinitionRow.id == did)
                    .with_for_update()
                    .execution_options(populate_existing=True)
                ).one()
                if drow.superseded_by is not None:
                    errors += [(index, self._superseded_error(did, drow.superseded_by)) for index in wanted[did]]
                    continue
                if not drow.revocable:
                    continue
                free = self._free_indexes(session, drow, now)
                errors += [
                    (
                        index,
                        IssuerError(
                            ErrorKind.REGISTRY_FULL,
                            f"the revocation registry of {did} has {max(free, 0)} free index(es) for "
                            f"{len(wanted[did])} offer(s) (issued credentials and pending offers hold the others)",
                            slug="registry-full",
                        ),
                    )
                    for index in wanted[did][max(free, 0) :]
                ]
            if errors:
                raise _bulk_error(sorted(errors, key=lambda e: e[0]), len(items))
            # One created_at for the batch; listings order by (created_at, id), so the random ids
            # are handed out sorted and the listing shows a batch in request order.
            offer_ids = sorted(f"offer_{uuid.uuid4().hex}" for _ in prepared)
            for (index, row, definition, typed), offer_id in zip(prepared, offer_ids, strict=True):
                token = new_token("zko")
                session.add(
                    OfferRow(
                        id=offer_id,
                        definition_id=row.id,
                        token_hash=token_hash(token),
                        values_sealed=self._sealer.seal(canonical_json(typed), _p_values(offer_id)),
                        created_at=now,
                        expires_at=expires_at,
                        batch_id=batch_id,
                    )
                )
                detail: dict[str, Any] = {"definition_id": row.id}
                if batch_id is not None:
                    detail |= {"batch_id": batch_id, "index": index}
                _audit(session, actor, "offer.create", "offer", offer_id, now, **detail)
                out.append(
                    {
                        "offer_id": offer_id,
                        "token": token,
                        "issuer_url": self.settings.issuer_url,
                        "credential_definition_id": row.id,
                        "definition": definition.to_json(),
                        "attributes": typed,
                        "expires_at": _iso(expires_at),
                    }
                )
        return {"batch_id": batch_id, "items": out}

    @staticmethod
    def _free_indexes(session: Any, drow: CredentialDefinitionRow, now: _dt.datetime) -> int:
        """Revocation indexes neither taken nor reserved by a pending offer (``drow`` locked by the caller)."""
        pending = session.exec(
            select(func.count())
            .select_from(OfferRow)
            .where(OfferRow.definition_id == drow.id, _offer_status_filter("pending", now))
        ).one()
        return int(drow.capacity or 0) - int(drow.next_index) - int(pending)

    def list_offers(
        self,
        *,
        status: str | None = None,
        definition_id: str | None = None,
        batch_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[OfferInfo]:
        """Offers, oldest first, with their status and — once issued — the credential's id."""
        if status is not None and status not in OFFER_STATUSES:
            raise _input(f"status: one of {', '.join(OFFER_STATUSES)}")
        if not 1 <= limit <= MAX_PAGE or offset < 0:
            raise _input(f"limit in [1, {MAX_PAGE}], offset ≥ 0")
        now = self.clock()
        query = select(OfferRow, CredentialRow.id).outerjoin(CredentialRow, col(CredentialRow.offer_id) == OfferRow.id)
        if status is not None:
            query = query.where(_offer_status_filter(status, now))
        if definition_id is not None:
            query = query.where(OfferRow.definition_id == definition_id)
        if batch_id is not None:
            query = query.where(OfferRow.batch_id == batch_id)
        query = query.order_by(col(OfferRow.created_at), col(OfferRow.id)).offset(offset).limit(limit)
        with db.read_session(self.engine) as session:
            rows = session.exec(query).all()
        return [_offer_info(offer, cid, now) for offer, cid in rows]

    def get_offer(self, offer_id: str) -> OfferInfo:
        with db.read_session(self.engine) as session:
            found = session.exec(
                select(OfferRow, CredentialRow.id)
                .outerjoin(CredentialRow, col(CredentialRow.offer_id) == OfferRow.id)
                .where(OfferRow.id == offer_id)
            ).first()
        if found is None:
            raise IssuerError(ErrorKind.NOT_FOUND, f"no offer {offer_id!r}")
        return _offer_info(found[0], found[1], self.clock())

    def cancel_offer(self, offer_id: str, *, actor: Actor | None = None) -> OfferInfo:
        """Cancel an offer not yet issued: its token is refused from now on, its index (if any) freed.

        INVALID_STATE ``offer-issued`` if a credential was issued (revoke that instead);
        CONFLICT ``already-cancelled`` the second time. An expired offer can be cancelled.
        The offer row is locked (``FOR UPDATE``) against the claim in :meth:`issue_credential`,
        whose ``UPDATE … WHERE used = false AND cancelled_at IS NULL`` then fails.
        """
        logger.debug("cancel_offer >>> offer=%r", offer_id)
        with db.write_session(self.engine) as session:
            offer = session.exec(
                select(OfferRow)
                .where(OfferRow.id == offer_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            ).first()
            if offer is None:
                raise IssuerError(ErrorKind.NOT_FOUND, f"no offer {offer_id!r}")
            if offer.cancelled_at is not None:
                raise IssuerError(
                    ErrorKind.CONFLICT, f"offer {offer_id} is already cancelled", slug="already-cancelled"
                )
            if offer.used:
                raise IssuerError(
                    ErrorKind.INVALID_STATE,
                    f"offer {offer_id} has been issued; revoke its credential instead",
                    slug="offer-issued",
                )
            now = self.clock()
            offer.cancelled_at = now
            session.add(offer)
            _audit(session, actor, "offer.cancel", "offer", offer_id, now, definition_id=offer.definition_id)
        return _offer_info(offer, None, now)

    # -------------------------------------------------------------- issuance

    def offer_document(self, *, offer_id: str, token: str | None) -> dict[str, Any]:
        """The offer document (as :meth:`create_offer` returned it) for the holder of its token, while it is open.

        What a deep link ``zkcred://accept?offer_uri=<issuer>/offers/<id>?token=<token>`` hands a
        wallet (the web console shows it as a QR code): the token is the capability, checked
        as :meth:`issue_credential` checks it; a used, cancelled or expired offer is refused.
        """
        if not token:
            raise IssuerError(ErrorKind.UNAUTHORIZED, "the offer's token is required")
        with db.read_session(self.engine) as session:
            offer = session.get(OfferRow, offer_id)
            drow = None if offer is None else session.get(CredentialDefinitionRow, offer.definition_id)
        if offer is None or drow is None:
            raise IssuerError(ErrorKind.NOT_FOUND, f"no offer {offer_id!r}")
        if not secrets.compare_digest(offer.token_hash, token_hash(token)):
            raise IssuerError(ErrorKind.FORBIDDEN, "the token is not this offer's token", slug="invalid-token")
        self._check_offer_open(offer)
        return {
            "offer_id": offer.id,
            "token": token,
            "issuer_url": self.settings.issuer_url,
            "credential_definition_id": drow.id,
            "definition": json.loads(drow.definition_json),
            "attributes": json.loads(self._sealer.open(offer.values_sealed, _p_values(offer.id))),
            "expires_at": _iso(offer.expires_at),
        }

    def issue_credential(self, *, offer_id: str, token: str | None, request: str) -> dict[str, Any]:
        """Blind-sign the holder's request once per offer token; the credential and its witness."""
        logger.debug("issue_credential >>> offer=%r", offer_id)
        if not token:
            raise IssuerError(ErrorKind.UNAUTHORIZED, "the offer's bearer token is required")
        try:
            request_bytes = b64d(request)
        except ZkCredError as e:
            raise _input(f"request: {e}", "invalid-credential-request") from e
        if not request_bytes:
            raise _input("request: empty; it must carry the link-secret commitment", "invalid-credential-request")
        with db.read_session(self.engine) as session:
            offer = session.get(OfferRow, offer_id)
        if offer is None:
            raise IssuerError(ErrorKind.NOT_FOUND, f"no offer {offer_id!r}")
        if not secrets.compare_digest(offer.token_hash, token_hash(token)):
            raise IssuerError(ErrorKind.FORBIDDEN, "the bearer token is not this offer's token", slug="invalid-token")
        if offer.used and (replay := self._replay_issuance(offer, request_bytes)) is not None:
            return replay
        self._check_offer_open(offer)
        self._refuse_superseded(offer.definition_id)
        self._ensure_published(offer.definition_id)

        with db.write_session(self.engine) as session:
            now = self.clock()
            claimed = session.exec(  # type: ignore[call-overload]
                update(OfferRow)
                .where(
                    col(OfferRow.id) == offer_id,
                    col(OfferRow.used) == False,  # noqa: E712
                    col(OfferRow.cancelled_at).is_(None),
                    col(OfferRow.expires_at) > now,
                )  # as reservations count it
                .values(used=True, used_at=now)
            )
            if claimed.rowcount != 1:  # used, cancelled or expired meanwhile: say which
                self._check_offer_open(
                    session.exec(
                        select(OfferRow).where(OfferRow.id == offer_id).execution_options(populate_existing=True)
                    ).one()
                )
                raise IssuerError(ErrorKind.CONFLICT, "this offer has already been used", slug="offer-used")
            drow = session.get(CredentialDefinitionRow, offer.definition_id)
            assert drow is not None
            definition = CredentialDefinition.from_json(json.loads(drow.definition_json))
            index: int | None = None
            if drow.revocable:
                taken = session.exec(  # type: ignore[call-overload]
                    update(CredentialDefinitionRow)
                    .where(
                        col(CredentialDefinitionRow.id) == drow.id,
                        col(CredentialDefinitionRow.next_index) < col(CredentialDefinitionRow.capacity),
                    )
                    .values(next_index=CredentialDefinitionRow.next_index + 1)
                    .returning(
                        col(CredentialDefinitionRow.next_index),
                        col(CredentialDefinitionRow.accumulator),
                        col(CredentialDefinitionRow.accumulator_seq),
                    )
                ).first()
                if taken is None:
                    raise IssuerError(
                        ErrorKind.REGISTRY_FULL, f"every one of the {drow.capacity} revocation indexes is taken"
                    )
                index, v_bytes, v_seq = taken[0] - 1, bytes(taken[1]), taken[2]
                if v_seq is None:  # a revocation committed since _ensure_published is not on the ledger yet
                    raise self._pending_error(drow.id)
                assert drow.registry_id is not None
                handle = accumulator.handle(drow.registry_id.encode(), index)
            else:
                handle = random_scalar()
            values = json.loads(self._sealer.open(offer.values_sealed, _p_values(offer.id)))
            expiry = now.astimezone(_dt.UTC).date() + _dt.timedelta(days=drow.validity_days)
            sk = self._sealer.open(drow.bbs_secret_key_sealed, _p_bbs(drow.id))
            try:
                signature = create_credential(
                    sk, definition, request_bytes, values, expiry, handle, backend=self.backend
                )
            except ZkCredError as e:
                raise _input(f"credential request: {e}", "invalid-credential-request") from e
            revocation = None
            if index is not None:
                assert drow.accumulator_secret_sealed is not None
                alpha = int.from_bytes(self._sealer.open(drow.accumulator_secret_sealed, _p_alpha(drow.id)), "big")
                V = self.backend.g1_from_bytes(v_bytes)
                witness = accumulator.issue_witness(accumulator.RegistrySecret(alpha), V, handle, backend=self.backend)
                revocation = {
                    "registry_id": drow.registry_id,
                    "index": index,
                    "witness": b64e(self.backend.g1_to_bytes(witness)),
                    "accumulator": b64e(v_bytes),
                    "ledger_seq": v_seq,
                }
            credential_id = f"cred_{uuid.uuid4().hex}"
            session.add(
                CredentialRow(
                    id=credential_id,
                    definition_id=drow.id,
                    offer_id=offer.id,
                    status="issued",
                    revocation_index=index,
                    expiry=expiry,
                    issued_at=now,
                )
            )
            response = {
                "credential_id": credential_id,
                "credential": {
                    "definition_id": definition.id,
                    "values": values,
                    "expiry": expiry.isoformat(),
                    "revocation_handle": f"{handle:064x}",
                    "revocation_index": index,
                    "signature": b64e(signature),
                },
                "revocation": revocation,
            }
            session.add(
                IssuanceReceiptRow(
                    offer_id=offer.id,
                    request_hash=_request_hash(request_bytes),
                    response_sealed=self._sealer.seal(canonical_json(response), _p_receipt(offer.id)),
                    created_at=now,
                )
            )
            crash_point("issuance:before-commit")
        crash_point("issuance:committed")
        return response

    def _replay_issuance(self, offer: OfferRow, request_bytes: bytes) -> dict[str, Any] | None:
        """The credential already issued on ``offer`` for exactly this request (a retry after a lost answer)."""
        with db.read_session(self.engine) as session:
            receipt = session.get(IssuanceReceiptRow, offer.id)
        if receipt is None or not secrets.compare_digest(receipt.request_hash, _request_hash(request_bytes)):
            return None
        logger.info("issue_credential >>> offer=%r: the same request again, the same credential", offer.id)
        return json.loads(self._sealer.open(receipt.response_sealed, _p_receipt(offer.id)))

    def _ensure_published(self, definition_id: str) -> None:
        """Issue only against what holders can find on the ledger: the definition, its registry, the current V.

        Anything pending is delivered first; if the ledger is still away, 503
        ``publication-pending`` and nothing changes (the offer stays usable).
        """
        for attempt in range(2):
            with db.read_session(self.engine) as session:
                row = session.get(CredentialDefinitionRow, definition_id)
            assert row is not None
            if row.ledger_seq is not None and (not row.revocable or row.accumulator_seq is not None):
                return
            if attempt == 0:
                self.outbox.deliver()
        raise self._pending_error(definition_id)

    @staticmethod
    def _pending_error(definition_id: str) -> IssuerError:
        return IssuerError(
            ErrorKind.LEDGER_UNAVAILABLE,
            f"credential definition {definition_id}: its publication "
            "on the ledger is pending (the ledger is unreachable or refusing); try again later",
            slug="publication-pending",
        )

    def _check_offer_open(self, offer: OfferRow) -> None:
        if offer.cancelled_at is not None:
            raise IssuerError(ErrorKind.INVALID_STATE, "this offer was cancelled by the issuer", slug="offer-cancelled")
        if offer.used:
            raise IssuerError(ErrorKind.CONFLICT, "this offer has already been used", slug="offer-used")
        expires_at = _aware(offer.expires_at)
        assert expires_at is not None
        if expires_at <= self.clock():
            raise IssuerError(ErrorKind.EXPIRED, "this offer has expired", slug="offer-expired")

    # -------------------------------------------------------------- issued credentials

    def list_credentials(
        self,
        *,
        status: str | None = None,
        definition_id: str | None = None,
        offer_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[CredentialInfo]:
        if status is not None and status not in STATUSES:
            raise _input(f"status: one of {', '.join(STATUSES)}")
        if not 1 <= limit <= MAX_PAGE or offset < 0:
            raise _input(f"limit in [1, {MAX_PAGE}], offset ≥ 0")
        query = select(CredentialRow)
        if status is not None:
            query = query.where(CredentialRow.status == status)
        if definition_id is not None:
            query = query.where(CredentialRow.definition_id == definition_id)
        if offer_id is not None:
            query = query.where(CredentialRow.offer_id == offer_id)
        query = query.order_by(col(CredentialRow.issued_at), col(CredentialRow.id)).offset(offset).limit(limit)
        with db.read_session(self.engine) as session:
            rows = session.exec(query).all()
        return [_credential_info(r) for r in rows]

    def get_credential(self, credential_id: str) -> CredentialInfo:
        with db.read_session(self.engine) as session:
            row = session.get(CredentialRow, credential_id)
        if row is None:
            raise IssuerError(ErrorKind.NOT_FOUND, f"no credential {credential_id!r}")
        return _credential_info(row)

    def count_credentials(self) -> int:
        with db.read_session(self.engine) as session:
            return int(session.exec(select(func.count()).select_from(CredentialRow)).one())

    # -------------------------------------------------------------- revocation

    def revoke(self, credential_id: str, *, actor: Actor | None = None) -> RevokeResult:
        """Remove the credential's handle from the accumulator and publish ``(y, V')``; CONFLICT if revoked."""
        logger.debug("revoke >>> credential=%r", credential_id)
        with db.read_session(self.engine) as session:
            found = session.get(CredentialRow, credential_id)
        if found is None:
            raise IssuerError(ErrorKind.NOT_FOUND, f"no credential {credential_id!r}")
        with db.write_session(self.engine) as session:
            # Lock the definition row first (PostgreSQL FOR UPDATE; SQLite holds the write lock
            # already), then read the credential afresh: a concurrent revoke has committed by now.
            drow = session.exec(
                select(CredentialDefinitionRow)
                .where(CredentialDefinitionRow.id == found.definition_id)
                .with_for_update()
            ).one()
            cred = session.exec(
                select(CredentialRow).where(CredentialRow.id == credential_id).execution_options(populate_existing=True)
            ).one()
            if cred.status == "revoked":
                raise IssuerError(
                    ErrorKind.CONFLICT, f"credential {credential_id} is already revoked", slug="already-revoked"
                )
            if not drow.revocable or cred.revocation_index is None:
                raise IssuerError(
                    ErrorKind.INVALID_STATE, "this credential's definition is not revocable", slug="not-revocable"
                )
            assert drow.registry_id is not None and drow.accumulator is not None
            assert drow.accumulator_secret_sealed is not None
            alpha = int.from_bytes(self._sealer.open(drow.accumulator_secret_sealed, _p_alpha(drow.id)), "big")
            y = accumulator.handle(drow.registry_id.encode(), cred.revocation_index)
            event = accumulator.revoke(
                accumulator.RegistrySecret(alpha), self.backend.g1_from_bytes(drow.accumulator), y, backend=self.backend
            )
            new_value = self.backend.g1_to_bytes(event.V)
            # V' is current from now on; accumulator_seq and revocation_seq when the entry is delivered
            drow.accumulator, drow.accumulator_seq = new_value, None
            cred.status, cred.revoked_at, cred.revocation_seq = "revoked", self.clock(), None
            session.add(drow)
            session.add(cred)
            outbox_id = self._enqueue(
                session,
                "revocation",
                {
                    "registry_id": drow.registry_id,
                    "handles": [f"{event.y:064x}"],
                    "values": [b64e(new_value)],
                },
                subject="revocation",
                subject_id=credential_id,
            )
            _audit(
                session,
                actor,
                "credential.revoke",
                "credential",
                credential_id,
                cred.revoked_at,
                definition_id=drow.id,
                registry_id=drow.registry_id,
            )
            crash_point("revocation:before-commit")
        crash_point("revocation:committed")
        self._deliver_through(outbox_id)
        return RevokeResult(credential_id, "revoked", self.outbox.seq_of(outbox_id))

    # -------------------------------------------------------------- audit trail

    def list_audit(
        self,
        *,
        action: str | None = None,
        actor: str | None = None,
        token_id: str | None = None,
        object_type: str | None = None,
        object_id: str | None = None,
        since: _dt.datetime | None = None,
        until: _dt.datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[AuditInfo]:
        """Audit records, oldest first; ``since`` inclusive, ``until`` exclusive."""
        if action is not None and action not in AUDIT_ACTIONS:
            raise _input(f"action: one of {', '.join(AUDIT_ACTIONS)}")
        if not 1 <= limit <= MAX_PAGE or offset < 0:
            raise _input(f"limit in [1, {MAX_PAGE}], offset ≥ 0")
        query = select(AuditRow)
        for column, value in (
            (AuditRow.action, action),
            (AuditRow.actor, actor),
            (AuditRow.token_id, token_id),
            (AuditRow.object_type, object_type),
            (AuditRow.object_id, object_id),
        ):
            if value is not None:
                query = query.where(column == value)
        if since is not None:
            query = query.where(col(AuditRow.at) >= _as_utc(since, "since"))
        if until is not None:
            query = query.where(col(AuditRow.at) < _as_utc(until, "until"))
        query = query.order_by(col(AuditRow.id)).offset(offset).limit(limit)
        with db.read_session(self.engine) as session:
            rows = session.exec(query).all()
        return [_audit_info(r) for r in rows]
