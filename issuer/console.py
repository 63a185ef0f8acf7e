"""The issuer's web console (issue 18): issuer staff's pages, served by the issuer behind an admin token.

    GET  /console/                          start: what there is, where to go
    GET  /console/schemas  POST …           list, define (name, version, one "name type" per line)
    GET  /console/schemas/{id}              a schema and its ledger entry
    GET  /console/definitions  POST …       list, create (schema, tag, revocable, capacity, validity)
    GET  /console/definitions/{id}          a definition, its ledger entries, its public key
    GET  /console/offers?status=&definition_id=         offers, filtered
    GET  /console/offers/new?definition_id= one form field per attribute, and a CSV upload
    POST /console/offers, /console/offers/bulk          → the offer(s) as deep links / QR codes
    GET  /console/offers/{id}  POST …/cancel            status; cancel a pending offer
    GET  /console/credentials?status=&definition_id=&offer_id=   issued credentials, filtered
    GET  /console/credentials/{id}          one credential
    GET  /console/credentials/{id}/revoke   the confirmation (what revoking does); POST: revoke
    GET  /console/audit?action=&actor=&object_id=       the admin audit trail

Sign-in is by an admin token (``servicekit.web``: the session refers to the token by its
SHA-256, as the issuer stores it; revoking the token ends the session). Every page calls
:class:`issuer.service.IssuerService` in process, as the API does, acting as the token's
:class:`~issuer.service.Actor`, so the audit trail names the same token for the console as
for the API. Pages show no attribute values (only the offer form, re-shown with what was
typed when the issuer refuses it), and the offer's one-time token only inside the deep link
of the page that hands a new offer to its holder — once, as the API's answer does (the
offer's page later shows its status, not the link).
"""

from __future__ import annotations

import csv
import io
import json
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from circuits.credentials import CredentialDefinition
from issuer.errors import IssuerError
from issuer.sealing import token_hash
from issuer.service import AUDIT_ACTIONS, MAX_BULK_OFFERS, Actor, DefinitionInfo, IssuerService
from servicekit import deeplinks
from servicekit.web import PREFIX, WebConsole, console_key, qr_data_uri

router = APIRouter(prefix=PREFIX, include_in_schema=False)
#: Offers created at once whose QR codes the bulk page draws (the rest: deep links only).
BULK_QR = 12


def _service(request: Request) -> IssuerService:
    return request.app.state.service  # type: ignore[no-any-return]


def _console(request: Request) -> WebConsole:
    return request.app.state.console  # type: ignore[no-any-return]


def _admin(request: Request) -> Actor:
    return _console(request).principal(request)  # type: ignore[no-any-return]


AdminDep = Annotated[Actor, Depends(_admin)]
ServiceDep = Annotated[IssuerService, Depends(_service)]
ConsoleDep = Annotated[WebConsole, Depends(_console)]


def offer_link(issuer_url: str, offer_id: str, token: str) -> str:
    """``zkcred://accept?offer_uri=<issuer>/offers/<id>?token=<token>``: what a holder's wallet opens."""
    return deeplinks.build("accept", f"{issuer_url}/offers/{offer_id}?{urllib.parse.urlencode({'token': token})}")


def _ledger_entry(service: IssuerService, seq: int | None) -> str | None:
    """The ledger explorer's page of entry ``seq`` (None while publication is pending)."""
    return (
        None
        if seq is None or not service.settings.ledger_url
        else f"{service.settings.ledger_url}/console/entries/{seq}"
    )


def _attributes(definition: CredentialDefinition) -> list[dict[str, str]]:
    return [{"name": a.name, "type": str(a.type), "kind": a.type.kind} for a in definition.schema.attributes]


def _newest(items: list[Any], shown: int = 200) -> list[Any]:
    """The service lists oldest first: the console shows the newest ``shown`` first."""
    return list(reversed(items))[:shown]


