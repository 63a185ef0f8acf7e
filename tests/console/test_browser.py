"""The consoles in a real browser (issue 18), against the real services (`zkcred serve`).

The whole story: an issuer creates a schema, a definition and an offer in its console; the
wallet CLI accepts the offer from the console's deep link; a lender builds a request in its
console; the wallet answers and the lender's page turns to "verified" without a reload;
the issuer revokes in the console; the same kind of request then fails. Every page is
screenshotted at a desktop width and at 360 px (none may scroll sideways, none may log a
browser error such as a CSP violation), and no page's HTML may carry the admin token, the
API key or a value the holder did not disclose. Then the security tests: a form posted
without its CSRF token — from the console itself and from another origin — is refused;
``<script>`` and quotes in a schema name, a disclosed value, the lender's name and its
campaign show as text and never run.
"""

from __future__ import annotations

import json
import urllib.parse

import pytest

from tests.console.browser import Pages, driver, screenshots_dir  # noqa: F401 (driver: a fixture)
from tests.e2e.test_cli_story import _zkcred, stack  # noqa: F401 (stack: a fixture)
from tests.servers import serve

# one worker runs the three (python3 dev.py test distributes by group): one stack, one browser
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

PWN = "<script>window.__pwned=1</script>"
HOLDER = {"income": "64000", "birth_date": "1990-12-10", "country": "NL"}


def _secrets(stack, lender: str = "Demo Bank"):  # noqa: F811
    tmp, urls, env = stack
    admin = json.loads(_zkcred("issuer", "create-admin-token", "--name", "console", "--json", env=env).stdout)["token"]
    key = json.loads(_zkcred("verifier", "create-api-key", "--lender", lender, "--json", env=env).stdout)["api_key"]
    return admin, key


def _wallet(stack, tmp_path) -> dict[str, str]:  # noqa: F811
    """A new wallet for the CLI (``ZKCRED_WALLET`` …), following the stack's ledger."""
    tmp, urls, env = stack
    ledger_key = json.loads(_zkcred("check", "--json", "--offline", env=env).stdout)["ledger_public_key"]
    wallet = {
        **env,
        "ZKCRED_WALLET": str(tmp_path / "wallet.db"),
        "ZKCRED_WALLET_PASSPHRASE": "correct horse battery",
        "ZKCRED_LEDGER_URL": urls["ledger"],
        "ZKCRED_LEDGER_PUBLIC_KEY": ledger_key,  # the wallet checks verifiers against the ledger it pins
    }
    _zkcred("wallet", "init", env=wallet)
    return wallet


def _sign_in(pages: Pages, base: str, secret: str, shot: str | None = None) -> None:
    pages.open(f"{base}/console/login")
    if shot:
        pages.shoot(shot)
    pages.fill(secret=secret)
    pages.submit()


def _define(pages: Pages, issuer: str, schema_name: str) -> str:
    """A schema (income, birth_date, country) and a revocable definition, in the issuer's console; its id."""
    pages.open(f"{issuer}/console/schemas")
    pages.fill(name=schema_name, version="1", attributes="income int\nbirth_date date\ncountry string")
    pages.submit()
    pages.css('a[href*="/console/definitions?schema_id="]').click()
    pages.record()
    pages.fill(tag="2026", capacity="100", validity_days="30")
    assert pages.css("#f-revocable").is_selected()
    pages.submit()
    return urllib.parse.unquote(pages.driver.current_url.rsplit("/", 1)[1])


def _offer(pages: Pages, values: dict[str, str], shot: str | None = None) -> tuple[str, str]:
    """From a definition's page: an offer of ``values``; its deep link and the page that shows it."""
    pages.css('a[href*="/console/offers/new"]').click()
    pages.record()
    pages.fill(**{f"attr_{k}": v for k, v in values.items()})
    if shot:
        pages.shoot(shot)
    created = pages.submit()
    return pages.css("#deep-link").get_attribute("value"), created


