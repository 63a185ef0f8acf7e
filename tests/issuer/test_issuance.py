"""The issuance story over HTTP: schema → definition → offer → holder request → credential that verifies."""

from __future__ import annotations

import datetime as _dt

import pytest

from circuits import accumulator
from circuits.backend import get_backend
from circuits.codec import b64d
from circuits.credentials import CredentialDefinition, RevocationRegistry, Schema
from ledger.entries import parse_entry, payload_model
from tests.issuer.conftest import SCHEMA, VALUES, assert_problem
from tests.issuer.holder import accept, process, request_for


def _ledger_docs(ledger):
    return [parse_entry(e.body) for e in ledger.entries(start=0)]


def test_issuance_flow_revocable(api, client, ledger, service):
    schema = api.schema()
    definition = api.definition(schema["id"], capacity=8, validity_days=30)
    assert definition["revocable"] and definition["capacity"] == 8 and definition["validity_days"] == 30
    offer = api.offer(definition["id"])
    assert set(offer) == {
        "offer_id",
        "token",
        "issuer_url",
        "credential_definition_id",
        "definition",
        "attributes",
        "expires_at",
    }
    assert offer["issuer_url"] == "http://issuer.test"

    requested, body, credential = accept(client, offer)  # process_credential verified the signature
    assert credential.values == VALUES
    assert body["credential"]["revocation_index"] == 0
    today = _dt.datetime.now(_dt.UTC).date()
    assert credential.expiry == today + _dt.timedelta(days=30)
    assert "prover_blind" not in body["credential"]

    # the witness holds against the accumulator value the ledger published at ledger_seq
    be = get_backend()
    rev = body["revocation"]
    assert rev["registry_id"] == requested.definition.revocation.id and rev["index"] == 0
    entry = parse_entry(ledger.entry(rev["ledger_seq"]).body)
    assert entry.type == "revocation_registry" and entry.payload["v0"] == rev["accumulator"]
    accumulator.verify_witness(
        be.g1_from_bytes(b64d(rev["witness"])),
        credential.revocation_handle,
        be.g1_from_bytes(b64d(rev["accumulator"])),
        be.g2_from_bytes(requested.definition.revocation.Q),
        backend=be,
    )
    # the handle is y_index of the registry
    assert credential.revocation_handle == accumulator.handle(rev["registry_id"].encode(), 0)

    listed = client.get("/admin/credentials", headers=api.admin).json()["items"]
    assert [c["id"] for c in listed] == [body["credential_id"]]
    assert set(listed[0]) == {
        "id",
        "definition_id",
        "status",
        "revocation_index",
        "issued_at",
        "revoked_at",
        "offer_id",
    }
    assert listed[0]["offer_id"] == offer["offer_id"]
    assert listed[0]["status"] == "issued" and listed[0]["revoked_at"] is None
    one = client.get(f"/admin/credentials/{body['credential_id']}", headers=api.admin).json()
    assert one == listed[0]

    # a second holder gets the next index
    _, body2, _ = accept(client, api.offer(definition["id"]))
    assert body2["credential"]["revocation_index"] == 1


def test_definition_rebuilds_from_the_ledger(api, ledger, service):
    """A verifier can rebuild the exact CredentialDefinition from ledger entries and check its id."""
    schema = api.schema()
    definition = api.definition(schema["id"], capacity=4)
    entries = _ledger_docs(ledger)
    assert [e.type for e in entries] == [
        "issuer_registration",
        "schema",
        "credential_definition",
        "revocation_registry",
    ]
    reg, sch, cd, rr = entries
    assert all(e.issuer == service.issuer_id for e in entries)
    assert reg.payload["ledger_key"] == service.ledger_public_key.hex()
    sch_p, cd_p, rr_p = payload_model(sch), payload_model(cd), payload_model(rr)
    assert cd_p.cred_def_id == definition["id"] == rr_p.cred_def_id and cd_p.schema_id == sch_p.schema_id
    rebuilt = CredentialDefinition(
        issuer_id=cd.issuer,
        schema=Schema.from_json(
            {"name": sch_p.name, "version": sch_p.version, "attributes": [a.model_dump() for a in sch_p.attributes]}
        ),
        tag=cd_p.tag,
        public_key=b64d(cd_p.bbs_public_key),
        revocation=RevocationRegistry(rr_p.registry_id, rr_p.capacity, b64d(rr_p.q)),
        suite=cd_p.ciphersuite,
    )
    assert rebuilt.id == definition["id"]
    assert rebuilt.to_json() == definition["definition"]
    assert sch_p.schema_id == Schema.from_json(SCHEMA).id == schema["id"]


