"""POST /requests refuses a request no holder could answer (issue 13 item 2): 422 problem+json with the
reason, nothing stored; the checks themselves are ``circuits.request_checks`` (tests/circuits)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from tests.verifier.helpers import request_body
from verifier.models import RequestRow

DBS = pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)


def _count(service) -> int:
    with Session(service.store.engine) as s:
        return s.exec(select(func.count()).select_from(RequestRow)).one()


@DBS
@pytest.mark.parametrize(
    "predicates, reason",
    [
        ([{"attribute": "income", "op": ">=", "value": 0}] * 64, "65 range statements"),
        ([{"attribute": "income", "op": ">=", "value": 2**100}], "admit no value"),
        ([{"attribute": "income", "op": "between", "value": [100, 1]}], "lower bound is above the upper bound"),
        (
            [{"attribute": "income", "op": ">=", "value": 1}, {"attribute": "income", "op": "<=", "value": 0}],
            "admit no value",
        ),
        (
            [
                {"attribute": "country", "op": "in", "value": ["DE"]},
                {"attribute": "country", "op": "!=", "value": "DE"},
            ],
            "every listed value",
        ),
        ([{"attribute": "employed", "op": "!=", "value": "yes"}], "boolean"),
        ([{"attribute": "salary", "op": "in", "value": ["1.001"]}], "decimal places"),
        ([{"attribute": "nickname", "op": "!=", "value": "x"}], "no attribute 'nickname'"),
    ],
)
def test_unanswerable_requests_are_422_with_the_reason(client, auth, world, service, predicates, reason):
    before = _count(service)
    r = client.post("/requests", json=request_body(world, predicates=predicates, disclose=[]), headers=auth)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["type"] == "https://zkcred.dev/problems/invalid-input" and reason in body["detail"], body
    assert _count(service) == before  # nothing half-written


def test_the_limit_itself_is_accepted(client, auth, world):
    r = client.post(
        "/requests",
        json=request_body(world, disclose=[], predicates=[{"attribute": "income", "op": ">=", "value": 0}] * 63),
        headers=auth,
    )
    assert r.status_code == 201, r.text
