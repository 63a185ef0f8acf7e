"""The verifier's HTTP service (FastAPI), as specified in docs/api.md.

    POST /requests                      lender   create a presentation request
    GET  /requests/{id}?wait=N          lender   status and verdict (own requests only); long poll ≤ 30 s
    GET  /requests/{id}/events          lender   the same as Server-Sent Events until final
    GET  /requests/{id}/document        public   the request document a holder answers
    GET  /requests/{id}/qr?format=      public   its deep_link as a QR code (svg | png)
    POST /requests/{id}/presentation    public   a holder's presentation → verdict
    GET  /pseudonyms/{value}            lender   the lender's verified requests carrying a pseudonym
    …    /webhooks                      lender   webhook endpoints and their delivery log (verifier.webhooks_api)

Lender routes need ``Authorization: Bearer <API key>`` (the ``LenderApiKey`` security
scheme): 401 without one, 403 for an unknown key, another lender's request, or a
pseudonym this lender has not verified. Only a verified presentation spends a request; a
presentation after that is 409 ``replay``, and so is one after ``max_attempts``
presentations that did not verify (``verifier.service``). Everything else a service needs —
RFC 9457 problem+json, limits and strict
JSON, request ids, structured logs, ``/health/live``, ``/health/ready`` (database,
ledger), ``/metrics`` (plus verifications by result and reason) — is
``servicekit.app.create_service_app``; this module keeps only the domain mapping
(``VerifierError`` kinds → status, ``verifier.errors.STATUS``).

The process keeps no state but the resolver's ledger cache; run any number of workers
on one PostgreSQL (``zkcred verifier serve --workers N``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, FastAPI, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

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
from verifier.webhooks import Webhooks

logger = logging.getLogger(__name__)


# Dependencies ----------------------------------------------------------------------------------


def get_service(request: Request) -> VerifierService:
    return request.app.state.service


ServiceDep = Annotated[VerifierService, Depends(get_service)]


_bearer_lender = bearer_scheme("LenderApiKey", "a lender's API key (`zkcred verifier create-api-key`)")


def current_lender(
    service: ServiceDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_lender)]
) -> str:
    if credentials is None or not credentials.credentials.strip():
        raise VerifierError(ErrorKind.UNAUTHORIZED, "send Authorization: Bearer <API key>")
    return service.authenticate(api_key=credentials.credentials.strip())


LenderDep = Annotated[str, Depends(current_lender)]


def _urls(request: Request, record: RequestRecord) -> dict[str, str]:
    """The URLs a holder answers at: always under the configured public URL, never the ``Host`` header
    (a client choosing ``Host`` would otherwise have the verifier hand out links to its own server)."""
    base = f"{request.app.state.public_url}/requests/{record.id}"
    return {"presentation_url": f"{base}/presentation", "request_url": f"{base}/document"}


def _links(request: Request, record: RequestRecord) -> dict[str, str]:
    """``deep_link``: ``zkcred://present?request_uri=<request_url>`` (what the QR code carries)."""
    return {"deep_link": deeplinks.present_link(_urls(request, record)["request_url"])}


# Routes ----------------------------------------------------------------------------------------

#: Every refusal a route can send, documented as problem+json (so the OpenAPI matches what is sent).
_ERRORS = error_responses(400, 401, 403, 404, 409, 413, 422, 503)

router = APIRouter(prefix="/requests", tags=["requests"], responses=_ERRORS)


