"""Linear predicates ``Σ c_i·a_i op t`` (issue 16 item 1): completeness at the boundaries,
soundness (false relations, other attributes, altered coefficients, lying provers), tampering,
refusal at request creation, the wrap-around bound, and py_ecc on one small case."""

from __future__ import annotations

import dataclasses
import secrets
from decimal import Decimal

import pytest

from circuits.attributes import AttributeType
from circuits.constants import R
from circuits.credentials import (
    LINEAR_MAX_COEF,
    LINEAR_MAX_TERMS,
    AttributeSpec,
    CredentialQuery,
    LinearPredicate,
    PresentationRequest,
    Schema,
)
from circuits.errors import ParameterError, ZkCredError
from circuits.presentation import PresentationRejected, UnsatisfiableError, create_presentation, verify_presentation
from circuits.request_checks import UnanswerableRequest, check_answerable
from circuits.statements import linear_predicate
from circuits.statements.plan import compile_plan
from tests.circuits.presentation_fixtures import TODAY, make_issuer, new_link_secret

TAX = Schema(
    "tax-assessment",
    "1",
    tuple(
        AttributeSpec(n, AttributeType.parse(t))
        for n, t in (("income", "decimal(2)"), ("year", "int(2000..2100)"), ("assessed", "date"))
    ),
)
BANK = Schema(
    "bank-statement",
    "1",
    tuple(
        AttributeSpec(n, AttributeType.parse(t))
        for n, t in (
            ("monthly_debt", "decimal(2)"),
            ("assets", "int"),
            ("liabilities", "int"),
            ("fx_balance", "decimal(4)"),
            ("opened", "date"),
            ("vip", "bool"),
        )
    ),
)
TAX_VALUES = {"income": "5000.00", "year": 2025, "assessed": "2026-03-01"}
BANK_VALUES = {
    "monthly_debt": "2000.00",  # 40 × 5000.00 − 100 × 2000.00 = 0: the DTI boundary
    "assets": 250_000,
    "liabilities": 90_000,
    "fx_balance": "12.3456",
    "opened": "2020-01-01",
    "vip": False,
}


@pytest.fixture(scope="module")
def world():
    from circuits.backend import get_backend

    be = get_backend("blst")
    tax, bank = make_issuer(TAX, "tax-office", backend=be), make_issuer(BANK, "bank", backend=be)
    link = new_link_secret()
    creds = [tax.issue(link, TAX_VALUES, backend=be), bank.issue(link, BANK_VALUES, backend=be)]
    return be, [tax.definition, bank.definition], creds, link


def _request(*linear, disclose=()):
    return PresentationRequest(
        secrets.token_bytes(16),
        "lender-a",
        TODAY,
        (CredentialQuery("tax", ("creddef:any",)), CredentialQuery("bank", ("creddef:any",), tuple(disclose))),
        (),
        linear,
    )


def _fit(req, defs):
    """The request with each query accepting its definition."""
    qs = tuple(dataclasses.replace(q, credential_definitions=(d.id,)) for q, d in zip(req.queries, defs, strict=True))
    return dataclasses.replace(req, queries=qs)


def _prove(world, *linear, creds=None, **kw):
    be, defs, own, link = world
    req = _fit(_request(*linear, **kw), defs)
    return req, create_presentation(req, defs, creds or own, link, backend=be)


def _verify(world, req, pres):
    be, defs, _, _ = world
    return verify_presentation(req, pres, {d.id: d for d in defs}, backend=be)


def lin(op, value, *terms):
    return LinearPredicate(tuple(terms), op, value)


DTI = lin(">=", 0, ("tax.income", 40), ("bank.monthly_debt", -100))


