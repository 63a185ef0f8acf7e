"""The lender console's webhook pages (issue 18 item 2: manage webhooks and see deliveries).

    GET  /console/webhooks                 the lender's endpoints and a form to register one
    POST /console/webhooks                 register → a page showing the signing secret, once
    GET  /console/webhooks/{id}            one endpoint and its delivery log (status, attempts)
    POST /console/webhooks/{id}/delete     delete it (its pending deliveries are cancelled)

Everything calls :class:`verifier.webhooks.Webhooks` in process for the signed-in lender, as
``verifier.webhooks_api`` does over HTTP: the same rules (URL policy, allowed hosts, at most 16
endpoints), the same 404 for another lender's endpoint. A refused registration is the form
again with the reason, never a 500. The secret is on the creation page only: no other page
reads it (``Webhooks.endpoints``/``deliveries`` never return it).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from servicekit.web import PREFIX, WebConsole
from verifier.console import ConsoleDep, LenderDep
from verifier.errors import VerifierError
from verifier.models import WEBHOOK_EVENTS
from verifier.webhooks import Webhooks

router = APIRouter(prefix=f"{PREFIX}/webhooks", include_in_schema=False)


def _webhooks(request: Request) -> Webhooks:
    return request.app.state.webhooks  # type: ignore[no-any-return]


def _list_page(request: Request, console: WebConsole, lender: str, status: int = 200, **extra: Any) -> Response:
    form = {"url": "", "description": "", "events": list(WEBHOOK_EVENTS)}
    form.update(extra.pop("form", {}))
    endpoints = _webhooks(request).endpoints(lender=lender)
    return console.render(
        request,
        "verifier_webhooks.html",
        status=status,
        title="Webhooks",
        endpoints=endpoints,
        events=WEBHOOK_EVENTS,
        form=form,
        **{"error": None, **extra},
    )


@router.get("")
def webhooks_page(request: Request, console: ConsoleDep, lender: LenderDep) -> Response:
    return _list_page(request, console, lender)


@router.post("")
async def register(request: Request, console: ConsoleDep, lender: LenderDep) -> Response:
    form = await console.form(request)
    url = str(form.get("url") or "").strip()
    description = str(form.get("description") or "").strip()
    events = [str(e) for e in form.getlist("events")]
    try:
        view, secret = _webhooks(request).register(lender=lender, url=url, events=events, description=description)
    except VerifierError as e:
        again = {"url": url, "description": description, "events": events}
        return _list_page(request, console, lender, e.status, form=again, error=e.detail)
    return console.render(
        request, "verifier_webhook_created.html", status=201, title="Webhook registered", w=view, secret=secret
    )


@router.get("/{endpoint_id}")
def endpoint_page(request: Request, endpoint_id: str, console: ConsoleDep, lender: LenderDep) -> Response:
    webhooks = _webhooks(request)
    try:
        view = webhooks.endpoint(lender=lender, endpoint_id=endpoint_id)
        deliveries = webhooks.deliveries(lender=lender, endpoint_id=endpoint_id)
    except VerifierError as e:
        return console.message(request, "No such webhook", e.detail, e.status)
    return console.render(
        request, "verifier_webhook.html", title=f"Webhook {view['id']}", w=view, deliveries=deliveries
    )


@router.post("/{endpoint_id}/delete")
async def delete(request: Request, endpoint_id: str, console: ConsoleDep, lender: LenderDep) -> Response:
    await console.form(request)
    try:
        _webhooks(request).delete(lender=lender, endpoint_id=endpoint_id)
    except VerifierError as e:
        return console.message(request, "No such webhook", e.detail, e.status)
    return RedirectResponse(f"{PREFIX}/webhooks", status_code=303)