@router.post("", status_code=201, response_model=RequestCreated)
def create_request(body: RequestCreate, lender: LenderDep, service: ServiceDep, request: Request) -> dict[str, Any]:
    """A presentation request with a fresh single-use nonce, and the URLs a holder answers it at.

    One query (``credential_definitions``, ``disclose``, ``predicates``), or several named
    ``queries`` — one credential each, all of one holder — with ``equalities`` between them
    (``"tax.company_id == bank.company_id"``) and top-level ``predicates`` on ``query.attribute``.
    """
    pseudonym = body.pseudonym if isinstance(body.pseudonym, bool) else body.pseudonym.context
    record = service.create_request(
        lender=lender,
        credential_definitions=body.credential_definitions,
        disclose=body.disclose,
        predicates=[p.model_dump() for p in body.predicates],
        linear=[lp if isinstance(lp, str) else lp.model_dump() for lp in body.linear],
        queries=None if body.queries is None else [q.model_dump() for q in body.queries],
        equalities=body.equalities,
        expires_in=body.expires_in,
        max_staleness=body.max_staleness,
        pseudonym=pseudonym,
        purpose=body.purpose,
        escrow=None if body.escrow is None else body.escrow.model_dump(),
    )
    return {
        "id": record.id,
        "nonce": record.nonce_b64,
        "request": record.request.to_json(),
        **_urls(request, record),
        "expires_at": iso_utc(record.expires_ms),
        **_links(request, record),
    }


#: ``GET /requests/{id}?wait=N``: the longest wait (s), and the DB polling steps while waiting.
MAX_WAIT = 30.0
_POLL_FIRST, _POLL_MAX = 0.1, 0.5


def _status_view(service: VerifierService, lender: str, request_id: str, request: Request) -> dict[str, Any]:
    """The lender's view of its request now (read from the database: any worker's writes show)."""
    record = service.get_request(lender=lender, request_id=request_id)
    now_ms = int(service.clock() * 1000)
    out = {
        "id": record.id,
        "status": record.status_at(now_ms),
        "verdict": None if record.verdict is None else record.verdict.to_json(),
    }
    out.update(_links(request, record))
    nym = service.pseudonym_status(record)  # keys only when the request asked for a pseudonym
    return out if nym is None else {**out, **nym.to_json()}


async def _wait_while_pending(
    service: VerifierService, lender: str, request_id: str, request: Request, wait: float
) -> AsyncIterator[dict[str, Any]]:
    """The view now, then each changed view until it leaves ``pending`` or ``wait`` seconds pass.

    No busy loop: each read runs in the thread pool, and between reads the coroutine sleeps
    (``asyncio.sleep``, 0.1 s growing to 0.5 s). State lives in the database, so a
    presentation another worker process records is seen at the next read.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + min(wait, request.app.state.max_wait)
    view = await run_in_threadpool(_status_view, service, lender, request_id, request)
    yield view
    step = _POLL_FIRST
    while view["status"] == "pending" and (left := deadline - loop.time()) > 0:
        if await request.is_disconnected():
            return
        await asyncio.sleep(min(step, left))
        step = min(step * 1.5, _POLL_MAX)
        latest = await run_in_threadpool(_status_view, service, lender, request_id, request)
        if latest != view:
            view = latest
            yield view


@router.get("/{request_id}", response_model=RequestStatus, response_model_exclude_unset=True)
async def get_request(
    request_id: str,
    lender: LenderDep,
    service: ServiceDep,
    request: Request,
    wait: Annotated[
        float | None,
        Query(
            ge=0,
            le=MAX_WAIT,
            description=(
                "long poll: answer as soon as the status leaves pending, or after this many "
                "seconds (at most 30) with the current state"
            ),
        ),
    ] = None,
) -> dict[str, Any]:
    """The lender's own request: status, verdict and (if asked for) the holder's pseudonym.

    With ``?wait=N`` a pending request is answered when its status changes or after N seconds.
    """
    view: dict[str, Any] = {}
    async for view in _wait_while_pending(service, lender, request_id, request, wait or 0.0):  # noqa: B007 (last = answer)
        pass
    return view


@router.get(
    "/{request_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "Server-Sent Events: `status` events, the last one final",
        }
    },
)
async def request_events(
    request_id: str, lender: LenderDep, service: ServiceDep, request: Request
) -> StreamingResponse:
    """The request's status as Server-Sent Events: now, then each change; closed once it is final.

    Each event is ``event: status`` with the ``GET /requests/{id}`` body as ``data``. The
    stream ends after the status leaves ``pending`` (verified, rejected, expired) or after
    ``MAX_EVENTS_STREAM`` seconds (then reconnect); a ``: keep-alive`` comment every 15 s.
    """
    return await status_events(service, lender, request_id, request)


async def status_events(service: VerifierService, lender: str, request_id: str, request: Request) -> StreamingResponse:
    """``GET /requests/{id}/events`` for ``lender`` (also the lender console's live page, signed in by cookie)."""
    first = await run_in_threadpool(_status_view, service, lender, request_id, request)  # 403/404 before streaming

    async def stream() -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        end = loop.time() + min(MAX_EVENTS_STREAM, request.app.state.max_events_stream)
        last = first
        yield _sse(first)
        while last["status"] == "pending" and loop.time() < end:
            async for view in _wait_while_pending(
                service, lender, request_id, request, min(KEEP_ALIVE, end - loop.time())
            ):
                if view != last:
                    last = view
                    yield _sse(view)
            if last["status"] == "pending":
                if await request.is_disconnected():
                    return
                yield b": keep-alive\n\n"

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )


#: How long one ``/events`` stream stays open at most (s; a client reconnects after), and the
#: keep-alive comment's period.
MAX_EVENTS_STREAM, KEEP_ALIVE = 600.0, 15.0


def _sse(view: dict[str, Any]) -> bytes:
    return f"event: status\ndata: {json.dumps(view, separators=(',', ':'))}\n\n".encode()


@router.get("/{request_id}/document", response_model=RequestDocument)
def get_document(request_id: str, service: ServiceDep, request: Request) -> dict[str, Any]:
    """The request document a holder's wallet answers, signed by this verifier's registered key
    (public: the id is the capability)."""
    record = service.get_document(request_id=request_id)
    return service.signed_document(record, presentation_url=_urls(request, record)["presentation_url"])


@router.get(
    "/{request_id}/qr",
    response_class=Response,
    responses={
        200: {"content": {"image/svg+xml": {}, "image/png": {}}, "description": "a QR code of the request's deep_link"}
    },
)
def get_qr(
    request_id: str,
    service: ServiceDep,
    request: Request,
    format: Annotated[Literal["svg", "png"], Query(description="svg (default) or png")] = "svg",
) -> Response:
    """The request's ``deep_link`` as a QR code (public like the document: it carries only the document's URL)."""
    record = service.get_document(request_id=request_id)
    return qr_response(_links(request, record)["deep_link"], format)


@router.post("/{request_id}/presentation", response_model=VerdictPublic, response_model_exclude_unset=True)
def submit_presentation(
    request_id: str, body: Annotated[PresentationSubmit, Body()], service: ServiceDep, request: Request
) -> dict[str, Any]:
    """A holder's presentation: verified once, and the verdict (a reason code when rejected) recorded."""
    verdict = service.submit_presentation(request_id=request_id, unverified_presentation=body.presentation)
    request.app.state.verifications.labels(
        "verified" if verdict.verified else "rejected", verdict.reason or "none"
    ).inc()
    request.app.state.webhooks.wake()  # its deliveries (if any) are committed: send now, not at the next poll
    return verdict.to_json()


pseudonyms = APIRouter(prefix="/pseudonyms", tags=["pseudonyms"], responses=_ERRORS)


@pseudonyms.get("/{pseudonym}", response_model=PseudonymRecords)
def get_pseudonym(
    pseudonym: Annotated[str, Path(max_length=128)], lender: LenderDep, service: ServiceDep
) -> dict[str, Any]:
    """This lender's verified requests carrying the pseudonym (403 if none: nothing about other lenders)."""
    rows = service.pseudonym_records(lender=lender, pseudonym=pseudonym)
    return {
        "pseudonym": pseudonym,
        "requests": [
            {"request_id": r["request_id"], "context": r["context"], "verified_at": iso_utc(r["verified_ms"])}
            for r in rows
        ],
    }


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