@pytest.mark.parametrize(
    "predicate",
    [
        DTI,  # two credentials, two issuers, the sum equal to the threshold
        lin("<=", 0, ("tax.income", -40), ("bank.monthly_debt", 100)),  # negative coefficients, ≤ side
        lin("=", 0, ("tax.income", 40), ("bank.monthly_debt", -100)),
        lin(">", -1, ("tax.income", 40), ("bank.monthly_debt", -100)),
        lin(">", "-0.01", ("tax.income", 40), ("bank.monthly_debt", -100)),  # one cent below, at scale 2
        lin("between", [10_000, 10_000_000], ("bank.assets", 1), ("bank.liabilities", -1)),
        lin("between", [160_000, 160_000], ("bank.assets", 1), ("bank.liabilities", -1)),
        lin(">=", 120_000, ("bank.assets", 1), ("tax.income", 1)),  # int + decimal(2)
        lin(">=", "5012.3456", ("tax.income", 1), ("bank.fx_balance", 1)),  # decimal(2) + decimal(4), exact
        lin("<", "5012.34561", ("tax.income", 1), ("bank.fx_balance", 1)),  # finer than scale 4: rounds
        lin(">=", 1096, ("bank.opened", -1), ("tax.assessed", 1)),  # dates: days between, 2020-01-01 → 2023
        lin(">=", 2025, ("tax.year", 1)),  # one term is a range statement
        lin(">=", -(2**70), ("bank.assets", 3), ("bank.liabilities", 5)),  # below any value: always true
    ],
    ids=lambda p: p.describe(),
)
def test_completeness_at_boundaries(world, predicate):
    req, pres = _prove(world, predicate)
    assert predicate.describe() in _verify(world, req, pres).predicates


def test_co_borrower_incomes_across_two_credentials(world):
    """``income_a + income_b ≥ 120 000``: one holder, two tax credentials of two issuers."""
    be, _, _, link = world
    a, b = make_issuer(TAX, "tax-nl", backend=be), make_issuer(TAX, "tax-de", backend=be)
    creds = [
        a.issue(link, {**TAX_VALUES, "income": "70000.00"}, backend=be),
        b.issue(link, {**TAX_VALUES, "income": "50000.00"}, backend=be),
    ]
    req = PresentationRequest(
        secrets.token_bytes(16),
        "lender-a",
        TODAY,
        (CredentialQuery("a", (a.definition.id,)), CredentialQuery("b", (b.definition.id,))),
        (),
        (lin(">=", 120_000, ("a.income", 1), ("b.income", 1)),),
    )
    pres = create_presentation(req, [a.definition, b.definition], creds, link, backend=be)
    v = verify_presentation(req, pres, {d.id: d for d in (a.definition, b.definition)}, backend=be)
    assert "a.income + b.income ≥ 120000" in v.predicates
    higher = dataclasses.replace(req, linear=(lin(">=", "120000.01", ("a.income", 1), ("b.income", 1)),))
    with pytest.raises(UnsatisfiableError, match=r"a\.income \+ b\.income ≥ 120000\.01"):
        create_presentation(higher, [a.definition, b.definition], creds, link, backend=be)


@pytest.mark.parametrize(
    "predicate",
    [
        lin(">=", "0.01", ("tax.income", 40), ("bank.monthly_debt", -100)),  # one cent short
        lin(">", 0, ("tax.income", 40), ("bank.monthly_debt", -100)),  # equality is not >
        lin("<", 0, ("tax.income", 40), ("bank.monthly_debt", -100)),
        lin("=", 1, ("tax.income", 40), ("bank.monthly_debt", -100)),
        lin("between", [160_001, 10_000_000], ("bank.assets", 1), ("bank.liabilities", -1)),
        lin(">=", "5012.3457", ("tax.income", 1), ("bank.fx_balance", 1)),
    ],
    ids=lambda p: p.describe(),
)
def test_false_relation_refused_before_cryptography(world, predicate, monkeypatch):
    from circuits.bbs import core

    monkeypatch.setattr(core, "proof_init", lambda *a, **k: pytest.fail("cryptography ran"))
    with pytest.raises(UnsatisfiableError, match="no credentials meet") as e:
        _prove(world, predicate)
    assert predicate.describe() in str(e.value)


