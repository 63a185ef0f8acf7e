"""Non-revocation inside a presentation: the accumulator proof shares the handle's blinding
with the BBS proof, so it is about the signed handle; revoked holders cannot present."""

from __future__ import annotations

import dataclasses
import secrets

import pytest

from circuits import accumulator as acc
from circuits import bbs
from circuits.backend import get_backend
from circuits.credentials import (
    CredentialDefinition,
    CredentialQuery,
    Predicate,
    PresentationRequest,
    RevocationRegistry,
)
from circuits.issuance import create_credential, create_credential_request, process_credential
from circuits.presentation import (
    PresentationRejected,
    RevocationWitness,
    create_presentation,
    verify_presentation,
)
from tests.circuits.presentation_fixtures import EXPIRY, SCHEMA, TODAY, VALUES, new_link_secret

REGISTRY = b"registry-1"


@pytest.fixture(scope="module")
def setting():
    be = get_backend("blst")
    secret, public = acc.setup_registry(REGISTRY, 16, backend=be)
    sk = bbs.keygen(secrets.token_bytes(32), suite=bbs.SHA256)
    d = CredentialDefinition(
        "issuer-1",
        SCHEMA,
        "rev",
        bbs.sk_to_pk(sk, suite=bbs.SHA256, backend=be),
        RevocationRegistry(REGISTRY.decode(), 16, be.g2_to_bytes(public.Q)),
    )
    holders = []
    for index in range(3):
        link = new_link_secret()
        y = acc.handle(REGISTRY, index)
        req, blind = create_credential_request(d, link, backend=be)
        sig = create_credential(sk, d, req, VALUES, EXPIRY, y, backend=be)
        cred = process_credential(d, sig, VALUES, EXPIRY, y, index, link, blind, backend=be)
        holders.append((link, cred, acc.issue_witness(secret, public.V0, y, backend=be)))
    return be, secret, public, d, holders


def _request(d):
    q = CredentialQuery("credential", (d.id,), ("country",), (Predicate("income", ">=", 50000),))
    return PresentationRequest(secrets.token_bytes(16), "lender-a", TODAY, (q,))


def test_non_revoked_presentation_and_revocation(setting):
    be, secret, public, d, holders = setting
    V0_bytes = be.g1_to_bytes(public.V0)
    ledger = {0: V0_bytes}
    request = _request(d)

    def accumulator_at(definition_id, height):
        assert definition_id == d.id
        return ledger[height]

    link, cred, C = holders[0]
    rw = RevocationWitness(0, V0_bytes, be.g1_to_bytes(C))
    pres = create_presentation(request, [d], [cred], link, revocation={"credential": rw}, backend=be)
    verified = verify_presentation(request, pres, {d.id: d}, accumulator_at=accumulator_at, backend=be)
    assert verified.revocation_heights == {"credential": 0}

    # Without the membership proof, or against another V, it fails.
    stripped = dataclasses.replace(
        pres,
        credentials=(
            dataclasses.replace(pres.credentials[0], revocation_height=None, accumulator=None, membership=None),
        ),
    )
    with pytest.raises(PresentationRejected):
        verify_presentation(request, stripped, {d.id: d}, accumulator_at=accumulator_at, backend=be)

    # Revoke holder 1: V1 on the "ledger"; holder 0 updates and still presents; holder 1 cannot.
    event = acc.revoke(secret, public.V0, acc.handle(REGISTRY, 1), backend=be)
    ledger[1] = be.g1_to_bytes(event.V)
    C0 = acc.update_witness(C, cred.revocation_handle, [event], backend=be)
    rw1 = RevocationWitness(1, ledger[1], be.g1_to_bytes(C0))
    pres = create_presentation(request, [d], [cred], link, revocation={"credential": rw1}, backend=be)
    verify_presentation(request, pres, {d.id: d}, accumulator_at=accumulator_at, backend=be)

    link1, cred1, C1 = holders[1]
    with pytest.raises(acc.RevokedError):
        acc.update_witness(C1, cred1.revocation_handle, [event], backend=be)
    # The revoked holder's old witness against the new value: the proof does not verify.
    stale = RevocationWitness(1, ledger[1], be.g1_to_bytes(C1))
    forged = create_presentation(request, [d], [cred1], link1, revocation={"credential": stale}, backend=be)
    with pytest.raises(PresentationRejected):
        verify_presentation(request, forged, {d.id: d}, accumulator_at=accumulator_at, backend=be)
    # Claiming the old height is refused by the verifier's staleness policy (accumulator_at raises).
    from circuits.errors import ParameterError

    def strict(definition_id, height):
        if height != max(ledger):
            raise ParameterError("accumulator value too old")
        return ledger[height]

    old = RevocationWitness(0, V0_bytes, be.g1_to_bytes(C1))
    replayed = create_presentation(request, [d], [cred1], link1, revocation={"credential": old}, backend=be)
    with pytest.raises(PresentationRejected, match="stale_accumulator"):
        verify_presentation(request, replayed, {d.id: d}, accumulator_at=strict, backend=be)


def test_membership_about_another_handle_fails(setting):
    """Holder 0's credential with holder 2's witness: the shared ŷ ties the proof to the signed handle."""
    be, _, public, d, holders = setting
    link, cred, _ = holders[0]
    _, _, C2 = holders[2]
    V0 = be.g1_to_bytes(public.V0)
    request = _request(d)
    forged = create_presentation(
        request, [d], [cred], link, revocation={"credential": RevocationWitness(0, V0, be.g1_to_bytes(C2))}, backend=be
    )
    with pytest.raises(PresentationRejected):
        verify_presentation(request, forged, {d.id: d}, accumulator_at=lambda *_: V0, backend=be)