#: The base of handed-out URLs when ``create_app`` is given none (tests, a loopback verifier).
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8002"


def create_app(
    service: VerifierService,
    *,
    public_url: str | None = None,
    limits: Limits | None = None,
    max_wait: float = MAX_WAIT,
    max_events_stream: float = MAX_EVENTS_STREAM,
    webhooks: Webhooks | None = None,
    dev_mode: bool = False,
) -> FastAPI:
    """The verifier service over ``service``; ``public_url`` is the base of the URLs it hands out
    (default :data:`DEFAULT_PUBLIC_URL`; never taken from a request's ``Host`` header).

    ``limits``: request limits (``servicekit.strictjson.Limits``; the shared default if None).
    ``max_wait``/``max_events_stream``: how long ``?wait=`` and ``/events`` really hold a
    connection at most (the documented 30 s / 600 s; lower only for tests such as fuzzing).
    ``webhooks``: the endpoints and dispatcher (``verifier.webhooks``; default: on the service's
    database with the default policy). The caller starts its dispatcher (``webhooks.start()``).
    ``dev_mode``: the lender console's session cookie is not ``Secure`` (plain http on a laptop).
    """
    from verifier.webhooks_api import router as webhooks_router  # it imports this module's dependencies

    app = create_service_app(
        service="verifier",
        title="zkcred verifier",
        summary=__doc__.splitlines()[0] if __doc__ else None,
        error_mappers={VerifierError: _problem_of},
        readiness=_readiness(service),
        limits=limits,
    )
    app.state.service = service
    app.state.public_url = (public_url or DEFAULT_PUBLIC_URL).rstrip("/")
    app.state.max_wait, app.state.max_events_stream = max_wait, max_events_stream
    app.state.verifications = app.state.metrics.counter(
        "verifier_verifications", "presentations answered, by result and reason code", ["result", "reason"]
    )
    webhooks = webhooks or Webhooks(service.store.engine)
    app.state.webhooks = webhooks
    app.state.metrics.gauge_callback(
        "verifier_webhook_deliveries_pending",
        "webhook deliveries queued, not yet delivered or failed",
        webhooks.pending_count,
    )
    app.include_router(router)
    app.include_router(pseudonyms)
    app.include_router(webhooks_router)
    from verifier.console import install_console  # it builds on this module's routes

    install_console(app, service, dev_mode=dev_mode)  # the lender console under /console
    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (``zkcred verifier serve``): settings from the environment."""
    from ledger.client import LedgerClient
    from ledger.policy import max_age_from_env, policy_from_env
    from verifier.config import Settings
    from verifier.db import SqlRequestStore, check_pinned_ledger_key, init_db, make_engine
    from verifier.identity import register_from_settings
    from verifier.resolver import LedgerResolver
    from verifier.webhooks import WebhookPolicy

    configure_logging()  # JSON lines at $ZKCRED_LOG_LEVEL, in every worker process
    settings = Settings.from_env()
    ledger_url, ledger_key = settings.require_ledger()
    engine = make_engine(settings.database_url)
    init_db(engine)
    check_pinned_ledger_key(engine, ledger_key)
    # ZKCRED_LEDGER_POLICY (a tlog-policy file): refuse checkpoints without the witness quorum
    client = LedgerClient(ledger_url, ledger_key=ledger_key, policy=policy_from_env(), max_age=max_age_from_env())
    resolver = LedgerResolver(client)
    service = VerifierService(
        store=SqlRequestStore(engine),
        resolver=resolver,
        identity=register_from_settings(settings, engine, client),
        max_attempts=settings.max_attempts,
    )
    webhooks = Webhooks(engine, WebhookPolicy.from_settings(settings))
    webhooks.start()  # every worker process delivers; a row is claimed by one (verifier.webhooks)
    return create_app(service, public_url=settings.public_url, webhooks=webhooks, dev_mode=settings.dev_mode)
