"""The ledger explorer (issue 18): public pages over the log, served by the ledger service.

    GET /console/                 the current checkpoint (signed note: the log's signature and
                                  its witnesses' cosignatures) and the latest entries
    GET /console/entries?before=  entries with their types and issuers, newest first, 50 a page
    GET /console/entries/{seq}    one entry (payload, chain hash, signature) and its inclusion
                                  proof in the current tree, checked here against the root
    GET /console/audit            the result of replaying the whole log (``ledger.audit.audit_store``):
                                  every hash, signature and stored Merkle node, then the signed head

Reads only, like the API: no login and no form that changes anything (the page size is
fixed, so a visitor cannot ask for more than the API gives). An audit replays the log
once per tree size: the report is kept for that size, one replay at a time per process.
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import threading
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse

from ledger import merkle
from ledger.audit import AuditReport, audit_store
from ledger.constants import MAX_PAGE
from ledger.entries import MAX_JSON_INT
from ledger.errors import LedgerError
from ledger.log import LedgerLog
from servicekit.web import PREFIX, WebConsole

PAGE = 50
router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _log(request: Request) -> LedgerLog:
    return request.app.state.log  # type: ignore[no-any-return]


def _console(request: Request) -> WebConsole:
    return request.app.state.console  # type: ignore[no-any-return]


def _when(ms: int) -> str:
    return _dt.datetime.fromtimestamp(ms / 1000, _dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _entry_view(body: bytes) -> dict[str, Any]:
    doc = json.loads(body)
    return {
        "seq": doc["seq"],
        "time": _when(doc["time"]),
        "type": doc["type"],
        "issuer": doc["issuer"],
        "payload": json.dumps(doc["payload"], indent=2, sort_keys=True, ensure_ascii=False),
        "prev_hash": doc["prev_hash"],
        "signature": doc["signature"],
    }


def _signatures(log: LedgerLog) -> tuple[Any, list[dict[str, Any]]]:
    """The checkpoint served at ``GET /checkpoint`` and its signature lines (log signature, cosignatures)."""
    checkpoint = log.latest_checkpoint()
    lines = []
    for sig in checkpoint.note.signatures:
        cosigned = None
        if sig.name != checkpoint.origin and len(sig.signature) == 72:  # tlog-cosignature: timestamp ‖ signature
            cosigned = _when(int.from_bytes(sig.signature[:8], "big") * 1000)
        lines.append(
            {
                "name": sig.name,
                "key_id": f"{sig.key_id:08x}",
                "kind": "log signature" if sig.name == checkpoint.origin else "witness cosignature",
                "cosigned_at": cosigned,
            }
        )
    return checkpoint, lines


@router.get("/", response_class=HTMLResponse)
def overview(request: Request) -> HTMLResponse:
    log = _log(request)
    checkpoint, lines = _signatures(log)
    size = log.head().size
    entries = [_entry_view(e.body) for e in log.entries(start=max(0, size - 10), limit=10)] if size else []
    return _console(request).render(
        request,
        "ledger_overview.html",
        title="Ledger",
        checkpoint=checkpoint,
        root=base64.b64encode(checkpoint.root).decode(),
        note=checkpoint.to_bytes().decode(),
        signatures=lines,
        entries=list(reversed(entries)),
        size=size,
    )


@router.get("/entries", response_class=HTMLResponse)
def entries(request: Request, before: Annotated[int | None, Query(ge=1, le=MAX_JSON_INT)] = None) -> HTMLResponse:
    log = _log(request)
    size = log.head().size
    end = min(before or size, size)
    start = max(0, end - PAGE)
    rows = [_entry_view(e.body) for e in log.entries(start=start, limit=min(PAGE, MAX_PAGE))] if end else []
    rows = [r for r in rows if r["seq"] < end]
    return _console(request).render(
        request,
        "ledger_entries.html",
        title="Entries",
        entries=list(reversed(rows)),
        size=size,
        older=start if start > 0 else None,
        newer=min(end + PAGE, size) if end < size else None,
    )


@router.get("/entries/{seq}", response_class=HTMLResponse)
def entry(request: Request, seq: Annotated[int, PathParam(ge=0, le=MAX_JSON_INT)]) -> HTMLResponse:
    log, console = _log(request), _console(request)
    try:
        stored = log.entry(seq)
    except LedgerError as e:
        return console.message(request, "No such entry", e.detail, status=e.status)
    head = log.tree_head()
    proof = log.inclusion_proof(seq=seq, tree_size=head.size)
    verified = merkle.verify_inclusion(proof.leaf_hash, seq, head.size, proof.proof, head.root)
    return console.render(
        request,
        "ledger_entry.html",
        title=f"Entry {seq}",
        entry=_entry_view(stored.body),
        entry_hash=stored.entry_hash.hex(),
        leaf_hash=stored.leaf_hash.hex(),
        tree_size=head.size,
        root=head.root.hex(),
        proof=[p.hex() for p in proof.proof],
        verified=verified,
    )


class _AuditCache:
    """The last audit report, for the tree size it covered; one replay at a time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.size: int | None = None
        self.result: AuditReport | str | None = None


@router.get("/audit", response_class=HTMLResponse)
def audit(request: Request) -> HTMLResponse:
    log, cache = _log(request), request.app.state.console_audit
    with cache.lock:
        size = log.head().size
        if cache.size != size:
            try:
                cache.result = audit_store(log.store, ledger_key=log.public_key)
            except LedgerError as e:  # VerificationFailed names the first thing that does not hold
                cache.result = e.detail
            cache.size = size
        result = cache.result
    report = result if isinstance(result, AuditReport) else None
    return _console(request).render(
        request,
        "ledger_audit.html",
        title="Audit",
        report=report,
        failure=None if report is not None else result,
        root=report.root.hex() if report is not None else None,
        key=log.public_key.hex(),
    )


def install_console(app: FastAPI) -> None:
    """The explorer on the ledger's app (public: no login)."""
    app.state.console = WebConsole(
        service="ledger",
        title="zkcred ledger",
        templates=Path(__file__).resolve().parent / "templates",
        nav=[("/", "Checkpoint"), ("/entries", "Entries"), ("/audit", "Audit")],
    )
    app.state.console_audit = _AuditCache()
    app.state.console.install(app, router)
