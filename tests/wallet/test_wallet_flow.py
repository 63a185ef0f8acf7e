"""The wallet SDK against the real issuer, verifier and ledger apps (in-process HTTP)."""

from __future__ import annotations

import datetime as dt
import json
import secrets

import pytest
from rich.console import Console
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
    cred_def = iss.post(
        "/admin/credential-definitions",
        headers=admin,
        json={"schema_id": schema["id"], "tag": "t", "revocable": True, "capacity": 50, "validity_days": 30},
    ).json()

    def offer(income: int):
        return iss.post(
            "/admin/offers",
            headers=admin,
            json={
                "credential_definition_id": cred_def["id"],
                "attributes": {"income": income, "birth_date": "1990-01-01", "country": "NL"},
            },
        ).json()

    def wallet(name: str, **kw) -> Wallet:
        return Wallet.create(
            tmp / f"{name}.db",
            "correct horse battery",
            http=kw.pop("http", HttpRouter(clients)),
            ledger_url=LEDGER_URL,
            ledger_key=log.public_key,
            backend=be,
            **kw,
        )

    def ask(threshold: int = 50000, *, pseudonym=None, by: str = "L", max_staleness: int = 0):
        r = clients[VERIFIER_URL].post(
            "/requests",
            headers=lenders[by],
            json={
                "disclose": [],
                "credential_definitions": [cred_def["id"]],
                "expires_in": 300,
                "max_staleness": max_staleness,
                "predicates": [{"attribute": "income", "op": ">=", "value": threshold}],
                **({} if pseudonym is None else {"pseudonym": pseudonym}),
            },
        )
        assert r.status_code == 201, r.text
        return r.json()

    def status(request_id: str, by: str = "L"):
        return clients[VERIFIER_URL].get(f"/requests/{request_id}", headers=lenders[by]).json()

    return {
        "admin": admin,
        "iss": iss,
        "offer": offer,
        "wallet": wallet,
        "ask": ask,
        "status": status,
        "clients": clients,
        "verifier": verifier,
        "lender": lender,
        "cred_def": cred_def["id"],
    }


def test_revocation_updates_others_and_stops_the_revoked(world):
    alice, bob = world["wallet"]("alice"), world["wallet"]("bob")
    a = alice.accept_offer(world["offer"](64000))
    bob.accept_offer(world["offer"](70000))
    assert alice.submit(alice.prepare(world["ask"]()["request_url"]).approve())["verified"]
    assert world["iss"].post(f"/admin/credentials/{a.id}/revoke", headers=world["admin"]).status_code == 200
    # Bob's witness is behind and the request's max_staleness is 0: his wallet syncs before proving.
    assert bob.submit(bob.prepare(world["ask"]()["request_url"]).approve())["verified"]
    assert bob.sync()["updated"] == 0  # nothing left to apply
    assert bob.submit(bob.prepare(world["ask"]()["request_url"]).approve())["verified"]
    assert alice.sync()["revoked"] == 1
    with pytest.raises(NoMatchingCredential, match="revoked"):
        alice.present(alice.prepare(alice.fetch_request(world["ask"]()["request_url"])).approve())


def test_false_predicate_is_named(world):
    carol = world["wallet"]("carol")
    carol.accept_offer(world["offer"](30000))
    with pytest.raises(NoMatchingCredential, match="income >= 50000"):
        carol.submit(carol.prepare(world["ask"]()["request_url"]).approve())


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
    vid = world["verifier"].verifier_id  # verifier-<hex>: derived from its registered key
    frank = world["wallet"]("frank")
    frank.accept_offer(world["offer"](64000))
    plain = world["ask"]()
    assert (
        pseudonym_scopes(plain["request"]) == []
        and frank.present_detailed(frank.prepare(plain["request"]).approve()).pseudonyms == []
    )

    first = world["ask"](pseudonym=True)
    result = frank.submit_detailed(frank.prepare(first["request_url"]).approve())
    assert result.verdict["verified"], result.verdict
    [scope] = result.pseudonyms
    assert (scope.query_id, scope.context, scope.lender, scope.campaign) == ("credential", f"{vid}/L", "L", None)
    assert scope.describe() == f"lender 'L' at {vid}"
    second = world["ask"](pseudonym=True)
    assert frank.submit(frank.prepare(second["request_url"]).approve())["verified"]
    again = world["status"](second["id"])
    assert again["seen_before"] is True and again["earlier_requests"] == [first["id"]]

    at_other = world["ask"](pseudonym={"context": "car loans/2026"}, by="Other Bank")
    [scope] = frank.submit_detailed(frank.prepare(at_other["request_url"]).approve()).pseudonyms
    assert (scope.context, scope.lender, scope.campaign) == (
        f"{vid}/Other%20Bank/car%20loans%2F2026",
        "Other Bank",
        "car loans/2026",
    )
    other = world["status"](at_other["id"], by="Other Bank")
    assert other["seen_before"] is False and other["pseudonym"] != again["pseudonym"]


