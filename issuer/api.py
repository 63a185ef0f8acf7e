"""The issuer's HTTP service (FastAPI), as fixed by docs/api.md.

    POST /admin/schemas                       define + publish a schema               (admin)
    GET  /admin/schemas, /admin/schemas/{id}                                           (admin)
    POST /admin/credential-definitions        BBS keys (+ accumulator), published      (admin)
    GET  /admin/credential-definitions, …/{id}                                         (admin)
    POST /admin/credential-definitions/{id}/rotate  a new key that supersedes this one  (admin)
    POST /admin/offers                        an offer document with a one-time token  (admin)
    POST /admin/offers/bulk                   up to 1000 offers, all or nothing          (admin)
    GET  /admin/offers?status=&definition_id=&batch_id=&limit=&offset=                  (admin)
    GET  /admin/offers/{id}                   status, and the credential id once issued (admin)
    POST /admin/offers/{id}/cancel            its token is refused from then on          (admin)
    GET  /admin/credentials?status=&definition_id=&offer_id=&limit=&offset=            (admin)
    GET  /admin/credentials/{id}                                                       (admin)
    POST /admin/credentials/{id}/revoke       publish (y, V') to the ledger            (admin)
    GET  /admin/audit?action=&actor=&token_id=&object_type=&object_id=&since=&until=&limit=&offset=
                                              who did which admin write, when, on what (admin)
    POST /credentials                         holder, with the offer's token: blind issuance
    GET  /offers/{id}?token=                  holder: the offer document behind an offer's deep link

Every admin route refuses a query parameter it does not declare (422 ``invalid-request``,
:func:`known_query_only`, one dependency on every admin router), so a misspelt filter never
silently lists everything. Every admin write is recorded in the audit trail with the
acting token's id and label (``IssuerService`` ``actor=``).

Auth: ``Authorization: Bearer <token>`` — missing → 401 (with ``WWW-Authenticate``),
wrong → 403. The scaffolding is ``servicekit.app.create_service_app`` (the same for the
three services): RFC 9457 problem+json, limits and strict JSON, request ids, structured
logs, ``/health/live``, ``/health/ready`` (database, keys; the ledger optional: degraded), ``/metrics``
(plus issuances and revocations), OpenAPI with bearer security schemes. This module keeps
only the domain mapping: ``IssuerError`` → its kind's status (``issuer.errors.STATUS``).
Problem details never echo input values (they may be personal data or tokens).

Publication (``issuer.outbox``): creating a schema or a definition and revoking commit the
record with its ledger entry, then wait for the ledger as before — 201 (revoke: 200) with
``ledger_seq`` and ``"publication": "published"``. If the ledger is down or refusing, the
record exists all the same and the answer is **202** with ``ledger_seq: null`` and
``"publication": "pending"``; the outbox delivers it later (background loop, start-up,
``zkcred issuer reconcile``) and ``GET`` shows the seq from then on. A duplicate schema
(name, version) or definition (schema, tag) is 409 with ``existing_id``.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from issuer.console import install_console
from issuer.errors import IssuerError
from issuer.service import AUDIT_ACTIONS, MAX_BULK_OFFERS, MAX_PAGE, Actor, IssuerService
from servicekit.app import bearer_scheme, create_service_app, error_responses
from servicekit.logs import configure_logging
from servicekit.problems import PROBLEM_PREFIX, ProblemDetails
from servicekit.strictjson import Limits

logger = logging.getLogger(__name__)
MAX_OFFSET = 2**31 - 1
#: The body limit of POST /admin/offers/bulk (every other route keeps the shared limit): 1000
#: offers of up to ~2 KiB of JSON each.
BULK_MAX_BODY_BYTES = 2 * 1024 * 1024


# ------------------------------------------------------------------ API models (Create in, Public out)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


#: No NUL character: PostgreSQL text cannot hold one (it was a 500, not a 422).
NO_NUL = r"^[^\x00]*$"


class AttributePublic(_In):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    type: Annotated[
        str,
        Field(
            min_length=1, max_length=48, examples=["int", "int(0..1000000000)", "date", "decimal(2)", "bool", "string"]
        ),
    ]


class SchemaCreate(_In):
    name: Annotated[str, Field(min_length=1, max_length=128, pattern=NO_NUL)]
    version: Annotated[str, Field(min_length=1, max_length=32, pattern=NO_NUL)]
    attributes: Annotated[list[AttributePublic], Field(min_length=1, max_length=64)]


Publication = Literal["published", "pending"]


class SchemaPublic(BaseModel):
    id: str
    name: str
    version: str
    attributes: list[AttributePublic]
    ledger_seq: int | None = Field(description="the ledger entry; null while its publication is pending")
    publication: Publication


class SchemasPublic(BaseModel):
    items: list[SchemaPublic]


class CredentialDefinitionCreate(_In):
    schema_id: Annotated[str, Field(min_length=1, max_length=128, pattern=NO_NUL)]
    tag: Annotated[str, Field(min_length=1, max_length=64)]
    revocable: bool = False
    capacity: Annotated[int | None, Field(ge=1)] = None
    validity_days: Annotated[int, Field(ge=1, le=36_500)] = 365


class CredentialDefinitionPublic(BaseModel):
    id: str
    schema_id: str
    tag: str
    revocable: bool
    capacity: int | None
    validity_days: int
    definition: dict[str, Any] = Field(description="circuits.credentials.CredentialDefinition.to_json()")
    ledger_seq: int | None = Field(description="the credential_definition entry; null while pending")
    registry_seq: int | None = Field(description="the revocation_registry entry (revocable); null while pending")
    publication: Publication = Field(description="published once every entry of the definition is on the ledger")
    supersedes: str | None = Field(default=None, description="key rotation: the definition this one replaces")
    superseded_by: str | None = Field(default=None, description="the definition that replaced this one")


class CredentialDefinitionRotate(_In):
    tag: Annotated[str | None, Field(min_length=1, max_length=64, description="default: the old tag + #r<n>")] = None
    validity_days: Annotated[int | None, Field(ge=1, le=36_500)] = None
    capacity: Annotated[int | None, Field(ge=1)] = None


class CredentialDefinitionsPublic(BaseModel):
    items: list[CredentialDefinitionPublic]


class OfferCreate(_In):
    credential_definition_id: Annotated[str, Field(min_length=1, max_length=128, pattern=NO_NUL)]
    attributes: Annotated[dict[str, Any], Field(max_length=64)]


class OfferPublic(BaseModel):
    offer_id: str
    token: str = Field(description="one-time bearer token for POST /credentials; shown once")
    issuer_url: str
    credential_definition_id: str
    definition: dict[str, Any]
    attributes: dict[str, Any]
    expires_at: str


class OfferStatusPublic(BaseModel):
    """An offer as the admin listing shows it: no token, no attribute values."""

    id: str
    credential_definition_id: str
    status: Literal["pending", "issued", "cancelled", "expired"]
    created_at: str
    expires_at: str
    issued_at: str | None
    cancelled_at: str | None
    credential_id: str | None = Field(description="the credential issued on this offer (status issued)")
    batch_id: str | None = Field(description="the POST /admin/offers/bulk call that created it")


class OffersPublic(BaseModel):
    items: list[OfferStatusPublic]


class BulkOfferCreate(_In):
    offers: Annotated[
        list[Any],
        Field(
            min_length=1,
            max_length=MAX_BULK_OFFERS,
            description="each {credential_definition_id, attributes} as for "
            "POST /admin/offers; checked one by one, errors by index",
        ),
    ]


class BulkOffersPublic(BaseModel):
    batch_id: str | None = Field(description="null for a single offer")
    items: list[OfferPublic]


class AuditPublic(BaseModel):
    id: int
    at: str
    actor: str = Field(description="the admin token's label (or cli / in-process)")
    token_id: str | None
    action: str
    object_type: str
    object_id: str
    detail: dict[str, Any] = Field(description="non-secret facts: ids, counts, ledger seqs")


class AuditsPublic(BaseModel):
    items: list[AuditPublic]


class CredentialPublic(BaseModel):
    id: str
    definition_id: str
    status: Literal["issued", "revoked"]
    revocation_index: int | None
    issued_at: str
    revoked_at: str | None
    offer_id: str | None


class CredentialsPublic(BaseModel):
    items: list[CredentialPublic]


class RevokePublic(BaseModel):
    id: str
    status: Literal["revoked"]
    ledger_seq: int | None = Field(description="the revocation entry; null while its publication is pending")
    publication: Publication


class CredentialRequestCreate(_In):
    offer_id: Annotated[str, Field(min_length=1, max_length=64, pattern=NO_NUL)]
    request: Annotated[
        str,
        Field(
            min_length=1, max_length=4096, description="b64url(commitment_with_proof) from create_credential_request"
        ),
    ]


class IssuedCredentialBody(BaseModel):
    definition_id: str
    values: dict[str, Any]
    expiry: str
    revocation_handle: str = Field(description="hex scalar")
    revocation_index: int | None
    signature: str = Field(description="b64url BBS signature")


class RevocationWitnessPublic(BaseModel):
    registry_id: str
    index: int
    witness: str = Field(description="b64url G1: C = (y + α)^-1 · V")
    accumulator: str = Field(description="b64url G1: the value V the witness is for")
    ledger_seq: int = Field(description="ledger entry that published V")


class IssuedCredentialPublic(BaseModel):
    credential_id: str
    credential: IssuedCredentialBody
    revocation: RevocationWitnessPublic | None


# ------------------------------------------------------------------ dependencies

_bearer_admin = bearer_scheme("AdminToken", "an admin token (`zkcred issuer create-admin-token`)")
_bearer_offer = bearer_scheme("OfferToken", "the offer's one-time token (from the offer document)")


def get_service(request: Request) -> IssuerService:
    return request.app.state.service


ServiceDep = Annotated[IssuerService, Depends(get_service)]


def require_admin(
    service: ServiceDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_admin)]
) -> Actor:
    return service.admin_actor(credentials.credentials if credentials else None)


def offer_token(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_offer)]) -> str | None:
    return credentials.credentials if credentials else None


AdminDep = Annotated[Actor, Depends(require_admin)]
OfferTokenDep = Annotated[str | None, Depends(offer_token)]


def _declared_query(dependant: Any) -> set[str]:
    names = {f.alias for f in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _declared_query(sub)
    return names


def known_query_only(request: Request, _admin: AdminDep) -> None:
    """Refuse query parameters the route does not declare (422), after authentication.

    One dependency on every admin router: ``GET /admin/credentials?offer_id=…`` must never
    have been read as "every credential" because the filter did not exist.
    """
    route = request.scope.get("route")
    declared = _declared_query(route.dependant) if isinstance(route, APIRoute) else set()
    unknown = sorted(set(request.query_params) - declared)
    if unknown:
        raise RequestValidationError(
            [
                {"type": "extra_forbidden", "loc": ("query", name[:64]), "msg": "unknown query parameter"}
                for name in unknown
            ]
        )


def no_nul(request: Request, _admin: AdminDep) -> None:
    """Refuse a NUL character in a path or query parameter (422): PostgreSQL text cannot hold one."""
    bad = [("path", k) for k, v in request.path_params.items() if "\x00" in str(v)]
    bad += [("query", k[:64]) for k, v in request.query_params.multi_items() if "\x00" in v]
    if bad:
        raise RequestValidationError(
            [{"type": "string_pattern_mismatch", "loc": loc, "msg": "must not contain a NUL character"} for loc in bad]
        )


_ADMIN = [Depends(known_query_only), Depends(no_nul)]

_ERRORS = error_responses(400, 401, 403, 404, 409, 410, 422, 502, 503)
_PENDING: dict[int | str, dict[str, Any]] = {
    202: {"description": "committed; its publication on the ledger is pending (publication: pending, ledger_seq: null)"}
}


def _published_or_202(body: dict[str, Any], response: Response) -> dict[str, Any]:
    if body["publication"] == "pending":
        response.status_code = 202
    return body


# ------------------------------------------------------------------ routers, one per resource

schemas = APIRouter(prefix="/admin/schemas", tags=["schemas"], responses=_ERRORS, dependencies=_ADMIN)
definitions = APIRouter(
    prefix="/admin/credential-definitions", tags=["credential-definitions"], responses=_ERRORS, dependencies=_ADMIN
)
offers = APIRouter(prefix="/admin/offers", tags=["offers"], responses=_ERRORS, dependencies=_ADMIN)
credentials_admin = APIRouter(prefix="/admin/credentials", tags=["credentials"], responses=_ERRORS, dependencies=_ADMIN)
audit = APIRouter(prefix="/admin/audit", tags=["audit"], responses=_ERRORS, dependencies=_ADMIN)
issuance = APIRouter(prefix="/credentials", tags=["issuance"], responses=_ERRORS)


@schemas.post("", status_code=201, response_model=SchemaPublic, responses=_PENDING)
def create_schema(body: SchemaCreate, service: ServiceDep, admin: AdminDep, response: Response) -> dict[str, Any]:
    return _published_or_202(
        service.create_schema(
            name=body.name, version=body.version, attributes=[a.model_dump() for a in body.attributes], actor=admin
        ).to_json(),
        response,
    )


@schemas.get("", response_model=SchemasPublic)
def list_schemas(service: ServiceDep, _admin: AdminDep) -> dict[str, Any]:
    return {"items": [s.to_json() for s in service.list_schemas()]}


@schemas.get("/{schema_id}", response_model=SchemaPublic)
def get_schema(schema_id: str, service: ServiceDep, _admin: AdminDep) -> dict[str, Any]:
    return service.get_schema(schema_id).to_json()


@definitions.post("", status_code=201, response_model=CredentialDefinitionPublic, responses=_PENDING)
def create_credential_definition(
    body: CredentialDefinitionCreate, service: ServiceDep, admin: AdminDep, response: Response
) -> dict[str, Any]:
    return _published_or_202(
        service.create_credential_definition(
            schema_id=body.schema_id,
            tag=body.tag,
            revocable=body.revocable,
            capacity=body.capacity,
            validity_days=body.validity_days,
            actor=admin,
        ).to_json(),
        response,
    )


@definitions.post(
    "/{definition_id}/rotate", status_code=201, response_model=CredentialDefinitionPublic, responses=_PENDING
)
def rotate_credential_definition(
    definition_id: str,
    service: ServiceDep,
    admin: AdminDep,
    response: Response,
    body: CredentialDefinitionRotate | None = None,
) -> dict[str, Any]:
    body = body or CredentialDefinitionRotate()
    return _published_or_202(
        service.rotate_credential_definition(
            definition_id, tag=body.tag, validity_days=body.validity_days, capacity=body.capacity, actor=admin
        ).to_json(),
        response,
    )


@definitions.get("", response_model=CredentialDefinitionsPublic)
def list_credential_definitions(service: ServiceDep, _admin: AdminDep) -> dict[str, Any]:
    return {"items": [d.to_json() for d in service.list_credential_definitions()]}


@definitions.get("/{definition_id}", response_model=CredentialDefinitionPublic)
def get_credential_definition(definition_id: str, service: ServiceDep, _admin: AdminDep) -> dict[str, Any]:
    return service.get_credential_definition(definition_id).to_json()


@offers.post("", status_code=201, response_model=OfferPublic)
def create_offer(body: OfferCreate, service: ServiceDep, admin: AdminDep) -> dict[str, Any]:
    return service.create_offer(
        credential_definition_id=body.credential_definition_id, attributes=body.attributes, actor=admin
    )


@offers.post("/bulk", status_code=201, response_model=BulkOffersPublic)
def create_offers_bulk(body: BulkOfferCreate, service: ServiceDep, admin: AdminDep) -> dict[str, Any]:
    return service.create_offers(body.offers, actor=admin)


@offers.get("", response_model=OffersPublic)
def list_offers(
    service: ServiceDep,
    _admin: AdminDep,
    status: Literal["pending", "issued", "cancelled", "expired"] | None = None,
    definition_id: Annotated[str | None, Query(max_length=128)] = None,
    batch_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> dict[str, Any]:
    items = service.list_offers(
        status=status, definition_id=definition_id, batch_id=batch_id, limit=limit, offset=offset
    )
    return {"items": [o.to_json() for o in items]}


@offers.get("/{offer_id}", response_model=OfferStatusPublic)
def get_offer(offer_id: str, service: ServiceDep, _admin: AdminDep) -> dict[str, Any]:
    return service.get_offer(offer_id).to_json()


@offers.post("/{offer_id}/cancel", response_model=OfferStatusPublic)
def cancel_offer(offer_id: str, service: ServiceDep, admin: AdminDep) -> dict[str, Any]:
    return service.cancel_offer(offer_id, actor=admin).to_json()


@credentials_admin.get("", response_model=CredentialsPublic)
def list_credentials(
    service: ServiceDep,
    _admin: AdminDep,
    status: Literal["issued", "revoked"] | None = None,
    definition_id: Annotated[str | None, Query(max_length=128)] = None,
    offer_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,  # beyond a 64-bit SQL integer was a 500
) -> dict[str, Any]:
    items = service.list_credentials(
        status=status, definition_id=definition_id, offer_id=offer_id, limit=limit, offset=offset
    )
    return {"items": [c.to_json() for c in items]}


@credentials_admin.get("/{credential_id}", response_model=CredentialPublic)
def get_credential(credential_id: str, service: ServiceDep, _admin: AdminDep) -> dict[str, Any]:
    return service.get_credential(credential_id).to_json()


@credentials_admin.post("/{credential_id}/revoke", response_model=RevokePublic, responses=_PENDING)
def revoke_credential(
    credential_id: str, service: ServiceDep, admin: AdminDep, request: Request, response: Response
) -> dict[str, Any]:
    revoked = service.revoke(credential_id, actor=admin).to_json()
    request.app.state.revocations.inc()
    return _published_or_202(revoked, response)


AuditAction = Literal[AUDIT_ACTIONS]  # type: ignore[valid-type]


@audit.get("", response_model=AuditsPublic)
def list_audit(
    service: ServiceDep,
    _admin: AdminDep,
    action: AuditAction | None = None,
    actor: Annotated[str | None, Query(max_length=128, description="the token's label")] = None,
    token_id: Annotated[str | None, Query(max_length=64)] = None,
    object_type: Annotated[str | None, Query(max_length=32)] = None,
    object_id: Annotated[str | None, Query(max_length=128)] = None,
    since: Annotated[_dt.datetime | None, Query(description="ISO 8601, inclusive (naive = UTC)")] = None,
    until: Annotated[_dt.datetime | None, Query(description="ISO 8601, exclusive (naive = UTC)")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> dict[str, Any]:
    items = service.list_audit(
        action=action,
        actor=actor,
        token_id=token_id,
        object_type=object_type,
        object_id=object_id,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    return {"items": [a.to_json() for a in items]}


offer_documents = APIRouter(prefix="/offers", tags=["issuance"], responses=_ERRORS)


@offer_documents.get("/{offer_id}", response_model=OfferPublic)
def get_offer_document(
    offer_id: Annotated[str, Path(max_length=64, pattern=NO_NUL)],
    service: ServiceDep,
    token: Annotated[str | None, Query(max_length=128, description="the offer's one-time token")] = None,
) -> dict[str, Any]:
    """The offer document behind an offer's deep link (the token in the URL is the capability; open offers only)."""
    return service.offer_document(offer_id=offer_id, token=token)


