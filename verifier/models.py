"""The verifier's tables (sqlmodel) and its API models (pydantic), template ``models.py`` style.

Tables, prefixed ``verifier_`` so the verifier can share a database with other services,
and kept in their own ``MetaData`` (``create_all`` never touches another service's tables):

- ``verifier_api_keys(id, lender, key_hash UNIQUE, prefix, created_ms, revoked_ms)`` — a
  lender's API key is stored only as SHA-256 of the key (the key is 256 random bits, so a
  fast hash suffices; nothing to brute-force); ``prefix`` identifies it in logs.
- ``verifier_requests(id PK, lender, nonce UNIQUE, status, created_ms, expires_ms,
  max_staleness, request_json, purpose, verdict_json, answered_ms, attempts)`` — ``nonce UNIQUE``
  makes a nonce name one request; the single-use rule is the conditional
  ``UPDATE … SET status = <verdict> WHERE id = :id AND status = 'pending'`` that records
  the verdict (``verifier.db.SqlRequestStore.finish_request``): a row leaves ``pending``
  once, whichever worker or database connection gets there first. Only a verified
  presentation (or expiry) takes that path; a failing one adds 1 to ``attempts`` by the
  conditional ``UPDATE … SET attempts = attempts + 1 WHERE id = :id AND status = 'pending'``
  and, in the same transaction, the one that reaches the limit moves the row to
  ``rejected`` (``record_failed_attempt``).
- ``verifier_pseudonyms(seq PK, lender, context, pseudonym, request_id UNIQUE, verified_ms)``,
  indexed on ``(lender, pseudonym)`` — one row per *verified* request that asked for a
  pseudonym, written in the same transaction as its verdict. ``pseudonym`` is the b64url
  of the holder's G1 point for ``context``; no attribute values are stored here.

- ``verifier_state(name PK, value)`` — what the database was set up with: the pinned ledger
  key, so a verifier restarted with another ledger key refuses to start.
- ``verifier_webhook_endpoints``, ``verifier_webhook_deliveries`` (the webhook outbox and
  delivery log: one row per event and endpoint, written in the verdict's transaction) and
  ``verifier_webhook_attempts`` (one row per POST) — ``verifier.webhooks``.

Times are integer milliseconds since 1970-01-01 UTC (portable across SQLite/PostgreSQL).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator
from sqlalchemy import BigInteger, Index, MetaData, Text
from sqlmodel import Field as SqlField
from sqlmodel import SQLModel

from circuits.credentials import LINEAR_MAX_TERMS, LINEAR_OPS, OPS

STATUSES = ("pending", "verified", "rejected", "expired")


class VerifierTable(SQLModel, table=False):
    """Base of the verifier's tables: their own MetaData."""

    metadata = MetaData()


class ApiKey(VerifierTable, table=True):
    __tablename__ = "verifier_api_keys"

    id: int | None = SqlField(default=None, primary_key=True)
    lender: str = SqlField(max_length=128, index=True)
    key_hash: str = SqlField(max_length=64, unique=True)
    prefix: str = SqlField(max_length=16)
    created_ms: int = SqlField(sa_type=BigInteger)
    revoked_ms: int | None = SqlField(default=None, sa_type=BigInteger)


class RequestRow(VerifierTable, table=True):
    __tablename__ = "verifier_requests"

    id: str = SqlField(primary_key=True, max_length=64)
    lender: str = SqlField(max_length=128, index=True)
    nonce: str = SqlField(max_length=128, unique=True)  # b64url of the request nonce
    status: str = SqlField(max_length=16, default="pending")
    created_ms: int = SqlField(sa_type=BigInteger)
    expires_ms: int = SqlField(sa_type=BigInteger)
    max_staleness: int = SqlField(sa_type=BigInteger)
    request_json: str = SqlField(sa_type=Text)  # canonical PresentationRequest.to_json()
    purpose: str | None = SqlField(default=None, sa_type=Text)  # the lender's, signed into the document
    verdict_json: str | None = SqlField(default=None, sa_type=Text)
    answered_ms: int | None = SqlField(default=None, sa_type=BigInteger)
    # presentations that did not verify (``record_failed_attempt``)
    attempts: int = SqlField(default=0, sa_column_kwargs={"server_default": "0"})


