"""``create_service_app``: the one FastAPI scaffolding of the issuer, the verifier and the ledger.

Each service calls it with its name, its domain-error → problem mapping and its readiness
checks, then includes its routers. The app it returns already has:

- **problem+json everywhere** (``servicekit.problems``): domain errors through the
  service's mapping, schema-invalid requests 422 ``invalid-request``, unparsable bodies
  400 ``malformed-json``, unknown routes 404 ``not-found``, wrong methods 405
  ``method-not-allowed``, bugs 500 ``internal-error`` (logged with a traceback; the body
  names only the request id). Every problem carries ``request_id``; a 401 carries
  ``WWW-Authenticate: Bearer``.
- **the same limits and strict JSON** on every request, before routing
  (``servicekit.strictjson``): 413 / 415 / 400 — except HTML form bodies under ``/console/``
  (``servicekit.web``: the size limit holds, the form's CSRF token is checked there).
- **a request id** per request: ``X-Request-ID`` from the client if sane, else fresh;
  echoed in the response header, in problem bodies and in every log line of the request.
- **an access log line** per request (method, route template, status, duration) and a
  log line per refusal: INFO for 4xx, WARNING for 401/403, ERROR with traceback for 500.
- ``GET /health/live`` (the process answers), ``GET /health/ready`` (every readiness
  check passes; else 503 ``not-ready`` naming the failing checks) and ``GET /metrics``
  (Prometheus text, the app's own registry: ``app.state.metrics``).
- **OpenAPI** with operation ids equal to the route functions' names (unique per app),
  a ``Problem`` schema and a description on every error response, and the bearer
  security schemes the routes declare (``bearer_scheme``), so ``/docs`` has Authorize.

Hooks for configuration (``servicekit.settings``, another change): ``limits`` and the
log level are plain parameters with defaults; nothing here reads a file.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.logs import request_id_var, sane_request_id
from servicekit.metrics import CONTENT_TYPE_LATEST, ServiceMetrics
from servicekit.problems import COMMON, PROBLEM_JSON, Problem, ProblemDetails, http_error_type
from servicekit.strictjson import JsonRejected, Limits, is_json_media_type, loads_strict

logger = logging.getLogger("servicekit")
access_logger = logging.getLogger("servicekit.access")

REQUEST_ID_HEADER = "X-Request-ID"
#: A readiness check: returns (anything) when fine, raises when not. Runs in a worker thread.
ReadinessCheck = Callable[[], object]
ErrorMapper = Callable[[Any], ProblemDetails]

#: Descriptions of error responses in the OpenAPI documents (a service may add its own).
ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "`malformed-json`: the body is not strict JSON within the limits (or a domain `invalid-request`)",
    401: "`unauthorized`: no bearer credentials (with `WWW-Authenticate: Bearer`)",
    403: "`forbidden`: credentials not valid for this",
    404: "`not-found`: no such object",
    405: "`method-not-allowed`",
    409: "a conflict with the current state (already used, already exists, replay, …)",
    410: "gone (expired)",
    413: "`payload-too-large`: the body is over the size limit",
    415: "`unsupported-media-type`: a body that is not `application/json`",
    422: "`invalid-request`: the request does not match its model; or a domain refusal",
    500: "`internal-error`: a bug (the log has the request id and a traceback)",
    502: "an upstream service refused",
    503: "a dependency (the ledger, the database) is unavailable",
}


def error_responses(*codes: int, **_: Any) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for routers: each code documented as a problem+json (schema added by the app)."""
    return {
        code: {"description": ERROR_DESCRIPTIONS.get(code, "problem+json"), "content": {PROBLEM_JSON: {}}}
        for code in codes
    }


def bearer_scheme(name: str, description: str) -> HTTPBearer:
    """An OpenAPI bearer security scheme (Authorize in ``/docs``); the service decides 401 / 403 itself."""
    return HTTPBearer(auto_error=False, scheme_name=name, description=description, bearerFormat="opaque token")


