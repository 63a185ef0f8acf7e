"""The verifier's HTTP service (FastAPI), as specified in docs/api.md.

    POST /requests                      lender   create a presentation request
    GET  /requests/{id}                 lender   status and verdict (own requests only)
    GET  /requests/{id}/document        public   the request document a holder answers
    GET  /requests/{id}/qr?format=      public   its deep_link as a QR code (svg | png)
    POST /requests/{id}/presentation    public   a holder's presentation → verdict
    GET  /pseudonyms/{value}            lender   the lender's verified requests carrying a pseudonym

Lender routes need ``Authorization: Bearer <API key>`` (the ``LenderApiKey`` security
scheme): 401 without one, 403 for an unknown key, another lender's request, or a
pseudonym this lender has not verified. A second presentation for a request is 409
``replay``. Everything else a service needs — RFC 9457 problem+json, limits and strict
JSON, request ids, structured logs, ``/health/live``, ``/health/ready`` (database,
ledger), ``/metrics`` (plus verifications by result and reason) — is
``servicekit.app.create_service_app``; this module keeps only the domain mapping
(``VerifierError`` kinds → status, ``verifier.errors.STATUS``).

The process keeps no state but the resolver's ledger cache; run any number of workers
on one PostgreSQL (``zkcred verifier serve --workers N``).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, FastAPI, Path, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy import text

from servicekit import deeplinks
from servicekit.app import bearer_scheme, create_service_app, error_responses
from servicekit.logs import configure_logging
from servicekit.problems import ProblemDetails
from servicekit.qr import qr_response
from servicekit.strictjson import Limits
from verifier.errors import ErrorKind, VerifierError
from verifier.models import (
    PresentationSubmit,
    PseudonymRecords,
    RequestCreate,
    RequestCreated,
    RequestDocument,
    RequestStatus,
    VerdictPublic,
)
from verifier.service import RequestRecord, VerifierService, iso_utc

logger = logging.getLogger(__name__)


# Dependencies ----------------------------------------------------------------------------------


def get_service(request: Request) -> VerifierService:
    return request.app.state.service


ServiceDep = Annotated[VerifierService, Depends(get_service)]


_bearer_lender = bearer_scheme("LenderApiKey", "a lender's API key (`zkcred verifier create-api-key`)")


def current_lender(service: ServiceDep,
                   credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_lender)]) -> str:
    if credentials is None or not credentials.credentials.strip():
        raise VerifierError(ErrorKind.UNAUTHORIZED, "send Authorization: Bearer <API key>")
    return service.authenticate(api_key=credentials.credentials.strip())


LenderDep = Annotated[str, Depends(current_lender)]


def _base_url(request: Request) -> str:
    configured = request.app.state.public_url
    return configured or str(request.base_url).rstrip("/")


def _urls(request: Request, record: RequestRecord) -> dict[str, str]:
    base = f"{_base_url(request)}/requests/{record.id}"
    return {"presentation_url": f"{base}/presentation", "request_url": f"{base}/document",
            "deep_link": deeplinks.present_link(f"{base}/document")}


def _links(request: Request, record: RequestRecord) -> dict[str, str]:
    return {"deep_link": _urls(request, record)["deep_link"]}


# Routes ----------------------------------------------------------------------------------------

#: Every refusal a route can send, documented as problem+json (so the OpenAPI matches what is sent).
_ERRORS = error_responses(400, 401, 403, 404, 409, 413, 422, 503)

router = APIRouter(prefix="/requests", tags=["requests"], responses=_ERRORS)


@router.post("", status_code=201, response_model=RequestCreated)
def create_request(body: RequestCreate, lender: LenderDep, service: ServiceDep, request: Request) -> dict[str, Any]:
    """A presentation request with a fresh single-use nonce, and the URLs a holder answers it at."""
    pseudonym = body.pseudonym if isinstance(body.pseudonym, bool) else body.pseudonym.context
    record = service.create_request(
        lender=lender, credential_definitions=body.credential_definitions, disclose=body.disclose,
        predicates=[p.model_dump() for p in body.predicates], expires_in=body.expires_in,
        max_staleness=body.max_staleness, pseudonym=pseudonym,
    )
    return {"id": record.id, "nonce": record.nonce_b64, "request": record.request.to_json(),
            **_urls(request, record), "expires_at": iso_utc(record.expires_ms)}


@router.get("/{request_id}", response_model=RequestStatus, response_model_exclude_unset=True)
def get_request(request_id: str, lender: LenderDep, service: ServiceDep, request: Request) -> dict[str, Any]:
    """The lender's own request: status, verdict and (if asked for) the holder's pseudonym."""
    record = service.get_request(lender=lender, request_id=request_id)
    now_ms = int(service.clock() * 1000)
    out = {"id": record.id, "status": record.status_at(now_ms),
           "verdict": None if record.verdict is None else record.verdict.to_json()}
    out.update(_links(request, record))
    nym = service.pseudonym_status(record)  # keys only when the request asked for a pseudonym
    return out if nym is None else {**out, **nym.to_json()}


@router.get("/{request_id}/document", response_model=RequestDocument)
def get_document(request_id: str, service: ServiceDep, request: Request) -> dict[str, Any]:
    """The request document a holder's wallet answers (public: the id is the capability)."""
    record = service.get_document(request_id=request_id)
    return {"id": record.id, "request": record.request.to_json(),
            "presentation_url": _urls(request, record)["presentation_url"], "expires_at": iso_utc(record.expires_ms)}