class PseudonymRow(VerifierTable, table=True):
    __tablename__ = "verifier_pseudonyms"
    __table_args__ = (Index("ix_verifier_pseudonyms_lender_pseudonym", "lender", "pseudonym"),)

    seq: int | None = SqlField(default=None, primary_key=True)  # insertion order: "earlier" means a lower seq
    lender: str = SqlField(max_length=128)
    context: str = SqlField(sa_type=Text)  # the query's pseudonym_context (≤ 256 bytes of UTF-8)
    pseudonym: str = SqlField(max_length=128)  # b64url of the compressed G1 point
    request_id: str = SqlField(max_length=64, unique=True)
    verified_ms: int = SqlField(sa_type=BigInteger)


class StateRow(VerifierTable, table=True):
    """Facts the verifier fixes at first start and checks at every start (``ledger_public_key``: the pinned key)."""

    __tablename__ = "verifier_state"

    name: str = SqlField(primary_key=True, max_length=64)
    value: str = SqlField(sa_type=Text)


class WebhookEndpointRow(VerifierTable, table=True):
    """A lender's webhook endpoint (``verifier.webhooks``); ``deleted_ms`` set when the lender deletes it."""

    __tablename__ = "verifier_webhook_endpoints"

    id: str = SqlField(primary_key=True, max_length=64)  # "ep_…"
    lender: str = SqlField(max_length=128, index=True)
    url: str = SqlField(sa_type=Text)
    events: str = SqlField(max_length=256)  # comma-separated event types
    description: str = SqlField(default="", max_length=256)
    secret: str = SqlField(max_length=128)  # "whsec_…": the HMAC key (the lender got it once, at creation)
    created_ms: int = SqlField(sa_type=BigInteger)
    deleted_ms: int | None = SqlField(default=None, sa_type=BigInteger)


class WebhookDeliveryRow(VerifierTable, table=True):
    """One event for one endpoint: the outbox row (``status = 'pending'``) and then its log entry."""

    __tablename__ = "verifier_webhook_deliveries"
    __table_args__ = (
        Index("ix_verifier_webhook_deliveries_due", "status", "next_attempt_ms"),
        Index("ix_verifier_webhook_deliveries_endpoint", "endpoint_id", "id"),
    )

    id: int | None = SqlField(default=None, primary_key=True)
    message_id: str = SqlField(max_length=64)  # webhook-id: the same on every attempt (receivers dedupe on it)
    endpoint_id: str = SqlField(max_length=64)
    lender: str = SqlField(max_length=128)
    event: str = SqlField(max_length=32)
    request_id: str = SqlField(max_length=64, index=True)
    payload: str = SqlField(sa_type=Text)  # the exact body, fixed when queued: every attempt sends these bytes
    status: str = SqlField(max_length=16, default="pending")  # pending | delivered | failed | cancelled
    attempts: int = SqlField(default=0)
    next_attempt_ms: int = SqlField(sa_type=BigInteger)
    lease_until_ms: int | None = SqlField(default=None, sa_type=BigInteger)  # claimed by a worker until then
    lease_owner: str | None = SqlField(default=None, max_length=64)
    created_ms: int = SqlField(sa_type=BigInteger)
    last_attempt_ms: int | None = SqlField(default=None, sa_type=BigInteger)
    delivered_ms: int | None = SqlField(default=None, sa_type=BigInteger)
    last_status_code: int | None = SqlField(default=None)
    last_error: str | None = SqlField(default=None, max_length=256)


class WebhookAttemptRow(VerifierTable, table=True):
    """One POST of a delivery: when, how long, the receiver's status code or the transport error."""

    __tablename__ = "verifier_webhook_attempts"

    id: int | None = SqlField(default=None, primary_key=True)
    delivery_id: int = SqlField(index=True)
    attempt: int
    at_ms: int = SqlField(sa_type=BigInteger)
    duration_ms: int
    status_code: int | None = None
    error: str | None = SqlField(default=None, max_length=256)


TABLES = [  # SQLModel sets __table__ on table=True classes; its stubs do not say
    ApiKey.__table__,  # type: ignore[attr-defined]
    RequestRow.__table__,  # type: ignore[attr-defined]
    PseudonymRow.__table__,  # type: ignore[attr-defined]
    StateRow.__table__,  # type: ignore[attr-defined]
]
WEBHOOK_TABLES = [
    WebhookEndpointRow.__table__,  # type: ignore[attr-defined]
    WebhookDeliveryRow.__table__,  # type: ignore[attr-defined]
    WebhookAttemptRow.__table__,  # type: ignore[attr-defined]
]


