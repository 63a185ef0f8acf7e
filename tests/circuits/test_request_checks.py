"""circuits.request_checks: a request no credential could answer is refused when it is made (issue 13 item 2)."""

from __future__ import annotations

import datetime as dt

import pytest

from circuits.attributes import AttributeType
from circuits.credentials import (
    AttributeSpec,
    CredentialDefinition,
    CredentialQuery,
    Predicate,
    PresentationRequest,
    Schema,
)
from circuits.request_checks import UnanswerableRequest, check_answerable

SCHEMA = Schema(
    "applicant",
    "1",
    tuple(
        AttributeSpec(n, AttributeType.parse(t))
        for n, t in (
            ("income", "int"),
            ("age", "int(0..150)"),
            ("birth_date", "date"),
            ("balance", "decimal(2)"),
            ("employed", "bool"),
            ("country", "string"),
        )
    ),
)
D = CredentialDefinition("issuer-1", SCHEMA, "v1", b"\x00" * 96)


def _check(*predicates: tuple, disclose: tuple[str, ...] = ()) -> None:
    query = CredentialQuery("credential", (D.id,), disclose, tuple(Predicate(*p) for p in predicates))
    request = PresentationRequest(b"n" * 32, "v", dt.date(2026, 1, 1), (query,))
    check_answerable(request, {D.id: D})


@pytest.mark.parametrize(
    "predicates",
    [
        [("income", ">=", 50000)],
        [("income", ">=", 1), ("income", "<=", 1)],
        [("income", "between", [100, 100])],
        [("age", ">=", 18), ("age", "<", 150)],
        [("birth_date", "<=", "2008-01-01")],
        [("balance", ">", "10.5")],
        [("balance", "between", ["1.001", "1.01"])],  # rounds to [1.01, 1.01]: one value
        [("employed", "!=", False)],
        [("country", "in", ["DE", "NL"]), ("country", "!=", "DE")],
        [("income", "in", [5, 6]), ("income", ">", 5)],
        [("income", "not_in", [1, 2, 3])],
        [("income", ">=", 0)] * 63,  # 63 + the expiry: 64 range statements, the aggregate's limit
        [("income", ">=", 0)] * 64 + [("country", "!=", "x")],  # disclosed: checked in the clear, no range statement
    ],
)
def test_answerable_requests_pass(predicates):
    _check(*predicates, disclose=("income",) if len(predicates) > 63 else ())


@pytest.mark.parametrize(
    "predicates, disclose, message",
    [
        ([("salary", ">=", 1)], (), "no attribute 'salary'"),
        ([], ("salary",), "no attribute 'salary'"),
        ([("income", ">=", "many")], (), "income >="),
        ([("income", ">=", 2**100)], (), "admit no value"),
        ([("income", "<", -(2**63))], (), "admit no value"),
        ([("age", ">", 150)], (), "admit no value"),
        ([("age", "!=", 151)], (), "outside the declared"),
        ([("income", "between", [100, 1])], (), "lower bound is above the upper bound"),
        ([("income", ">=", 1), ("income", "<=", 0)], (), "admit no value"),
        ([("income", ">", 5), ("income", "<", 6)], (), "admit no value"),
        ([("balance", "between", ["1.001", "1.009"])], (), "admit no value"),
        ([("balance", "!=", "1.001")], (), "decimal places"),
        ([("birth_date", ">=", "not a date")], (), "birth_date >="),
        ([("employed", ">=", True)], (), "order predicate"),
        ([("country", ">=", "DE")], (), "order predicate"),
        ([("employed", "!=", 1)], (), "boolean"),
        ([("employed", "!=", True), ("employed", "!=", False)], (), "exclude every value"),
        ([("country", "in", ["DE"]), ("country", "not_in", ["DE", "FR"])], (), "every listed value"),
        ([("country", "in", ["DE"]), ("country", "in", ["FR"])], (), "every listed value"),
        ([("income", "in", [1, 2]), ("income", ">", 2)], (), "every listed value"),
        ([("income", "in", [1, 2]), ("income", "<", 5)], ("income",), None),  # answerable: control
        ([("income", ">=", 0)] * 64, (), "65 range statements"),
        ([("income", "between", [0, 10])] * 32, (), "65 range statements"),
    ],
)
def test_unanswerable_requests_are_refused_with_the_reason(predicates, disclose, message):
    if message is None:
        _check(*predicates, disclose=disclose)
        return
    with pytest.raises(UnanswerableRequest, match=message):
        _check(*predicates, disclose=disclose)


def test_sets_over_the_documented_size_are_refused():
    from circuits.errors import ZkCredError

    with pytest.raises(ZkCredError, match="1–64 values"):
        Predicate("income", "in", list(range(65)))


# Multi-credential requests: equalities between queries, one range aggregate for all of them ---------

BANK = Schema(
    "bank",
    "1",
    tuple(
        AttributeSpec(n, AttributeType.parse(t))
        for n, t in (("income", "int"), ("age", "int"), ("country", "string"), ("opened", "date"))
    ),
)
B = CredentialDefinition("issuer-2", BANK, "v1", b"\x01" * 96)


def _check_two(*equalities: tuple[str, str], disclose: tuple[str, ...] = (), predicates=((), ())) -> None:
    a = CredentialQuery("a", (D.id,), disclose, tuple(Predicate(*p) for p in predicates[0]))
    b = CredentialQuery("b", (B.id, D.id), (), tuple(Predicate(*p) for p in predicates[1]))
    request = PresentationRequest(b"n" * 32, "v", dt.date(2026, 1, 1), (a, b), equalities)
    check_answerable(request, {D.id: D, B.id: B})


def test_equalities_between_queries_that_can_hold():
    _check_two(("a.income", "b.income"), ("a.country", "b.country"))


@pytest.mark.parametrize(
    "equality, disclose, reason",
    [
        (("a.age", "b.age"), (), "types differ"),  # int(0..150) in D, int in the bank schema
        (("a.birth_date", "b.opened"), (), "no attribute 'opened'"),  # b also accepts D, which lacks it
        (("a.income", "b.nickname"), (), "no attribute 'nickname'"),
        (("a.country", "b.country"), ("country",), "is disclosed"),
        (("a.birth_date", "b.income"), (), "types differ"),
    ],
)
def test_equalities_no_credentials_could_prove_are_refused(equality, disclose, reason):
    with pytest.raises(UnanswerableRequest, match=reason):
        _check_two(equality, disclose=disclose)


def test_range_statements_of_all_queries_share_one_aggregate():
    _check_two(predicates=([("income", ">=", 0)] * 31, [("income", ">=", 0)] * 31))  # 31 + 31 + 2 expiries = 64
    with pytest.raises(UnanswerableRequest, match="65 range statements over its 2 queries"):
        _check_two(predicates=([("income", ">=", 0)] * 32, [("income", ">=", 0)] * 31))
