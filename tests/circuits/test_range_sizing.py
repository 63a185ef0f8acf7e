"""Range proofs sized by what the statement needs: declared int bounds, dates, bools.

A presentation's aggregated Bulletproof takes the largest ``n`` any of its statements
needs (:func:`circuits.presentation.range_bits`): an age check with its expiry is two
32-bit statements (``N = 64``), not two 64-bit ones. Bounds are enforced at issuance,
so the smaller proof stays complete at every boundary, and the verifier derives the same
``n`` from the request: a proof of another size is refused.
"""

from __future__ import annotations

import datetime as dt
import secrets

import pytest

from circuits.attributes import DATE_MAX, DATE_MIN, OFFSET, AttributeType, AttributeValueError
from circuits.bulletproofs.range_proof import RangeProof
from circuits.credentials import AttributeSpec, CredentialQuery, Predicate, PresentationRequest, Schema
from circuits.errors import ParameterError, ZkCredError
from circuits.presentation import (
    Presentation,
    PresentationRejected,
    create_presentation,
    range_bits,
    verify_presentation,
)
from tests.circuits.presentation_fixtures import make_issuer, new_link_secret

SCHEMA = Schema(
    "bounded",
    "1.0",
    tuple(
        AttributeSpec(n, AttributeType.parse(t))
        for n, t in [
            ("income", "int(0..1000000000)"),
            ("level", "int(-3..3)"),
            ("birth_date", "date"),
            ("member", "bool"),
            ("debt", "int"),
        ]
    ),
)
VALUES = {"income": 64000, "level": 3, "birth_date": "1990-12-10", "member": True, "debt": -5}
TODAY = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def world():
    from circuits.backend import get_backend

    be = get_backend("blst")
    issuer = make_issuer(SCHEMA, backend=be)
    link = new_link_secret()
    return be, issuer, link, issuer.issue(link, VALUES, backend=be)


def _present(world, *predicates, today=TODAY):
    be, issuer, link, cred = world
    d = issuer.definition
    req = PresentationRequest(
        secrets.token_bytes(16), "lender-a", today, (CredentialQuery("q", (d.id,), (), tuple(predicates)),)
    )
    pres = create_presentation(req, [d], [cred], link, backend=be)
    return req, pres, verify_presentation(req, pres, {d.id: d}, backend=be)


def test_bounded_int_type_round_trips_and_is_enforced():
    t = AttributeType.parse("int(-3..3)")
    assert str(t) == "int(-3..3)" and AttributeType.parse(str(t)) == t
    assert t.value_range == (-3, 3) and t.encode(-3) == OFFSET - 3
    for bad in (4, -4, 2**63):
        with pytest.raises(AttributeValueError):
            t.encode(bad)
    for text in ("int(3..-3)", "int(0..9223372036854775808)", "int(01..2)", "int(0..)", "int(a..b)"):
        with pytest.raises(ParameterError):
            AttributeType.parse(text)
    assert AttributeType.parse("int").value_range == (-(2**63), 2**63 - 1)


def test_issuer_refuses_values_outside_the_declared_bounds(world):
    be, issuer, link, _ = world
    with pytest.raises(ZkCredError, match="income"):
        issuer.issue(link, {**VALUES, "income": -1}, backend=be)


@pytest.mark.parametrize(
    ("type_text", "lower", "value", "bits"),
    [
        ("int", True, 0, 64),
        ("int", False, 0, 64),
        ("int(0..1000000000)", True, 50000, 32),
        ("int(0..1000000000)", False, 10**9, 32),
        ("int(0..1000000000)", False, 0, 8),
        ("int(0..255)", True, 0, 8),
        ("int(0..256)", True, 0, 16),
        ("int(-3..3)", False, 3, 8),
        ("date", True, DATE_MIN, 32),
        ("date", False, DATE_MAX, 32),
        ("bool", True, 0, 8),
        ("decimal(2)", True, 0, 64),
    ],
)
def test_range_bits(type_text, lower, value, bits):
    assert range_bits(AttributeType.parse(type_text), lower, value + OFFSET) == bits


def _range_n(pres: Presentation, m: int) -> int:
    return next(n for n in (8, 16, 32, 64) if len(pres.range_proof) == RangeProof.size(n, m))


def test_age_check_with_expiry_is_one_64_bit_proof(world):
    _, pres, verified = _present(world, Predicate("birth_date", "<=", "2008-11-23"))
    assert _range_n(pres, 2) == 32 and verified.predicates


def test_the_largest_statement_sizes_the_aggregate(world):
    _, small, _ = _present(world, Predicate("income", ">=", 50000))
    _, large, _ = _present(world, Predicate("income", ">=", 50000), Predicate("debt", "<", 0))
    assert _range_n(small, 2) == 32 and _range_n(large, 3) == 64


@pytest.mark.parametrize(
    "predicate",
    [
        Predicate("income", ">=", 0),
        Predicate("income", ">=", -(2**63)),
        Predicate("income", "<=", 10**9),
        Predicate("income", "<=", 2**63 - 1),
        Predicate("income", "between", [64000, 64000]),
        Predicate("level", ">=", 3),
        Predicate("level", "<=", 3),
        Predicate("level", ">", -4),
        Predicate("birth_date", ">=", "0001-01-01"),
        Predicate("birth_date", "<=", "9999-12-31"),
        Predicate("member", ">=", True),
    ],
    ids=lambda p: p.describe(),
)
def test_complete_at_the_declared_boundaries(world, predicate):
    _, _, verified = _present(world, predicate)
    assert any(predicate.describe() in s for s in verified.predicates)


def test_expiry_proof_complete_across_the_whole_date_range(world):
    be, issuer, link, _ = world
    cred = issuer.issue(link, VALUES, expiry=dt.date.max, backend=be)
    d = issuer.definition
    req = PresentationRequest(secrets.token_bytes(16), "v", dt.date.min, (CredentialQuery("q", (d.id,), (), ()),))
    pres = create_presentation(req, [d], [cred], link, backend=be)
    verify_presentation(req, pres, {d.id: d}, backend=be)
    assert _range_n(pres, 1) == 32


@pytest.mark.parametrize(
    "predicate", [Predicate("income", ">=", 10**9 + 1), Predicate("level", "<", -3)], ids=lambda p: p.describe()
)
def test_impossible_under_the_bounds_is_refused(world, predicate):
    with pytest.raises(PresentationRejected, match="no int"):
        _present(world, predicate)


def test_a_proof_sized_for_another_request_is_refused(world):
    """A 32-bit aggregate offered where the request needs 64 bits (and back) does not decode."""
    be, issuer, link, cred = world
    _, pres32, _ = _present(world, Predicate("income", ">=", 50000))
    req64, pres64, _ = _present(world, Predicate("debt", "<", 0))
    forged = Presentation(
        pres64.credentials,
        pres64.commitments,
        pres64.openings,
        pres32.range_proof,
        pres64.not_equal,
        pres64.sets,
        pres64.challenge,
    )
    with pytest.raises(PresentationRejected, match="range_proof|range proof"):
        verify_presentation(req64, forged, {issuer.definition.id: issuer.definition}, backend=be)