@issuance.post("", status_code=201, response_model=IssuedCredentialPublic)
def issue_credential(
    body: CredentialRequestCreate, service: ServiceDep, token: OfferTokenDep, request: Request
) -> dict[str, Any]:
    issued = service.issue_credential(offer_id=body.offer_id, token=token, request=body.request)
    request.app.state.issuances.inc()
    return issued


# ------------------------------------------------------------------ the app


def _problem_of(exc: IssuerError) -> ProblemDetails:
    """The issuer's one domain mapping: the kind's status and title (``issuer.errors``), the error's slug."""
    extra = dict(getattr(exc, "extra", None) or {})  # e.g. existing_id of a duplicate
    if exc.items:  # a bulk request: each refused item by its index in the request
        extra["errors"] = [
            {"index": i, "type": PROBLEM_PREFIX + e.slug, "title": e.title, "status": e.status, "detail": e.detail}
            for i, e in exc.items
        ]
    return ProblemDetails(exc.status, exc.slug, exc.title, exc.detail, extensions=extra)


def _readiness(service: IssuerService) -> dict[str, Any]:
    def database() -> None:
        with service.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    return {"database": database, "keys": service.check_keys}


def create_app(service: IssuerService, *, limits: Limits | None = None) -> FastAPI:
    """The issuer service over ``service`` (already opened: tables, identity, registration).

    ``limits``: request limits (``servicekit.strictjson.Limits``; the shared default if None).
    """
    app = create_service_app(
        service="issuer",
        title="zkcred issuer",
        summary="Schemas, credential definitions, offers, blind issuance and revocation",
        error_mappers={IssuerError: _problem_of},
        readiness=_readiness(service),
        limits=limits,
        # the outbox keeps entries while the ledger is away (202 pending): degraded, not down
        optional_checks={"ledger": service.publisher.ping},
        body_limits={"/admin/offers/bulk": BULK_MAX_BODY_BYTES},
    )
    app.state.service = service
    metrics = app.state.metrics
    app.state.issuances = metrics.counter("issuer_issuances", "credentials issued (blind issuance succeeded)")
    app.state.revocations = metrics.counter("issuer_revocations", "credentials revoked (published to the ledger)")
    metrics.gauge_callback(
        "issuer_outbox_pending",
        "ledger entries committed but not yet on the ledger (outbox)",
        lambda: len(service.outbox.pending()),
    )
    for router in (schemas, definitions, offers, credentials_admin, audit, issuance, offer_documents):
        app.include_router(router)
    install_console(app, service)  # the issuer's web console under /console (issuer.console)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory``: settings from the environment, the ledger over HTTP."""
    from issuer.config import ConfigError, Settings
    from issuer.publisher import HttpPublisher
    from ledger.client import LedgerClient
    from ledger.policy import policy_from_env

    configure_logging()  # JSON lines at $ZKCRED_LOG_LEVEL, in every worker process
    settings = Settings.from_env()
    if not settings.issuer_url or not settings.ledger_url:  # `zkcred issuer serve` sets both (or refuses)
        raise ConfigError("the issuer needs its public URL (ZKCRED_ISSUER_URL) and the ledger's (ZKCRED_LEDGER_URL)")
    # a pinned ledger key (ZKCRED_LEDGER_PUBLIC_KEY, or the ledger's key in the state dir) and ZKCRED_LEDGER_POLICY:
    # the issuer then reads its own registration only from a verified (witnessed) checkpoint
    pinned = settings.pinned_ledger_key()
    publisher = HttpPublisher(
        LedgerClient(
            settings.ledger_url, ledger_key=pinned[0] if pinned else None, policy=policy_from_env() if pinned else None
        )
    )
    service = IssuerService.open(settings=settings, publisher=publisher)
    service.outbox.start()  # deliver what is pending, with backoff while the ledger is away
    logger.info("issuer %s (pid %d) serving", service.issuer_id, os.getpid())
    return create_app(service)
