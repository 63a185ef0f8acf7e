"""The ledger's HTTP service (FastAPI): reads for everyone, signed appends for issuers.

    GET  /entries?start=&limit=             consecutive entries (canonical JSON), at most 1000
    GET  /entries/{seq}                     one entry, byte-for-byte as stored (RFC 8785)
    GET  /tree-head                         the latest signed tree head
    GET  /checkpoint                        the latest C2SP checkpoint (signed note, text/plain; cosigned
                                            by the ledger's witnesses when it has them)
    GET  /proofs/inclusion?seq=&tree_size=  RFC 9162 audit path (tree_size defaults to the head)
    GET  /proofs/consistency?first=&second= RFC 9162 consistency proof (second defaults to the head)
    POST /entries                           a signed entry; 201 with a receipt, or a problem;
                                            200 with the receipt of the entry already on the log
                                            if its content (issuer, type, payload) is there

Reads need no credentials; an append is authenticated by the issuer's signature on the
entry. The scaffolding is ``servicekit.app.create_service_app`` (the same for the three
services): RFC 9457 problem+json, limits and strict JSON, request ids, structured logs,
``/health/live``, ``/health/ready`` (database, keys), ``/metrics`` (plus the ledger's
size and appends). This module keeps only the domain mapping: a ``LedgerError`` carries its
status, slug and title (``ledger.errors``). Bad input is never a 500. The process holds
no state besides its ``LedgerLog``, so any number of workers can serve one PostgreSQL
database.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from ledger.console import install_console
from ledger.constants import DEFAULT_PAGE, MAX_PAGE
from ledger.entries import MAX_JSON_INT, verify_tree_head
from ledger.errors import ChainConflict, LedgerError
from ledger.log import LedgerLog
from ledger.tiles import TileWriter
from ledger.witnessing import WitnessSubmitter
from servicekit.app import create_service_app, error_responses
from servicekit.logs import configure_logging
from servicekit.problems import ProblemDetails
from servicekit.strictjson import Limits

logger = logging.getLogger(__name__)
CHECKPOINT_MEDIA_TYPE = "text/plain; charset=utf-8"

SeqParam = Annotated[int, Query(ge=0, le=MAX_JSON_INT)]
SizeParam = Annotated[int | None, Query(ge=0, le=MAX_JSON_INT)]


#: Every route documents its refusals as problem+json, so the OpenAPI matches what is sent.
_ERRORS = error_responses(403, 404, 409, 422)

router = APIRouter(tags=["ledger"], responses=_ERRORS)


def get_log(request: Request) -> LedgerLog:
    return request.app.state.log


LogDep = Annotated[LedgerLog, Depends(get_log)]


def _json_bytes(content: bytes, status: int = 200) -> Response:
    return Response(content=content, status_code=status, media_type="application/json")


@router.get("/entries")
def list_entries(
    log: LogDep,
    start: SeqParam = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
) -> Response:
    """Consecutive entries from ``start`` (at most ``limit``), byte-for-byte as stored, and the log's size."""
    entries = log.entries(start=start, limit=limit)
    size = log.head().size
    body = b'{"entries":[' + b",".join(e.body for e in entries) + b"],"
    body += json.dumps({"start": start, "count": len(entries), "size": size})[1:].encode()
    return _json_bytes(body)


@router.get("/entries/{seq}")
def get_entry(log: LogDep, seq: Annotated[int, Path(ge=0, le=MAX_JSON_INT)]) -> Response:
    """One entry, byte-for-byte as stored (RFC 8785 canonical JSON)."""
    return _json_bytes(log.entry(seq).body)


@router.get("/tree-head")
def tree_head(log: LogDep) -> dict[str, Any]:
    """The latest signed tree head (RFC 9162), plus the unsigned hash of the last entry for writers."""
    head = log.head()
    sth = log.tree_head()
    # last_entry_hash is not signed: a convenience for writers building the next entry
    return {**sth.to_json(), "last_entry_hash": head.last_hash.hex() if head.size == sth.size else None}


@router.get(
    "/checkpoint",
    response_class=Response,
    responses={200: {"content": {CHECKPOINT_MEDIA_TYPE: {}}, "description": "a C2SP checkpoint (signed note)"}},
)
def checkpoint(log: LogDep) -> Response:
    """The latest C2SP checkpoint: with witnesses, the newest one carrying their quorum and its cosignatures."""
    return Response(log.latest_checkpoint().to_bytes(), media_type=CHECKPOINT_MEDIA_TYPE)


@router.get("/proofs/inclusion")
def inclusion(log: LogDep, seq: SeqParam, tree_size: SizeParam = None) -> dict[str, Any]:
    """The RFC 9162 audit path of entry ``seq`` in the tree of ``tree_size`` (default: the head)."""
    return log.inclusion_proof(seq=seq, tree_size=tree_size).to_json()