def test_a_proof_answers_only_its_relation(world):
    """A proof of the DTI relation does not verify for a false relation, a relation over another
    attribute, altered coefficients, another operator or threshold (the request digest and the
    derived ``C_L`` both differ)."""
    req, pres = _prove(world, DTI)
    others = {
        "false relation": lin(">=", 1, ("tax.income", 40), ("bank.monthly_debt", -100)),
        "another attribute": lin(">=", 0, ("tax.income", 40), ("bank.liabilities", -100)),
        "coefficient altered": lin(">=", 0, ("tax.income", 41), ("bank.monthly_debt", -100)),
        "coefficient sign": lin(">=", 0, ("tax.income", 40), ("bank.monthly_debt", 100)),
        "terms swapped": lin(">=", 0, ("bank.monthly_debt", -100), ("tax.income", 40)),
        "operator": lin("<=", 0, ("tax.income", 40), ("bank.monthly_debt", -100)),
        "term dropped": lin(">=", 0, ("tax.income", 40)),
    }
    for name, other in others.items():
        with pytest.raises(PresentationRejected):
            _verify(world, dataclasses.replace(req, linear=(other,)), pres)
            pytest.fail(f"{name} accepted")
    with pytest.raises(PresentationRejected):
        _verify(world, dataclasses.replace(req, linear=()), pres)


def test_a_relation_whose_digest_matches_but_plan_differs_is_refused(world, monkeypatch):
    """The verifier derives ``C_L`` and ``V`` itself: a presentation made for the DTI relation,
    checked under a request whose digest is the same but whose coefficient differs (the
    digest pinned by monkeypatching), fails on the derived commitment, not on the digest."""
    req, pres = _prove(world, DTI)
    altered = dataclasses.replace(req, linear=(lin(">=", 0, ("tax.income", 40), ("bank.monthly_debt", -99)),))
    monkeypatch.setattr(type(altered), "digest", req.digest)
    with pytest.raises(PresentationRejected, match="range_proof|challenge"):
        _verify(world, altered, pres)


def test_a_lying_prover_is_refused(world, monkeypatch):
    """The holder claims a lower monthly debt than signed: the BBS proof is honest (as signed),
    the commitment and range proof are about the lie; the batched opening ties the commitment
    to the signed message, so the presentation is rejected."""
    from circuits.bbs import core

    be, defs, creds, link = world
    d = defs[1]
    index = d.schema.index("monthly_debt")
    real = d.schema.encode_values(creds[1].values)[index - 2]
    fake = d.schema.encode_values({**creds[1].values, "monthly_debt": "1000.00"})[index - 2]
    real_init, real_finalize = core.proof_init, core.proof_finalize

    def honest_init(pk, sig, gens, rs, header, messages, hidden, **kw):
        messages = [real if m == fake else m for m in messages]
        return real_init(pk, sig, gens, rs, header, messages, hidden, **kw)

    def honest_finalize(init, c, e, rs, undisclosed):
        return real_finalize(init, c, e, rs, [real if m == fake else m for m in undisclosed])

    monkeypatch.setattr(core, "proof_init", honest_init)
    monkeypatch.setattr(core, "proof_finalize", honest_finalize)
    lying = dataclasses.replace(creds[1], values={**creds[1].values, "monthly_debt": "1000.00"})
    strict = lin(">=", 100_000, ("tax.income", 40), ("bank.monthly_debt", -100))  # false for 2000.00
    req, forged = _prove(world, strict, creds=[creds[0], lying])
    monkeypatch.undo()
    with pytest.raises(PresentationRejected, match="challenge|range_proof"):
        _verify(world, req, forged)


