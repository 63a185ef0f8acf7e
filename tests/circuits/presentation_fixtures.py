"""Shared builders for presentation tests: a ten-attribute schema, issuers, holders."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from circuits import bbs
from circuits.attributes import AttributeType
from circuits.credentials import AttributeSpec, Credential, CredentialDefinition, Schema
from circuits.issuance import create_credential, create_credential_request, create_link_secret, process_credential

TODAY = dt.date(2026, 11, 23)
EXPIRY = dt.date(2030, 1, 1)

# The ten-attribute applicant credential the benchmarks measure (bench.presentation; that
# both are the same shape is tests/bench/test_shared_shapes.py).
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


@dataclass
class Issuer:
    sk: bytes
    definition: CredentialDefinition

    def issue(
        self, link_secret: int, values: dict, expiry: dt.date = EXPIRY, handle: int = 0, backend=None
    ) -> Credential:
        request, blind = create_credential_request(self.definition, link_secret, backend=backend)
        sig = create_credential(self.sk, self.definition, request, values, expiry, handle, backend=backend)
        return process_credential(
            self.definition, sig, values, expiry, handle, None, link_secret, blind, backend=backend
        )


def make_issuer(schema: Schema = SCHEMA, issuer_id: str = "issuer-1", backend=None) -> Issuer:
    sk = bbs.keygen(secrets.token_bytes(32), suite=bbs.SHA256)
    return Issuer(
        sk, CredentialDefinition(issuer_id, schema, "v1", bbs.sk_to_pk(sk, suite=bbs.SHA256, backend=backend))
    )


def new_link_secret() -> int:
    return create_link_secret()
