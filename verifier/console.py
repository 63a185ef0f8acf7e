"""The lender console (issue 18): a loan officer's pages, served by the verifier behind the lender's API key.

    GET  /console/                       the lender's past requests, newest first, with their verdicts
    GET  /console/requests/new           a form: definition, disclosed attributes, predicates,
                                         pseudonym (lender-wide or a campaign), expiry, staleness
    POST /console/requests               → the request's page (and, optionally, an escrow of one hidden
                                         attribute to an auditor registered on the ledger)
    GET  /console/requests/{id}          the deep link and its QR code for the holder, and the
                                         status, which turns to the verdict without a reload
    GET  /console/requests/{id}/status   that part as an HTML fragment (what the page swaps in)
    GET  /console/requests/{id}/events   ``GET /requests/{id}/events`` (SSE) for the signed-in lender
    /console/webhooks…                   the lender's webhook endpoints and delivery logs
                                         (``verifier.console_webhooks``)

Sign-in is by API key (``servicekit.web``: the session refers to the key by its SHA-256, as
the verifier stores it; revoking the key ends the session). The live part is the only
script: ``console.js`` opens the event stream and, at each ``status`` event, fetches the
fragment (rendered and escaped here). Everything goes through
:class:`verifier.service.VerifierService` in process, as the API does, for the signed-in
lender only: a verdict shows what the holder disclosed and what was proven — never more —
and, for an escrow, the ciphertext the lender hands the auditor on default.
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from circuits.credentials import OPS
from servicekit.web import PREFIX, WebConsole, console_key, qr_data_uri
from verifier.api import _links, _status_view, status_events
from verifier.errors import VerifierError
from verifier.resolver import ResolverError
from verifier.service import VerifierService, hash_api_key, iso_utc

router = APIRouter(prefix=PREFIX, include_in_schema=False)
#: predicate rows on the form
PREDICATE_ROWS = 3
_INT = re.compile(r"-?(0|[1-9][0-9]{0,18})")


def _service(request: Request) -> VerifierService:
    return request.app.state.service  # type: ignore[no-any-return]


def _console(request: Request) -> WebConsole:
    return request.app.state.console  # type: ignore[no-any-return]


def _lender(request: Request) -> str:
    return str(_console(request).principal(request))


LenderDep = Annotated[str, Depends(_lender)]
ServiceDep = Annotated[VerifierService, Depends(_service)]
ConsoleDep = Annotated[WebConsole, Depends(_console)]


def _summary(record: Any) -> list[dict[str, Any]]:
    """What each query of a request asks, for people: definitions, disclosed attributes, predicates."""
    out = []
    for q in record.request.queries:
        predicates = [
            f"{p.attribute} {p.op} {', '.join(map(str, p.value)) if isinstance(p.value, (list, tuple)) else p.value}"
            for p in q.predicates
        ]
        out.append(
            {
                "id": q.id,
                "definitions": list(q.credential_definitions),
                "disclose": list(q.disclose),
                "predicates": predicates,
                "pseudonym_context": q.pseudonym_context,
                "escrow": None if q.escrow is None else q.escrow.describe(),
            }
        )
    return out


@router.get("/")
def home(request: Request, service: ServiceDep, console: ConsoleDep, lender: LenderDep) -> Response:
    now_ms = int(service.clock() * 1000)
    rows = [
        {
            "id": r.id,
            "created": iso_utc(r.created_ms),
            "status": r.status_at(now_ms),
            "summary": _summary(r),
            "verdict": r.verdict,
        }
        for r in service.list_requests(lender=lender, limit=100)
    ]
    return console.render(request, "verifier_home.html", title="Requests", requests=rows)


def _choices(service: VerifierService) -> list[dict[str, Any]]:
    """The definitions on the ledger, for the form's check boxes (none if the resolver cannot list, or the
    ledger is away: the form then takes ids typed in)."""
    listing = getattr(service.resolver, "definitions", None)
    try:
        definitions = listing() if listing is not None else []
    except ResolverError:
        definitions = []
    return [
        {
            "id": d.id,
            "label": f"{d.schema.name} {d.schema.version} — {d.tag}",
            "issuer": d.issuer_id,
            "attributes": ", ".join(f"{a.name} ({a.type})" for a in d.schema.attributes),
        }
        for d in definitions
    ]


def _form_page(request: Request, status: int = 200, **extra: Any) -> Response:
    form = {
        "definitions": [],
        "definition": "",
        "disclose": "",
        "pseudonym": "none",
        "campaign": "",
        "escrow_auditor": "",
        "escrow_attribute": "",
        "escrow_label": "",
        "q1_id": "",
        "q2_id": "",
        "q2_definition": "",
        "q2_disclose": "",
        "equality": "",
        "linear": "",
        "purpose": "",
        "expires_in": "600",
        "max_staleness": "600",
        "predicates": [{"attribute": "", "op": ">=", "value": ""} for _ in range(PREDICATE_ROWS)],
    }
    form.update(extra.pop("form", {}))
    choices = _choices(_service(request))
    return _console(request).render(
        request, "verifier_new.html", status=status, title="New request", form=form, ops=OPS, choices=choices, **extra
    )


@router.get("/requests/new")
def new_request(request: Request, lender: LenderDep) -> Response:
    return _form_page(request, error=None)


def _predicate_value(op: str, text: str) -> Any:
    """A typed-in predicate value: a list for ``between``/``in``/``not_in`` (comma-separated), integers as numbers."""
    if op in ("between", "in", "not_in"):
        return [_predicate_value(">=", part) for part in text.split(",") if part.strip()]
    text = text.strip()
    return int(text) if _INT.fullmatch(text) else text


@router.post("/requests")
async def create_request(request: Request, service: ServiceDep, console: ConsoleDep, lender: LenderDep) -> Response:
    form = await console.form(request)
    text = {
        k: str(form.get(k) or "").strip()
        for k in (
            "definition",
            "disclose",
            "pseudonym",
            "campaign",
            "escrow_auditor",
            "escrow_attribute",
            "escrow_label",
            "q1_id",
            "q2_id",
            "q2_definition",
            "q2_disclose",
            "equality",
            "linear",
            "purpose",
        )
    }
    numbers = {k: str(form.get(k) or "").strip() for k in ("expires_in", "max_staleness")}
    rows = [
        {k: str(form.get(f"p{i}_{k}") or "").strip() for k in ("attribute", "op", "value")}
        for i in range(PREDICATE_ROWS)
    ]
    chosen = [str(v) for v in form.getlist("definitions") if str(v).strip()]
    typed_in = [d.strip() for d in text["definition"].split(",") if d.strip()]
    again = {**text, **numbers, "predicates": rows, "definitions": chosen}
    try:
        if not all(v.isdigit() for v in numbers.values()):
            raise ValueError("expiry and staleness are whole numbers of seconds")
        pseudonym: bool | str = {"none": False, "lender": True}.get(text["pseudonym"], text["campaign"])
        if pseudonym == "":
            raise ValueError("name the campaign the pseudonym is for")
        escrow = {k: text[f"escrow_{k}"] for k in ("auditor", "attribute", "label")}
        if any(escrow.values()) and not all(escrow.values()):
            raise ValueError("escrow: name the auditor, the attribute and the label")
        asked = _asked(text, list(dict.fromkeys(chosen + typed_in)), rows)
        record = service.create_request(
            lender=lender,
            **asked,
            expires_in=int(numbers["expires_in"]),
            max_staleness=int(numbers["max_staleness"]),
            pseudonym=pseudonym,
            purpose=text["purpose"] or None,
            escrow=escrow if all(escrow.values()) else None,
        )
    except VerifierError as e:
        return _form_page(request, e.status, form=again, error=e.detail)
    except ValueError as e:
        return _form_page(request, 422, form=again, error=str(e))
    return RedirectResponse(f"{PREFIX}/requests/{record.id}", status_code=303)


def _names(text: str) -> list[str]:
    return [a.strip() for a in text.split(",") if a.strip()]


def _asked(text: dict[str, str], definitions: list[str], rows: list[dict[str, str]]) -> dict[str, Any]:
    """What the form asks, as ``VerifierService.create_request`` takes it (as ``POST /requests`` passes it):
    the one-query form, or — a second credential named — two named queries, the predicate rows then
    naming ``query.attribute``, and the equality line between them."""
    predicates = [
        {"attribute": r["attribute"], "op": r["op"], "value": _predicate_value(r["op"], r["value"])}
        for r in rows
        if r["attribute"]
    ]
    if not text["q2_definition"]:
        if text["equality"] or text["q2_disclose"]:
            raise ValueError("an equality or a second query's attributes need a second credential definition")
        return {
            "credential_definitions": definitions,
            "disclose": _names(text["disclose"]),
            "predicates": predicates,
            "linear": [text["linear"]] if text["linear"] else [],
        }
    queries = [
        {"id": text["q1_id"] or "first", "credential_definitions": definitions, "disclose": _names(text["disclose"])},
        {
            "id": text["q2_id"] or "second",
            "credential_definitions": _names(text["q2_definition"]),
            "disclose": _names(text["q2_disclose"]),
        },
    ]
    return {
        "queries": [{**q, "predicates": []} for q in queries],
        "equalities": [text["equality"]] if text["equality"] else [],
        "predicates": predicates,
        "linear": [text["linear"]] if text["linear"] else [],
    }


def _status(request: Request, service: VerifierService, lender: str, request_id: str) -> dict[str, Any]:
    view = _status_view(service, lender, request_id, request)
    verdict = view.get("verdict") or {}
    escrow = verdict.get("escrow")
    return {
        **view,
        "disclosed": verdict.get("disclosed", {}),
        "proven": verdict.get("predicates", []),
        "queries": verdict.get("queries"),  # per query: definition_id, disclosed, predicates (named queries)
        "escrow": escrow,
        "escrow_json": None if escrow is None else json.dumps(escrow, indent=2),
    }


@router.get("/requests/{request_id}")
def request_page(
    request: Request, request_id: str, service: ServiceDep, console: ConsoleDep, lender: LenderDep
) -> Response:
    return _request_view(request, service, console, lender, request_id, "verifier_request.html")


def _request_view(
    request: Request, service: VerifierService, console: WebConsole, lender: str, request_id: str, template: str
) -> Response:
    """The request's page, or the live part of it: status and verdict, and the deep link while pending."""
    try:
        record = service.get_request(lender=lender, request_id=request_id)
        view = _status(request, service, lender, request_id)
    except VerifierError as e:
        return console.message(request, "No such request", e.detail, e.status)
    link = _links(request, record)["deep_link"]
    return console.render(
        request,
        template,
        title=f"Request {record.id}",
        r=record,
        view=view,
        summary=_summary(record),
        link=link,
        qr=qr_data_uri(link) if view["status"] == "pending" else None,
        expires=iso_utc(record.expires_ms),
    )