def test_a_prover_skipping_the_check_cannot_prove_a_false_relation(world, monkeypatch):
    """With the pre-cryptography check removed, the prover's range value is negative: the range
    proof refuses to make it (its value is not in [0, 2^n)); reduced mod r it still is not."""
    from circuits import presentation

    monkeypatch.setattr(presentation, "_check_linear", lambda *a: None)
    with pytest.raises(ZkCredError, match="range|2\\^"):
        _prove(world, lin(">=", 1, ("tax.income", 40), ("bank.monthly_debt", -100)))


def test_every_field_altered_is_rejected(world):
    """The linear predicate adds no wire field: the commitments it combines and the range proof
    that carries its bound are what a forger can touch — each altered is rejected."""
    be = world[0]
    req, pres = _prove(world, DTI, lin("between", [10_000, 10_000_000], ("bank.assets", 1), ("bank.liabilities", -1)))
    _verify(world, req, pres)
    g = be.g1_generator()
    forged = {}
    for i in range(len(pres.commitments)):
        cs = list(pres.commitments)
        cs[i] = be.g1_add(cs[i], g)
        forged[f"commitment[{i}]"] = dataclasses.replace(pres, commitments=tuple(cs))
    rp = pres.range_proof
    for pos in range(0, len(rp), 48):
        forged[f"range_proof[{pos}]"] = dataclasses.replace(
            pres, range_proof=rp[:pos] + bytes([rp[pos] ^ 1]) + rp[pos + 1 :]
        )
    forged["range_proof truncated"] = dataclasses.replace(pres, range_proof=rp[:-32])
    forged["opening"] = dataclasses.replace(pres, openings=(pres.openings[0] + 1,))
    forged["challenge"] = dataclasses.replace(pres, challenge=pres.challenge + 1)
    forged["commitments reordered"] = dataclasses.replace(pres, commitments=pres.commitments[::-1])
    for name, p in forged.items():
        with pytest.raises(ZkCredError):
            _verify(world, req, p)
            pytest.fail(f"{name} accepted")


def test_a_linear_predicate_costs_one_range_value_per_bound(world):
    """``≥``: one more value in the one aggregate (and no other wire field); ``between``/``=``: two."""
    _, defs, _, _ = world
    base = compile_plan(_fit(_request(), defs), defs)
    one = compile_plan(_fit(_request(DTI), defs), defs)
    assert len(one.ranges) == len(base.ranges) + 1
    assert len(one.commits) == len(base.commits) + 2  # income and monthly_debt
    both = lin("between", [0, 1], ("bank.assets", 1), ("bank.liabilities", -1))
    assert len(compile_plan(_fit(_request(both), defs), defs).ranges) == len(base.ranges) + 2


def test_scales_are_brought_to_the_largest(world):
    """decimal(2) and decimal(4): the decimal(2) coefficient is multiplied by 10^2; the threshold
    is taken at scale 4 and rounded toward the predicate's meaning."""
    _, defs, _, _ = world
    p = lin(">=", "0.00005", ("tax.income", 3), ("bank.fx_balance", -7))
    plan = compile_plan(_fit(_request(p), defs), defs)
    assert [c for _, c in plan.linear[0].terms] == [300, -7]
    rg = plan.ranges[-1]
    assert rg.lower and rg.t - 2**63 * (300 - 7) == 1  # 0.00005 at scale 4 is 0.5, rounded up to 1


def test_request_refuses_what_no_credential_meets(world):
    _, defs, _, _ = world
    ok = _fit(_request(DTI), defs)
    check_answerable(ok, {d.id: d for d in defs})
    bad = {
        "beyond the largest value": lin(">=", 2**70, ("tax.year", 1)),
        "bool": lin(">=", 1, ("bank.vip", 1)),
        "attribute missing": lin(">=", 1, ("bank.income", 1)),
        "disclosed": lin(">=", 1, ("bank.assets", 1)),
        "equality finer than the scale": lin("=", "0.001", ("tax.income", 1)),
        "year between outside its bounds": lin("between", [3000, 4000], ("tax.year", 1)),
    }
    for name, p in bad.items():
        req = _fit(_request(p, disclose=("assets",) if name == "disclosed" else ()), defs)
        with pytest.raises(UnanswerableRequest):
            check_answerable(req, {d.id: d for d in defs})
            pytest.fail(f"{name} accepted")
    with pytest.raises(UnanswerableRequest, match="no credentials could meet 2 × tax.year ≥ 4201"):
        check_answerable(_fit(_request(lin(">=", 4201, ("tax.year", 2))), defs), {d.id: d for d in defs})