def _typed(kind: str, text: str) -> Any:
    """A form or CSV cell as the value the issuer checks: booleans from words, everything else as typed."""
    if kind == "bool":
        word = text.strip().lower()
        if word in ("true", "yes", "1", "on"):
            return True
        if word in ("false", "no", "0", "off", ""):
            return False
    return text.strip()


# ------------------------------------------------------------------ start


@router.get("/")
def home(request: Request, service: ServiceDep, console: ConsoleDep, admin: AdminDep) -> Response:
    return console.render(
        request,
        "issuer_home.html",
        title="Issuer",
        schemas=len(service.list_schemas()),
        definitions=len(service.list_credential_definitions()),
        pending=len(service.list_offers(status="pending", limit=1000)),
        credentials=service.count_credentials(),
    )


# ------------------------------------------------------------------ schemas


def _schemas_page(request: Request, service: IssuerService, status: int = 200, **form: Any) -> Response:
    return _console(request).render(
        request,
        "issuer_schemas.html",
        status=status,
        title="Schemas",
        schemas=service.list_schemas(),
        form={"name": "", "version": "1", "attributes": "", **form},
        error=form.pop("error", None),
    )


@router.get("/schemas")
def schemas(request: Request, service: ServiceDep, admin: AdminDep) -> Response:
    return _schemas_page(request, service)


@router.post("/schemas")
async def create_schema(request: Request, service: ServiceDep, console: ConsoleDep, admin: AdminDep) -> Response:
    form = await console.form(request)
    name, version, lines = (str(form.get(k) or "") for k in ("name", "version", "attributes"))
    attributes: list[Mapping[str, Any]] = []
    for line in lines.splitlines():
        if line.strip():
            attr_name, _, attr_type = line.strip().partition(" ")
            attributes.append({"name": attr_name.strip(), "type": attr_type.strip() or "string"})
    try:
        if not attributes:
            raise ValueError("give at least one attribute: one “name type” per line")
        schema = service.create_schema(name=name.strip(), version=version.strip(), attributes=attributes, actor=admin)
    except IssuerError as e:
        return _schemas_page(request, service, e.status, name=name, version=version, attributes=lines, error=e.detail)
    except ValueError as e:
        return _schemas_page(request, service, 422, name=name, version=version, attributes=lines, error=str(e))
    return RedirectResponse(f"{PREFIX}/schemas/{urllib.parse.quote(schema.id)}", status_code=303)


@router.get("/schemas/{schema_id}")
def schema(request: Request, schema_id: str, service: ServiceDep, console: ConsoleDep, admin: AdminDep) -> Response:
    try:
        found = service.get_schema(schema_id)
    except IssuerError as e:
        return console.message(request, "No such schema", e.detail, e.status)
    definitions = [d for d in service.list_credential_definitions() if d.schema_id == found.id]
    return console.render(
        request,
        "issuer_schema.html",
        title=f"Schema {found.name}",
        schema=found,
        definitions=definitions,
        entry=_ledger_entry(service, found.ledger_seq),
    )


# ------------------------------------------------------------------ credential definitions


def _definitions_page(request: Request, service: IssuerService, status: int = 200, **form: Any) -> Response:
    error = form.pop("error", None)
    return _console(request).render(
        request,
        "issuer_definitions.html",
        status=status,
        title="Credential definitions",
        definitions=service.list_credential_definitions(),
        schemas=service.list_schemas(),
        form={"schema_id": "", "tag": "", "revocable": True, "capacity": "1000", "validity_days": "365", **form},
        error=error,
    )


@router.get("/definitions")
def definitions(request: Request, service: ServiceDep, admin: AdminDep, schema_id: str = "") -> Response:
    return _definitions_page(request, service, schema_id=schema_id)