# API models (never the table models) ----------------------------------------------------------

MAX_EXPIRES_IN = 7 * 24 * 3600
MAX_STALENESS = 365 * 24 * 3600


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PredicateIn(_Strict):
    # an attribute name, or — at the top level of a request with ``queries`` — ``query.attribute``
    attribute: str = Field(min_length=1, max_length=129)
    op: Literal[OPS]  # type: ignore[valid-type]
    value: Any


class LinearTermIn(_Strict):
    """``coef × attr``: ``attr`` an attribute of the query (``income``) or ``query.attribute``."""

    attr: str = Field(min_length=1, max_length=130)
    coef: StrictInt


class LinearIn(_Strict):
    """``Σ coef × attr op value`` over hidden int/decimal/date attributes (circuits/notes/linear.md)."""

    terms: list[LinearTermIn] = Field(min_length=1, max_length=LINEAR_MAX_TERMS)
    op: Literal[LINEAR_OPS]  # type: ignore[valid-type]
    value: Any


#: The string form of a linear predicate: ``40*income - 100*monthly_debt >= 0`` (``LinearPredicate.parse``).
LinearText = Annotated[str, Field(min_length=1, max_length=1024)]

#: the most queries (credentials) one request asks for, and equalities between them
MAX_QUERIES, MAX_EQUALITIES = 16, 64


class QueryIn(_Strict):
    """One named query of a multi-credential request: what one credential must show."""

    id: str = Field(min_length=1, max_length=64, description="a name: lowercase a-z, 0-9, _ (e.g. tax, bank)")
    credential_definitions: list[str] = Field(min_length=1, max_length=16)
    disclose: list[str] = Field(default_factory=list, max_length=64)
    predicates: list[PredicateIn] = Field(default_factory=list, max_length=64)


#: A campaign / product id a lender names for ``{"pseudonym": {"context": …}}``.
CAMPAIGN_MAX = 64


class PseudonymScopeIn(_Strict):
    context: str = Field(min_length=1, max_length=CAMPAIGN_MAX)


#: The longest purpose a lender may give a request (shown to the holder; no control characters).
PURPOSE_MAX = 200


class EscrowIn(_Strict):
    """Escrow one hidden attribute to an auditor registered on the ledger, for the lender's label (a loan number)."""

    auditor: str = Field(min_length=1, max_length=256)
    # an attribute name, or ``query.attribute`` in a request with ``queries``
    attribute: str = Field(min_length=1, max_length=129)
    label: str = Field(min_length=1, max_length=256)


class RequestCreate(_Strict):
    """One query (``credential_definitions``, ``disclose``, ``predicates``), or several named
    ``queries`` with ``equalities`` between them (then top-level ``predicates`` name
    ``query.attribute``); ``verifier.service.VerifierService.create_request`` says which is which."""

    pseudonym: StrictBool | PseudonymScopeIn = False
    purpose: str | None = Field(default=None, min_length=1, max_length=PURPOSE_MAX)
    escrow: EscrowIn | None = None
    disclose: list[str] = Field(default_factory=list, max_length=64)
    predicates: list[PredicateIn] = Field(default_factory=list, max_length=64)
    linear: list[LinearIn | LinearText] = Field(
        default_factory=list,
        max_length=16,
        description="`Σ coef × attr op value` over hidden attributes; with `queries` each `attr` is `query.attribute`",
    )
    credential_definitions: list[str] | None = Field(default=None, min_length=1, max_length=16)
    queries: list[QueryIn] | None = Field(default=None, min_length=1, max_length=MAX_QUERIES)
    equalities: list[str | list[str]] = Field(
        default_factory=list,
        max_length=MAX_EQUALITIES,
        description="`query.attribute == query.attribute` (or the pair as a list): hidden attributes proven equal",
    )

    @model_validator(mode="after")
    def _one_form(self) -> RequestCreate:
        if self.credential_definitions is None and self.queries is None:
            raise ValueError("give credential_definitions (one query) or queries (several)")
        return self

    expires_in: int = Field(default=600, ge=1, le=MAX_EXPIRES_IN)
    max_staleness: int = Field(default=600, ge=0, le=MAX_STALENESS)


class RequestCreated(BaseModel):
    id: str
    nonce: str
    request: dict[str, Any]
    presentation_url: str
    request_url: str
    expires_at: str
    deep_link: str  # zkcred://present?request_uri=<request_url>: what the QR code (GET …/qr) carries