def test_range_values_of_linear_predicates_count_in_the_one_aggregate(world):
    """16 ``between`` linear predicates (32 values), 2 expiries and 30 ranges on the tax query: 64 fit;
    31 make 65, which one aggregate cannot carry — refused when the request is made."""
    from circuits.credentials import Predicate

    _, defs, _, _ = world
    pairs = [lin("between", [i, 10**9], ("bank.assets", 1), ("bank.liabilities", -1)) for i in range(16)]
    for count, ok in ((30, True), (31, False)):
        req = _fit(_request(*pairs), defs)
        tax = dataclasses.replace(req.queries[0], predicates=(Predicate("income", ">=", 0),) * count)
        req = dataclasses.replace(req, queries=(tax, req.queries[1]))
        if ok:
            check_answerable(req, {d.id: d for d in defs})
        else:
            with pytest.raises(UnanswerableRequest, match="65 range statements"):
                check_answerable(req, {d.id: d for d in defs})


def test_predicate_shape_is_checked():
    for terms, op, value in [
        ((), ">=", 0),
        ((("tax.income", 0),), ">=", 0),
        ((("tax.income", 2**63),), ">=", 0),
        ((("tax.income", 1.5),), ">=", 0),
        ((("tax.income", 1), ("tax.income", 2)), ">=", 0),
        ((("income", 1),), ">=", 0),
        ((("tax.income", 1),), "!=", 0),
        ((("tax.income", 1),), ">=", 0.5),
        ((("tax.income", 1),), "between", [2, 1]),
        ((("tax.income", 1),), ">=", "NaN"),
        (tuple((f"q.a{i}", 1) for i in range(LINEAR_MAX_TERMS + 1)), ">=", 0),
    ]:
        with pytest.raises(ParameterError):
            LinearPredicate(terms, op, value)
    with pytest.raises(ParameterError, match="unknown query"):
        _request(lin(">=", 0, ("nobody.income", 1)))


def test_request_json_round_trip_and_old_digests_kept():
    req = _request(DTI, lin("between", ["10000.5", 2**60], ("bank.assets", 1), ("bank.liabilities", -1)))
    again = PresentationRequest.from_json(req.to_json())
    assert again.to_bytes() == req.to_bytes()
    assert again.linear[1].value == ("10000.5", 2**60)
    assert req.to_json()["linear"][1]["value"][1] == str(2**60)  # beyond 2^53: a string
    assert "linear" not in _request().to_json()  # requests without them keep their bytes


def test_wrap_around_bound():
    """The largest |Σ c'_i·v_i − t| any accepted predicate can reach is far below r − 2^64, so a
    false ``D < 0`` never reduces mod r into the range proof's [0, 2^64) (circuits/notes/linear.md)."""
    types = [AttributeType.parse("decimal(18)")] + [AttributeType.parse("int")] * (LINEAR_MAX_TERMS - 1)
    refs = [(f"q.a{i}", LINEAR_MAX_COEF * (-1) ** i) for i in range(LINEAR_MAX_TERMS)]
    coefs, scale = linear_predicate.scaled(types, [c for _, c in refs])
    assert max(abs(c) for c in coefs) == LINEAR_MAX_COEF * 10**18 < 2**123
    span = sum(abs(c) for c in coefs) * 2**63  # |v_i| ≤ 2^63: low ≥ −span, high < span
    kept = []
    for op in (">=", ">", "<=", "<", "="):
        for value in (-(Decimal(2) ** 199), Decimal(-span).scaleb(-scale), 0, Decimal(span).scaleb(-scale), 2**199):
            try:
                kept += linear_predicate.bounds(LinearPredicate(tuple(refs), op, value), types)
            except PresentationRejected:
                pass  # no value can meet it: refused, nothing proven
    assert kept and all(abs(b.t) <= span for b in kept)  # thresholds kept lie in [low, high]
    assert 2 * span < 2**191 < R - 2**64  # |D| = |Σ c'_i·v_i − t| ≤ high − low


