"""Issue 12 item 4: the holder sees what leaves the wallet, and presenting without that is impossible."""

from __future__ import annotations

import datetime
import json

import pytest
from rich.console import Console
from typer.testing import CliRunner

from circuits.credentials import CredentialQuery, LinearPredicate, Predicate, PresentationRequest, Schema
from tests.wallet.test_wallet_flow import CountingRouter, world  # noqa: F401  (the module-scoped services)
from wallet import Approval, ConsentSummary, NoMatchingCredential, WalletError
from wallet.consent import NOT_REVEALED, Equality, NotRevoked, proven_statements, sentence
from zkcred.demo import VERIFIER_URL


@pytest.fixture(autouse=True)
def _wide(monkeypatch):
    """The CLI's panels unwrapped, whatever the terminal (xdist workers see 80 columns)."""
    import zkcred.wallet_cli as cli

    monkeypatch.setattr(cli, "console", Console(width=200))
    monkeypatch.setattr(cli, "err", Console(width=200, stderr=True))


def _ask_country(world, lender, **extra):  # noqa: F811
    definition = world["offer"](1)["credential_definition_id"]
    r = world["clients"][VERIFIER_URL].post(
        "/requests",
        headers=lender,
        json={
            "disclose": ["country"],
            "credential_definitions": [definition],
            "expires_in": 300,
            "max_staleness": 600,
            "predicates": [
                {"attribute": "income", "op": ">=", "value": 50000},
                {"attribute": "birth_date", "op": "<=", "value": "2008-11-27"},
            ],
            **extra,
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_the_summary_shows_who_what_and_which_credential_and_sends_nothing(world):  # noqa: F811
    router = CountingRouter(world["clients"])
    holder = world["wallet"]("consent-holder", http=router)
    stored = holder.accept_offer(world["offer"](64000))
    lender = {"Authorization": f"Bearer {world['verifier'].create_api_key(lender='Consent Bank')}"}
    asked = _ask_country(world, lender, pseudonym=True)

    summary = holder.prepare(asked["request_url"])
    assert router.posts == []  # preparing sends nothing
    assert summary.source == asked["request_url"]
    vid = world["verifier"].verifier_id
    who = summary.requester  # as the ledger registration and the verifier's signature say
    assert (who.verifier_id, who.verifier_name, who.lender, who.origin) == (
        vid,
        "Demo Lending Verifier",
        "Consent Bank",
        "http://verifier.demo",
    )
    assert who.registration_seq is not None and who.registration_seq >= 0
    assert summary.expires_at == holder.fetch_request(asked["request_url"]).document["expires_at"]
    assert [(d.attribute, d.value) for d in summary.disclosed] == [("country", "NL")]  # the value, not just the name
    assert [p.text for p in summary.proven] == [
        f"income is at least 50 000 ({NOT_REVEALED})",
        f"birth_date is on or before 2008-11-27 ({NOT_REVEALED})",
        "the credential is not revoked by its issuer",
    ]
    [cred] = summary.credentials
    assert (cred.credential_id, cred.issuer_name, cred.issuer_seq) == (stored.id, "Payroll Demo BV", 0)
    [nym] = summary.pseudonyms
    assert nym.context == f"{vid}/Consent%20Bank" and nym.lender == "Consent Bank"
    data = json.loads(json.dumps(summary.to_json()))  # plain data, nothing secret in it
    assert data["disclosed"] == [{"query_id": "credential", "attribute": "country", "value": "NL"}]
    assert "_ticket" not in data and "link" not in json.dumps(data)

    verdict = holder.submit(summary.approve())
    assert verdict["verified"] is True and verdict["disclosed"] == {"country": "NL"}, verdict
    assert router.posts == [asked["presentation_url"]]
    # the pseudonym the holder was shown is the one the lender recorded
    status = world["clients"][VERIFIER_URL].get(f"/requests/{asked['id']}", headers=lender).json()
    assert status["pseudonym"] == nym.pseudonym
    assert holder.credentials()[0].issuer_name == "Payroll Demo BV"  # `wallet list` names the issuer too


def test_presenting_without_an_approved_summary_is_impossible(world):  # noqa: F811
    router = CountingRouter(world["clients"])
    holder = world["wallet"]("consent-strict", http=router)
    other = world["wallet"]("consent-other")
    holder.accept_offer(world["offer"](64000))
    other.accept_offer(world["offer"](64000))
    asked = world["ask"]()
    checked = holder.fetch_request(asked["request_url"])  # checked, but not shown to the holder

    for bare in (asked["request_url"], checked, checked.document, checked.request):
        with pytest.raises(TypeError, match="prepare"):
            holder.submit(bare)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="prepare"):
            holder.present(bare)  # type: ignore[arg-type]
    summary = holder.prepare(asked["request_url"])
    with pytest.raises(TypeError, match="only from ConsentSummary.approve"):
        Approval(summary._ticket, summary)
    # a summary made by hand (contents of one's choosing, a guessed ticket) approves nothing
    forged = ConsentSummary(summary.requester, None, (), (), (), (), _ticket="guess")
    with pytest.raises(WalletError, match="not for a request this wallet prepared"):
        holder.submit(forged.approve())
    # another wallet's approval does not work here
    with pytest.raises(WalletError, match="not for a request this wallet prepared"):
        holder.submit(other.prepare(asked["request_url"]).approve())
    assert router.posts == []
    # a bare request (not fetched from a checked verifier) can be presented, never submitted
    with pytest.raises(WalletError, match="nowhere verified to send it"):
        holder.submit(holder.prepare(checked.document).approve())

    approval = summary.approve()
    assert holder.submit(approval)["verified"] is True
    with pytest.raises(WalletError, match="already used"):
        holder.present(approval)  # one approval, one presentation
    assert router.posts == [asked["presentation_url"]]


def test_a_credential_revoked_after_the_summary_is_refused_not_swapped(world):  # noqa: F811
    router = CountingRouter(world["clients"])
    holder = world["wallet"]("consent-revoked", http=router)
    first = holder.accept_offer(world["offer"](64000))
    holder.accept_offer(world["offer"](70000))
    summary = holder.prepare(world["ask"]()["request_url"])
    assert summary.credentials[0].credential_id == first.id
    assert world["iss"].post(f"/admin/credentials/{first.id}/revoke", headers=world["admin"]).status_code == 200
    holder.sync()
    with pytest.raises(NoMatchingCredential, match=f"{first.id} you approved was revoked"):
        holder.submit(summary.approve())
    assert router.posts == []


def test_an_expired_request_is_refused_before_the_summary(world):  # noqa: F811
    import time

    now = [time.time()]
    holder = world["wallet"]("consent-late", clock=lambda: now[0])
    holder.accept_offer(world["offer"](64000))
    asked = world["ask"]()
    summary = holder.prepare(asked["request_url"])
    now[0] = time.time() + 301  # the requests expire in 300 s
    with pytest.raises(WalletError, match="expired at"):
        holder.prepare(asked["request_url"])
    with pytest.raises(WalletError, match="expired at"):  # the holder took too long to answer
        holder.submit(summary.approve())
    assert world["status"](asked["id"])["status"] == "pending"


def test_each_statement_kind_reads_as_a_sentence():
    payslip = Schema.from_json(
        {
            "name": "p",
            "version": "1",
            "attributes": [{"name": "birth_date", "type": "date"}, {"name": "income", "type": "int"}],
        }
    )
    cases = {
        Predicate("birth_date", "<=", "2008-11-27"): "birth_date is on or before 2008-11-27",
        Predicate("birth_date", ">", "1950-01-01"): "birth_date is after 1950-01-01",
        Predicate("income", "<", 1000000): "income is less than 1 000 000",
        Predicate("income", "between", [10, 20]): "income is between 10 and 20",
        Predicate("income", "!=", 0): "income is not 0",
        Predicate("income", "not_in", [1, 2]): "income is none of 1, 2",
        Equality("a.id", "b.id"): "a.id equals b.id",
        # a linear predicate: over one credential by attribute names, across credentials with each query named
        LinearPredicate.parse("40*income - 100*debt >= 0", "credential"): "40 × income − 100 × debt ≥ 0",
        LinearPredicate.parse("40*tax.revenue - 1200*bank.monthly_debt >= 0"): (
            "40 × tax.revenue − 1200 × bank.monthly_debt ≥ 0"
        ),
    }
    for statement, words in cases.items():
        assert sentence(statement, payslip) == f"{words} ({NOT_REVEALED})"
    assert NOT_REVEALED not in sentence(NotRevoked("q"))
    with pytest.raises(TypeError, match="add a case to wallet.consent.sentence"):
        sentence(object())


def test_a_linear_predicate_across_queries_is_shown_once_with_its_first_query():
    dti = LinearPredicate.parse("40*tax.revenue - 1200*bank.monthly_debt >= 0")
    queries = (CredentialQuery("tax", ("creddef:t",)), CredentialQuery("bank", ("creddef:b",)))
    request = PresentationRequest(b"\0" * 32, "verifier", datetime.date(2026, 11, 27), queries, linear=(dti,))
    shown = {q.id: list(proven_statements(request, q, revocable=False)) for q in queries}
    assert shown == {"tax": [dti], "bank": []}


def test_cli_accept_shows_the_offer_and_a_no_stores_nothing(world, monkeypatch, tmp_path):  # noqa: F811
    import zkcred.wallet_cli as cli

    holder = world["wallet"]("consent-accept")
    monkeypatch.setattr(cli, "_open", lambda *a, **k: holder)
    offer = world["offer"](64000)
    path = tmp_path / "offer.json"
    path.write_text(json.dumps(offer))
    runner = CliRunner()

    declined = runner.invoke(cli.app, ["accept", str(path)], input="\n", env={"COLUMNS": "200"})
    assert declined.exit_code == 1, declined.output
    assert "Payroll Demo BV offers a credential" in declined.stdout
    assert (
        "registered at ledger seq 0" in declined.stdout and "income" in declined.stdout and "64000" in declined.stdout
    )
    assert offer["expires_at"] in declined.stdout
    assert "Accept this credential? [y/N]" in declined.stdout
    assert declined.stderr.strip().startswith("declined: nothing was stored")
    assert holder.credentials() == []

    data = json.loads(runner.invoke(cli.app, ["accept", str(path), "--json"]).stdout)
    assert data["accepted"] is False and data["offer"]["issuer_name"] == "Payroll Demo BV"
    assert data["offer"]["attributes"] == offer["attributes"] and holder.credentials() == []

    accepted = runner.invoke(cli.app, ["accept", str(path)], input="y\n", env={"COLUMNS": "200"})
    assert accepted.exit_code == 0, accepted.output
    assert "✔ stored credential" in accepted.stdout and len(holder.credentials()) == 1


def test_cli_present_asks_and_a_no_sends_nothing(world, monkeypatch):  # noqa: F811
    import zkcred.wallet_cli as cli

    router = CountingRouter(world["clients"])
    holder = world["wallet"]("consent-cli", http=router)
    holder.accept_offer(world["offer"](64000))
    monkeypatch.setattr(cli, "_open", lambda *a, **k: holder)
    runner = CliRunner()
    asked = world["ask"]()

    for answer in ("\n", "n\n", ""):  # Enter (the default), no, end of input
        out = runner.invoke(cli.app, ["present", asked["request_url"], "--submit"], input=answer)
        assert out.exit_code == 1, out.output
        assert "Send this to L? [y/N]" in out.stdout
        assert out.stderr.strip() == "declined: nothing was sent to L"
    assert router.posts == [] and world["status"](asked["id"])["status"] == "pending"

    dry = json.loads(runner.invoke(cli.app, ["present", asked["request_url"], "--submit", "--json"]).stdout)
    assert dry["sent"] is False and dry["consent"]["proven"][0]["text"].startswith("income is at least 50 000")
    assert router.posts == []

    out = runner.invoke(cli.app, ["present", asked["request_url"], "--submit"], input="y\n")
    assert out.exit_code == 0 and out.stdout.splitlines()[-1] == "✔ verified", out.output
    assert router.posts == [asked["presentation_url"]]
