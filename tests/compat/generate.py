"""Generate the frozen presentations of ``tests/compat/presentations/v<N>/`` (N = the presentation version).

    python -m tests.compat.generate            # writes the files for the current version

Every key, link secret, blinding and proof comes from :func:`circuits.rng.seeded` (keys
from fixed seeds, the holder's issuance and the presentation from one seeded rng each),
so the files are a pure function of this script and the prover: two runs give the same
bytes (``test_frozen_presentations`` checks that). One JSON file per case::

    {"caseName", "description", "version",
     "definitions": [CredentialDefinition JSON…],
     "request": PresentationRequest JSON,
     "accumulators": {definition id: {height: base64url V}},   # revocation cases only
     "presentation": Presentation JSON,
     "result": {"valid": true}}

A release that changes the challenge derivation bumps ``PRESENTATION_VERSION`` and adds
a ``v<N+1>/`` folder beside the old ones; the old folders stay, and the test requires
every old file to verify or be refused with "unknown presentation version". Never edit a
frozen file by hand.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from circuits import accumulator as acc
from circuits import bbs, escrow
from circuits.attributes import AttributeType
from circuits.backend import get_backend
from circuits.codec import b64e
from circuits.credentials import (
    AttributeSpec,
    CredentialDefinition,
    CredentialQuery,
    EscrowClause,
    Predicate,
    PresentationRequest,
    RevocationRegistry,
    Schema,
)
from circuits.issuance import create_credential, create_credential_request, create_link_secret, process_credential
from circuits.presentation import PRESENTATION_VERSION, RevocationWitness, create_presentation
from circuits.rng import seeded

ROOT = Path(__file__).resolve().parent / "presentations"
TODAY = dt.date(2026, 11, 23)
EXPIRY = dt.date(2030, 1, 1)
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
            ("children", "int(0..100)"),
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
    "children": 0,
    "score": 710,
}
ID_SCHEMA = Schema(
    "identity",
    "1.0",
    tuple(
        AttributeSpec(n, AttributeType.parse(t))
        for n, t in [
            ("family_name", "string"),
            ("birth_date", "date"),
            ("country", "string"),
        ]
    ),
)
ID_VALUES = {"family_name": "Lovelace", "birth_date": "1990-12-10", "country": "NL"}
REGISTRY = b"compat-registry"


def _issuer(name: str, schema: Schema, be, revocation: RevocationRegistry | None = None):
    sk = bbs.keygen(seeded(f"compat issuer {name}")(32), suite=bbs.SHA256)
    return sk, CredentialDefinition(name, schema, "compat", bbs.sk_to_pk(sk, suite=bbs.SHA256, backend=be), revocation)


def _credential(sk, d, values, link, handle, index, be, rng):
    request, blind = create_credential_request(d, link, backend=be, rng=rng)
    sig = create_credential(sk, d, request, values, EXPIRY, handle, backend=be)
    return process_credential(d, sig, values, EXPIRY, handle, index, link, blind, backend=be)


def _request(name: str, *queries: CredentialQuery, equalities=()) -> PresentationRequest:
    return PresentationRequest(seeded(f"compat nonce {name}")(16), "lender-compat", TODAY, queries, equalities)


def cases() -> list[dict[str, Any]]:
    """Every frozen case, built deterministically (the files are these, serialised)."""
    be = get_backend()
    link = create_link_secret(rng=seeded("compat link secret"))
    sk1, d1 = _issuer("issuer-a", SCHEMA, be)
    sk2, d2 = _issuer("issuer-b", ID_SCHEMA, be)
    alpha, registry = acc.setup_registry(REGISTRY, 8, backend=be, rng=seeded("compat registry"))
    sk3, d3 = _issuer("issuer-r", SCHEMA, be, RevocationRegistry(REGISTRY.decode(), 8, be.g2_to_bytes(registry.Q)))
    holder_rng = seeded("compat holder issuance")
    c1 = _credential(sk1, d1, VALUES, link, 0, None, be, holder_rng)
    c2 = _credential(sk2, d2, ID_VALUES, link, 0, None, be, holder_rng)
    y = acc.handle(REGISTRY, 3)
    c3 = _credential(sk3, d3, VALUES, link, y, 3, be, holder_rng)
    witness = acc.issue_witness(alpha, registry.V0, y, backend=be)
    V0 = be.g1_to_bytes(registry.V0)
    auditor_key = escrow.public_key(be, escrow.new_secret_key(seeded("compat auditor")))

    def q(defn, disclose=(), predicates=(), **kw):
        return CredentialQuery("credential", (defn.id,), disclose, predicates, **kw)

    specs = [
        (
            "disclosure-only",
            "two attributes disclosed, no predicate (expiry still proven)",
            _request("disclosure-only", q(d1, ("given_name", "country"))),
            [d1],
            [c1],
            None,
        ),
        (
            "range-predicates",
            "≥, >, ≤, < and between on int, decimal, date and a bounded int",
            _request(
                "range-predicates",
                q(
                    d1,
                    ("given_name",),
                    (
                        Predicate("income", ">=", 50000),
                        Predicate("salary", ">", "5000.00"),
                        Predicate("birth_date", "<=", "2008-11-23"),
                        Predicate("score", "<", 800),
                        Predicate("children", "between", [0, 3]),
                    ),
                ),
            ),
            [d1],
            [c1],
            None,
        ),
        (
            "set-predicates",
            "≠, ∈ and ∉ on hidden attributes",
            _request(
                "set-predicates",
                q(
                    d1,
                    (),
                    (
                        Predicate("score", "!=", 700),
                        Predicate("country", "in", ["DE", "FR", "NL"]),
                        Predicate("country", "not_in", ["US", "GB"]),
                    ),
                ),
            ),
            [d1],
            [c1],
            None,
        ),
        (
            "two-credentials-equality",
            "two issuers, the same link secret, hidden birth dates equal",
            _request(
                "two-credentials-equality",
                CredentialQuery("income", (d1.id,), (), (Predicate("income", ">=", 50000),)),
                CredentialQuery("identity", (d2.id,), ("family_name",)),
                equalities=(("income.birth_date", "identity.birth_date"),),
            ),
            [d1, d2],
            [c1, c2],
            None,
        ),
        (
            "revocation",
            "non-revocation against the accumulator at ledger height 0",
            _request("revocation", q(d3, ("given_name",), (Predicate("income", ">=", 50000),), non_revoked=True)),
            [d3],
            [c3],
            {"credential": RevocationWitness(0, V0, be.g1_to_bytes(witness))},
        ),
        (
            "pseudonym",
            "a per-lender pseudonym beside one predicate",
            _request("pseudonym", q(d1, (), (Predicate("income", ">=", 50000),), pseudonym_context="lender-compat")),
            [d1],
            [c1],
            None,
        ),
        (
            "escrow",
            "the hidden score encrypted to an auditor, bound to a request id and a label",
            _request(
                "escrow",
                q(
                    d1,
                    ("given_name",),
                    escrow=EscrowClause("auditor-compat", auditor_key, "score", "loan-42", "request-compat"),
                ),
            ),
            [d1],
            [c1],
            None,
        ),
    ]
    out = []
    for name, description, request, defs, creds, revocation in specs:
        pres = create_presentation(
            request, defs, creds, link, revocation=revocation, backend=be, rng=seeded(f"compat presentation {name}")
        )
        out.append(
            {
                "caseName": name,
                "description": description,
                "version": PRESENTATION_VERSION,
                "definitions": [d.to_json() for d in defs],
                "request": request.to_json(),
                **({"accumulators": {d3.id: {"0": b64e(V0)}}} if revocation else {}),
                "presentation": pres.to_json(be),
                "result": {"valid": True},
            }
        )
    return out


def render(case: dict[str, Any]) -> str:
    return json.dumps(case, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    folder = ROOT / f"v{PRESENTATION_VERSION}"
    folder.mkdir(parents=True, exist_ok=True)
    for case in cases():
        (folder / f"{case['caseName']}.json").write_text(render(case))
        print(folder / f"{case['caseName']}.json")


if __name__ == "__main__":
    main()