def route_name(route: APIRoute) -> str:
    """Operation id = the route function's name: stable, so generated clients stay stable."""
    return route.name


# ------------------------------------------------------------------ problems


def request_id_of(request: Request) -> str | None:
    return getattr(request.state, "request_id", None) or request_id_var.get()


def problem_response(request: Request, problem: ProblemDetails, *, log: bool = True) -> JSONResponse:
    """The problem+json response (and, if ``log``, its log line) for ``problem`` on ``request``."""
    rid = request_id_of(request)
    headers = dict(problem.headers or {})
    if problem.status == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    if rid:
        headers[REQUEST_ID_HEADER] = rid
    body = problem.body(instance=request.url.path, request_id=rid)
    if log:
        level = (
            logging.WARNING if problem.status in (401, 403) else logging.INFO if problem.status < 500 else logging.ERROR
        )
        route = _route_template(request.scope)
        logger.log(
            level,
            "refused %s %s: %d %s: %s",
            request.method,
            route,
            problem.status,
            problem.slug,
            problem.detail,
            extra={"status": problem.status, "problem": problem.slug, "route": route, "request_id": rid},
        )
    return JSONResponse(body, status_code=problem.status, media_type=PROBLEM_JSON, headers=headers)


def _validation_problem(exc: RequestValidationError) -> ProblemDetails:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return ProblemDetails.of("malformed-json", "the body is not JSON")
    # loc and msg only: never echo the input (it may be personal data or a token)
    summary = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "invalid"))} for e in errors[:10]]
    first = summary[0] if summary else {"loc": [], "msg": "invalid"}
    return ProblemDetails.of("invalid-request", f"{'.'.join(first['loc'])}: {first['msg']}", errors=summary)


def _http_problem(exc: StarletteHTTPException) -> ProblemDetails:
    if exc.status_code == 400 and "parsing the body" in str(exc.detail):  # FastAPI's own body parser
        return ProblemDetails.of("malformed-json", "the body is not JSON")
    t = http_error_type(exc.status_code)
    detail = {404: "no such route", 405: "the route does not allow this method"}.get(exc.status_code, str(exc.detail))
    return ProblemDetails(t.status, t.slug, t.title, detail, headers=dict(exc.headers or {}) or None)


# ------------------------------------------------------------------ the middleware


def _route_template(scope: Scope, routes: Iterable[Any] = ()) -> str:
    route = scope.get("route")
    if route is None:
        for candidate in routes:
            match, _ = candidate.matches(scope)
            if match is not Match.NONE:
                route = candidate
                break
    return str(getattr(route, "path", None) or "<unmatched>")


