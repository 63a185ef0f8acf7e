"""The lender's webhook routes (``verifier.webhooks`` has the rules), included by ``verifier.api.create_app``.

    POST   /webhooks                         register an endpoint → its secret, shown once
    GET    /webhooks                         the lender's endpoints
    GET    /webhooks/{id}                    one endpoint
    DELETE /webhooks/{id}                    delete it (its pending deliveries are cancelled)
    GET    /webhooks/{id}/deliveries         the delivery log: newest first, each with its attempts

All need the lender's API key (``Authorization: Bearer``), like the other lender routes; an
endpoint of another lender is 404, as if it did not exist.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from servicekit.app import error_responses
from verifier.api import LenderDep
from verifier.models import WebhookCreate, WebhookCreated, WebhookDeliveriesPublic, WebhookPublic, WebhooksPublic
from verifier.webhooks import LOG_LIMIT, Webhooks


def get_webhooks(request: Request) -> Webhooks:
    return request.app.state.webhooks


WebhooksDep = Annotated[Webhooks, Depends(get_webhooks)]

router = APIRouter(prefix="/webhooks", tags=["webhooks"], responses=error_responses(400, 401, 403, 413, 422))
_ONE = error_responses(404)


@router.post("", status_code=201, response_model=WebhookCreated)
def create_webhook(body: WebhookCreate, lender: LenderDep, webhooks: WebhooksDep) -> dict[str, Any]:
    """Register an endpoint for verdicts; the answer's ``secret`` (``whsec_…``) signs every delivery and is
    shown only now. 422 for a URL that is not http(s), a host the verifier does not send to, or bad events."""
    view, secret = webhooks.register(lender=lender, url=body.url, events=body.events, description=body.description)
    return {**view, "secret": secret}


@router.get("", response_model=WebhooksPublic)
def list_webhooks(lender: LenderDep, webhooks: WebhooksDep) -> dict[str, Any]:
    """The lender's endpoints (never their secrets)."""
    return {"webhooks": webhooks.endpoints(lender=lender)}


@router.get("/{webhook_id}", response_model=WebhookPublic, responses=_ONE)
def get_webhook(webhook_id: str, lender: LenderDep, webhooks: WebhooksDep) -> dict[str, Any]:
    """One of the lender's endpoints."""
    return webhooks.endpoint(lender=lender, endpoint_id=webhook_id)


@router.delete("/{webhook_id}", status_code=204, response_class=Response, responses=_ONE)
def delete_webhook(webhook_id: str, lender: LenderDep, webhooks: WebhooksDep) -> Response:
    """Delete an endpoint: nothing more is sent to it; its pending deliveries become ``cancelled``."""
    webhooks.delete(lender=lender, endpoint_id=webhook_id)
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", response_model=WebhookDeliveriesPublic, responses=_ONE)
def list_deliveries(
    webhook_id: str,
    lender: LenderDep,
    webhooks: WebhooksDep,
    status: Annotated[Literal["pending", "delivered", "failed", "cancelled"] | None, Query()] = None,
    request_id: Annotated[str | None, Query(max_length=64, description="only this request's events")] = None,
    limit: Annotated[int, Query(ge=1, le=LOG_LIMIT)] = LOG_LIMIT,
) -> dict[str, Any]:
    """The delivery log: each event sent to this endpoint (newest first) with its status — ``pending``
    (next_attempt_at), ``delivered``, ``failed`` (after the last attempt), ``cancelled`` — and every attempt."""
    rows = webhooks.deliveries(lender=lender, endpoint_id=webhook_id, status=status, request_id=request_id, limit=limit)
    return {"webhook_id": webhook_id, "deliveries": rows}
