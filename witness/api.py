"""The witness's HTTP service (C2SP tlog-witness).

    POST /add-checkpoint            old size, consistency proof, checkpoint → cosignature line(s)
    GET  /{origin hash}/checkpoint  the latest checkpoint cosigned for that log (monitoring)
    GET  /vkey                      this witness's cosigner vkey (text), for policy files
    GET  /{origin hash}/evidence    refused checkpoints the log signed (JSON; not part of tlog-witness)
    GET  /health/live, /health/ready   the process answers; its state store answers

``servicekit``'s app refuses every non-JSON request body (415) before routing, and
tlog-witness bodies are text, so the witness keeps this thin app of its own (same problem
``type`` prefix); moving it onto ``create_service_app`` needs a per-route body-type hook there.

Statuses are the spec's: 200 with ``text/plain`` signature lines; 409 with a
``text/x.tlog.size`` body (the latest cosigned size and a newline); 400, 403, 404 and 422
as ``application/problem+json`` (type ``https://zkcred.dev/problems/witness-<status>``).
Bad input is never a 500.  The submission and monitoring prefixes are the same.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger.checkpoint import MAX_CONSISTENCY_PROOF_LINES, SIZE_CONTENT_TYPE, format_size_body
from ledger.constants import PROBLEM_TYPE_PREFIX
from ledger.note import MAX_NOTE_SIZE
from witness.core import Witness, WitnessError

logger = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
TEXT = "text/plain; charset=utf-8"
MAX_BODY = MAX_NOTE_SIZE + 64 * (MAX_CONSISTENCY_PROOF_LINES + 1)
_TITLES = {
    400: "Bad request",
    403: "Checkpoint not signed by the log's key",
    404: "Not found",
    413: "Request too large",
    422: "Checkpoint not consistent",
}


def problem(status: int, detail: str, instance: str, slug: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_PREFIX + (slug or f"witness-{status}"),
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def create_app(witness: Witness) -> FastAPI:
    app = FastAPI(title="zkcred witness", version="1", summary="C2SP tlog-witness: cosigns consistent checkpoints")
    app.state.witness = witness

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail), request.url.path)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:  # a bug, never bad input
        logger.exception("unhandled error on %s", request.url.path)
        return problem(500, "the witness failed; see its log", request.url.path, "internal-error")

    @app.post(
        "/add-checkpoint",
        response_class=Response,
        responses={
            200: {"content": {TEXT: {}}, "description": "cosignature lines"},
            409: {"content": {SIZE_CONTENT_TYPE: {}}, "description": "the latest cosigned size"},
            **{code: {"content": {PROBLEM_JSON: {}}, "description": "problem+json"} for code in (400, 403, 404, 422)},
        },
    )
    async def add_checkpoint(request: Request) -> Response:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return problem(413, f"a request body is at most {MAX_BODY} bytes", request.url.path)
        try:
            lines = await run_in_threadpool(witness.add_checkpoint, bytes(body))
        except WitnessError as e:
            if e.status == 409:
                # exactly text/x.tlog.size (media_type= would append a charset)
                return Response(
                    format_size_body(e.size or 0), status_code=409, headers={"Content-Type": SIZE_CONTENT_TYPE}
                )
            return problem(e.status, e.detail, request.url.path)
        return Response(lines, media_type=TEXT)

    @app.get("/health/live")
    def live() -> dict[str, str]:
        return {"status": "ok", "service": "witness"}

    @app.get("/health/ready")
    def ready(request: Request) -> Response:
        try:
            for origin in witness.logs:
                witness.store.get(origin)
        except Exception as e:  # the database is away
            logger.warning("not ready: %s", type(e).__name__)
            return problem(
                503, f"the witness's state store is unreachable ({type(e).__name__})", request.url.path, "not-ready"
            )
        return JSONResponse({"status": "ok", "service": "witness"})

    @app.get("/vkey", response_class=Response)
    def vkey() -> Response:
        return Response(witness.vkey + "\n", media_type=TEXT)

    @app.get("/{origin_hash}/evidence")
    def evidence(origin_hash: str, request: Request) -> Response:
        """What the log signed and this witness refused as inconsistent: proof of a fork, for auditors."""
        try:
            found = witness.evidence_for(origin_hash)
        except WitnessError as e:
            return problem(e.status, e.detail, request.url.path)
        return JSONResponse(
            {
                "evidence": [
                    {
                        "origin": e.origin,
                        "reason": e.reason,
                        "old_size": e.old_size,
                        "checkpoint": e.checkpoint.decode(),
                        "recorded": e.recorded.checkpoint.decode() if e.recorded else None,
                    }
                    for e in found
                ]
            }
        )

    @app.get("/{origin_hash}/checkpoint", response_class=Response)
    def latest(origin_hash: str, request: Request) -> Response:
        try:
            return Response(witness.latest(origin_hash), media_type=TEXT)
        except WitnessError as e:
            return problem(e.status, e.detail, request.url.path)

    return app