#: Where HTML forms are posted (``servicekit.web``): the only bodies that need not be JSON.
CONSOLE_PREFIX = "/console/"
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _console_form(scope: Scope, content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return str(scope.get("path", "")).startswith(CONSOLE_PREFIX) and media in _FORM_TYPES


class _Disconnected(Exception):
    pass


class ScaffoldMiddleware:
    """Request id, access log and metrics; body size, media type and strict JSON before routing."""

    QUIET = ("/health/live", "/health/ready", "/metrics")

    def __init__(
        self,
        app: ASGIApp,
        *,
        limits: Limits,
        metrics: ServiceMetrics,
        routes: Callable[[], Iterable[Any]],
        body_limits: Mapping[str, int] | None = None,
        raw_bodies: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.limits = limits
        self.body_limits = dict(body_limits or {})  # exact path → its own body size limit
        self.raw_bodies = frozenset(raw_bodies)  # exact paths whose bodies are not JSON (size limit only)
        self.metrics = metrics
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        rid = sane_request_id(headers.get("x-request-id"))
        scope.setdefault("state", {})["request_id"] = rid
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status = [500]
        started_response = [False]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0], started_response[0] = message["status"], True
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = rid
            await send(message)

        try:
            refusal, replay = await self._guard(scope, receive, headers)
            if refusal is not None:
                await refusal(scope, replay, send_with_id)
            else:
                await self.app(scope, replay, send_with_id)
        except _Disconnected:
            status[0] = 499  # the client went away mid-body (nginx's code; nothing was sent)
        except BaseException:
            if not started_response[0]:
                status[0] = 500  # the exception handler (outside this middleware) answers 500
            raise
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope, self.routes())
            self.metrics.observe(method=scope["method"], route=route, status=status[0], seconds=elapsed)
            quiet = scope.get("path") in self.QUIET and status[0] < 400
            access_logger.log(
                logging.DEBUG if quiet else logging.INFO,
                "%s %s %d %.1f ms",
                scope["method"],
                route,
                status[0],
                elapsed * 1000,
                extra={
                    "method": scope["method"],
                    "route": route,
                    "status": status[0],
                    "duration_ms": round(elapsed * 1000, 3),
                },
            )
            request_id_var.reset(token)

    async def _guard(
        self, scope: Scope, receive: Receive, headers: Headers
    ) -> tuple[Callable[[Scope, Receive, Send], Awaitable[None]] | None, Receive]:
        """Read and check the body (module ``servicekit.strictjson``); a refusal response, or None and a replay."""
        limit = self.body_limits.get(scope.get("path", ""), self.limits.max_body_bytes)
        length = headers.get("content-length")
        if length is not None and (not (length.isascii() and length.isdigit()) or int(length) > limit):
            return self._refuse(scope, "payload-too-large", f"bodies are at most {limit} bytes"), receive
        if length in (None, "0") and "transfer-encoding" not in headers:
            return None, receive  # no body
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > limit:
                return self._refuse(scope, "payload-too-large", f"bodies are at most {limit} bytes"), receive
        if body and scope.get("path", "") not in self.raw_bodies:
            content_type = headers.get("content-type", "")
            if _console_form(scope, content_type):
                pass  # a web console's HTML form (servicekit.web checks its CSRF token); the size limit holds
            elif not is_json_media_type(content_type):
                return self._refuse(
                    scope, "unsupported-media-type", "send the body as application/json (UTF-8)"
                ), receive
            else:
                try:
                    loads_strict(
                        bytes(body),
                        self.limits
                        if limit == self.limits.max_body_bytes
                        else replace(self.limits, max_body_bytes=limit),
                    )
                except JsonRejected as e:
                    return self._refuse(scope, "malformed-json", e.detail), receive
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        return None, replay

    def _refuse(self, scope: Scope, slug: str, detail: str) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
        async def respond(scope: Scope, receive: Receive, send: Send) -> None:
            for route in self.routes():  # the route template for the log line (the router never runs)
                if route.matches(scope)[0] is not Match.NONE:
                    scope["route"] = route
                    break
            response = problem_response(Request(scope, receive), ProblemDetails.of(slug, detail))
            await response(scope, receive, send)

        return respond


# ------------------------------------------------------------------ health and metrics


def _check_failure(e: BaseException) -> str:
    """What a failing check says: a domain error's (secret-free) detail, else only the exception's type."""
    detail = getattr(e, "detail", None)
    return f"{type(e).__name__}: {detail}" if isinstance(detail, str) and detail else type(e).__name__


#: Seconds a readiness check may take before it counts as failing (under a typical probe timeout).
READINESS_TIMEOUT = 2.0


