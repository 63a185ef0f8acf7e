"""Linear predicates across queries over HTTP (issue 16 item 1 on issue 13's multi-credential requests):
``40*tax.revenue - 1200*bank.monthly_debt >= 0`` over a tax office's and a bank's credentials, one
holder — through the real services (the ``sme`` fixture of tests/verifier/test_multicred.py: the
verifier a uvicorn server on SQLite and on PostgreSQL, two issuers and the ledger their real apps).
"""

from __future__ import annotations

from typing import Any

import pytest

import wallet.core as wallet_core
from circuits.errors import ZkCredError
from tests.verifier import test_multicred as multicred
from tests.verifier.test_multicred import BANK, TAX, _forge
from wallet import NoMatchingCredential
from zkcred.demo import DEBT_TO_INCOME, sme_request

sme = multicred.sme  # the fixture: two issuers, the ledger, the verifier over HTTP on SQLite and PostgreSQL
DTI = "40 × tax.revenue − 1200 × bank.monthly_debt ≥ 0"


def _body(sme, *linear: Any) -> dict[str, Any]:
    return {**sme_request(sme["definitions"]), "linear": list(linear)}


def _no_proof(*_a: Any, **_k: Any) -> None:
    raise AssertionError("the wallet started proving a request it cannot answer")


def test_debt_to_income_across_two_credentials_is_verified_without_the_values(sme):
    w, ids = sme["wallet"](tax=[TAX], bank=[BANK])  # 40 × 400 000 = 16 000 000 ≥ 1200 × 2 000 = 2 400 000
    created = sme["ask"](_body(sme, DEBT_TO_INCOME))
    assert created["request"]["linear"] == [
        {
            "terms": [{"attr": "tax.revenue", "coef": 40}, {"attr": "bank.monthly_debt", "coef": -1200}],
            "op": ">=",
            "value": 0,
        }
    ]
    result = w.submit_detailed(w.prepare(created["request_url"]).approve())
    verdict = result.verdict
    assert verdict["verified"], verdict
    assert result.chosen == {"tax": ids["tax"][0], "bank": ids["bank"][0]}
    assert DTI in verdict["predicates"]  # a statement across queries: in no one query's list
    assert all(DTI not in view["predicates"] for view in verdict["queries"].values())
    assert verdict["disclosed"] == {"tax": {"company_name": "Acme BV"}, "bank": {}}  # revenue and debt stay hidden
    # the object form with query.attribute terms is the same request
    as_object = {
        "terms": [{"attr": "tax.revenue", "coef": 40}, {"attr": "bank.monthly_debt", "coef": -1200}],
        "op": ">=",
        "value": 0,
    }
    assert sme["ask"](_body(sme, as_object))["request"]["linear"] == created["request"]["linear"]


def test_a_false_relation_is_refused_by_the_wallet_before_any_proof(sme, monkeypatch):
    """10 × 400 000 = 4 000 000 = 2000 × 2 000: ``≥ 0`` holds exactly, ``≥ 1`` is false by one unit."""
    w, ids = sme["wallet"](tax=[TAX], bank=[BANK])
    exact = sme["ask"](_body(sme, "10*tax.revenue - 2000*bank.monthly_debt >= 0"))
    assert w.submit(w.prepare(exact["request_url"]).approve())["verified"]
    created = sme["ask"](_body(sme, "10*tax.revenue - 2000*bank.monthly_debt >= 1"))
    monkeypatch.setattr(wallet_core, "create_presentation", _no_proof)
    with pytest.raises(NoMatchingCredential, match="10 × tax.revenue − 2000 × bank.monthly_debt ≥ 1"):
        w.prepare(created["request_url"])  # the consent summary is never even shown
    monkeypatch.undo()
    assert sme["http"].get(f"/requests/{created['id']}").json()["status"] == "pending"
    # A holder skipping the wallet's check cannot make the proof: the bound's range value is negative.
    with pytest.raises(ZkCredError, match="range|2\\^"):
        _forge(monkeypatch, created["request"], [(w, ids["tax"][0]), (w, ids["bank"][0])], w._link_secret)
    monkeypatch.undo()
    assert sme["http"].get(f"/requests/{created['id']}").json()["status"] == "pending"


def test_one_picker_checks_equalities_and_linear_predicates_together(sme):
    """Three bank credentials: the first fails the debt-to-income rule, the second is another company's
    (fails the equality), the third meets both — the wallet finds it."""
    heavy = {**BANK, "monthly_debt": 2001}
    other = {**BANK, "company_id": "KVK-999"}
    w, ids = sme["wallet"](tax=[TAX], bank=[heavy, other, BANK])
    created = sme["ask"](_body(sme, "10*tax.revenue - 2000*bank.monthly_debt >= 0"))
    result = w.submit_detailed(w.prepare(created["request_url"]).approve())
    assert result.verdict["verified"], result.verdict
    assert result.chosen == {"tax": ids["tax"][0], "bank": ids["bank"][2]}
    created = sme["ask"](_body(sme, "10*tax.revenue - 2000*bank.monthly_debt >= 0"))
    with pytest.raises(NoMatchingCredential, match="10 × tax.revenue − 2000 × bank.monthly_debt ≥ 0"):
        w.prepare(created["request_url"], choose={"bank": ids["bank"][0]})  # the holder's pick cannot work


@pytest.mark.parametrize(
    ("linear", "reason"),
    [
        # no values of the types can meet it: revenue ≤ 10^12, monthly_debt ≥ 0
        ("tax.revenue - bank.monthly_debt >= 1000000000001", "no credentials could meet"),
        ("40*revenue - 1200*monthly_debt >= 0", "name its query"),  # bare names in a request with queries
        ("40*tax.revenue - 1200*bnak.monthly_debt >= 0", "unknown query"),
        ("tax.company_name - bank.monthly_debt >= 0", "tax.company_name"),  # disclosed, and a string
        ("tax.company_id + bank.balance >= 0", "company_id"),  # a string
        ("tax.turnover - bank.monthly_debt >= 0", "turnover"),  # no such attribute
        ("40*Tax.revenue >= 0", "not a sum of terms"),
    ],
)
def test_requests_no_credential_could_satisfy_are_refused_when_made(sme, linear, reason):
    r = sme["http"].post("/requests", json=_body(sme, linear))
    assert r.status_code == 422, r.text
    assert r.json()["type"].endswith("invalid-input") and reason in r.json()["detail"], r.json()


def test_malformed_linear_bodies_are_422(sme):
    for bad in (
        {"terms": [{"attr": "tax.revenue"}], "op": ">=", "value": 0},  # no coefficient
        {"terms": [], "op": ">=", "value": 0},
        {"terms": [{"attr": "tax.revenue", "coef": 1}], "op": "~", "value": 0},
        {"terms": [{"attr": "tax.revenue", "coef": "1"}], "op": ">=", "value": 0},
    ):
        r = sme["http"].post("/requests", json=_body(sme, bad))
        assert r.status_code == 422, (bad, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