def test_a_context_outside_the_lender_form_is_reported_as_such():
    query = CredentialQuery("q", ("d",), pseudonym_context="someone-else/L")
    request = PresentationRequest(secrets.token_bytes(16), "v", dt.date(2026, 1, 1), (query,))
    [scope] = pseudonym_scopes(request.to_json())
    assert scope.lender is None and "not a lender context of 'v'" in scope.describe()


def test_cli_present_shows_the_lender_context(world, monkeypatch, tmp_path):
    import zkcred.wallet_cli as cli

    vid = world["verifier"].verifier_id
    grace = world["wallet"]("grace")
    grace.accept_offer(world["offer"](64000))
    monkeypatch.setattr(cli, "_open", lambda *a, **k: grace)
    monkeypatch.setattr(cli, "console", Console(width=200))  # the panel's lines unwrapped, whatever the terminal
    runner = CliRunner()

    request = world["ask"](pseudonym=True)
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))
    out = runner.invoke(cli.app, ["present", str(path), "--json", "--yes"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["pseudonyms"] == [
        {
            "query_id": "credential",
            "context": f"{vid}/L",
            "verifier_id": vid,
            "lender": "L",
            "campaign": None,
        }
    ]

    human = runner.invoke(cli.app, ["present", request["request_url"], "--submit", "--yes"], env={"COLUMNS": "200"})
    assert human.exit_code == 0, human.output
    said = " ".join(human.stdout.split())  # rich may wrap long lines
    who = f"'L' at verifier 'Demo Lending Verifier' ({vid}), http://verifier.demo, registered at ledger seq"
    nym = f"for lender 'L' at {vid} (context {vid}/L)"
    after = f"presented a pseudonym for lender 'L' at {vid}"
    assert said.index("L asks for a presentation") < said.index(who) < said.index(nym) < said.index("✔ verified")
    assert said.index("✔ verified") < said.index(after)
    assert "income is at least 50 000 (value not revealed)" in said
    assert "issued by 'Payroll Demo BV', registered at ledger seq 0" in said  # the registered name, not an id
    verdict = json.loads(
        runner.invoke(
            cli.app, ["present", world["ask"](pseudonym=True)["request_url"], "--submit", "--json", "--yes"]
        ).stdout
    )
    assert verdict["verified"] is True and verdict["pseudonyms"][0]["lender"] == "L"
    assert (
        runner.invoke(cli.app, ["present", world["ask"]()["request_url"], "--submit", "--json", "--yes"]).exit_code == 0
    )


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


class CountingRouter(HttpRouter):
    """Counts the presentations a wallet posts."""

    def __init__(self, clients) -> None:  # type: ignore[no-untyped-def]
        super().__init__(clients)
        self.posts: list[str] = []

    def request(self, method, url, **kw):  # type: ignore[no-untyped-def]
        if method == "POST" and url.endswith("/presentation"):
            self.posts.append(url)
        return super().request(method, url, **kw)


def _revoke_someone(world) -> None:
    victim = world["wallet"](f"victim-{secrets.token_hex(4)}").accept_offer(world["offer"](10000))
    assert world["iss"].post(f"/admin/credentials/{victim.id}/revoke", headers=world["admin"]).status_code == 200


def test_a_holder_behind_the_ledger_syncs_retries_and_is_verified_on_one_request(world):
    """The wallet believes its view fresh (its clock has not moved since issuance), the verifier finds
    the accumulator stale: the wallet syncs and presents again — to the same, still pending request."""
    import time

    frozen = time.time()
    router = CountingRouter(world["clients"])
    ivan = world["wallet"]("ivan", http=router, clock=lambda: frozen)
    ivan.accept_offer(world["offer"](64000))
    _revoke_someone(world)
    asked = world["ask"]()
    verdict = ivan.submit(ivan.prepare(asked["request_url"]).approve())
    assert verdict["verified"] is True, verdict
    assert router.posts == [asked["presentation_url"]] * 2  # stale, then verified: one request
    row = world["verifier"].store.get_request(request_id=asked["id"])
    assert row["status"] == "verified" and row["attempts"] == 1


def test_a_wallet_syncs_before_proving_when_its_view_is_older_than_max_staleness(world):
    import time

    now = [time.time()]
    router = CountingRouter(world["clients"])
    judy = world["wallet"]("judy", http=router, clock=lambda: now[0])
    judy.accept_offer(world["offer"](64000))
    _revoke_someone(world)
    now[0] += 120  # two minutes since the wallet last looked at the ledger
    fresh_enough = world["ask"](max_staleness=3600)  # the verifier accepts an hour: no sync needed, none done
    assert judy.submit(judy.prepare(fresh_enough["request_url"]).approve())["verified"]
    assert judy._store.all("credential")[0][1]["checked_at"] < now[0]
    asked = world["ask"](max_staleness=60)
    assert judy.submit(judy.prepare(asked["request_url"]).approve())["verified"]
    assert router.posts == [fresh_enough["presentation_url"], asked["presentation_url"]]  # synced first: one post
    assert judy._store.all("credential")[0][1]["checked_at"] == now[0]


def test_an_expired_request_is_refused_before_proving(world, monkeypatch, capsys):
    import time

    import zkcred.wallet_cli as cli
    from wallet import WalletError

    router = CountingRouter(world["clients"])
    now = [time.time()]
    kate = world["wallet"]("kate", http=router, clock=lambda: now[0])
    kate.accept_offer(world["offer"](64000))
    asked = world["ask"]()
    now[0] = time.time() + 301  # the requests expire in 300 s
    with pytest.raises(WalletError, match=r"expired at .*ask the lender for a new request"):
        kate.submit(kate.prepare(asked["request_url"]).approve())
    assert router.posts == [] and world["status"](asked["id"])["status"] == "pending"

    from zkcred.cli import run

    monkeypatch.setattr(cli, "_open", lambda *a, **k: kate)
    assert run(["wallet", "present", asked["request_url"], "--submit"]) == 1  # through the CLI's error boundary
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "expired at" in err and "Traceback" not in err, err
    assert router.posts == []


def test_linear_predicate_picks_the_credential_that_meets_it(world):
    """Two credentials of one definition (30 000 then 64 000): a request whose only predicate is
    linear, ``2 × income ≥ 120 000``, is answered with the second; one no credential meets is
    refused by the wallet, naming the predicate (issue 16 item 1)."""
    fran = world["wallet"]("fran")
    fran.accept_offer(world["offer"](30000))
    fran.accept_offer(world["offer"](64000))

    def ask(value: int) -> dict:
        r = world["clients"][VERIFIER_URL].post(
            "/requests",
            headers=world["lender"],
            json={
                "credential_definitions": [world["cred_def"]],
                "max_staleness": 0,
                "linear": [{"terms": [{"attr": "income", "coef": 2}], "op": ">=", "value": value}],
            },
        )
        assert r.status_code == 201, r.text
        return r.json()

    verdict = fran.submit(fran.prepare(ask(120_000)["request_url"]).approve())
    assert verdict["verified"] and "2 × credential.income ≥ 120000" in verdict["predicates"], verdict
    with pytest.raises(NoMatchingCredential, match=r"no credentials meet 2 × credential.income ≥ 128001"):
        fran.prepare(ask(128_001)["request_url"])