class RequestDocument(BaseModel):
    """The signed request document (``ledger.verifiers.SignedRequestDocument``): every field is signed."""

    type: Literal["zkcred-request/v1"]
    id: str
    verifier_id: str  # verifier-<hex>: registered on the ledger at registration_seq
    registration_seq: int
    lender: str
    purpose: str | None
    request: dict[str, Any]
    presentation_url: str
    issued_at: str
    expires_at: str
    max_staleness: int  # seconds: how old an accumulator value the verifier accepts (the wallet syncs if behind)
    signature: str  # Ed25519 by the registered key over the label and RFC 8785 of the other fields


class QueryVerdict(BaseModel):
    """What one query's credential showed: its definition, disclosed values, statements about it alone."""

    definition_id: str
    disclosed: dict[str, Any]
    predicates: list[str]


class EscrowOut(BaseModel):
    """The escrowed ciphertext of a verified presentation: ``id`` is its SHA-256 (hex), the name an
    auditor's decryption record on the ledger gives it."""

    auditor: str
    attribute: str
    type: str  # the attribute's type: how the auditor recovers the value
    label: str
    request_id: str
    ciphertext: str  # base64url of C1 ‖ C2 (96 bytes)
    id: str


class VerdictPublic(BaseModel):
    """``disclosed``: ``{name: value}`` for a one-query request, ``{query: {name: value}}`` for a request
    made with ``queries``, which also gets ``queries`` (per query) — absent for the one-query form."""

    verified: bool
    disclosed: dict[str, Any]
    predicates: list[str]
    reason: str | None
    escrow: EscrowOut | None = None  # present when the request asked for escrow and the proof verified
    queries: dict[str, QueryVerdict] | None = None


class RequestStatus(BaseModel):
    """A request's status; the pseudonym fields are present only when the request asked for one."""

    id: str
    status: Literal["pending", "verified", "rejected", "expired"]
    verdict: VerdictPublic | None
    pseudonym_context: str | None = None
    pseudonym: str | None = None  # b64url G1 point, once verified
    seen_before: bool | None = None  # once verified: this lender verified the same pseudonym earlier
    earlier_requests: list[str] | None = None  # those earlier requests' ids, oldest first
    deep_link: str | None = None  # zkcred://present?request_uri=<request_url> (always sent)


class PseudonymRecordOut(BaseModel):
    request_id: str
    context: str
    verified_at: str


class PseudonymRecords(BaseModel):
    pseudonym: str
    requests: list[PseudonymRecordOut]


class PresentationSubmit(_Strict):
    presentation: dict[str, Any]


# Webhooks (verifier.webhooks) ----------------------------------------------------------------

WebhookEvent = Literal["request.verified", "request.rejected", "request.expired"]
WEBHOOK_EVENTS: tuple[WebhookEvent, ...] = ("request.verified", "request.rejected", "request.expired")


class WebhookCreate(_Strict):
    url: str = Field(
        min_length=1,
        max_length=2048,
        description="where verdicts are POSTed: http(s), on a host the verifier allows (ZKCRED_VERIFIER_WEBHOOK_HOSTS)",
        examples=["https://hooks.lender.example/zkcred"],
    )
    events: list[WebhookEvent] = Field(
        default_factory=lambda: list(WEBHOOK_EVENTS),
        min_length=1,
        max_length=len(WEBHOOK_EVENTS),
        description="the events to receive (default: all three)",
    )
    description: str = Field(default="", max_length=256)


class WebhookPublic(BaseModel):
    id: str
    url: str
    events: list[str]
    description: str
    created_at: str


class WebhookCreated(WebhookPublic):
    secret: str = Field(description="whsec_…: the signing key, shown only now")


class WebhooksPublic(BaseModel):
    webhooks: list[WebhookPublic]


class WebhookAttemptPublic(BaseModel):
    attempt: int
    at: str
    duration_ms: int
    status_code: int | None
    error: str | None


class WebhookDeliveryPublic(BaseModel):
    id: int
    message_id: str
    event: str
    request_id: str
    status: Literal["pending", "delivered", "failed", "cancelled"]
    attempts: int
    created_at: str
    next_attempt_at: str | None
    delivered_at: str | None
    last_status_code: int | None
    last_error: str | None
    payload: dict[str, Any]
    attempt_log: list[WebhookAttemptPublic]


class WebhookDeliveriesPublic(BaseModel):
    webhook_id: str
    deliveries: list[WebhookDeliveryPublic]