def test_py_ecc_named_subset():
    """py_ecc proves and verifies one linear predicate over two attributes of one credential
    (``assets − liabilities ≥ 10 000``), nothing heavier; blst runs the two-credential cases."""
    from circuits.backend import get_backend

    be = get_backend("py_ecc")
    bank = make_issuer(BANK, "bank", backend=be)
    link = new_link_secret()
    cred = bank.issue(link, BANK_VALUES, backend=be)
    p = lin(">=", 10_000, ("bank.assets", 1), ("bank.liabilities", -1))
    req = PresentationRequest(
        secrets.token_bytes(16), "lender-a", TODAY, (CredentialQuery("bank", (bank.definition.id,)),), (), (p,)
    )
    pres = create_presentation(req, [bank.definition], [cred], link, backend=be)
    d = {bank.definition.id: bank.definition}
    assert "bank.assets − bank.liabilities ≥ 10000" in verify_presentation(req, pres, d, backend=be).predicates
    higher = dataclasses.replace(req, linear=(lin(">=", 160_001, ("bank.assets", 1), ("bank.liabilities", -1)),))
    with pytest.raises(PresentationRejected):
        verify_presentation(higher, pres, d, backend=be)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("40*tax.income - 100*bank.monthly_debt >= 0", DTI),
        ("40 × tax.income − 100 × bank.monthly_debt ≥ 0", DTI),  # describe()'s own form
        (
            "bank.assets - bank.liabilities between 10000 and 10000000",
            lin("between", [10000, 10**7], ("bank.assets", 1), ("bank.liabilities", -1)),
        ),
        ("-tax.income+2*bank.fx_balance<-3.5", lin("<", "-3.5", ("tax.income", -1), ("bank.fx_balance", 2))),
        ("income = 5", lin("=", 5, ("credential.income", 1))),
    ],
)
def test_string_form_parses_to_the_predicate(text, expected):
    assert LinearPredicate.parse(text, "credential") == expected
    assert LinearPredicate.parse(expected.describe()) == expected


@pytest.mark.parametrize(
    "text",
    ["tax.income bank.debt >= 1", "tax.income >= ", "tax.income >= 1.5e3", "income >= 1", "tax.income != 1", "*x >= 1"],
)
def test_string_form_refuses_what_it_cannot_read(text):
    with pytest.raises(ParameterError):
        LinearPredicate.parse(text)


def test_refused_only_when_no_choice_of_accepted_definitions_meets_it(world):
    """A query accepting two definitions: ``income ≥ 11`` is impossible for one whose income is
    ``int(0..10)`` but possible for the other, so the request stands; with only the first it is refused."""
    _, defs, _, _ = world
    small = Schema("tax-small", "1", (AttributeSpec("income", AttributeType.parse("int(0..10)")),))
    d_small = make_issuer(small, "tax-small").definition
    p = lin(">=", 11, ("tax.income", 1))
    req = _fit(_request(p), defs)
    both = dataclasses.replace(req.queries[0], credential_definitions=(d_small.id, defs[0].id))
    known = {d.id: d for d in (*defs, d_small)}
    only = dataclasses.replace(req.queries[0], credential_definitions=(d_small.id,))
    with pytest.raises(UnanswerableRequest, match="no credentials could meet tax.income ≥ 11"):
        check_answerable(dataclasses.replace(req, queries=(only, req.queries[1]), linear=(p,)), known)
    check_answerable(dataclasses.replace(req, queries=(both, req.queries[1]), linear=(p,)), known)
