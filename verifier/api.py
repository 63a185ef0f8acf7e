"""The verifier's HTTP service (FastAPI), as specified in docs/api.md.

    POST /requests                      lender   create a presentation request
    GET  /requests/{id}                 lender   status and verdict (own requests only)
    GET  /requests/{id}/document        public   the request document a holder answers
    POST /requests/{id}/presentation    public   a holder's presentation → verdict
    GET  /pseudonyms/{value}            lender   the lender's verified requests carrying a pseudonym

Lender routes need ``Authorization: Bearer <API key>``: 401 without one, 403 for an
unknown key, another lender's request, or a pseudonym this lender has not verified.
Every error is RFC 9457 ``application/problem+json`` with a stable ``type`` (``https://zkcred.dev/problems/<slug>``):
domain errors are mapped in one handler (``VerifierError`` kinds → status), JSON that
does not parse (or nests deeper than 32) is 400 ``malformed-json``, a body not matching its
model 422 ``invalid-request``, unknown routes 404, bodies over 256 KiB 413. Bad input is
never a 500. A second presentation for a request is 409 ``replay``.

The process keeps no state but the resolver's ledger cache; run any number of workers
on one PostgreSQL (``zkcred verifier serve --workers N``).
"""

from __future__ import annotations

import logging
import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

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
PROBLEM_JSON = "application/problem+json"
PROBLEM_PREFIX = "https://zkcred.dev/problems/"
MAX_BODY_BYTES = 256 * 1024
#: Deepest JSON nesting accepted. Checked before any parser runs: py_ecc raises the interpreter's
#: recursion limit to 100 000 on import, and then a body of 100 000 "[" overflows the C stack of
#: the json decoder (a segfault — one request would kill the worker).
MAX_JSON_DEPTH = 32
_JSON_SPECIAL = re.compile(rb'[\[\]{}"\\]')


def json_nesting_exceeds(body: bytes, limit: int) -> bool:
    """True if ``body``'s brackets outside strings nest deeper than ``limit`` (one linear pass).

    Garbage is left to the JSON parser; this only bounds how deep it will recurse.
    """
    depth, in_string, escaped_at = 0, False, -1
    for m in _JSON_SPECIAL.finditer(body):
        i = m.start()
        if i == escaped_at:
            continue
        c = body[i]
        if in_string:
            if c == 0x5C:  # backslash: the next byte is escaped
                escaped_at = i + 1
            elif c == 0x22:
                in_string = False
        elif c == 0x22:
            in_string = True
        elif c in b"[{":
            depth += 1
            if depth > limit:
                return True
        elif c in b"]}":
            depth -= 1
    return False


def problem(status: int, slug: str, title: str, detail: str, instance: str, **extra: Any) -> JSONResponse:
    body = {"type": PROBLEM_PREFIX + slug, "title": title, "status": status, "detail": detail, "instance": instance}
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


# Dependencies ----------------------------------------------------------------------------------


def get_service(request: Request) -> VerifierService:
    return request.app.state.service


ServiceDep = Annotated[VerifierService, Depends(get_service)]


def current_lender(request: Request, service: ServiceDep) -> str:
    header = request.headers.get("authorization")
    if not header:
        raise VerifierError(ErrorKind.UNAUTHORIZED, "send Authorization: Bearer <API key>")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise VerifierError(ErrorKind.UNAUTHORIZED, "use the Bearer scheme: Authorization: Bearer <API key>")
    return service.authenticate(api_key=token.strip())


LenderDep = Annotated[str, Depends(current_lender)]


def _base_url(request: Request) -> str:
    configured = request.app.state.public_url
    return configured or str(request.base_url).rstrip("/")


def _urls(request: Request, record: RequestRecord) -> dict[str, str]:
    base = f"{_base_url(request)}/requests/{record.id}"
    return {"presentation_url": f"{base}/presentation", "request_url": f"{base}/document"}


# Routes ----------------------------------------------------------------------------------------

#: Every refusal a route can send, documented as problem+json (so the OpenAPI matches what is sent).
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": "problem+json", "content": {PROBLEM_JSON: {}}}
    for code in (400, 401, 403, 404, 409, 413, 422, 503)
}

router = APIRouter(prefix="/requests", tags=["requests"])


@router.post("", status_code=201, response_model=RequestCreated)
def create_request(body: RequestCreate, lender: LenderDep, service: ServiceDep, request: Request) -> dict[str, Any]:
    pseudonym = body.pseudonym if isinstance(body.pseudonym, bool) else body.pseudonym.context
    record = service.create_request(
        lender=lender, credential_definitions=body.credential_definitions, disclose=body.disclose,
        predicates=[p.model_dump() for p in body.predicates], expires_in=body.expires_in,
        max_staleness=body.max_staleness, pseudonym=pseudonym,
    )
    return {"id": record.id, "nonce": record.nonce_b64, "request": record.request.to_json(),
            **_urls(request, record), "expires_at": iso_utc(record.expires_ms)}


