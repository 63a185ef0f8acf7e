"""The ledger's HTTP service (FastAPI): reads for everyone, signed appends for issuers.

    GET  /entries?start=&limit=             consecutive entries (canonical JSON), at most 1000
    GET  /entries/{seq}                     one entry, byte-for-byte as stored (RFC 8785)
    GET  /tree-head                         the latest signed tree head
    GET  /checkpoint                        the latest C2SP checkpoint (signed note, text/plain)
    GET  /proofs/inclusion?seq=&tree_size=  RFC 9162 audit path (tree_size defaults to the head)
    GET  /proofs/consistency?first=&second= RFC 9162 consistency proof (second defaults to the head)
    POST /entries                           a signed entry; 201 with a receipt, or a problem

Every refusal is an RFC 9457 ``application/problem+json`` with a stable ``type`` URI
(``https://zkcred.dev/problems/<slug>``, see ``ledger.errors``): domain errors map to HTTP in
one handler, request-validation errors are 400 ``invalid-request``, unknown routes 404.
Bad input is never a 500.  The process holds no state besides its ``LedgerLog``, so any
number of workers can serve one PostgreSQL database.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger.constants import DEFAULT_DATABASE_URL, DEFAULT_PAGE, MAX_PAGE, PROBLEM_TYPE_PREFIX
from ledger.entries import MAX_JSON_INT
from ledger.errors import ChainConflict, LedgerError
from ledger.keys import load_signing_key
from ledger.log import LedgerLog
from ledger.tiles import TileWriter
from ledger.witnessing import WitnessSubmitter

logger = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
CHECKPOINT_MEDIA_TYPE = "text/plain; charset=utf-8"

SeqParam = Annotated[int, Query(ge=0, le=MAX_JSON_INT)]
SizeParam = Annotated[int | None, Query(ge=0, le=MAX_JSON_INT)]


def problem(status: int, slug: str, title: str, detail: str, instance: str, **extra: Any) -> JSONResponse:
    body = {"type": PROBLEM_TYPE_PREFIX + slug, "title": title, "status": status, "detail": detail}
    body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


#: Every route documents its refusals as problem+json, so the OpenAPI matches what is sent.
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": "problem+json", "content": {PROBLEM_JSON: {}}} for code in (400, 403, 404, 409, 422)
}


def get_log(request: Request) -> LedgerLog:
    return request.app.state.log


LogDep = Annotated[LedgerLog, Depends(get_log)]


def _json_bytes(content: bytes, status: int = 200) -> Response:
    return Response(content=content, status_code=status, media_type="application/json")


def create_app(log: LedgerLog, *, witnesses: WitnessSubmitter | None = None,
               tiles: TileWriter | None = None) -> FastAPI:
    """The ledger service over ``log``; ``witnesses`` collects cosignatures and ``tiles`` keeps a
    tiles directory current, both in the background, started and stopped with the app."""
    background = [b for b in (witnesses, tiles) if b is not None]

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        for b in background:
            b.start()
        try:
            yield
        finally:
            for b in background:
                b.stop()

    app = FastAPI(title="zkcred ledger", version="1", summary=__doc__.splitlines()[0] if __doc__ else None,
                  responses=_ERRORS, lifespan=lifespan)
    app.state.log = log

    @app.exception_handler(LedgerError)
    async def _ledger_error(request: Request, exc: LedgerError) -> JSONResponse:
        extra: dict[str, Any] = {}
        if isinstance(exc, ChainConflict):
            extra = {"expected_seq": exc.expected_seq, "expected_prev_hash": exc.expected_prev_hash.hex()}
        return problem(exc.status, exc.slug, exc.title, exc.detail, request.url.path, **extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return problem(400, "invalid-request", "Invalid request", f"{where}: {first.get('msg', 'invalid')}", request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug = "not-found" if exc.status_code == 404 else "http-error"
        return problem(exc.status_code, slug, str(exc.detail), str(exc.detail), request.url.path)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:  # a bug, never bad input
        logger.exception("unhandled error on %s", request.url.path)
        return problem(500, "internal-error", "Internal error", "the ledger failed; see its log", request.url.path)

    @app.get("/entries")
    def list_entries(
        log: LogDep,
        start: SeqParam = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    ) -> Response:
        entries = log.entries(start=start, limit=limit)
        size = log.head().size
        body = b'{"entries":[' + b",".join(e.body for e in entries) + b"],"
        body += json.dumps({"start": start, "count": len(entries), "size": size})[1:].encode()
        return _json_bytes(body)

    @app.get("/entries/{seq}")
    def get_entry(log: LogDep, seq: Annotated[int, Path(ge=0, le=MAX_JSON_INT)]) -> Response:
        return _json_bytes(log.entry(seq).body)

    @app.get("/tree-head")
    def tree_head(log: LogDep) -> dict[str, Any]:
        head = log.head()
        sth = log.tree_head()
        # last_entry_hash is not signed: a convenience for writers building the next entry
        return {**sth.to_json(), "last_entry_hash": head.last_hash.hex() if head.size == sth.size else None}

    @app.get("/checkpoint", response_class=Response,
             responses={200: {"content": {CHECKPOINT_MEDIA_TYPE: {}}, "description": "a C2SP signed note"}})
    def checkpoint(log: LogDep) -> Response:
        return Response(log.latest_checkpoint().to_bytes(), media_type=CHECKPOINT_MEDIA_TYPE)

    @app.get("/proofs/inclusion")
    def inclusion(log: LogDep, seq: SeqParam, tree_size: SizeParam = None) -> dict[str, Any]:
        return log.inclusion_proof(seq=seq, tree_size=tree_size).to_json()

    @app.get("/proofs/consistency")
    def consistency(log: LogDep, first: SeqParam, second: SizeParam = None) -> dict[str, Any]:
        second_size = log.head().size if second is None else second
        proof = log.consistency_proof(first=first, second=second_size)
        return {"first": first, "second": second_size, "proof": [p.hex() for p in proof]}

    @app.post("/entries", status_code=201)
    def post_entry(log: LogDep, entry: Annotated[dict[str, Any], Body()]) -> JSONResponse:
        receipt = log.submit(entry)
        return JSONResponse(receipt.to_json(), status_code=201, headers={"Location": f"/entries/{receipt.seq}"})

    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory``: ``DATABASE_URL``, the ledger key, ``ZKCRED_LEDGER_ORIGIN``,
    ``ZKCRED_LEDGER_WITNESSES`` (a tlog-policy file: the witnesses to submit checkpoints to, with URLs)
    and ``ZKCRED_LEDGER_TILES_DIR`` (keep C2SP tiles there for a static server)."""
    from ledger.sql import SqlStore
    from ledger.witnessing import ENV_WITNESSES, witness_policy_from_env

    store = SqlStore(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    policy = witness_policy_from_env(os.environ.get(ENV_WITNESSES, "").strip() or None)
    log = LedgerLog(store, signing_key=load_signing_key(), witness_policy=policy)
    submitter = WitnessSubmitter(log, list(policy.witnesses.values())) if policy is not None else None
    tiles_dir = os.environ.get("ZKCRED_LEDGER_TILES_DIR", "").strip()
    return create_app(log, witnesses=submitter, tiles=TileWriter(log, tiles_dir) if tiles_dir else None)
