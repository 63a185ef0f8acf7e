"""The holder's side of issuance, with circuits only (the wallet is not imported by issuer tests)."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from circuits.codec import b64d, b64e
from circuits.credentials import Credential, CredentialDefinition
from circuits.issuance import create_credential_request, create_link_secret, process_credential


@dataclass
class Requested:
    definition: CredentialDefinition
    link_secret: int
    prover_blind: int
    request: bytes


def request_for(offer: dict[str, Any]) -> Requested:
    d = CredentialDefinition.from_json(offer["definition"])
    assert d.id == offer["credential_definition_id"]
    link = create_link_secret()
    req, blind = create_credential_request(d, link)
    return Requested(d, link, blind, req)


def post_request(client: TestClient, offer: dict[str, Any], requested: Requested, *, token: str | None = None):
    token = offer["token"] if token is None else token
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(
        "/credentials", json={"offer_id": offer["offer_id"], "request": b64e(requested.request)}, headers=headers
    )


def process(requested: Requested, body: dict[str, Any]) -> Credential:
    c = body["credential"]
    return process_credential(
        requested.definition,
        b64d(c["signature"]),
        c["values"],
        _dt.date.fromisoformat(c["expiry"]),
        int(c["revocation_handle"], 16),
        c["revocation_index"],
        requested.link_secret,
        requested.prover_blind,
    )


def accept(client: TestClient, offer: dict[str, Any]) -> tuple[Requested, dict[str, Any], Credential]:
    requested = request_for(offer)
    r = post_request(client, offer, requested)
    assert r.status_code == 201, r.text
    return requested, r.json(), process(requested, r.json())
