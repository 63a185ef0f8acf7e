"""The zkcred driver for ``python -m bench compare``: every scenario of issue 6 as a timed callable.

Each method returns ``(run, sizes)``: ``run()`` performs the operation once (it is what
the comparison times, alternating with the other systems) and ``sizes`` holds the
bytes that operation puts on the wire. The wire is what docs/api.md specifies: JSON
bodies with unpadded base64url binaries. Binary sizes (``*_binary``) are given beside
them where zkcred has a binary form.

Shapes come from :mod:`bench.compare` (``SHAPE``): one schema of 10 attributes, two of
them disclosed, and up to 10 predicates on the integer ones. zkcred always proves one
more range statement than asked (non-expiry, DESIGN §5), so "k predicates" here is
k + 1 range statements in one aggregated Bulletproof.

Everything the verifier receives is decoded from its wire bytes inside the timed call
(curve and subgroup checks included); the verifier has the credential definition and
the accumulator value already (like AnonCreds' verifier with parsed ledger objects).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Callable, Sequence
from typing import Any

from circuits import accumulator as acc
from circuits import bbs
from circuits.attributes import AttributeType
from circuits.backend import get_backend
from circuits.codec import b64e
from circuits.credentials import (
    AttributeSpec,
    CredentialDefinition,
    CredentialQuery,
    Predicate,
    PresentationRequest,
    RevocationRegistry,
    Schema,
    canonical_json,
)
from circuits.issuance import create_credential, create_credential_request, create_link_secret, process_credential
from circuits.presentation import Presentation, RevocationWitness, create_presentation, verify_presentation

Run = Callable[[], object]
TODAY = dt.date(2026, 11, 23)
EXPIRY = dt.date(2030, 1, 1)


def _json_len(obj: Any) -> int:
    return len(json.dumps(obj, separators=(",", ":")).encode())


class ZkcredSide:
    """zkcred on one curve backend (``blst`` or ``py_ecc``)."""

    def __init__(self, backend: str, shape: dict[str, Any], *, registry_capacity: int) -> None:
        self.label = f"zkcred-{backend}"
        self.be = get_backend(backend)
        self.shape = shape
        self.schema = Schema(
            "applicant",
            "1.0",
            tuple(AttributeSpec(name, AttributeType.parse(kind)) for name, kind, _ in shape["attributes"]),
        )
        self.values = {name: value for name, _, value in shape["attributes"]}
        self.capacity = registry_capacity
        self.registry_id = b"bench-compare/registry"
        be = self.be
        # The issuer: one BBS key, one registry; the definition names the registry.
        self.sk = bbs.keygen(secrets.token_bytes(32), suite=bbs.SHA256)
        self.pk = bbs.sk_to_pk(self.sk, suite=bbs.SHA256, backend=be)
        self.reg_secret, self.reg = acc.setup_registry(self.registry_id, registry_capacity, backend=be)
        self.d_plain = CredentialDefinition("issuer-1", self.schema, "plain", self.pk)
        self.d_rev = CredentialDefinition(
            "issuer-1",
            self.schema,
            "revocable",
            self.pk,
            RevocationRegistry(self.registry_id.decode(), registry_capacity, be.g2_to_bytes(self.reg.Q)),
        )
        # The holder: credential index 0 of the registry, with its witness against V0.
        self.link = create_link_secret()
        self.index = 0
        self.y = acc.handle(self.registry_id, self.index)
        self.cred = self._issue(self.d_rev, self.y, self.index)[0]
        self.C = acc.issue_witness(self.reg_secret, self.reg.V0, self.y, backend=be)
        self.V0_bytes = be.g1_to_bytes(self.reg.V0)
        acc.verify_witness(self.C, self.y, self.reg.V0, self.reg.Q, backend=be)
        self.witness = RevocationWitness(0, self.V0_bytes, be.g1_to_bytes(self.C))

    # helpers ----------------------------------------------------------------------------

    def _issue(self, d: CredentialDefinition, y: int, index: int | None):
        be = self.be
        request, blind = create_credential_request(d, self.link, backend=be)
        signature = create_credential(self.sk, d, request, self.values, EXPIRY, y, backend=be)
        return process_credential(d, signature, self.values, EXPIRY, y, index, self.link, blind, backend=be), request

    def _request(self, k: int, non_revoked: bool, d: CredentialDefinition) -> PresentationRequest:
        preds = tuple(Predicate(a, op, v) for a, op, v in self.shape["predicates"][:k])
        query = CredentialQuery("credential", (d.id,), tuple(self.shape["disclose"]), preds, non_revoked=non_revoked)
        return PresentationRequest(secrets.token_bytes(16), "lender-a", TODAY, (query,))

    # 1. issuer setup --------------------------------------------------------------------

    def credential_definition(self) -> tuple[Run, dict[str, int]]:
        """BBS key generation and the definition's id (what the issuer publishes: its JSON)."""
        be, schema = self.be, self.schema

        def run() -> CredentialDefinition:
            sk = bbs.keygen(secrets.token_bytes(32), suite=bbs.SHA256)
            d = CredentialDefinition("issuer-1", schema, "t", bbs.sk_to_pk(sk, suite=bbs.SHA256, backend=be))
            d.id  # noqa: B018 — the content id is part of creating it
            return d

        d = run()
        return run, {"publish": len(canonical_json(d.to_json()))}

    def registry_setup(self, n: int) -> tuple[Run, dict[str, int]]:
        """:func:`circuits.accumulator.setup_registry` for N handles: no tails file."""
        be = self.be

        def run() -> acc.RegistryPublic:
            return acc.setup_registry(b"bench-compare/setup", n, backend=be)[1]

        public = run()
        size = len(public.to_bytes(be))
        # The holder downloads the registry (Q, V0, N) and receives its 48-byte witness with the credential.
        return run, {"publish": size, "holder_download": size, "tails_file": 0}

    # 2. issuance ------------------------------------------------------------------------

    def issuance(self, revocable: bool) -> tuple[Run, dict[str, int]]:
        """Offer → request (commitment + proof) → blind signature (+ witness) → holder check."""
        be = self.be
        d = self.d_rev if revocable else self.d_plain
        V, Q = self.reg.V0, self.reg.Q
        index = 1
        y = acc.handle(self.registry_id, index)
        sizes: dict[str, int] = {}

        def run() -> None:
            offer = {
                "offer_id": secrets.token_hex(8),
                "token": b64e(secrets.token_bytes(32)),
                "issuer_url": "http://127.0.0.1:8001",
                "credential_definition_id": d.id,
                "definition": d.to_json(),
                "attributes": self.values,
                "expires_at": "2026-11-30T00:00:00Z",
            }
            request, blind = create_credential_request(d, self.link, backend=be)
            body = {"offer_id": offer["offer_id"], "request": b64e(request)}
            signature = create_credential(self.sk, d, request, self.values, EXPIRY, y, backend=be)
            response: dict[str, Any] = {
                "credential_id": secrets.token_hex(8),
                "credential": {
                    "definition_id": d.id,
                    "values": self.values,
                    "expiry": EXPIRY.isoformat(),
                    "revocation_handle": f"{y:064x}",
                    "revocation_index": index,
                    "signature": b64e(signature),
                },
                "revocation": None,
            }
            if revocable:
                C = acc.issue_witness(self.reg_secret, V, y, backend=be)
                response["revocation"] = {
                    "registry_id": self.registry_id.decode(),
                    "index": index,
                    "witness": b64e(be.g1_to_bytes(C)),
                    "accumulator": b64e(be.g1_to_bytes(V)),
                    "ledger_seq": 1,
                }
            process_credential(
                d, signature, self.values, EXPIRY, y, index if revocable else None, self.link, blind, backend=be
            )
            if revocable:
                acc.verify_witness(C, y, V, Q, backend=be)
            sizes.update(offer=_json_len(offer), request=_json_len(body), credential=_json_len(response))

        run()
        return run, {**sizes, "total": sizes["offer"] + sizes["request"] + sizes["credential"]}

    # 3. presentation --------------------------------------------------------------------

    def presentation(self, k: int, non_revoked: bool) -> tuple[Run, Run, dict[str, int]]:
        """(create → wire JSON, wire JSON → verified, sizes) for 2 disclosed of 10 and k predicates."""
        be = self.be
        d = self.d_rev
        request = self._request(k, non_revoked, d)
        definitions = {d.id: d}
        revocation = {"credential": self.witness} if non_revoked else None
        V0 = self.V0_bytes

        def create() -> bytes:
            pres = create_presentation(request, [d], [self.cred], self.link, revocation=revocation, backend=be)
            return json.dumps(pres.to_json(be), separators=(",", ":")).encode()

        wire = create()

        def verify() -> None:
            pres = Presentation.from_json(json.loads(wire), be)
            verify_presentation(request, pres, definitions, accumulator_at=lambda _d, _h: V0, backend=be)

        verify()
        binary = len(Presentation.from_json(json.loads(wire), be).to_bytes(be))
        return create, verify, {"presentation": len(wire), "presentation_binary": binary}

    # 4. revocation ----------------------------------------------------------------------

    def revoke_one(self) -> tuple[Run, dict[str, int]]:
        """Issuer: remove one handle, publish the 80-byte event (the ledger append is not timed here)."""
        be, secret, V = self.be, self.reg_secret, self.reg.V0
        y = acc.handle(self.registry_id, 500)

        def run() -> bytes:
            return acc.revoke(secret, V, y, backend=be).to_bytes(be)

        return run, {"publish": len(run())}

    def holder_update(self, m: int) -> tuple[Run, dict[str, int]]:
        """Holder: decode m published events and update its witness (one MSM for m ≥ 16), then check it."""
        be = self.be
        ys = acc.handles(self.registry_id, 2 + m, 2)
        events = acc.revoke_batch(self.reg_secret, self.reg.V0, ys, backend=be)
        data = [e.to_bytes(be) for e in events]
        V_last = events[-1].V

        def run() -> object:
            decoded = [acc.RevocationEvent.from_bytes(be, b) for b in data]
            return acc.update_witness(self.C, self.y, decoded, backend=be)

        acc.verify_witness(run(), self.y, V_last, self.reg.Q, backend=be)
        return run, {"holder_download": sum(map(len, data))}

    def first_witness(self) -> tuple[Run, dict[str, int]]:
        """Holder's first witness: the issuer computes it (one multiplication), the holder checks it."""
        be, secret, V, Q = self.be, self.reg_secret, self.reg.V0, self.reg.Q
        y = acc.handle(self.registry_id, 7)

        def run() -> None:
            C = acc.issue_witness(secret, V, y, backend=be)
            acc.verify_witness(C, y, V, Q, backend=be)

        run()
        return run, {"holder_download": len(self.reg.to_bytes(be)) + len(be.g1_to_bytes(self.C))}


def sides(backends: Sequence[str], shape: dict[str, Any], registry_capacity: int) -> list[ZkcredSide]:
    return [ZkcredSide(b, shape, registry_capacity=registry_capacity) for b in backends]
