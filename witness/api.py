"""The witness's HTTP service (C2SP tlog-witness), on the services' common scaffolding.

    POST /add-checkpoint            old size, consistency proof, checkpoint → cosignature line(s)
    GET  /{origin hash}/checkpoint  the latest checkpoint cosigned for that log (monitoring)
    GET  /vkey                      this witness's cosigner vkey (text), for policy files
    GET  /{origin hash}/evidence    refused checkpoints the log signed (JSON; not part of tlog-witness)
    GET  /health/live, /health/ready, /metrics   as on every zkcred service (servicekit.app)

tlog-witness bodies are text, so ``/add-checkpoint`` is one of the scaffolding's
``raw_bodies``: its size is checked before routing (413 problem+json), the witness parses
the rest. Statuses are the spec's: 200 with ``text/plain`` signature lines; 409 with a
``text/x.tlog.size`` body (the latest cosigned size and a newline); 400, 403, 404 and 422
as ``application/problem+json`` (type ``https://zkcred.dev/problems/witness-<status>``).
Request ids, JSON access logs and metrics come from the scaffolding. Bad input is never a 500.
The submission and monitoring prefixes are the same.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ledger.checkpoint import MAX_CONSISTENCY_PROOF_LINES, SIZE_CONTENT_TYPE, format_size_body
from ledger.note import MAX_NOTE_SIZE
from servicekit.app import create_service_app, error_responses
from servicekit.problems import ProblemDetails
from witness.core import Witness, WitnessError

TEXT = "text/plain; charset=utf-8"
MAX_BODY = MAX_NOTE_SIZE + 64 * (MAX_CONSISTENCY_PROOF_LINES + 1)
_TITLES = {
    400: "Bad request",
    403: "Checkpoint not signed by the log's key",
    404: "Not found",
    422: "Checkpoint not consistent",
}


def witness_problem(e: Exception) -> ProblemDetails:
    """The one mapping of the witness's refusals (module doc); 409 never gets here (a text body)."""
    assert isinstance(e, WitnessError)
    return ProblemDetails(e.status, f"witness-{e.status}", _TITLES.get(e.status, "Error"), e.detail)


router = APIRouter(tags=["witness"])


def _witness(request: Request) -> Witness:
    witness: Witness = request.app.state.witness
    return witness


@router.post(
    "/add-checkpoint",
    response_class=Response,
    summary="Cosign a checkpoint consistent with the last one cosigned (C2SP tlog-witness)",
    openapi_extra={"requestBody": {"content": {"text/plain": {"schema": {"type": "string"}}}, "required": True}},
    responses={
        200: {"content": {TEXT: {}}, "description": "cosignature lines"},
        409: {"content": {SIZE_CONTENT_TYPE: {}}, "description": "the latest cosigned size"},
        **error_responses(403, 404, 422),
    },
)
async def add_checkpoint(request: Request) -> Response:
    body = await request.body()  # its size was checked by the scaffolding (raw_bodies)
    try:
        lines = await run_in_threadpool(_witness(request).add_checkpoint, body)
    except WitnessError as e:
        if e.status != 409:
            raise
        # exactly text/x.tlog.size (media_type= would append a charset)
        return Response(format_size_body(e.size or 0), status_code=409, headers={"Content-Type": SIZE_CONTENT_TYPE})
    return Response(lines, media_type=TEXT)


@router.get("/vkey", response_class=Response, summary="This witness's cosigner vkey, for policy files")
def vkey(request: Request) -> Response:
    return Response(_witness(request).vkey + "\n", media_type=TEXT)


@router.get("/{origin_hash}/evidence", summary="Checkpoints the log signed that this witness refused")
def evidence(origin_hash: str, request: Request) -> dict[str, Any]:
    """What the log signed and this witness refused as inconsistent: proof of a fork, for auditors."""
    return {
        "evidence": [
            {
                "origin": e.origin,
                "reason": e.reason,
                "old_size": e.old_size,
                "checkpoint": e.checkpoint.decode(),
                "recorded": e.recorded.checkpoint.decode() if e.recorded else None,
            }
            for e in _witness(request).evidence_for(origin_hash)
        ]
    }


@router.get(
    "/{origin_hash}/checkpoint",
    response_class=Response,
    summary="The latest checkpoint this witness cosigned for a log",
    responses={200: {"content": {TEXT: {}}}, **error_responses(404)},
)
def latest(origin_hash: str, request: Request) -> Response:
    return Response(_witness(request).latest(origin_hash), media_type=TEXT)


def create_app(witness: Witness) -> FastAPI:
    def state_store() -> None:
        for origin in witness.logs:
            witness.store.get(origin)

    app = create_service_app(
        service="witness",
        title="zkcred witness",
        summary="C2SP tlog-witness: cosigns consistent checkpoints",
        error_mappers={WitnessError: witness_problem},
        readiness={"state store": state_store},
        body_limits={"/add-checkpoint": MAX_BODY},
        raw_bodies=["/add-checkpoint"],
    )
    app.state.witness = witness
    app.include_router(router)
    return app