def _int_field(value: Any, name: str) -> int | None:
    text = str(value or "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise ValueError(f"{name}: a whole number")
    return int(text)


@router.post("/definitions")
async def create_definition(request: Request, service: ServiceDep, console: ConsoleDep, admin: AdminDep) -> Response:
    form = await console.form(request)
    fields = {k: str(form.get(k) or "") for k in ("schema_id", "tag", "capacity", "validity_days")}
    revocable = form.get("revocable") == "on"
    try:
        capacity = _int_field(fields["capacity"], "capacity") if revocable else None
        validity = _int_field(fields["validity_days"], "validity in days") or 365
        created = service.create_credential_definition(
            schema_id=fields["schema_id"],
            tag=fields["tag"].strip(),
            revocable=revocable,
            capacity=capacity,
            validity_days=validity,
            actor=admin,
        )
    except IssuerError as e:
        return _definitions_page(request, service, e.status, revocable=revocable, error=e.detail, **fields)
    except ValueError as e:
        return _definitions_page(request, service, 422, revocable=revocable, error=str(e), **fields)
    return RedirectResponse(f"{PREFIX}/definitions/{urllib.parse.quote(created.id)}", status_code=303)


@router.get("/definitions/{definition_id}")
def definition(
    request: Request, definition_id: str, service: ServiceDep, console: ConsoleDep, admin: AdminDep
) -> Response:
    try:
        found = service.get_credential_definition(definition_id)
    except IssuerError as e:
        return console.message(request, "No such credential definition", e.detail, e.status)
    return console.render(
        request,
        "issuer_definition.html",
        title=f"Definition {found.tag}",
        d=found,
        attributes=_attributes(found.definition),
        entry=_ledger_entry(service, found.ledger_seq),
        registry_entry=_ledger_entry(service, found.registry_seq),
        document=json.dumps(found.definition.to_json(), indent=2, sort_keys=True),
    )


# ------------------------------------------------------------------ offers

OfferStatus = Literal["pending", "issued", "cancelled", "expired"]


@router.get("/offers")
def offers(
    request: Request,
    service: ServiceDep,
    console: ConsoleDep,
    admin: AdminDep,
    status: Annotated[OfferStatus | Literal[""], Query()] = "",
    definition_id: Annotated[str, Query(max_length=128)] = "",
) -> Response:
    items = _newest(service.list_offers(status=status or None, definition_id=definition_id or None, limit=1000))
    return console.render(
        request,
        "issuer_offers.html",
        title="Offers",
        offers=items,
        definitions=service.list_credential_definitions(),
        filters={"status": status, "definition_id": definition_id},
    )


def _new_offer_page(
    request: Request, service: IssuerService, definition_id: str, status: int = 200, **extra: Any
) -> Response:
    console = _console(request)
    try:
        found = service.get_credential_definition(definition_id)
    except IssuerError as e:
        return console.message(request, "Choose a credential definition", e.detail, e.status)
    extra.setdefault("values", {})
    extra.setdefault("error", None)
    extra.setdefault("errors", [])
    return console.render(
        request,
        "issuer_offer_new.html",
        status=status,
        title="New offer",
        d=found,
        attributes=_attributes(found.definition),
        max_bulk=MAX_BULK_OFFERS,
        **extra,
    )


@router.get("/offers/new")
def new_offer(
    request: Request, service: ServiceDep, admin: AdminDep, definition_id: Annotated[str, Query(max_length=128)] = ""
) -> Response:
    if not definition_id:
        return RedirectResponse(f"{PREFIX}/offers", status_code=303)
    return _new_offer_page(request, service, definition_id)


def _handoff(service: IssuerService, offer: dict[str, Any], qr: bool) -> dict[str, Any]:
    link = offer_link(offer["issuer_url"] or service.settings.issuer_url or "", offer["offer_id"], offer["token"])
    return {"id": offer["offer_id"], "link": link, "qr": qr_data_uri(link) if qr else None, "offer": offer}


async def _posted_definition(
    request: Request, service: IssuerService, console: WebConsole
) -> tuple[FormData, DefinitionInfo] | Response:
    """The posted offer form (its CSRF token checked) and the definition it names, or the page saying there is none."""
    form = await console.form(request)
    try:
        return form, service.get_credential_definition(str(form.get("definition_id") or ""))
    except IssuerError as e:
        return console.message(request, "Choose a credential definition", e.detail, e.status)


@router.post("/offers")
async def create_offer(request: Request, service: ServiceDep, console: ConsoleDep, admin: AdminDep) -> Response:
    posted = await _posted_definition(request, service, console)
    if isinstance(posted, Response):
        return posted
    form, found = posted
    definition_id = found.id
    attributes = _attributes(found.definition)
    values = {a["name"]: str(form.get(f"attr_{a['name']}") or "") for a in attributes}
    typed = {a["name"]: _typed(a["kind"], values[a["name"]]) for a in attributes}
    try:
        created = service.create_offer(credential_definition_id=definition_id, attributes=typed, actor=admin)
    except IssuerError as e:
        return _new_offer_page(request, service, definition_id, e.status, values=values, error=e.detail)
    return console.render(
        request,
        "issuer_offer_created.html",
        status=201,
        title="Offer created",
        handoffs=[_handoff(service, created, True)],
    )


@router.post("/offers/bulk")
async def create_offers_bulk(request: Request, service: ServiceDep, console: ConsoleDep, admin: AdminDep) -> Response:
    posted = await _posted_definition(request, service, console)
    if isinstance(posted, Response):
        return posted
    form, found = posted
    definition_id = found.id
    upload = form.get("csv")
    raw = await upload.read() if upload is not None and not isinstance(upload, str) else b""
    kinds = {a["name"]: a["kind"] for a in _attributes(found.definition)}
    try:
        rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
        if not rows:
            raise ValueError("the CSV has no rows: a header line of attribute names, then one line per holder")
        items = [
            {
                "credential_definition_id": definition_id,
                "attributes": {k: _typed(kinds.get(k, "string"), v or "") for k, v in row.items() if k is not None},
            }
            for row in rows
        ]
        created = service.create_offers(items, actor=admin)
    except UnicodeDecodeError:
        return _new_offer_page(request, service, definition_id, 422, error="the CSV is not UTF-8 text")
    except (ValueError, csv.Error) as e:
        return _new_offer_page(request, service, definition_id, 422, error=str(e))
    except IssuerError as e:
        errors = [f"line {index + 2}: {item.detail}" for index, item in e.items]
        return _new_offer_page(request, service, definition_id, e.status, error=e.detail, errors=errors)
    handoffs = [_handoff(service, o, i < BULK_QR) for i, o in enumerate(created["items"])]
    return console.render(
        request,
        "issuer_offer_created.html",
        status=201,
        title=f"{len(handoffs)} offers created",
        handoffs=handoffs,
        batch_id=created["batch_id"],
    )


@router.get("/offers/{offer_id}")
def offer(request: Request, offer_id: str, service: ServiceDep, console: ConsoleDep, admin: AdminDep) -> Response:
    try:
        found = service.get_offer(offer_id)
    except IssuerError as e:
        return console.message(request, "No such offer", e.detail, e.status)
    return console.render(request, "issuer_offer.html", title=f"Offer {found.id}", o=found)


@router.post("/offers/{offer_id}/cancel")
async def cancel_offer(
    request: Request, offer_id: str, service: ServiceDep, console: ConsoleDep, admin: AdminDep
) -> Response:
    await console.form(request)
    try:
        service.cancel_offer(offer_id, actor=admin)
    except IssuerError as e:
        return console.message(request, "Not cancelled", e.detail, e.status)
    return RedirectResponse(f"{PREFIX}/offers/{urllib.parse.quote(offer_id)}", status_code=303)


# ------------------------------------------------------------------ credentials


@router.get("/credentials")
def credentials(
    request: Request,
    service: ServiceDep,
    console: ConsoleDep,
    admin: AdminDep,
    status: Annotated[Literal["issued", "revoked", ""], Query()] = "",
    definition_id: Annotated[str, Query(max_length=128)] = "",
    offer_id: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    items = _newest(
        service.list_credentials(
            status=status or None, definition_id=definition_id or None, offer_id=offer_id or None, limit=1000
        )
    )
    return console.render(
        request,
        "issuer_credentials.html",
        title="Credentials",
        credentials=items,
        definitions=service.list_credential_definitions(),
        filters={"status": status, "definition_id": definition_id, "offer_id": offer_id},
    )


def _credential_page(
    request: Request, service: IssuerService, credential_id: str, template: str, **extra: Any
) -> Response:
    console = _console(request)
    try:
        found = service.get_credential(credential_id)
        d = service.get_credential_definition(found.definition_id)
    except IssuerError as e:
        return console.message(request, "No such credential", e.detail, e.status)
    return console.render(request, template, title=f"Credential {found.id}", c=found, d=d, **extra)


@router.get("/credentials/{credential_id}")
def credential(request: Request, credential_id: str, service: ServiceDep, admin: AdminDep) -> Response:
    return _credential_page(request, service, credential_id, "issuer_credential.html")


@router.get("/credentials/{credential_id}/revoke")
def confirm_revoke(request: Request, credential_id: str, service: ServiceDep, admin: AdminDep) -> Response:
    return _credential_page(
        request, service, credential_id, "issuer_revoke.html", ledger_url=service.settings.ledger_url or "the ledger"
    )


@router.post("/credentials/{credential_id}/revoke")
async def revoke(
    request: Request, credential_id: str, service: ServiceDep, console: ConsoleDep, admin: AdminDep
) -> Response:
    await console.form(request)
    try:
        result = service.revoke(credential_id, actor=admin)
    except IssuerError as e:
        return console.message(request, "Not revoked", e.detail, e.status)
    request.app.state.revocations.inc()
    return _credential_page(
        request,
        service,
        credential_id,
        "issuer_credential.html",
        revoked=result,
        entry=_ledger_entry(service, result.ledger_seq),
    )


# ------------------------------------------------------------------ audit trail


@router.get("/audit")
def audit(
    request: Request,
    service: ServiceDep,
    console: ConsoleDep,
    admin: AdminDep,
    action: Annotated[str, Query(max_length=64)] = "",
    actor: Annotated[str, Query(max_length=128)] = "",
    object_id: Annotated[str, Query(max_length=128)] = "",
) -> Response:
    action = action if action in AUDIT_ACTIONS else ""
    items = _newest(
        service.list_audit(action=action or None, actor=actor or None, object_id=object_id or None, limit=1000)
    )
    return console.render(
        request,
        "issuer_audit.html",
        title="Audit trail",
        items=items,
        actions=AUDIT_ACTIONS,
        filters={"action": action, "actor": actor, "object_id": object_id},
    )


# ------------------------------------------------------------------ installation


def install_console(app: FastAPI, service: IssuerService) -> None:
    """The console on the issuer's app: sign-in by admin token; Secure cookies outside dev mode."""

    def authenticate(secret: str) -> str | None:
        hashed = token_hash(secret)
        return hashed if service.admin_actor_by_hash(hashed) is not None else None

    app.state.console = WebConsole(
        service="issuer",
        title="zkcred issuer",
        templates=Path(__file__).resolve().parent / "templates",
        key=console_key(service.settings.master_key, "issuer"),
        secure_cookies=not service.settings.dev_mode,
        nav=[
            ("/schemas", "Schemas"),
            ("/definitions", "Definitions"),
            ("/offers", "Offers"),
            ("/credentials", "Credentials"),
            ("/audit", "Audit trail"),
        ],
        authenticate=authenticate,
        resolve=service.admin_actor_by_hash,
        label=lambda actor: actor.label,
        login_hint="admin token",
    )
    app.state.console.install(app, router)