@router.get("/{request_id}", response_model=RequestStatus, response_model_exclude_unset=True)
def get_request(request_id: str, lender: LenderDep, service: ServiceDep) -> dict[str, Any]:
    record = service.get_request(lender=lender, request_id=request_id)
    now_ms = int(service.clock() * 1000)
    out = {"id": record.id, "status": record.status_at(now_ms),
           "verdict": None if record.verdict is None else record.verdict.to_json()}
    nym = service.pseudonym_status(record)  # keys only when the request asked for a pseudonym
    return out if nym is None else {**out, **nym.to_json()}


@router.get("/{request_id}/document", response_model=RequestDocument)
def get_document(request_id: str, service: ServiceDep, request: Request) -> dict[str, Any]:
    record = service.get_document(request_id=request_id)
    return {"id": record.id, "request": record.request.to_json(),
            "presentation_url": _urls(request, record)["presentation_url"], "expires_at": iso_utc(record.expires_ms)}


@router.post("/{request_id}/presentation", response_model=VerdictPublic)
def submit_presentation(request_id: str, body: Annotated[PresentationSubmit, Body()],
                        service: ServiceDep) -> dict[str, Any]:
    verdict = service.submit_presentation(request_id=request_id, unverified_presentation=body.presentation)
    return verdict.to_json()


pseudonyms = APIRouter(prefix="/pseudonyms", tags=["pseudonyms"])


@pseudonyms.get("/{pseudonym}", response_model=PseudonymRecords)
def get_pseudonym(pseudonym: Annotated[str, Path(max_length=128)], lender: LenderDep,
                  service: ServiceDep) -> dict[str, Any]:
    rows = service.pseudonym_records(lender=lender, pseudonym=pseudonym)
    return {"pseudonym": pseudonym, "requests": [
        {"request_id": r["request_id"], "context": r["context"], "verified_at": iso_utc(r["verified_ms"])}
        for r in rows]}


# The app ---------------------------------------------------------------------------------------


def _operation_id(route: APIRoute) -> str:
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


def create_app(service: VerifierService, *, public_url: str | None = None) -> FastAPI:
    """The verifier service over ``service``; ``public_url`` is the base of the URLs it hands out."""
    app = FastAPI(title="zkcred verifier", version="1", summary=__doc__.splitlines()[0] if __doc__ else None,
                  generate_unique_id_function=_operation_id, responses=_ERRORS)
    app.state.service = service
    app.state.public_url = public_url.rstrip("/") if public_url else None

    @app.middleware("http")
    async def _limit_body(request: Request, call_next):  # type: ignore[no-untyped-def]
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            return problem(413, "payload-too-large", "Payload too large",
                           f"bodies are at most {MAX_BODY_BYTES} bytes", request.url.path)
        if request.method in ("POST", "PUT", "PATCH"):
            body = await request.body()  # cached: the route reads it again
            if len(body) > MAX_BODY_BYTES:
                return problem(413, "payload-too-large", "Payload too large",
                               f"bodies are at most {MAX_BODY_BYTES} bytes", request.url.path)
            if json_nesting_exceeds(body, MAX_JSON_DEPTH):
                return problem(400, "malformed-json", "Malformed JSON",
                               f"JSON nested deeper than {MAX_JSON_DEPTH} levels", request.url.path)
        return await call_next(request)

    @app.exception_handler(VerifierError)
    async def _domain(request: Request, exc: VerifierError) -> JSONResponse:
        return problem(exc.status, exc.slug, exc.title, exc.detail, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return problem(400, "malformed-json", "Malformed JSON", "the body is not JSON", request.url.path)
        errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "invalid"))}
                  for e in exc.errors()[:10]]
        first = errors[0] if errors else {"loc": [], "msg": "invalid"}
        return problem(422, "invalid-request", "Invalid request", f"{'.'.join(first['loc'])}: {first['msg']}",
                       request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and "parsing the body" in str(exc.detail):
            return problem(400, "malformed-json", "Malformed JSON", "the body is not JSON", request.url.path)
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        return problem(exc.status_code, slug, str(exc.detail), str(exc.detail), request.url.path)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:  # a bug, never bad input
        logger.exception("unhandled error on %s", request.url.path)
        return problem(500, "internal-error", "Internal error", "the verifier failed; see its log", request.url.path)

    app.include_router(router)
    app.include_router(pseudonyms)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (``zkcred verifier serve``): settings from the environment."""
    from ledger.client import LedgerClient
    from ledger.policy import max_age_from_env, policy_from_env
    from verifier.config import Settings
    from verifier.db import SqlRequestStore, init_db, make_engine
    from verifier.resolver import LedgerResolver

    settings = Settings.from_env()
    ledger_url, ledger_key = settings.require_ledger()
    engine = make_engine(settings.database_url)
    init_db(engine)
    # ZKCRED_LEDGER_POLICY (a tlog-policy file): refuse checkpoints without the witness quorum
    resolver = LedgerResolver(LedgerClient(ledger_url, ledger_key=ledger_key, policy=policy_from_env(),
                                           max_age=max_age_from_env()))
    service = VerifierService(store=SqlRequestStore(engine), resolver=resolver, verifier_id=settings.verifier_id)
    return create_app(service, public_url=settings.public_url)