def run_checks(
    checks: Mapping[str, ReadinessCheck], *, timeout: float = READINESS_TIMEOUT, pool: ThreadPoolExecutor | None = None
) -> dict[str, str]:
    """Run every check at once, each within ``timeout`` seconds; ``{name: "ok" | "failing: <why>"}``.

    A check that hangs (a ledger that accepts the connection and never answers) is reported
    as failing when its time is up; its thread finishes in the background.
    """
    own = pool is None
    pool = pool or ThreadPoolExecutor(max_workers=max(1, len(checks)), thread_name_prefix="readiness")
    try:
        futures = {name: pool.submit(contextvars.copy_context().run, check) for name, check in checks.items()}
        deadline = time.monotonic() + timeout
        out: dict[str, str] = {}
        for name, future in futures.items():
            try:
                future.result(timeout=max(0.0, deadline - time.monotonic()))
                out[name] = "ok"
            except FutureTimeout:
                logger.warning(
                    "readiness check %s failing: no answer within %.1f s", name, timeout, extra={"check": name}
                )
                out[name] = f"failing: no answer within {timeout:g} s"
            except Exception as e:
                logger.warning(
                    "readiness check %s failing: %s (%.300s)", name, _check_failure(e), e, extra={"check": name}
                )
                out[name] = f"failing: {_check_failure(e)}"
        return out
    finally:
        if own:
            pool.shutdown(wait=False)


def _add_operations_routes(
    app: FastAPI,
    service: str,
    checks: Mapping[str, ReadinessCheck],
    readiness_timeout: float,
    optional: Mapping[str, ReadinessCheck],
) -> None:
    # one pool per app: a hung check occupies its thread, the next probes time out (never pile up threads)
    pool = ThreadPoolExecutor(max_workers=max(1, 2 * len(checks)), thread_name_prefix=f"{service}-readiness")

    @app.get(
        "/health/live",
        tags=["operations"],
        summary="Liveness: the process answers",
        responses={200: {"content": {"application/json": {"example": {"status": "ok", "service": service}}}}},
    )
    def health_live() -> dict[str, str]:
        """200 while the process serves requests; it checks nothing else (restart the process if it fails)."""
        return {"status": "ok", "service": service}

    @app.get(
        "/health/ready",
        tags=["operations"],
        summary="Readiness: the database, the ledger, the keys",
        responses={
            **error_responses(503),
            200: {
                "content": {
                    "application/json": {
                        "example": {
                            "status": "ready",
                            "service": service,
                            "checks": {name: "ok" for name in {**checks, **optional}},
                        }
                    }
                }
            },
        },
    )
    def health_ready(request: Request) -> Any:
        """200 ``ready`` when every check passes (``degraded`` when only an optional one fails);
        else 503 ``not-ready`` naming the failing checks."""
        results = run_checks({**checks, **optional}, timeout=readiness_timeout, pool=pool)
        failing = sorted(name for name, result in results.items() if result != "ok")
        if any(name in checks for name in failing):
            problem = ProblemDetails.of("not-ready", f"failing: {', '.join(failing)}", checks=results)
            return problem_response(request, problem)
        return {"status": "degraded" if failing else "ready", "service": service, "checks": results}

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics",
        response_class=Response,
        responses={
            200: {
                "description": "Prometheus text exposition format",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        },
    )
    def metrics(request: Request) -> Response:
        """Requests by route template and status, latency histograms, and the service's own counters."""
        return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)


# ------------------------------------------------------------------ OpenAPI


_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _finish_openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, then: a Problem schema on every error response, the generic errors of
    every operation (bodies: 400/413/415; parameters: 422; all: 500), no FastAPI validation schema."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = FastAPI.openapi(app)
    ids: dict[str, str] = {}
    for path, ops in schema.get("paths", {}).items():
        for method, op in ops.items():
            op_id = op.get("operationId")
            if op_id in ids:
                raise RuntimeError(f"operation id {op_id!r} is used by {ids[op_id]} and {method.upper()} {path}")
            ids[op_id] = f"{method.upper()} {path}"
            responses = op.setdefault("responses", {})
            generic = [500]
            if "requestBody" in op:
                generic += [400, 413, 415]
            if "requestBody" in op or op.get("parameters"):
                generic.append(422)
            for code in generic:
                responses.setdefault(str(code), {"description": ERROR_DESCRIPTIONS[code]})
            for code, response in responses.items():
                if code.isdigit() and int(code) >= 400:
                    if response.get("description") in (None, "", "problem+json", "Validation Error"):
                        response["description"] = ERROR_DESCRIPTIONS.get(int(code), "problem+json")
                    content = response.get("content") or {}
                    if set(content) <= {"application/json", PROBLEM_JSON}:  # a route's own media type stays
                        response["content"] = {PROBLEM_JSON: {"schema": _PROBLEM_REF}}
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    app.openapi_schema = schema
    return schema


