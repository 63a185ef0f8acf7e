"""``python -m bench presentation``: prove and verify one presentation, nine shapes.

One credential with 10 attributes (tests/… fixtures shape):

- (a) 2 disclosed + 1 predicate (income ≥ 50 000)
- (b) 2 disclosed + 5 predicates (income ≥ 50 000, born on or before 2008-11-23,
  country ∈ {DE, FR, NL}, score ≥ 600, children ≠ 3)
- (c) two credentials from two issuers, link-secret equality, 1 predicate each
- (d) (a) plus a pseudonym for the verifier's context (circuits.bbs.pseudonym)
- (e), (f): (a), (b) on the same schema with its integers declared with bounds
  (``income: int(0..1000000000)`` …, as a real schema would, and as AnonCreds' 32-bit
  predicate values are): every range statement then needs 32 bits, not 64
- (g) (a) plus escrow: the hidden ``score`` encrypted to an auditor's key, bound to a
  request id and a label (circuits.statements.escrow); ``g − a`` is what escrow costs
- (l) (c)'s two credentials with one linear predicate across them instead,
  ``40 × income.income − 100 × identity.debt ≥ 0`` (issue 16; circuits/notes/linear.md),
  and (m) its baseline: the same two credentials with one ordinary range predicate
  (``income ≥ 50 000``) — a linear predicate should cost no more than one range statement

Every presentation also proves non-expiry (one more range statement per credential);
the range statements of a presentation share one aggregated Bulletproofs+ proof.

Operations run interleaved, run by run, after a warm-up that leaves every long-lived base
with its fixed-base table (a running wallet or verifier); ``ref.g1_mul`` is one blst
multiplication timed in the same rounds, the reference to divide by when the shared
machine drifts.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Callable
from functools import partial

from bench.common import alternate
from circuits import bbs, escrow
from circuits.attributes import AttributeType
from circuits.backend import get_backend
from circuits.backend.blst import FIXED_BASE_AFTER
from circuits.constants import R
from circuits.credentials import (
    AttributeSpec,
    CredentialDefinition,
    CredentialQuery,
    EscrowClause,
    LinearPredicate,
    Predicate,
    PresentationRequest,
    Schema,
)
from circuits.issuance import create_credential, create_credential_request, create_link_secret, process_credential
from circuits.presentation import create_presentation, verify_presentation

TODAY = dt.date(2026, 11, 23)
SCHEMA = Schema(
    "applicant",
    "1.0",
    tuple(
        AttributeSpec(n, AttributeType.parse(t))
        for n, t in [
            ("given_name", "string"),
            ("income", "int"),
            ("birth_date", "date"),
            ("country", "string"),
            ("salary", "decimal(2)"),
            ("employed", "bool"),
            ("debt", "int"),
            ("children", "int"),
            ("employer", "string"),
            ("score", "int"),
        ]
    ),
)
VALUES = {
    "given_name": "Ada",
    "income": 64000,
    "birth_date": "1990-12-10",
    "country": "NL",
    "salary": "5333.33",
    "employed": True,
    "debt": -1200,
    "children": 0,
    "employer": "Analytical Engines BV",
    "score": 710,
}
BOUNDED_SCHEMA = Schema(
    "applicant",
    "1.1",
    tuple(
        AttributeSpec(a.name, AttributeType.parse(BOUNDS[a.name]) if a.name in BOUNDS else a.type)
        for a in SCHEMA.attributes
        for BOUNDS in [
            {
                "income": "int(0..1000000000)",
                "debt": "int(-1000000000..1000000000)",
                "children": "int(0..100)",
                "score": "int(0..1000)",
            }
        ]
    ),
)
DISCLOSE = ("given_name", "employer")
PREDICATES_B = (
    Predicate("income", ">=", 50000),
    Predicate("birth_date", "<=", "2008-11-23"),
    Predicate("country", "in", ["DE", "FR", "NL"]),
    Predicate("score", ">=", 600),
    Predicate("children", "!=", 3),
)


def _issuer(be, name, schema=SCHEMA):
    sk = bbs.keygen(secrets.token_bytes(32), suite=bbs.SHA256)
    return sk, CredentialDefinition(name, schema, "v1", bbs.sk_to_pk(sk, suite=bbs.SHA256, backend=be))


def _credential(be, sk, d, link):
    req, blind = create_credential_request(d, link, backend=be)
    sig = create_credential(sk, d, req, VALUES, dt.date(2030, 1, 1), 0, backend=be)
    return process_credential(d, sig, VALUES, dt.date(2030, 1, 1), 0, None, link, blind, backend=be)


def scenarios(be):
    link = create_link_secret()
    sk1, d1 = _issuer(be, "issuer-1")
    sk2, d2 = _issuer(be, "issuer-2")
    sk3, d3 = _issuer(be, "issuer-3", BOUNDED_SCHEMA)
    c1, c2, c3 = _credential(be, sk1, d1, link), _credential(be, sk2, d2, link), _credential(be, sk3, d3, link)

    def req(*queries, linear=()):
        return PresentationRequest(secrets.token_bytes(16), "lender-a", TODAY, queries, linear=linear)

    a = req(CredentialQuery("credential", (d1.id,), DISCLOSE, PREDICATES_B[:1]))
    d = req(CredentialQuery("credential", (d1.id,), DISCLOSE, PREDICATES_B[:1], pseudonym_context="lender-a"))
    b = req(CredentialQuery("credential", (d1.id,), DISCLOSE, PREDICATES_B))
    c = req(
        CredentialQuery("income", (d1.id,), (), (Predicate("income", ">=", 50000),)),
        CredentialQuery("identity", (d2.id,), (), (Predicate("birth_date", "<=", "2008-11-23"),)),
    )
    dti = LinearPredicate((("income.income", 40), ("identity.debt", -100)), ">=", 0)
    lin = req(CredentialQuery("income", (d1.id,)), CredentialQuery("identity", (d2.id,)), linear=(dti,))
    lin0 = req(CredentialQuery("income", (d1.id,), (), PREDICATES_B[:1]), CredentialQuery("identity", (d2.id,)))
    e = req(CredentialQuery("credential", (d3.id,), DISCLOSE, PREDICATES_B[:1]))
    f = req(CredentialQuery("credential", (d3.id,), DISCLOSE, PREDICATES_B))
    clause = EscrowClause("auditor", escrow.public_key(be, escrow.new_secret_key()), "score", "loan-42", "request-1")
    g = req(CredentialQuery("credential", (d1.id,), DISCLOSE, PREDICATES_B[:1], escrow=clause))
    return {
        "a": (a, [d1], [c1]),
        "b": (b, [d1], [c1]),
        "c": (c, [d1, d2], [c1, c2]),
        "d": (d, [d1], [c1]),
        "e": (e, [d3], [c3]),
        "f": (f, [d3], [c3]),
        "g": (g, [d1], [c1]),
        "l": (lin, [d1, d2], [c1, c2]),
        "m": (lin0, [d1, d2], [c1, c2]),
    }, link


def run(backends: list[str], repeats: int) -> dict:
    """Every shape's prove and verify, interleaved run by run (with a blst multiplication as the
    in-run reference ``ref.g1_mul``), so that the machine's drift falls on all of them alike."""
    results, sizes = {}, {}
    for name in backends:
        be = get_backend(name)
        cases, link = scenarios(be)
        # py_ecc: the small shape only, and it with escrow
        shapes = cases if name != "py_ecc" else {"a": cases["a"], "g": cases["g"]}
        n = repeats if name != "py_ecc" else max(3, repeats // 10)
        # Steady state: every shape FIXED_BASE_AFTER times before any is measured, so that the long-lived
        # bases (BBS generators, Pedersen G and H) have their fixed-base tables and no shape pays for
        # building them inside its runs (a long-running wallet or verifier is in this state).
        for _ in range(1 if name == "py_ecc" else FIXED_BASE_AFTER):
            for request, defs, creds in shapes.values():
                by_id = {d.id: d for d in defs}
                verify_presentation(
                    request, create_presentation(request, defs, creds, link, backend=be), by_id, backend=be
                )
        runs: dict[str, Callable[[], object]] = {}
        for key, (request, defs, creds) in shapes.items():
            by_id = {d.id: d for d in defs}
            pres = create_presentation(request, defs, creds, link, backend=be)
            runs[f"{key}.prove"] = partial(create_presentation, request, defs, creds, link, backend=be)
            runs[f"{key}.verify"] = partial(verify_presentation, request, pres, by_id, backend=be)
            sizes[f"{key}.bytes"] = len(pres.to_bytes(be))
            sizes[f"{key}.json_bytes"] = len(json.dumps(pres.to_json(be), separators=(",", ":")))
        point, scalar = be.g1_mul(be.g1_generator(), secrets.randbelow(R)), secrets.randbelow(R)
        runs["ref.g1_mul"] = partial(be.g1_mul, point, scalar)
        results[name] = alternate(runs, {label: n for label in runs})
    return {"results": results, "sizes": sizes}


HEADER = ["backend", "operation", "median ms", "min ms", "max ms"]


def rows(report: dict) -> list[list[str]]:
    def ms(v: float) -> str:
        return f"{v:.1f}" if v >= 1 else f"{v:.3f}"

    return [
        [name, op, ms(r["median_ms"]), ms(r["min_ms"]), ms(r["max_ms"])]
        for name, ops in report["results"].items()
        for op, r in ops.items()
    ]
