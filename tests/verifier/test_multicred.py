"""Multi-credential requests over HTTP (issue 13 item 1): a tax office's and a bank's credentials in one
request, the same company in both, one holder — through the real services.

The verifier runs as a real HTTP server (uvicorn on loopback) on SQLite and on PostgreSQL; the
two issuers and the ledger are their real apps in process (``zkcred.demo``); wallets reach
all of them over HTTP. Forged presentations (another holder's credential, a false equality)
are made by skipping the wallet's own refusal (``check_satisfiable``) — the cryptography is
unchanged, so the verifier must refuse them itself.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

import httpx
import pytest

import circuits.presentation as presentation_module
from circuits.backend import get_backend
from circuits.codec import b64d
from circuits.credentials import PresentationRequest
from circuits.presentation import RevocationWitness, create_presentation
from circuits.statements.plan import compile_plan
from tests.postgres import postgres_schema
from tests.servers import serve
from verifier.identity import ensure_registered, in_process
from wallet import HttpRouter, NoMatchingCredential, Wallet
from zkcred.demo import LEDGER_URL, VERIFIER_URL, _services, sme_definitions, sme_issuers, sme_offer, sme_request

TAX = {"company_id": "KVK-100", "company_name": "Acme BV", "revenue": 400000, "tax_year": 2025}
BANK = {"company_id": "KVK-100", "balance": 35000, "monthly_debt": 2000}
_names = (f"holder{i}" for i in itertools.count())


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def sme(request, tmp_path_factory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("sme")
    be = get_backend("blst")
    with postgres_schema() if request.param == "postgres" else _nothing(f"sqlite:///{tmp}/verifier.db") as db_url:
        log, _payroll, verifier, clients = _services(tmp, be, verifier_database_url=db_url)
        issuers = sme_issuers(tmp, log, be)
        definitions = sme_definitions(issuers)
        app = clients.pop(VERIFIER_URL).app
        routed = {LEDGER_URL: clients[LEDGER_URL]} | {
            c.base_url.__str__().rstrip("/"): c for _, c, _ in issuers.values()
        }
        with serve(app) as url:
            app.state.public_url = url  # the URLs it hands out are the real server's
            # and the verifier's registration names that origin (a verifier_update), or wallets refuse it
            assert verifier.identity is not None
            verifier.identity = ensure_registered(
                engine=verifier.store.engine,
                key=verifier.identity.key,
                name=verifier.identity.name,
                origins=[*verifier.identity.origins, url],
                public_url=url,
                ledger=in_process(log),
            )
            lender = {"Authorization": f"Bearer {verifier.create_api_key(lender='SME Lender')}"}
            http = httpx.Client(base_url=url, headers=lender, timeout=30)

            def wallet(**offers: list[dict[str, Any]]) -> tuple[Wallet, dict[str, list[str]]]:
                w = Wallet.create(
                    tmp / f"{next(_names)}.db",
                    "correct horse battery",
                    http=HttpRouter(routed),
                    ledger_url=LEDGER_URL,
                    ledger_key=log.public_key,
                    backend=be,
                )
                ids = {
                    key: [w.accept_offer(sme_offer(issuers, definitions, key, values)).id for values in items]
                    for key, items in offers.items()
                }
                return w, ids

            def ask(body: dict[str, Any] | None = None) -> dict[str, Any]:
                r = http.post("/requests", json=body or sme_request(definitions))
                assert r.status_code == 201, r.text
                return r.json()

            yield {
                "be": be,
                "http": http,
                "wallet": wallet,
                "ask": ask,
                "definitions": definitions,
                "url": url,
                "log": log,
            }
            http.close()


class _nothing:
    def __init__(self, value: str) -> None:
        self.value = value

    def __enter__(self) -> str:
        return self.value

    def __exit__(self, *exc: object) -> None:
        return None


def _forge(monkeypatch, request_json: dict[str, Any], picks: list[tuple[Wallet, str]], link: int) -> dict[str, Any]:
    """A presentation of the credentials ``picks`` (wallet, credential id) under ``link``, without the
    wallet's check that they can answer the request together."""
    monkeypatch.setattr(
        presentation_module, "check_satisfiable", lambda req, defs, creds, _link: compile_plan(req, defs)
    )
    request = PresentationRequest.from_json(request_json)
    chosen = []
    for w, cid in picks:
        chosen.append(next(c for c in w._candidates() if c[0] == cid))
    revocation = {}
    for q, (_cid, rec, d, _cred) in zip(request.queries, chosen, strict=True):
        if d.revocation is not None:
            r = rec["revocation"]
            revocation[q.id] = RevocationWitness(r["height"], b64d(r["accumulator"]), b64d(r["witness"]))
    be = get_backend("blst")
    pres = create_presentation(
        request, [c[2] for c in chosen], [c[3] for c in chosen], link, revocation=revocation, backend=be
    )
    monkeypatch.undo()
    return pres.to_json(be)


