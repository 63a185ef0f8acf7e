"""The Hyperledger AnonCreds driver for ``python -m bench compare`` (the ``anoncreds`` PyPI wrapper of anoncreds-rs).

Same contract as :mod:`bench.zkcred_side`: each method returns ``(run, sizes)``. The
shapes match zkcred's: one schema of the same 10 attributes (raw values as strings;
AnonCreds encodes integers as themselves and strings by SHA-256), 2 revealed, k
predicates from the same list (AnonCreds has only ``>=``, ``>``, ``<=``, ``<``, which is
all the shared list uses). Signature type ``CL``, registry type ``CL_ACCUM``, issuance
by default. The wire is AnonCreds' JSON (``to_json``), its only format.

What is timed mirrors zkcred: the verifier parses the presentation from its JSON inside
the timed call and holds the schema, definition, registry definition and status list
as parsed objects; the holder's revocation state is built once (it reads the tails
file) and is outside the presentation timing, as zkcred's witness is.

The tails file: ``RevocationRegistryDefinition.create`` writes it into a directory we
give; its size is what every holder must download before it can prove non-revocation.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from typing import Any

import anoncreds as ac

Run = Callable[[], object]
ISSUER = "did:bench:issuer"
SCHEMA_ID = "did:bench:issuer/schema/applicant/1.0"
CRED_DEF_ID = "did:bench:issuer/cred-def/revocable"
REV_REG_ID = "did:bench:issuer/rev-reg/1"
T0 = 10  # the status list's timestamp


def version() -> str:
    return ac.library_version()


class AnonCredsSide:
    label = "anoncreds"

    def __init__(self, shape: dict[str, Any], *, registry_capacity: int) -> None:
        self.shape = shape
        self.names = [name for name, _, _ in shape["attributes"]]
        self.raw = {name: str(value) for name, _, value in shape["attributes"]}
        self.tmp = tempfile.mkdtemp(prefix="bench-anoncreds-")
        self.schema = ac.Schema.create("applicant", "1.0", ISSUER, self.names)
        self.cd, self.cd_private, self.kcp = ac.CredentialDefinition.create(
            SCHEMA_ID, self.schema, ISSUER, "revocable", "CL", support_revocation=True
        )
        self.capacity = registry_capacity
        self.rrd, self.rrd_private = ac.RevocationRegistryDefinition.create(
            CRED_DEF_ID, self.cd, ISSUER, "1", "CL_ACCUM", registry_capacity, tails_dir_path=self._dir()
        )
        self.status = ac.RevocationStatusList.create(self.cd, REV_REG_ID, self.rrd, self.rrd_private, ISSUER, True, T0)
        self.link = ac.create_link_secret()
        self.index = 1  # registry indexes are 1-based
        self.cred = self._issue(self.index)
        self.rev_state = ac.CredentialRevocationState.create(self.rrd, self.status, self.index, self.rrd.tails_location)

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _dir(self) -> str:
        return tempfile.mkdtemp(dir=self.tmp)

    def _issue(self, index: int | None):
        offer = ac.CredentialOffer.create(SCHEMA_ID, CRED_DEF_ID, self.kcp)
        request, metadata = ac.CredentialRequest.create(
            "bench-holder-entropy", None, self.cd, self.link, "default", offer
        )
        config = (
            ac.CredentialRevocationConfig(self.rrd, self.rrd_private, self.status, index) if index is not None else None
        )
        cred = ac.Credential.create(self.cd, self.cd_private, offer, request, self.raw, None, config)
        return cred.process(metadata, self.link, self.cd, self.rrd if index is not None else None)

    # 1. issuer setup --------------------------------------------------------------------

    def credential_definition(self) -> tuple[Run, dict[str, int]]:
        """CL keys for 10 attributes plus the revocation keys (needed for any revocable credential)."""
        schema = self.schema

        def run() -> object:
            return ac.CredentialDefinition.create(SCHEMA_ID, schema, ISSUER, "t", "CL", support_revocation=True)

        return run, {"publish": len(self.cd.to_json())}

    def registry_setup(self, n: int) -> tuple[Run, dict[str, int]]:
        """Registry definition (writes the tails file: N+? G2 points) and its first status list."""
        cd, sizes = self.cd, dict[str, int]()

        def run() -> None:
            where = self._dir()
            try:
                rrd, rrd_private = ac.RevocationRegistryDefinition.create(
                    CRED_DEF_ID, cd, ISSUER, "s", "CL_ACCUM", n, tails_dir_path=where
                )
                status = ac.RevocationStatusList.create(cd, REV_REG_ID, rrd, rrd_private, ISSUER, True, T0)
                tails = os.path.getsize(rrd.tails_location)
                public = len(rrd.to_json()) + len(status.to_json())
                sizes.update(publish=public + tails, holder_download=public + tails, tails_file=tails)
            finally:
                shutil.rmtree(where, ignore_errors=True)

        run()
        return run, dict(sizes)

    # 2. issuance ------------------------------------------------------------------------

    def issuance(self, revocable: bool) -> tuple[Run, dict[str, int]]:
        """Offer (with the key correctness proof) → request → credential → holder ``process`` (checks it)."""
        sizes: dict[str, int] = {}
        index = 2 if revocable else None

        def run() -> None:
            offer = ac.CredentialOffer.create(SCHEMA_ID, CRED_DEF_ID, self.kcp)
            request, metadata = ac.CredentialRequest.create(
                "bench-holder-entropy", None, self.cd, self.link, "default", offer
            )
            config = (
                ac.CredentialRevocationConfig(self.rrd, self.rrd_private, self.status, index) if revocable else None
            )
            cred = ac.Credential.create(self.cd, self.cd_private, offer, request, self.raw, None, config)
            sizes.update(offer=len(offer.to_json()), request=len(request.to_json()), credential=len(cred.to_json()))
            cred.process(metadata, self.link, self.cd, self.rrd if revocable else None)

        run()
        return run, {**sizes, "total": sizes["offer"] + sizes["request"] + sizes["credential"]}

    # 3. presentation --------------------------------------------------------------------

    def _request(self, k: int, non_revoked: bool):
        disclose = self.shape["disclose"]
        body: dict[str, Any] = {
            "nonce": ac.generate_nonce(),
            "name": "bench",
            "version": "1.0",
            "requested_attributes": {f"attr{i}": {"name": name} for i, name in enumerate(disclose)},
            "requested_predicates": {
                f"pred{i}": {"name": a, "p_type": op, "p_value": v}
                for i, (a, op, v) in enumerate(self.shape["predicates"][:k])
            },
        }
        if non_revoked:
            body["non_revoked"] = {"from": T0, "to": T0}
        return ac.PresentationRequest.load(body), body

    def presentation(self, k: int, non_revoked: bool) -> tuple[Run, Run, dict[str, int]]:
        request, body = self._request(k, non_revoked)
        schemas, cred_defs = {SCHEMA_ID: self.schema}, {CRED_DEF_ID: self.cd}
        present = ac.PresentCredentials()
        timestamp, state = (T0, self.rev_state) if non_revoked else (None, None)
        present.add_attributes(
            self.cred, *body["requested_attributes"], reveal=True, timestamp=timestamp, rev_state=state
        )
        present.add_predicates(self.cred, *body["requested_predicates"], timestamp=timestamp, rev_state=state)
        rev_reg_defs = {REV_REG_ID: self.rrd} if non_revoked else None
        status_lists = [self.status] if non_revoked else None

        def create() -> str:
            return ac.Presentation.create(request, present, {}, self.link, schemas, cred_defs).to_json()

        wire = create()

        def verify() -> None:
            pres = ac.Presentation.load(wire)
            if not pres.verify(request, schemas, cred_defs, rev_reg_defs, status_lists):
                raise AssertionError("AnonCreds presentation did not verify")

        verify()
        return create, verify, {"presentation": len(wire.encode())}

    # 4. revocation ----------------------------------------------------------------------

    def revoke_one(self) -> tuple[Run, dict[str, int]]:
        """Issuer: a new status list with one more index revoked (the accumulator moves by one tails entry)."""

        def run() -> Any:  # an anoncreds RevocationStatusList (the wheel ships no type information)
            return self.status.update(self.cd, self.rrd, self.rrd_private, None, [500], T0 + 1)

        return run, {"publish": len(run().to_json())}

    def holder_update(self, m: int) -> tuple[Run, dict[str, int]]:
        """Holder: move its revocation state from the first status list to one with m more revoked (reads tails)."""
        later = self.status.update(self.cd, self.rrd, self.rrd_private, None, list(range(2, 2 + m)), T0 + 1)
        tails = self.rrd.tails_location

        def run() -> object:
            return ac.CredentialRevocationState.create(self.rrd, later, self.index, tails, self.rev_state, self.status)

        run()
        return run, {"holder_download": len(later.to_json())}

    def first_witness(self) -> tuple[Run, dict[str, int]]:
        """Holder's first revocation state: computed by the holder from the tails file (O(N) entries)."""
        tails = self.rrd.tails_location

        def run() -> object:
            return ac.CredentialRevocationState.create(self.rrd, self.status, self.index, tails)

        tails_size = os.path.getsize(tails)
        return run, {"holder_download": len(self.rrd.to_json()) + len(self.status.to_json()) + tails_size}