def _ask(pages: Pages, verifier: str, definition_id: str, **extra: str) -> str:
    """A request in the lender's console (disclose country, income >= 50000); its deep link."""
    pages.open(f"{verifier}/console/requests/new")
    pages.css(f'input[name="definitions"][value="{definition_id}"]').click()  # listed from the ledger
    pages.fill(disclose="country", p0_attribute="income", p0_value="50000")
    pages.fill(max_staleness="0", **extra)
    pages.css("#ps-campaign" if "campaign" in extra else "#ps-lender").click()
    pages.submit()
    pages.wait_text("#request-status", "Waiting for the holder")
    pages.driver.execute_script("window.__samePage = true")
    return pages.css("#deep-link").get_attribute("value")


def test_the_whole_story_in_the_browser(stack, driver, tmp_path):  # noqa: F811
    tmp, urls, env = stack
    admin_token, api_key = _secrets(stack)
    pages = Pages(driver, screenshots_dir(tmp_path))
    issuer, verifier, ledger = urls["issuer"], urls["verifier"], urls["ledger"]
    wallet = _wallet(stack, tmp_path)

    # the issuer: a schema, a definition, an offer
    pages.open(f"{issuer}/console/")
    assert pages.driver.current_url.endswith("/console/login")  # nobody is signed in yet
    _sign_in(pages, issuer, admin_token, shot="sign-in")
    pages.shoot("issuer-home")
    definition_id = _define(pages, issuer, "payslip")
    pages.shoot("issuer-definition")
    pages.open(f"{issuer}/console/schemas")
    pages.shoot("issuer-schemas")
    pages.open(f"{issuer}/console/definitions/{urllib.parse.quote(definition_id)}")
    offer_link, created = _offer(pages, HOLDER, shot="issuer-offer-form")
    pages.shoot("issuer-offer-created")
    offer_token = urllib.parse.parse_qs(
        urllib.parse.urlsplit(urllib.parse.parse_qs(urllib.parse.urlsplit(offer_link).query)["offer_uri"][0]).query
    )["token"][0]
    assert offer_token in created

    # the holder accepts from the deep link
    accepted = json.loads(_zkcred("wallet", "accept", offer_link, "--json", "--yes", env=wallet).stdout)
    pages.css("main h2 a").click()  # the offer's page
    pages.record()
    assert pages.css("#offer-status").text == "issued"
    pages.shoot("issuer-offer")
    pages.open(f"{issuer}/console/offers")
    pages.shoot("issuer-offers")

    # the lender asks; the page turns to verified without a reload
    _sign_in(pages, verifier, api_key)

    def ask() -> str:
        return _ask(pages, verifier, definition_id)

    request_link = ask()
    pages.shoot("lender-request")
    verdict = json.loads(_zkcred("wallet", "present", request_link, "--submit", "--json", "--yes", env=wallet).stdout)
    assert verdict["verified"] is True
    pages.wait_text("#request-status", "Verified")
    assert pages.driver.execute_script("return window.__samePage === true"), "the page was reloaded"
    assert "country = NL" in pages.css("#live dd").text and "no, first time" in pages.css("#seen-before").text
    pages.record()
    pages.shoot("lender-verified")
    second = ask()  # the same holder again: "seen before"
    _zkcred("wallet", "present", second, "--submit", "--json", "--yes", env=wallet)
    pages.wait_text("#seen-before", "yes")
    pages.record()
    pages.shoot("lender-seen-before")
    pages.open(f"{verifier}/console/requests/new")
    pages.shoot("lender-new-request")

    # the issuer revokes
    pages.open(f"{issuer}/console/credentials?status=issued")
    pages.shoot("issuer-credentials")
    pages.css(f'a[href="/console/credentials/{accepted["id"]}"]').click()
    pages.record()
    pages.css('a[href$="/revoke"]').click()
    confirmation = pages.record()
    assert "cannot be undone" in confirmation and "revocation entry" in confirmation
    pages.shoot("issuer-revoke")
    pages.submit()
    assert pages.css("#credential-status").text == "revoked"
    pages.shoot("issuer-revoked")
    pages.open(f"{issuer}/console/audit")
    assert "credential.revoke" in pages.css("main table").text and "console" in pages.css("main table").text
    pages.shoot("issuer-audit")

    # the same kind of request now fails
    third = ask()
    refused = _zkcred("wallet", "present", third, "--submit", "--yes", env=wallet, check=False)
    assert refused.returncode == 1 and "revoked" in refused.stderr
    pages.open(f"{verifier}/console/")
    assert pages.css("main tbody tr").text.count("pending") == 1  # the newest: never answered
    pages.shoot("lender-requests")

    # the ledger explorer
    pages.open(f"{ledger}/console/")
    pages.shoot("ledger-checkpoint")
    pages.open(f"{ledger}/console/entries")
    assert "revocation" in pages.css("main table").text
    pages.shoot("ledger-entries")
    pages.css("main tbody a").click()  # the newest entry: the revocation
    pages.record()
    assert "Included" in pages.css("#inclusion").text
    pages.shoot("ledger-entry")
    pages.open(f"{ledger}/console/audit")
    assert "The log verifies" in pages.css("#audit-result").text
    pages.shoot("ledger-audit")

    # no page carried a secret; the offer's token only on the page that hands it over
    for url, html in pages.seen:
        for secret in (admin_token, api_key, HOLDER["income"], HOLDER["birth_date"]):
            assert secret not in html, f"{url} carries a secret"
        if offer_token in html:
            assert html == created, f"{url} carries the offer's token"