def _post(sme, created: dict[str, Any], presentation: dict[str, Any]) -> dict[str, Any]:
    r = httpx.post(created["presentation_url"], json={"presentation": presentation}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def test_two_credentials_of_one_company_verified_with_a_verdict_per_query(sme):
    w, ids = sme["wallet"](tax=[TAX], bank=[BANK])
    created = sme["ask"]()
    assert [q["id"] for q in created["request"]["queries"]] == ["tax", "bank"]
    assert created["request"]["equalities"] == [["tax.company_id", "bank.company_id"]]
    result = w.submit_detailed(w.prepare(created["request_url"]).approve())
    verdict = result.verdict
    assert verdict["verified"], verdict
    assert result.chosen == {"tax": ids["tax"][0], "bank": ids["bank"][0]}
    assert verdict["disclosed"] == {"tax": {"company_name": "Acme BV"}, "bank": {}}
    tax, bank = verdict["queries"]["tax"], verdict["queries"]["bank"]
    assert tax["definition_id"] == sme["definitions"]["tax"] and bank["definition_id"] == sme["definitions"]["bank"]
    assert tax["disclosed"] == {"company_name": "Acme BV"} and bank["disclosed"] == {}
    assert {"revenue >= 250000", "tax_year >= 2025"} <= set(tax["predicates"])
    assert {"balance >= 20000", "monthly_debt <= 5000"} <= set(bank["predicates"])
    assert any(p.startswith("not revoked at ledger height") for p in bank["predicates"])
    assert not any("revoked" in p for p in tax["predicates"])  # the tax office's definition is not revocable
    assert "tax.company_id = bank.company_id" in verdict["predicates"]
    assert "same link secret in every credential" in verdict["predicates"]
    status = sme["http"].get(f"/requests/{created['id']}").json()
    assert status["status"] == "verified" and status["verdict"] == verdict


def test_the_wallet_picks_the_tax_credential_of_the_company_the_bank_knows(sme):
    other = {**TAX, "company_id": "KVK-999", "company_name": "Other BV"}
    w, ids = sme["wallet"](tax=[other, TAX], bank=[BANK])  # the other company's tax credential is stored first
    result = w.submit_detailed(w.prepare(sme["ask"]()["request_url"]).approve())
    assert result.verdict["verified"] and result.chosen["tax"] == ids["tax"][1]
    assert result.verdict["disclosed"]["tax"] == {"company_name": "Acme BV"}
    with pytest.raises(NoMatchingCredential, match="equality differs"):  # the holder's own pick cannot work
        w.submit(w.prepare(sme["ask"]()["request_url"], choose={"tax": ids["tax"][0]}).approve())


def test_different_company_ids_are_refused(sme, monkeypatch):
    w, ids = sme["wallet"](tax=[TAX], bank=[{**BANK, "company_id": "KVK-200"}])
    created = sme["ask"]()
    with pytest.raises(NoMatchingCredential, match="equality differs"):
        w.submit(w.prepare(created["request_url"]).approve())
    forged = _forge(monkeypatch, created["request"], [(w, ids["tax"][0]), (w, ids["bank"][0])], w._link_secret)
    assert _post(sme, created, forged) == {
        "verified": False,
        "disclosed": {},
        "predicates": [],
        "reason": "invalid_proof",
    }
    assert sme["http"].get(f"/requests/{created['id']}").json()["status"] == "pending"


def test_credentials_of_two_holders_are_refused(sme, monkeypatch):
    ada, ada_ids = sme["wallet"](tax=[TAX])
    bob, bob_ids = sme["wallet"](bank=[BANK])  # the same company, another holder (another link secret)
    created = sme["ask"]()
    with pytest.raises(NoMatchingCredential):
        ada.submit(ada.prepare(created["request_url"]).approve())
    for link in (ada._link_secret, bob._link_secret):
        forged = _forge(monkeypatch, created["request"], [(ada, ada_ids["tax"][0]), (bob, bob_ids["bank"][0])], link)
        assert _post(sme, created, forged)["reason"] == "invalid_proof"


def _tampered(pres: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    swapped = copy.deepcopy(pres)
    swapped["credentials"].reverse()
    out.append(("credentials swapped", swapped))
    dropped = copy.deepcopy(pres)
    dropped["credentials"] = dropped["credentials"][:1]
    out.append(("a credential dropped", dropped))
    renamed = copy.deepcopy(pres)
    renamed["credentials"][0]["disclosed"]["company_name"] = "Bigger BV"
    out.append(("a disclosed value changed", renamed))
    cross = copy.deepcopy(pres)
    cross["credentials"][1]["definition_id"] = cross["credentials"][0]["definition_id"]
    out.append(("the bank's definition replaced by the tax office's", cross))
    for key in [k for k, v in pres.items() if isinstance(v, str) and k != "version"]:
        bad = copy.deepcopy(pres)
        bad[key] = bad[key][:-4] + ("AAAA" if not bad[key].endswith("AAAA") else "BBBB")
        out.append((f"{key} altered", bad))
    return out


def test_tampered_presentations_are_refused_and_the_real_one_still_verifies(sme):
    w, _ids = sme["wallet"](tax=[TAX], bank=[BANK])

    def fresh() -> tuple[dict[str, Any], dict[str, Any]]:
        created = sme["ask"]()
        return created, w.present_detailed(w.prepare(created["request_url"]).approve()).presentation

    cases = _tampered(fresh()[1])
    assert len(cases) >= 6
    for what, _ in cases:  # each on a request of its own (a request takes max_attempts = 5 failures)
        created, pres = fresh()
        bad = dict(_tampered(pres))[what]
        verdict = _post(sme, created, bad)
        assert not verdict["verified"] and verdict["reason"] in (
            "invalid_proof",
            "malformed",
            "definition_not_accepted",
        ), (
            what,
            verdict,
        )
        assert sme["http"].get(f"/requests/{created['id']}").json()["status"] == "pending", what
        assert _post(sme, created, pres)["verified"], what  # the genuine one still answers it


def test_request_checks_on_queries_are_4xx_with_the_reason(sme):
    d = sme["definitions"]
    base = sme_request(d)

    def body(**changes: Any) -> dict[str, Any]:
        return {**copy.deepcopy(base), **changes}

    cases = [
        (body(equalities=["tax.company_id == bnak.company_id"]), "no query 'bnak'"),
        (body(equalities=["tax.revenue == bank.balance"]), "types differ"),
        (body(equalities=["tax.company_id == bank.iban"]), "no attribute 'iban'"),
        (body(equalities=["tax.company_name == bank.company_id"]), "is disclosed"),
        (body(equalities=["tax.company_id = bank.company_id"]), "query.attribute == query.attribute"),
        (body(equalities=["tax.company_id == tax.company_id"]), "with itself"),
        (body(predicates=[{"attribute": "revenue", "op": ">=", "value": 1}]), "not a reference query.attribute"),
        (body(predicates=[{"attribute": "vat.revenue", "op": ">=", "value": 1}]), "no query 'vat'"),
        (body(credential_definitions=[d["tax"]]), "go inside each query"),
        (body(queries=[{**base["queries"][0], "id": "Tax"}, base["queries"][1]]), "query id 'Tax'"),
        (body(queries=[base["queries"][0], {**base["queries"][1], "id": "tax"}]), "unique"),
        (
            body(
                queries=[
                    {**base["queries"][0], "predicates": [{"attribute": "revenue", "op": ">=", "value": 0}] * 40},
                    {**base["queries"][1], "predicates": [{"attribute": "balance", "op": ">=", "value": 0}] * 40},
                ]
            ),
            "over its 2 queries",
        ),
        (
            {"credential_definitions": [d["tax"]], "equalities": ["tax.company_id == bank.company_id"]},
            "make the request with queries",
        ),
    ]
    for payload, reason in cases:
        r = sme["http"].post("/requests", json=payload)
        assert r.status_code == 422, (reason, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert reason in r.json()["detail"], (reason, r.json())
    for malformed in (
        body(queries=[]),
        body(queries=[{"id": "tax"}]),
        body(queries=[{**base["queries"][0], "extra": 1}]),
        body(equalities=[["tax.company_id"]]),
        body(equalities="tax.company_id == bank.company_id"),
    ):
        r = sme["http"].post("/requests", json=malformed)
        assert 400 <= r.status_code < 500 and r.headers["content-type"].startswith("application/problem+json"), r.text


def test_the_one_query_form_is_unchanged(sme):
    w, _ids = sme["wallet"](tax=[TAX])
    created = sme["ask"](
        {
            "credential_definitions": [sme["definitions"]["tax"]],
            "disclose": ["company_name"],
            "predicates": [{"attribute": "revenue", "op": ">=", "value": 250000}],
            "max_staleness": 0,
        }
    )
    assert [q["id"] for q in created["request"]["queries"]] == ["credential"]
    verdict = w.submit(w.prepare(created["request_url"]).approve())
    assert set(verdict) == {"verified", "disclosed", "predicates", "reason"}
    assert verdict["verified"] and verdict["disclosed"] == {"company_name": "Acme BV"}
    assert "credential: revenue >= 250000" in verdict["predicates"]
    status = sme["http"].get(f"/requests/{created['id']}").json()
    assert status["verdict"] == verdict


def test_a_pseudonym_over_several_credentials_is_the_holders_one(sme):
    """``pseudonym: true`` on a multi-credential request: on the first query (one holder, one link secret)."""
    w, _ids = sme["wallet"](tax=[TAX], bank=[BANK])
    seen = []
    for _ in range(2):
        created = sme["ask"]({**sme_request(sme["definitions"]), "pseudonym": True})
        contexts = [q.get("pseudonym_context") for q in created["request"]["queries"]]
        assert contexts[0] is not None and contexts[1:] == [None]
        assert w.submit(w.prepare(created["request_url"]).approve())["verified"]
        seen.append(sme["http"].get(f"/requests/{created['id']}").json())
    assert seen[0]["pseudonym"] == seen[1]["pseudonym"] and seen[1]["earlier_requests"] == [seen[0]["id"]]


def test_escrow_names_the_query_of_its_attribute(sme):
    """``escrow.attribute`` is ``query.attribute`` in a multi-credential request: the clause goes on that query."""
    from issuer.publisher import InProcessPublisher
    from zkcred.auditor import AuditorKeys, register

    register(InProcessPublisher(sme["log"]), AuditorKeys.generate("audit-co"), "Audit Co")
    w, _ids = sme["wallet"](tax=[TAX], bank=[BANK])
    escrow = {"auditor": "audit-co", "attribute": "bank.balance", "label": "loan-7"}
    created = sme["ask"]({**sme_request(sme["definitions"]), "escrow": escrow})
    tax, bank = created["request"]["queries"]
    assert "escrow" not in tax and bank["escrow"]["attribute"] == "balance" and bank["escrow"]["label"] == "loan-7"
    verdict = w.submit(w.prepare(created["request_url"]).approve())
    assert verdict["verified"] and verdict["escrow"]["attribute"] == "balance", verdict
    assert any("escrow" in p or "encrypted" in p for p in verdict["queries"]["bank"]["predicates"]), verdict
    for attribute, reason in (("vat.balance", "no query 'vat'"), ("balance", "not a reference")):
        r = sme["http"].post(
            "/requests", json={**sme_request(sme["definitions"]), "escrow": {**escrow, "attribute": attribute}}
        )
        assert r.status_code == 422 and reason in r.json()["detail"], r.text
