"""The wallet SDK against the real issuer, verifier and ledger apps (in-process HTTP)."""

from __future__ import annotations

import secrets

import pytest

from circuits.backend import get_backend
from wallet import HttpRouter, NoMatchingCredential, OfferRejected, Wallet
from zkcred.demo import ISSUER_URL, LEDGER_URL, VERIFIER_URL, _services

ATTRS = [{"name": "income", "type": "int"}, {"name": "birth_date", "type": "date"}, {"name": "country", "type": "string"}]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("world")
    be = get_backend("blst")
    log, issuer, verifier, clients = _services(tmp, be)
    admin = {"Authorization": f"Bearer {issuer.create_admin_token('t')}"}
    lender = {"Authorization": f"Bearer {verifier.create_api_key(lender='L')}"}
    iss = clients[ISSUER_URL]
    schema = iss.post("/admin/schemas", headers=admin, json={"name": "s", "version": "1", "attributes": ATTRS}).json()
    cred_def = iss.post("/admin/credential-definitions", headers=admin, json={
        "schema_id": schema["id"], "tag": "t", "revocable": True, "capacity": 50, "validity_days": 30}).json()

    def offer(income: int):
        return iss.post("/admin/offers", headers=admin, json={"credential_definition_id": cred_def["id"], "attributes": {
            "income": income, "birth_date": "1990-01-01", "country": "NL"}}).json()

    def wallet(name: str) -> Wallet:
        return Wallet.create(tmp / f"{name}.db", "correct horse battery", http=HttpRouter(clients),
                             ledger_url=LEDGER_URL, ledger_key=log.public_key, backend=be)

    def ask(threshold: int = 50000):
        r = clients[VERIFIER_URL].post("/requests", headers=lender, json={
            "disclose": [], "credential_definitions": [cred_def["id"]], "expires_in": 300, "max_staleness": 0,
            "predicates": [{"attribute": "income", "op": ">=", "value": threshold}]})
        assert r.status_code == 201, r.text
        return r.json()

    return {"admin": admin, "iss": iss, "offer": offer, "wallet": wallet, "ask": ask}


def test_revocation_updates_others_and_stops_the_revoked(world):
    alice, bob = world["wallet"]("alice"), world["wallet"]("bob")
    a = alice.accept_offer(world["offer"](64000))
    bob.accept_offer(world["offer"](70000))
    assert alice.submit(world["ask"]()["request_url"])["verified"]
    assert world["iss"].post(f"/admin/credentials/{a.id}/revoke", headers=world["admin"]).status_code == 200
    # Bob's witness is stale until he syncs: the verifier (max_staleness 0) refuses it.
    stale = bob.submit(world["ask"]()["request_url"])
    assert stale["verified"] is False and stale["reason"] == "stale"
    assert bob.sync()["updated"] == 1
    assert bob.submit(world["ask"]()["request_url"])["verified"]
    assert alice.sync()["revoked"] == 1
    with pytest.raises(NoMatchingCredential, match="revoked"):
        alice.present(alice.fetch_request(world["ask"]()["request_url"])["request"])


def test_false_predicate_is_named(world):
    carol = world["wallet"]("carol")
    carol.accept_offer(world["offer"](30000))
    with pytest.raises(NoMatchingCredential, match="income >= 50000"):
        carol.submit(world["ask"]()["request_url"])


def test_offer_cannot_be_used_twice_or_forged(world):
    dave, eve = world["wallet"]("dave"), world["wallet"]("eve")
    offer = world["offer"](64000)
    dave.accept_offer(offer)
    with pytest.raises(OfferRejected, match="409"):
        eve.accept_offer(offer)
    forged = {**world["offer"](64000), "token": secrets.token_urlsafe(32)}
    with pytest.raises(OfferRejected):
        eve.accept_offer(forged)
    tampered = world["offer"](64000)
    tampered["attributes"] = {**tampered["attributes"], "income": 1}
    tampered["definition"] = {**tampered["definition"], "tag": "other"}
    with pytest.raises(OfferRejected, match="does not match"):
        eve.accept_offer(tampered)