@router.get("/requests/{request_id}/status")
def status_fragment(
    request: Request, request_id: str, service: ServiceDep, console: ConsoleDep, lender: LenderDep
) -> Response:
    return _request_view(request, service, console, lender, request_id, "verifier_live.html")


@router.get("/requests/{request_id}/events")
async def events(request: Request, request_id: str, service: ServiceDep, lender: LenderDep) -> StreamingResponse:
    return await status_events(service, lender, request_id, request)


def install_console(app: FastAPI, service: VerifierService, *, dev_mode: bool = False) -> None:
    """The console on the verifier's app: sign-in by API key; Secure cookies outside dev mode."""
    engine = getattr(service.store, "engine", None)
    process_key = secrets.token_bytes(32)  # a store without a database (tests): sessions last as long as the process

    def key() -> bytes:
        from verifier.db import console_secret

        return console_key(console_secret(engine) if engine is not None else process_key, "verifier")

    def authenticate(secret: str) -> str | None:
        hashed = hash_api_key(secret)
        return hashed if service.store.lender_for_key(key_hash=hashed) is not None else None

    app.state.console = WebConsole(
        service="verifier",
        title="zkcred lender console",
        templates=Path(__file__).resolve().parent / "templates",
        key=key,
        secure_cookies=not dev_mode,
        nav=[("/", "Requests"), ("/requests/new", "New request"), ("/webhooks", "Webhooks")],
        authenticate=authenticate,
        resolve=lambda ref: service.store.lender_for_key(key_hash=ref),
        label=str,
        login_hint="API key",
    )
    from verifier.console_webhooks import router as webhooks_router  # it builds on this module's dependencies

    app.state.console.install(app, router, webhooks_router)
