"""Linear predicates over HTTP (issue 16 item 1): the lender asks ``Σ coef × attr op value``, the
holder proves it without revealing the values, a false one cannot be answered, and a request
no credential could meet is 422 when it is made (the circuits side: tests/circuits/test_linear_predicates.py)."""

from __future__ import annotations

import pytest

from circuits.presentation import UnsatisfiableError
from tests.verifier.helpers import present, request_body

DBS = pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)


def _linear(value, op=">=", *terms):
    terms = terms or (("income", 1), ("debt", -10))
    return {"terms": [{"attr": a, "coef": c} for a, c in terms], "op": op, "value": value}


@DBS
def test_a_linear_predicate_is_proven_without_revealing_the_values(client, auth, world):
    """income 64 000, debt −1 200: ``income − 10 × debt ≥ 76 000`` holds with equality."""
    body = request_body(world, predicates=[], linear=[_linear(76000)])
    created = client.post("/requests", json=body, headers=auth).json()
    assert created["request"]["linear"] == [
        {
            "terms": [{"attr": "credential.income", "coef": 1}, {"attr": "credential.debt", "coef": -10}],
            "op": ">=",
            "value": 76000,
        }
    ]
    presentation = present(world, world.holders[0], created["request"])
    verdict = client.post(f"/requests/{created['id']}/presentation", json={"presentation": presentation}).json()
    assert verdict["verified"] is True, verdict
    assert "credential.income − 10 × credential.debt ≥ 76000" in verdict["predicates"]
    assert verdict["disclosed"] == {"country": "NL"}  # income and debt stay hidden


def test_the_string_form_is_the_same_request(client, auth, world):
    as_text = request_body(world, predicates=[], linear=["income - 10*debt >= 76000"])
    created = client.post("/requests", json=as_text, headers=auth)
    assert created.status_code == 201, created.text
    as_object = request_body(world, predicates=[], linear=[_linear(76000)])
    assert (
        created.json()["request"]["linear"]
        == client.post("/requests", json=as_object, headers=auth).json()["request"]["linear"]
    )
    r = client.post("/requests", json=request_body(world, linear=["income >= 1e3"]), headers=auth)
    assert r.status_code == 422 and "not a linear predicate" in r.json()["detail"]


def test_a_false_linear_predicate_cannot_be_answered(client, auth, world):
    high = client.post(
        "/requests",
        json=request_body(world, linear=[_linear(76001, ">=", ("credential.income", 1), ("debt", -10))]),
        headers=auth,
    ).json()
    with pytest.raises(UnsatisfiableError, match="credential.income − 10 × credential.debt ≥ 76001"):
        present(world, world.holders[0], high["request"])
    # A proof of the true relation does not answer the false one.
    low = client.post("/requests", json=request_body(world, linear=[_linear(76000)]), headers=auth).json()
    presentation = present(world, world.holders[0], low["request"])
    r = client.post(f"/requests/{high['id']}/presentation", json={"presentation": presentation})
    assert r.json()["verified"] is False and r.json()["reason"] == "invalid_proof"


@pytest.mark.parametrize(
    "linear, reason",
    [
        ([_linear(76000, ">=", ("employed", 1))], "combines int, decimal and date attributes"),
        ([_linear(0, ">=", ("nickname", 1))], "no attribute 'nickname'"),
        ([_linear(0, ">=", ("country", 1))], "disclosed"),
        ([_linear(2**80, ">=", ("children", 1))], "no credentials could meet"),
        ([_linear(0.5)], "integer or a decimal string"),
        ([_linear(0, ">=", ("income", 0))], "non-zero integer"),
        ([_linear([5, 1], "between")], "low ≤ high"),
        ([_linear(0, ">=", ("other.income", 1))], "unknown query"),
    ],
)
def test_unanswerable_linear_predicates_are_422(client, auth, world, linear, reason):
    r = client.post("/requests", json=request_body(world, linear=linear), headers=auth)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert reason in r.json()["detail"], r.json()


def test_malformed_linear_bodies_are_422(client, auth, world):
    for linear in (
        [{"terms": [], "op": ">=", "value": 0}],
        [{"terms": [{"attr": "income", "coef": "1"}], "op": ">=", "value": 0}],
        [{"terms": [{"attr": "income", "coef": 1}], "op": "!=", "value": 0}],
        [{"terms": [{"attr": "income", "coef": 1}], "op": ">=", "value": 0, "extra": 1}],
    ):
        r = client.post("/requests", json=request_body(world, linear=linear), headers=auth)
        assert r.status_code == 422, (linear, r.text)