# ------------------------------------------------------------------ the factory


def create_service_app(
    *,
    service: str,
    title: str,
    summary: str | None = None,
    description: str | None = None,
    version: str = "1",
    error_mappers: Mapping[type[Exception], ErrorMapper] | None = None,
    readiness: Mapping[str, ReadinessCheck] | None = None,
    readiness_timeout: float = READINESS_TIMEOUT,
    optional_checks: Mapping[str, ReadinessCheck] | None = None,
    limits: Limits | None = None,
    metrics: ServiceMetrics | None = None,
    body_limits: Mapping[str, int] | None = None,
    raw_bodies: Iterable[str] = (),
) -> FastAPI:
    """A FastAPI app with the scaffolding (module doc); the caller includes its routers.

    ``error_mappers`` maps each domain exception class to a function returning its
    :class:`~servicekit.problems.ProblemDetails` (the service's one mapping table).
    ``readiness`` names the checks of ``GET /health/ready`` (run concurrently, each failing
    after ``readiness_timeout`` seconds); ``optional_checks`` are reported too, but their
    failure only makes the service ``degraded`` (still 200: it can work without them). ``limits`` defaults to
    :class:`~servicekit.strictjson.Limits` () — the same for every service.
    ``body_limits`` gives exact request paths their own body size limit instead of
    ``limits.max_body_bytes`` (e.g. the issuer's ``/admin/offers/bulk``); all other checks stay.
    ``raw_bodies`` names exact paths whose bodies are not JSON (the witness's text
    ``/add-checkpoint``): only their size is checked before routing; the route parses them.
    ``app.state.metrics`` is the app's :class:`~servicekit.metrics.ServiceMetrics`.
    """
    limits = limits or Limits()
    metrics = metrics or ServiceMetrics(service)
    checks = dict(readiness or {})
    app = FastAPI(
        title=title,
        summary=summary,
        description=description or "",
        version=version,
        generate_unique_id_function=route_name,
    )
    app.state.service_name = service
    app.state.metrics = metrics
    app.state.limits = limits
    app.state.readiness = checks

    for exc_type, mapper in (error_mappers or {}).items():

        def _make(mapper: ErrorMapper) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
            async def handle(request: Request, exc: Exception) -> JSONResponse:
                return problem_response(request, mapper(exc))

            return handle

        app.add_exception_handler(exc_type, _make(mapper))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(request, _validation_problem(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(request, _http_problem(exc))

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:  # a bug, never bad input
        logger.error(
            "unhandled error on %s %s",
            request.method,
            _route_template(request.scope),
            exc_info=(type(exc), exc, exc.__traceback__),
            extra={"request_id": request_id_of(request)},
        )
        t = COMMON["internal-error"]
        detail = f"the {service} failed; its log has the details under this request id"
        return problem_response(request, ProblemDetails(t.status, t.slug, t.title, detail), log=False)

    _add_operations_routes(app, service, checks, readiness_timeout, dict(optional_checks or {}))
    app.add_middleware(
        ScaffoldMiddleware,
        limits=limits,
        metrics=metrics,
        routes=lambda: app.router.routes,
        body_limits=body_limits,
        raw_bodies=raw_bodies,
    )
    app.openapi = lambda: _finish_openapi(app)  # type: ignore[method-assign]
    return app
