"""The wallet SDK against the real issuer, verifier and ledger apps (in-process HTTP)."""

from __future__ import annotations

import datetime as dt
import json
import secrets

import pytest
from typer.testing import CliRunner

from circuits.backend import get_backend
from circuits.credentials import CredentialQuery, PresentationRequest
from wallet import HttpRouter, NoMatchingCredential, OfferRejected, Wallet, pseudonym_scopes
from zkcred.demo import ISSUER_URL, LEDGER_URL, VERIFIER_URL, _services

ATTRS = [
    {"name": "income", "type": "int"},
    {"name": "birth_date", "type": "date"},
    {"name": "country", "type": "string"},
]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("world")
    be = get_backend("blst")
    log, issuer, verifier, clients = _services(tmp, be)
    admin = {"Authorization": f"Bearer {issuer.create_admin_token('t')}"}
    lender = {"Authorization": f"Bearer {verifier.create_api_key(lender='L')}"}
    lenders = {"L": lender, "Other Bank": {"Authorization": f"Bearer {verifier.create_api_key(lender='Other Bank')}"}}
    iss = clients[ISSUER_URL]
    schema = iss.post("/admin/schemas", headers=admin, json={"name": "s", "version": "1", "attributes": ATTRS}).json()
    cred_def = iss.post("/admin/credential-definitions", headers=admin, json={
        "schema_id": schema["id"], "tag": "t", "revocable": True, "capacity": 50, "validity_days": 30}).json()

    def offer(income: int):
        return iss.post(
            "/admin/offers",
            headers=admin,
            json={
                "credential_definition_id": cred_def["id"],
                "attributes": {"income": income, "birth_date": "1990-01-01", "country": "NL"},
            },
        ).json()

    def wallet(name: str) -> Wallet:
        return Wallet.create(tmp / f"{name}.db", "correct horse battery", http=HttpRouter(clients),
                             ledger_url=LEDGER_URL, ledger_key=log.public_key, backend=be)

    def ask(threshold: int = 50000, *, pseudonym=None, by: str = "L"):
        r = clients[VERIFIER_URL].post("/requests", headers=lenders[by], json={
            "disclose": [], "credential_definitions": [cred_def["id"]], "expires_in": 300, "max_staleness": 0,
            "predicates": [{"attribute": "income", "op": ">=", "value": threshold}],
            **({} if pseudonym is None else {"pseudonym": pseudonym})})
        assert r.status_code == 201, r.text
        return r.json()

    def status(request_id: str, by: str = "L"):
        return clients[VERIFIER_URL].get(f"/requests/{request_id}", headers=lenders[by]).json()

    return {"admin": admin, "iss": iss, "offer": offer, "wallet": wallet, "ask": ask, "status": status,
            "clients": clients}


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


def test_a_cancelled_offer_is_refused_with_a_clear_message(world):
    """The issuer's admin cancels an offer; the holder's wallet says so and stores nothing."""
    holder = world["wallet"]("cancelled-offer-holder")
    offer = world["offer"](64000)
    r = world["iss"].post(f"/admin/offers/{offer['offer_id']}/cancel", headers=world["admin"])
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    with pytest.raises(OfferRejected, match="cancelled by the issuer.*409|409.*cancelled by the issuer"):
        holder.accept_offer(offer)
    assert holder.credentials() == []


def test_wallet_presents_a_pseudonym_and_names_its_lender(world):
    frank = world["wallet"]("frank")
    frank.accept_offer(world["offer"](64000))
    plain = world["ask"]()
    assert pseudonym_scopes(plain["request"]) == [] and frank.present_detailed(plain["request"]).pseudonyms == []

    first = world["ask"](pseudonym=True)
    result = frank.submit_detailed(first["request_url"])
    assert result.verdict["verified"], result.verdict
    [scope] = result.pseudonyms
    assert (scope.query_id, scope.context, scope.lender, scope.campaign) == (
        "credential", "lender-demo/L", "L", None)
    assert scope.describe() == "lender 'L' at lender-demo"
    second = world["ask"](pseudonym=True)
    assert frank.submit(second["request_url"])["verified"]
    again = world["status"](second["id"])
    assert again["seen_before"] is True and again["earlier_requests"] == [first["id"]]

    at_other = world["ask"](pseudonym={"context": "car loans/2026"}, by="Other Bank")
    [scope] = frank.submit_detailed(at_other["request_url"]).pseudonyms
    assert (scope.context, scope.lender, scope.campaign) == (
        "lender-demo/Other%20Bank/car%20loans%2F2026", "Other Bank", "car loans/2026")
    other = world["status"](at_other["id"], by="Other Bank")
    assert other["seen_before"] is False and other["pseudonym"] != again["pseudonym"]


def test_a_context_outside_the_lender_form_is_reported_as_such():
    query = CredentialQuery("q", ("d",), pseudonym_context="someone-else/L")
    request = PresentationRequest(secrets.token_bytes(16), "v", dt.date(2026, 1, 1), (query,))
    [scope] = pseudonym_scopes(request.to_json())
    assert scope.lender is None and "not a lender context of 'v'" in scope.describe()


def test_cli_present_shows_the_lender_context(world, monkeypatch, tmp_path):
    import zkcred.wallet_cli as cli

    grace = world["wallet"]("grace")
    grace.accept_offer(world["offer"](64000))
    monkeypatch.setattr(cli, "_open", lambda *a, **k: grace)
    runner = CliRunner()

    request = world["ask"](pseudonym=True)
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))
    out = runner.invoke(cli.app, ["present", str(path), "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["pseudonyms"] == [{"query_id": "credential", "context": "lender-demo/L",
                                                     "verifier_id": "lender-demo", "lender": "L", "campaign": None}]

    human = runner.invoke(cli.app, ["present", request["request_url"], "--submit"], env={"COLUMNS": "200"})
    assert human.exit_code == 0, human.output
    lines = human.stdout.splitlines()
    assert lines[0].startswith("pseudonym: for lender 'L' at lender-demo (context lender-demo/L)")  # before
    assert lines[1] == "✔ verified"
    assert "presented a pseudonym for lender 'L' at lender-demo" in lines[2]  # after

    verdict = json.loads(runner.invoke(cli.app, ["present", world["ask"](pseudonym=True)["request_url"],
                                                 "--submit", "--json"]).stdout)
    assert verdict["verified"] is True and verdict["pseudonyms"][0]["lender"] == "L"
    assert runner.invoke(cli.app, ["present", world["ask"]()["request_url"], "--submit", "--json"]).exit_code == 0


def test_a_lost_issuance_answer_is_retried_with_the_same_request(world, tmp_path):
    """The issuer issued, the answer never arrived: accepting the offer again gets that credential."""
    import httpx

    class LosingRouter(HttpRouter):
        lose = 1

        def request(self, method, url, **kw):  # type: ignore[no-untyped-def]
            response = super().request(method, url, **kw)
            if url.endswith("/credentials") and self.lose:
                self.lose -= 1
                raise httpx.ReadTimeout("the answer was lost")
            return response

    be = get_backend("blst")
    router = LosingRouter(world["clients"])
    henry = Wallet.create(tmp_path / "henry.db", "correct horse battery", http=router, backend=be)
    offer = world["offer"](64000)
    with pytest.raises(httpx.ReadTimeout):
        henry.accept_offer(offer)
    summary = henry.accept_offer(offer)  # the same request again: the credential issued the first time
    assert [c.id for c in henry.credentials()] == [summary.id]
    assert henry._store.all("issuance") == []  # nothing kept once the credential is stored