@router.get("/{request_id}/qr", response_class=Response,
            responses={200: {"content": {"image/svg+xml": {}, "image/png": {}},
                             "description": "a QR code of the request's deep_link"}})
def get_qr(request_id: str, service: ServiceDep, request: Request,
           format: Annotated[Literal["svg", "png"], Query(description="svg (default) or png")] = "svg",
           ) -> Response:
    """The request's ``deep_link`` as a QR code (public like the document: it carries only the document's URL)."""
    record = service.get_document(request_id=request_id)
    return qr_response(_urls(request, record)["deep_link"], format)


@router.post("/{request_id}/presentation", response_model=VerdictPublic)
def submit_presentation(request_id: str, body: Annotated[PresentationSubmit, Body()],
                        service: ServiceDep, request: Request) -> dict[str, Any]:
    """A holder's presentation: verified once, and the verdict (a reason code when rejected) recorded."""
    verdict = service.submit_presentation(request_id=request_id, unverified_presentation=body.presentation)
    request.app.state.verifications.labels("verified" if verdict.verified else "rejected",
                                           verdict.reason or "none").inc()
    return verdict.to_json()


pseudonyms = APIRouter(prefix="/pseudonyms", tags=["pseudonyms"], responses=_ERRORS)


@pseudonyms.get("/{pseudonym}", response_model=PseudonymRecords)
def get_pseudonym(pseudonym: Annotated[str, Path(max_length=128)], lender: LenderDep,
                  service: ServiceDep) -> dict[str, Any]:
    """This lender's verified requests carrying the pseudonym (403 if none: nothing about other lenders)."""
    rows = service.pseudonym_records(lender=lender, pseudonym=pseudonym)
    return {"pseudonym": pseudonym, "requests": [
        {"request_id": r["request_id"], "context": r["context"], "verified_at": iso_utc(r["verified_ms"])}
        for r in rows]}


# The app ---------------------------------------------------------------------------------------


def _problem_of(exc: VerifierError) -> ProblemDetails:
    """The verifier's one domain mapping: the kind's status and title (``verifier.errors``), the error's slug."""
    return ProblemDetails(exc.status, exc.slug, exc.title, exc.detail)


def _readiness(service: VerifierService) -> dict[str, Any]:
    def database() -> None:
        with service.store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def ledger() -> None:
        """The ledger answers with a tree head signed by the pinned key (``LedgerSource.tree_head``)."""
        service.resolver.ping()

    return {"database": database, "ledger": ledger}


def create_app(service: VerifierService, *, public_url: str | None = None, limits: Limits | None = None) -> FastAPI:
    """The verifier service over ``service``; ``public_url`` is the base of the URLs it hands out.

    ``limits``: request limits (``servicekit.strictjson.Limits``; the shared default if None).
    """
    app = create_service_app(service="verifier", title="zkcred verifier",
                             summary=__doc__.splitlines()[0] if __doc__ else None,
                             error_mappers={VerifierError: _problem_of}, readiness=_readiness(service),
                             limits=limits)
    app.state.service = service
    app.state.public_url = public_url.rstrip("/") if public_url else None
    app.state.verifications = app.state.metrics.counter(
        "verifier_verifications", "presentations answered, by result and reason code", ["result", "reason"])
    app.include_router(router)
    app.include_router(pseudonyms)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (``zkcred verifier serve``): settings from the environment."""
    from ledger.client import LedgerClient
    from verifier.config import Settings
    from verifier.db import SqlRequestStore, check_pinned_ledger_key, init_db, make_engine
    from verifier.resolver import LedgerResolver

    configure_logging()  # JSON lines at $ZKCRED_LOG_LEVEL, in every worker process
    settings = Settings.from_env()
    ledger_url, ledger_key = settings.require_ledger()
    engine = make_engine(settings.database_url)
    init_db(engine)
    check_pinned_ledger_key(engine, ledger_key)
    resolver = LedgerResolver(LedgerClient(ledger_url, ledger_key=ledger_key))
    service = VerifierService(store=SqlRequestStore(engine), resolver=resolver, verifier_id=settings.verifier_id)
    return create_app(service, public_url=settings.public_url)