def test_issuance_flow_not_revocable(api, client, ledger):
    schema = api.schema()
    definition = api.definition(schema["id"], revocable=False, validity_days=1)
    assert definition["capacity"] is None and definition["definition"]["revocation"] is None
    assert [e.type for e in _ledger_docs(ledger)][-1] == "credential_definition"
    _, body, credential = accept(client, api.offer(definition["id"]))
    assert body["revocation"] is None and credential.revocation_index is None
    r = client.post(f"/admin/credentials/{body['credential_id']}/revoke", headers=api.admin)
    assert_problem(r, 409, "not-revocable")


def test_registry_full(api, client):
    """A full registry is refused when the offer is made (409), not when the holder accepts it."""
    definition = api.definition(api.schema()["id"], capacity=1)
    accept(client, api.offer(definition["id"]))
    r = client.post(
        "/admin/offers", json={"credential_definition_id": definition["id"], "attributes": VALUES}, headers=api.admin
    )
    assert "0 free" in assert_problem(r, 409, "registry-full")["detail"]


def test_lists_and_gets(api, client):
    schema = api.schema()
    d1 = api.definition(schema["id"], tag="one")
    d2 = api.definition(schema["id"], revocable=False, tag="two")
    assert client.get("/admin/schemas", headers=api.admin).json() == {"items": [schema]}
    assert client.get(f"/admin/schemas/{schema['id']}", headers=api.admin).json() == schema
    items = client.get("/admin/credential-definitions", headers=api.admin).json()["items"]
    assert {d["id"] for d in items} == {d1["id"], d2["id"]}
    assert client.get(f"/admin/credential-definitions/{d2['id']}", headers=api.admin).json() == d2
    _, b1, _ = accept(client, api.offer(d1["id"]))
    _, b2, _ = accept(client, api.offer(d2["id"]))
    by_def = client.get("/admin/credentials", params={"definition_id": d2["id"]}, headers=api.admin).json()["items"]
    assert [c["id"] for c in by_def] == [b2["credential_id"]]
    client.post(f"/admin/credentials/{b1['credential_id']}/revoke", headers=api.admin)
    revoked = client.get("/admin/credentials", params={"status": "revoked"}, headers=api.admin).json()["items"]
    issued = client.get("/admin/credentials", params={"status": "issued"}, headers=api.admin).json()["items"]
    assert [c["id"] for c in revoked] == [b1["credential_id"]] and [c["id"] for c in issued] == [b2["credential_id"]]


def test_openapi_has_stable_operation_ids(client):
    spec = client.get("/openapi.json").json()
    ops = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    assert {
        "create_schema",
        "list_schemas",
        "get_schema",
        "create_credential_definition",
        "list_credential_definitions",
        "get_credential_definition",
        "create_offer",
        "list_credentials",
        "get_credential",
        "revoke_credential",
        "issue_credential",
    } <= ops
    assert client.get("/docs").status_code == 200


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_restart_keeps_identity_and_does_not_reregister(settings, ledger, api, client):
    from issuer.publisher import InProcessPublisher
    from issuer.service import IssuerService

    definition = api.definition(api.schema()["id"])
    size = ledger.head().size
    again = IssuerService.open(settings=settings, publisher=InProcessPublisher(ledger))
    assert ledger.head().size == size  # no second registration
    assert again.get_credential_definition(definition["id"]).definition.issuer_id == again.issuer_id
    # the reopened service still signs with the registered key: it can issue and revoke
    offer = again.create_offer(credential_definition_id=definition["id"], attributes=VALUES)
    requested = request_for(offer)
    from circuits.codec import b64e

    body = again.issue_credential(offer_id=offer["offer_id"], token=offer["token"], request=b64e(requested.request))
    process(requested, body)
    assert again.revoke(body["credential_id"]).status == "revoked"
    again.engine.dispose()
