"""The three web consoles over the real services in process (TestClient): every page, the
security headers, sign-in, sessions, CSRF, escaping, and what pages never contain.

The browser walks the same pages in tests/console/test_browser.py; here each rule is
checked on every page without a browser, so a regression names its page.
"""

from __future__ import annotations

import html
import re
import urllib.parse
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from servicekit import deeplinks
from servicekit.web import CSP
from tests.hardening.conftest import ADA, Story, build_story

XSS = "<script>window.__pwned=1</script>\"'&"


@pytest.fixture(scope="module")
def story(tmp_path_factory) -> Iterator[Story]:
    s = build_story(tmp_path_factory.mktemp("console"), holders=(ADA,))
    yield s
    s.close()


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def _signed_in(app, secret: str, base_url: str) -> TestClient:
    client = TestClient(app, base_url=base_url)
    token = _csrf(client.get("/console/login").text)
    r = client.post("/console/login", data={"secret": secret, "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/", r.text
    return client


@pytest.fixture(scope="module")
def issuer(story) -> TestClient:
    return _signed_in(story.iss.app, story.admin_token, "http://issuer.demo")  # dev mode: plain http


@pytest.fixture(scope="module")
def hooks(story):
    """The lender console's webhooks, posting to a receiver that answers 503 (no dispatcher thread:
    a test steps it with ``deliver_due``)."""
    import httpx

    from verifier.webhooks import Webhooks

    hooks = Webhooks(story.verifier.store.engine, transport=httpx.MockTransport(lambda r: httpx.Response(503)))
    yield hooks
    hooks.stop()


@pytest.fixture(scope="module")
def lender(story, hooks) -> TestClient:
    from verifier.api import create_app

    app = create_app(story.verifier, public_url="http://verifier.demo", webhooks=hooks)
    return _signed_in(app, story.api_key, "https://v.test")


def _check_page(r, where: str) -> str:
    """The rules of every console page (servicekit.web): headers, no inline script, style or handler."""
    return _check_page_status(r, 200, where)


def _check_page_status(r, status: int, where: str) -> str:
    assert r.status_code == status, f"{where}: {r.status_code} {r.text[:300]}"
    assert r.headers["content-type"].startswith("text/html"), where
    assert r.headers["content-security-policy"] == CSP, where
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["referrer-policy"] == "no-referrer", where
    assert r.headers["cache-control"] == "no-store", where
    page = r.text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), f"{where}: an inline script"
    assert not re.search(r"\sstyle=|\son[a-z]+=", page), f"{where}: an inline style or event handler"
    assert '<html lang="en">' in page and 'name="viewport"' in page, where
    for control in re.findall(r'<(?:input|select|textarea)\b[^>]*\bid="([^"]+)"', page):
        assert f'for="{control}"' in page, f"{where}: the control {control} has no label"
    return page


def test_every_page_follows_the_rules(story, issuer, lender):
    cid, did, sid = story.credential_ids[0], story.cred_def["id"], story.schema["id"]
    offer = story.issuer.list_offers(limit=1)[0].id
    pages = {
        issuer: [
            "/console/",
            "/console/schemas",
            f"/console/schemas/{sid}",
            "/console/definitions",
            f"/console/definitions/{did}",
            "/console/offers",
            "/console/offers?status=issued",
            f"/console/offers/new?definition_id={did}",
            f"/console/offers/{offer}",
            "/console/credentials?status=issued",
            f"/console/credentials/{cid}",
            f"/console/credentials/{cid}/revoke",
            "/console/audit",
        ],
        lender: ["/console/", "/console/requests/new"],
        TestClient(story.led.app): ["/console/", "/console/entries", "/console/entries/0", "/console/audit"],
    }
    for client, paths in pages.items():
        for path in paths:
            page = _check_page(client.get(path), path)
            assert story.admin_token not in page and story.api_key not in page, path
            assert str(ADA["income"]) not in page and ADA["birth_date"] not in page, path
    static = issuer.get("/console/static/console.js")
    assert static.status_code == 200 and "javascript" in static.headers["content-type"]
    assert issuer.get("/console/static/../api.py").status_code == 404


def test_sign_in_session_cookie_and_sign_out(story):
    from verifier.api import create_app

    app = create_app(story.verifier, public_url="http://verifier.demo")
    client = TestClient(app, base_url="https://v.test")
    assert client.get("/console/", follow_redirects=False).headers["location"] == "/console/login"
    token = _csrf(client.get("/console/login").text)
    wrong = client.post("/console/login", data={"secret": "zkv_not-a-key", "csrf_token": token})
    assert wrong.status_code == 403 and "not valid" in wrong.text
    r = client.post("/console/login", data={"secret": story.api_key, "csrf_token": token}, follow_redirects=False)
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("__Host-zkcred-verifier=")  # Secure outside dev mode: the __Host- prefix
    assert all(flag in cookie for flag in ("HttpOnly", "Secure", "SameSite=strict", "Path=/"))
    assert story.api_key not in cookie and story.api_key.split("_", 1)[1] not in urllib.parse.unquote(cookie)
    assert _csrf(client.get("/console/").text) != token  # a fresh session id (and CSRF token) after sign-in
    assert client.get("/console/").status_code == 200
    # a tampered cookie is no session
    tampered = TestClient(app, base_url="https://v.test", cookies={"__Host-zkcred-verifier": cookie[23:40] + "x"})
    assert tampered.get("/console/", follow_redirects=False).status_code == 303
    # revoking the key ends the session at once
    key = story.verifier.create_api_key(lender="Short-lived")
    other = _signed_in(app, key, "https://v.test")
    assert other.get("/console/").status_code == 200
    from verifier.service import revoke_api_keys

    revoke_api_keys(store=story.verifier.store, key=key, now=story.verifier.clock())
    assert other.get("/console/", follow_redirects=False).headers["location"] == "/console/login"
    out = client.post(
        "/console/logout", data={"csrf_token": _csrf(client.get("/console/").text)}, follow_redirects=False
    )
    assert out.status_code == 303 and 'zkcred-verifier=""' in out.headers["set-cookie"]
    assert client.get("/console/", follow_redirects=False).status_code == 303


def test_forms_without_their_csrf_token_are_refused(story, issuer, lender):
    before = len(story.issuer.list_schemas())
    form = {"name": "refused", "version": "1", "attributes": "a int"}
    for sent in (form, {**form, "csrf_token": "0" * 64}):
        r = issuer.post("/console/schemas", data=sent)
        assert r.status_code == 403 and "security token" in r.text
    assert len(story.issuer.list_schemas()) == before
    r = lender.post("/console/requests", data={"definition": story.cred_def["id"], "expires_in": "60"})
    assert r.status_code == 403
    cid = story.credential_ids[0]
    assert issuer.post(f"/console/credentials/{cid}/revoke", data={}).status_code == 403
    assert story.issuer.get_credential(cid).status == "issued"
    # another session's token is not this session's
    elsewhere = _signed_in(story.iss.app, story.admin_token, "http://issuer.demo")
    token = _csrf(elsewhere.get("/console/schemas").text)
    assert issuer.post("/console/schemas", data={**form, "csrf_token": token}).status_code == 403
    # the JSON API still takes JSON only
    r = issuer.post("/admin/schemas", data=form, headers=story.admin)
    assert r.status_code == 415


def test_names_and_values_render_escaped(story, issuer, lender):
    token = _csrf(issuer.get("/console/schemas").text)
    r = issuer.post(
        "/console/schemas",
        data={"csrf_token": token, "name": XSS, "version": XSS[:30], "attributes": "note string"},
        follow_redirects=True,
    )
    page = _check_page(r, "schema page")
    assert "<script>window" not in page and html.escape(XSS) in page.replace("&#34;", "&quot;").replace(
        "&#39;", "&#x27;"
    )
    r = lender.post(
        "/console/requests",
        data={
            "csrf_token": _csrf(lender.get("/console/requests/new").text),
            "definition": story.cred_def["id"],
            "disclose": "country",
            "pseudonym": "campaign",
            "campaign": XSS,
            "p0_attribute": "country",
            "p0_op": "in",
            "p0_value": XSS.replace(",", ""),
            "expires_in": "600",
            "max_staleness": "600",
        },
        follow_redirects=True,
    )
    page = _check_page(r, "request page")
    assert "<script>window" not in page and "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page


def test_offer_deep_link_hands_the_offer_once(story, issuer):
    did = story.cred_def["id"]
    token = _csrf(issuer.get(f"/console/offers/new?definition_id={did}").text)
    fields = {f"attr_{k}": str(v) for k, v in ADA.items()}
    r = issuer.post("/console/offers", data={"csrf_token": token, "definition_id": did, **fields})
    assert r.status_code == 201
    link = html.unescape(re.search(r'id="deep-link"[^>]*value="([^"]+)"', r.text).group(1))
    assert 'src="data:image/svg+xml' in r.text  # the QR code, drawn by segno
    url = urllib.parse.urlsplit(deeplinks.parse(link, action="accept").uri)
    offer_id = url.path.rsplit("/", 1)[1]
    offer_token = urllib.parse.parse_qs(url.query)["token"][0]
    doc = story.iss.get(url.path, params={"token": offer_token})
    assert doc.status_code == 200 and doc.json()["attributes"]["country"] == ADA["country"]
    assert story.iss.get(url.path, params={"token": offer_token[:-2] + "xx"}).status_code == 403
    assert story.iss.get(url.path).status_code == 401
    status_page = issuer.get(f"/console/offers/{offer_id}").text
    assert offer_token not in status_page and "Cancel this offer" in status_page
    issuer.post(f"/console/offers/{offer_id}/cancel", data={"csrf_token": _csrf(status_page)})
    assert story.issuer.get_offer(offer_id).status == "cancelled"
    assert story.iss.get(url.path, params={"token": offer_token}).status_code == 409  # offer-cancelled


def test_bulk_offers_from_csv_all_or_nothing(story, issuer):
    did = story.cred_def["id"]
    token = _csrf(issuer.get(f"/console/offers/new?definition_id={did}").text)
    good = b"income,birth_date,country\n50000,1990-01-02,NL\n61000,1980-05-06,DE\n"
    r = issuer.post(
        "/console/offers/bulk", data={"csrf_token": token, "definition_id": did}, files={"csv": ("o.csv", good)}
    )
    assert r.status_code == 201 and len(set(re.findall(r'value="(zkcred://accept[^"]+)"', r.text))) == 2
    before = len(story.issuer.list_offers(limit=1000))
    bad = b"income,birth_date,country\n50000,1990-01-02,NL\nlots,1980-05-06,DE\n"
    r = issuer.post(
        "/console/offers/bulk", data={"csrf_token": token, "definition_id": did}, files={"csv": ("o.csv", bad)}
    )
    assert r.status_code == 422 and "line 3: attributes: income" in r.text and "lots" not in r.text
    assert len(story.issuer.list_offers(limit=1000)) == before


def test_a_lender_sees_only_its_own_requests(story, lender):
    other = story.verifier.create_request(lender="Someone Else", credential_definitions=[story.cred_def["id"]])
    r = lender.get(f"/console/requests/{other.id}")
    assert r.status_code == 403 and other.id not in lender.get("/console/").text
    assert lender.get(f"/console/requests/{other.id}/status").status_code == 403
    assert lender.get(f"/console/requests/{other.id}/events").status_code == 403


def test_a_request_with_escrow_from_the_form(story, lender):
    """The form's escrow fields: the request names the auditor, attribute and label; the verdict
    shows the ciphertext's id and the escrow JSON to hand the auditor — never the value."""
    from issuer.publisher import InProcessPublisher
    from zkcred.auditor import AuditorKeys, register

    register(InProcessPublisher(story.log), AuditorKeys.generate("audit-co"), "Audit Co")
    fields = {"escrow_auditor": "audit-co", "escrow_attribute": "birth_date", "escrow_label": "loan-42"}
    form = {
        "csrf_token": _csrf(lender.get("/console/requests/new").text),
        "definitions": story.cred_def["id"],
        "disclose": "country",
        "pseudonym": "none",
        "expires_in": "600",
        "max_staleness": "600",
    }
    half = lender.post("/console/requests", data={**form, "escrow_auditor": "audit-co"})
    assert half.status_code == 422 and "escrow: name the auditor" in half.text
    r = lender.post("/console/requests", data={**form, **fields}, follow_redirects=False)
    assert r.status_code == 303, r.text
    request_id = r.headers["location"].rsplit("/", 1)[1]
    page = _check_page(lender.get(r.headers["location"]), "escrow request")
    assert "birth_date escrowed with audit-co for loan-42" in page
    created = story.verifier.get_request(lender="Hardening Lender", request_id=request_id)
    assert story.submit({"id": request_id}, story.present({"request": created.request.to_json()})).json()["verified"]
    fragment = lender.get(f"/console/requests/{request_id}/status").text
    escrowed = story.ver.get(f"/requests/{request_id}", headers=story.lender).json()["verdict"]["escrow"]
    assert escrowed["id"] in fragment and escrowed["ciphertext"] in fragment and 'id="escrow"' in fragment
    assert ADA["birth_date"] not in fragment


def _register_webhook(lender, **fields) -> object:
    form = {"csrf_token": _csrf(lender.get("/console/webhooks").text), "events": ["request.verified"], **fields}
    return lender.post("/console/webhooks", data=form)


def test_webhooks_register_secret_once_deliveries_and_delete(story, lender, hooks):
    """Register from the form (the secret on that page only), refused URLs as a form error, the
    delivery log with its attempt, CSRF on register and delete, escaped values, delete."""
    _check_page(lender.get("/console/webhooks"), "webhooks")
    before = hooks.endpoints(lender="Hardening Lender")
    for url, why in (
        ("ftp://127.0.0.1/x", "http:// or https://"),
        ("https://evil.example/h", "does not send webhooks"),
    ):
        r = _register_webhook(lender, url=url, description=XSS)
        assert r.status_code == 422 and why in r.text and 'role="alert"' in r.text, r.text[:500]
        assert html.escape(url) in r.text and "<script>window" not in r.text  # the form again, filled in, escaped
    assert _register_webhook(lender, url="http://127.0.0.1:9/h", events=[]).status_code == 422
    refused = lender.post("/console/webhooks", data={"url": "http://127.0.0.1:9/h", "events": "request.verified"})
    assert refused.status_code == 403 and hooks.endpoints(lender="Hardening Lender") == before

    r = _register_webhook(lender, url="http://127.0.0.1:9/hook?a='\"<b>", description=XSS)
    assert r.status_code == 201, r.text[:500]
    created = _check_page_status(r, 201, "webhook created")
    secret = re.search(r'id="secret"[^>]*value="(whsec_[^"]+)"', created).group(1)
    assert "<script>window" not in created and "<b>" not in created
    (endpoint,) = [e for e in hooks.endpoints(lender="Hardening Lender") if e not in before]
    assert endpoint["description"] == XSS and endpoint["events"] == ["request.verified"]

    request = story.verifier.create_request(lender="Hardening Lender", credential_definitions=[story.cred_def["id"]])
    presented = story.present({"request": request.request.to_json()})
    assert story.submit({"id": request.id}, presented).json()["verified"]
    hooks.deliver_due()  # one attempt: the receiver answers 503, the delivery stays pending
    pages = {
        "webhooks": lender.get("/console/webhooks"),
        "webhook": lender.get(f"/console/webhooks/{endpoint['id']}"),
        "requests": lender.get("/console/"),
        "request": lender.get(f"/console/requests/{request.id}"),
    }
    for where, page in pages.items():
        text = _check_page(page, where)
        assert secret not in text and "whsec_" not in text, f"{where} shows the secret"
        assert "<script>window" not in text, where
    log = pages["webhook"].text
    assert request.id in log and "request.verified" in log and "HTTP 503" in log and "s-pending" in log
    other = _signed_in(lender.app, story.api_key, "https://v.test")  # another session's token does not delete
    token = _csrf(other.get("/console/webhooks").text)
    assert lender.post(f"/console/webhooks/{endpoint['id']}/delete", data={"csrf_token": token}).status_code == 403
    assert lender.post(f"/console/webhooks/{endpoint['id']}/delete", data={}).status_code == 403
    token = _csrf(pages["webhook"].text)
    r = lender.post(f"/console/webhooks/{endpoint['id']}/delete", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/webhooks"
    assert endpoint["id"] not in lender.get("/console/webhooks").text
    assert lender.get(f"/console/webhooks/{endpoint['id']}").status_code == 404


def test_another_lenders_webhook_is_not_found(story, lender, hooks):
    view, _ = hooks.register(lender="Someone Else", url="http://127.0.0.1:9/other")
    assert lender.get(f"/console/webhooks/{view['id']}").status_code == 404
    assert view["id"] not in lender.get("/console/webhooks").text
    token = _csrf(lender.get("/console/webhooks").text)
    assert lender.post(f"/console/webhooks/{view['id']}/delete", data={"csrf_token": token}).status_code == 404
    assert hooks.endpoint(lender="Someone Else", endpoint_id=view["id"])["id"] == view["id"]


def test_a_two_query_request_from_the_form_and_its_verdict_per_query(story, lender):
    """Named queries and an equality go through ``create_request`` as ``POST /requests`` passes them;
    a bad equality is a form error; the verdict shows each query's disclosed and proven."""
    did = story.cred_def["id"]
    form = {
        "csrf_token": _csrf(lender.get("/console/requests/new").text),
        "definitions": did,
        "disclose": "country",
        "q1_id": "main",
        "q2_id": "again",
        "q2_definition": did,
        "q2_disclose": "",
        "pseudonym": "none",
        "expires_in": "600",
        "max_staleness": "600",
        "p0_attribute": "again.income",
        "p0_op": ">=",
        "p0_value": "1",
    }
    for bad, why in (("main.nothing == again.income", "nothing"), ("main.income = again.income", "")):
        r = lender.post("/console/requests", data={**form, "equality": bad})
        assert r.status_code in (400, 422) and 'role="alert"' in r.text and why in r.text, r.text[:600]
        assert html.escape(bad) in r.text  # the form again, filled in
    alone = {**form, "q2_definition": "", "equality": "main.income == again.income"}
    assert lender.post("/console/requests", data=alone).status_code == 422
    r = lender.post(
        "/console/requests", data={**form, "equality": "main.income == again.income"}, follow_redirects=False
    )
    assert r.status_code == 303, r.text[:600]
    request_id = r.headers["location"].rsplit("/", 1)[1]
    created = story.verifier.get_request(lender="Hardening Lender", request_id=request_id)
    assert [q.id for q in created.request.queries] == ["main", "again"]
    assert created.request.equalities == (("main.income", "again.income"),)
    page = _check_page(lender.get(r.headers["location"]), "two-query request")
    assert "main.income = again.income" in page and "income &gt;= 1" in page
    assert created.request.queries[1].predicates and not created.request.queries[0].predicates  # on its query
    verdict = story.submit({"id": request_id}, story.present({"request": created.request.to_json()})).json()
    assert verdict["verified"], verdict
    fragment = lender.get(f"/console/requests/{request_id}/status").text
    assert 'id="query-1"' in fragment and 'id="query-2"' in fragment and "Proven across the queries" in fragment
    assert ADA["country"] in fragment and "main.income = again.income" in fragment
    assert str(ADA["income"]) not in fragment  # proven, never disclosed


def test_a_linear_predicate_and_a_purpose_from_the_form(story, lender):
    """The form's linear predicate and purpose go through ``create_request``; a malformed one is a form error."""
    form = {
        "csrf_token": _csrf(lender.get("/console/requests/new").text),
        "definitions": story.cred_def["id"],
        "disclose": "country",
        "purpose": 'loan <script>alert("x")</script> 2026-0117',
        "pseudonym": "none",
        "expires_in": "600",
        "max_staleness": "600",
    }
    bad = lender.post("/console/requests", data={**form, "linear": "2*income >>= 1"})
    assert bad.status_code == 422 and 'role="alert"' in bad.text
    assert "<script>alert" not in bad.text and "loan &lt;script&gt;alert(" in bad.text  # the form again, escaped
    r = lender.post("/console/requests", data={**form, "linear": "2*income >= 100"}, follow_redirects=False)
    assert r.status_code == 303, r.text[:600]
    request_id = r.headers["location"].rsplit("/", 1)[1]
    created = story.verifier.get_request(lender="Hardening Lender", request_id=request_id)
    assert len(created.request.linear) == 1 and created.purpose == form["purpose"]
    verdict = story.submit({"id": request_id}, story.present({"request": created.request.to_json()})).json()
    assert verdict["verified"], verdict
    assert "2 × credential.income ≥ 100" in verdict["predicates"], verdict["predicates"]
    assert "2 × credential.income ≥ 100" in lender.get(f"/console/requests/{request_id}/status").text