@router.get("/proofs/consistency")
def consistency(log: LogDep, first: SeqParam, second: SizeParam = None) -> dict[str, Any]:
    """The RFC 9162 consistency proof between the trees of sizes ``first`` and ``second`` (default: the head)."""
    second_size = log.head().size if second is None else second
    proof = log.consistency_proof(first=first, second=second_size)
    return {"first": first, "second": second_size, "proof": [p.hex() for p in proof]}


@router.post("/entries", status_code=201)
def post_entry(log: LogDep, entry: Annotated[dict[str, Any], Body()], request: Request) -> JSONResponse:
    """Append an entry signed by its issuer: 201 with a receipt, or a problem naming the reason.

    200 with the receipt of the entry already on the log when its content (issuer, type,
    payload) is there: a re-sent entry is never appended twice.
    """
    try:
        receipt = log.submit(entry)
    except LedgerError as e:
        request.app.state.rejections.labels(e.slug).inc()
        raise
    if receipt.existing:  # a re-sent entry (a lost receipt): where it already is, nothing appended
        return JSONResponse(receipt.to_json(), status_code=200, headers={"Location": f"/entries/{receipt.seq}"})
    request.app.state.appends.inc()
    return JSONResponse(receipt.to_json(), status_code=201, headers={"Location": f"/entries/{receipt.seq}"})


# ------------------------------------------------------------------ the app


def _problem_of(exc: LedgerError) -> ProblemDetails:
    """The ledger's one domain mapping: each ``LedgerError`` carries its status, slug and title."""
    extra: dict[str, Any] = {}
    if isinstance(exc, ChainConflict):
        extra = {"expected_seq": exc.expected_seq, "expected_prev_hash": exc.expected_prev_hash.hex()}
    return ProblemDetails(exc.status, exc.slug, exc.title, exc.detail, extensions=extra)


def _readiness(log: LedgerLog) -> dict[str, Any]:
    def database() -> None:
        log.head()

    def keys() -> None:
        """The signing key signs a tree head that verifies under the ledger's public key."""
        verify_tree_head(log.tree_head(), log.public_key)

    return {"database": database, "keys": keys}


def create_app(
    log: LedgerLog,
    *,
    limits: Limits | None = None,
    witnesses: WitnessSubmitter | None = None,
    tiles: TileWriter | None = None,
) -> FastAPI:
    """The ledger service over ``log``; ``limits``: request limits (the shared default if None).

    ``witnesses`` collects cosignatures and ``tiles`` keeps a tiles directory current, both in
    the background, started and stopped with the app (its lifespan).
    """
    app = create_service_app(
        service="ledger",
        title="zkcred ledger",
        summary=__doc__.splitlines()[0] if __doc__ else None,
        error_mappers={LedgerError: _problem_of},
        readiness=_readiness(log),
        limits=limits,
    )
    app.state.log = log
    install_console(app)  # the public explorer under /console (ledger.console)
    metrics = app.state.metrics
    metrics.gauge_callback("ledger_entries", "entries in the log (its tree size)", lambda: log.head().size)
    app.state.appends = metrics.counter("ledger_appends", "entries appended through POST /entries")
    app.state.rejections = metrics.counter("ledger_rejections", "appends refused, by reason", ["reason"])
    app.include_router(router)
    background = [b for b in (witnesses, tiles) if b is not None]
    if background:
        inner = app.router.lifespan_context

        @contextlib.asynccontextmanager
        async def lifespan(a: FastAPI) -> AsyncIterator[Any]:
            for b in background:
                b.start()
            try:
                async with inner(a) as state:
                    yield state
            finally:
                for b in background:
                    b.stop()

        app.router.lifespan_context = lifespan
    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory``: the settings (``ledger.config``) from the environment and config file,
    ``ZKCRED_LEDGER_ORIGIN``, ``ZKCRED_LEDGER_WITNESSES`` (a tlog-policy file: the witnesses to submit
    checkpoints to, with URLs) and ``ZKCRED_LEDGER_TILES_DIR`` (keep C2SP tiles there for a static server)."""
    from ledger.config import Settings, open_checked
    from ledger.witnessing import ENV_WITNESSES, witness_policy_from_env

    configure_logging()  # JSON lines at $ZKCRED_LOG_LEVEL, in every worker process
    store, key = open_checked(Settings.load())  # type: ignore[arg-type]
    policy = witness_policy_from_env(os.environ.get(ENV_WITNESSES, "").strip() or None)
    log = LedgerLog(store, signing_key=key, witness_policy=policy)
    submitter = WitnessSubmitter(log, list(policy.witnesses.values())) if policy is not None else None
    tiles_dir = os.environ.get("ZKCRED_LEDGER_TILES_DIR", "").strip()
    return create_app(log, witnesses=submitter, tiles=TileWriter(log, tiles_dir) if tiles_dir else None)