def test_forms_without_the_csrf_token_are_refused_in_the_browser(stack, driver, tmp_path):  # noqa: F811
    tmp, urls, env = stack
    admin_token, _ = _secrets(stack)
    pages = Pages(driver, tmp_path)
    _sign_in(pages, urls["issuer"], admin_token)
    pages.open(f"{urls['issuer']}/console/schemas")
    pages.driver.execute_script("document.querySelector('main form [name=csrf_token]').remove()")
    pages.fill(name="no-token", version="1", attributes="a int")
    refused = pages.submit(refused=True)
    assert "Refused" in pages.css("h1").text and "security token" in refused
    # a page of another origin posting to the console: the session cookie goes along (127.0.0.1 on
    # another port is the same site, so even SameSite=Strict sends it); the token cannot
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse

    evil = FastAPI()
    form = (
        '<link rel="icon" href="data:,">'
        f'<form method="post" action="{urls["issuer"]}/console/schemas">'
        '<input name="name" value="forged"><input name="version" value="1"><input name="attributes" value="a int">'
        '<button type="submit">win a prize</button></form>'
    )
    evil.get("/")(lambda: HTMLResponse(form))
    with serve(evil) as evil_url:
        pages.driver.get(evil_url)
        pages.submit("button", refused=True)
    assert "Refused" in pages.css("h1").text
    pages.open(f"{urls['issuer']}/console/schemas")
    assert "forged" not in pages.driver.page_source and "no-token" not in pages.driver.page_source


def test_names_values_and_purposes_render_as_text(stack, driver, tmp_path):  # noqa: F811
    """``<script>`` and quotes in a schema name, an attribute value the holder discloses, the
    lender's name and its campaign (what a request is for) show as text and never run."""
    tmp, urls, env = stack
    lender = f"Bank \"A\" & 'B' {PWN}"
    admin_token, api_key = _secrets(stack, lender)
    wallet = _wallet(stack, tmp_path)
    pages = Pages(driver, tmp_path)
    _sign_in(pages, urls["issuer"], admin_token)
    definition_id = _define(pages, urls["issuer"], f"payslip {PWN}\"'")
    pages.css('a[href*="/console/schemas/"]').click()
    pages.record()
    assert f"payslip {PWN}\"'" in pages.css("h1").text
    pages.open(f"{urls['issuer']}/console/definitions/{urllib.parse.quote(definition_id)}")
    country = f"NL {PWN}\"'"
    offer_link, _ = _offer(pages, {**HOLDER, "country": country})
    _zkcred("wallet", "accept", offer_link, "--json", "--yes", env=wallet)
    _sign_in(pages, urls["verifier"], api_key)
    assert lender in pages.css(".who").text
    link = _ask(pages, urls["verifier"], definition_id, campaign=f"loans {PWN}\"'")
    assert f"loans {PWN}" in pages.css("main").text or "loans%20%3Cscript" in pages.css("main").text
    _zkcred("wallet", "present", link, "--submit", "--json", "--yes", env=wallet)
    pages.wait_text("#request-status", "Verified")
    assert f"country = {country}" in pages.css("#live dd").text
    pages.record()
    for url, html in pages.seen:
        assert PWN not in html, f"{url}: unescaped"
    assert pages.driver.execute_script("return window.__pwned === undefined")
