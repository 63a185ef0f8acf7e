"""Test helpers: an issuer publishing to an in-process LedgerLog, holders, presentations.

Credentials are made with ``circuits`` directly (no issuer service): a BBS key, a
revocation registry, blind issuance, witnesses; the schema / credential definition /
revocation registry / revocation entries are appended to the log the way the issuer
service publishes them (``issuer/service.py``).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine

from circuits import accumulator as acc
from circuits import bbs
from circuits.backend import GroupBackend, get_backend
from circuits.codec import b64e
from circuits.credentials import Credential, CredentialDefinition, PresentationRequest, RevocationRegistry
from circuits.issuance import create_credential, create_credential_request, process_credential
from circuits.presentation import RevocationWitness, create_presentation
from ledger.entries import public_key_bytes, verifier_id_of
from ledger.log import LedgerLog
from ledger.store import MemoryStore
from tests.circuits.presentation_fixtures import EXPIRY, SCHEMA, VALUES, new_link_secret
from verifier.db import SqlRequestStore, init_db, make_engine
from verifier.identity import ensure_registered, in_process
from verifier.resolver import LedgerResolver, LocalLedgerSource
from verifier.service import VerifierService

ISSUER_ID = "issuer-1"
REGISTRY_ID = "revreg:test"
#: The verifier's key (fixed, so its id is a constant of the tests) and the id derived from it.
VERIFIER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
VERIFIER_ID = verifier_id_of(public_key_bytes(VERIFIER_KEY))
VERIFIER_URL = "https://verifier.test"


class Clock:
    """A settable clock (seconds), starting at the real time so ledger entry times agree."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Holder:
    link_secret: int
    credential: Credential
    witness: Any  # C, a G1 point
    height: int
    accumulator: Any  # V the witness is for


@dataclass
class World:
    be: GroupBackend
    ledger_key: Ed25519PrivateKey
    log: LedgerLog
    issuer_key: Ed25519PrivateKey
    registry_secret: acc.RegistrySecret
    definition: CredentialDefinition
    registry_seq: int
    V: Any  # the current accumulator value
    holders: list[Holder] = field(default_factory=list)

    @property
    def ledger_public(self) -> bytes:
        return public_key_bytes(self.ledger_key)

    def append(self, entry_type: str, payload: dict[str, Any], *, now_ms: int | None = None) -> int:
        return self.log.append(
            key=self.issuer_key, issuer=ISSUER_ID, entry_type=entry_type, payload=payload, now=now_ms
        ).seq

    def revoke(self, index: int, *, now_ms: int | None = None) -> int:
        """Revoke holder ``index`` on the ledger; the other holders update their witnesses."""
        y = acc.handle(REGISTRY_ID.encode(), index)
        event = acc.revoke(self.registry_secret, self.V, y, backend=self.be)
        seq = self.append(
            "revocation",
            {
                "registry_id": REGISTRY_ID,
                "handles": [f"{event.y:064x}"],
                "values": [b64e(self.be.g1_to_bytes(event.V))],
            },
            now_ms=now_ms,
        )
        self.V = event.V
        self.pending_event = (event, seq)
        return seq

    def update(self, holder: Holder, event: acc.RevocationEvent, seq: int) -> None:
        holder.witness = acc.update_witness(
            holder.witness, holder.credential.revocation_handle, [event], backend=self.be
        )
        holder.height, holder.accumulator = seq, event.V


def publish_definition(
    log: LedgerLog,
    issuer_key: Ed25519PrivateKey,
    d: CredentialDefinition,
    *,
    v0: bytes | None = None,
    issuer_id: str = ISSUER_ID,
    definition_overrides: dict[str, Any] | None = None,
) -> int | None:
    """Append schema, credential_definition and (if revocable) revocation_registry; return the registry seq."""

    def put(entry_type: str, payload: dict[str, Any]) -> int:
        return log.append(key=issuer_key, issuer=issuer_id, entry_type=entry_type, payload=payload).seq

    put("schema", {"schema_id": d.schema_id, **d.schema.to_json()})
    put(
        "credential_definition",
        {
            "cred_def_id": d.id,
            "schema_id": d.schema_id,
            "ciphersuite": d.suite,
            "bbs_public_key": b64e(d.public_key),
            "tag": d.tag or None,
            **(definition_overrides or {}),
        },
    )
    if d.revocation is None:
        return None
    return put(
        "revocation_registry",
        {
            "registry_id": d.revocation.id,
            "cred_def_id": d.id,
            "capacity": d.revocation.capacity,
            "q": b64e(d.revocation.Q),
            "v0": b64e(v0),
        },
    )


def make_world(holders: int = 3) -> World:
    be = get_backend("blst")
    ledger_key, issuer_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    log = LedgerLog(MemoryStore(), signing_key=ledger_key)
    log.append(
        key=issuer_key,
        issuer=ISSUER_ID,
        entry_type="issuer_registration",
        payload={"ledger_key": public_key_bytes(issuer_key).hex(), "name": "Test issuer"},
    )
    secret, public = acc.setup_registry(REGISTRY_ID.encode(), 16, backend=be)
    sk = bbs.keygen(secrets.token_bytes(32), suite=bbs.SHA256)
    d = CredentialDefinition(
        ISSUER_ID,
        SCHEMA,
        "v1",
        bbs.sk_to_pk(sk, suite=bbs.SHA256, backend=be),
        RevocationRegistry(REGISTRY_ID, 16, be.g2_to_bytes(public.Q)),
    )
    registry_seq = publish_definition(log, issuer_key, d, v0=be.g1_to_bytes(public.V0))
    assert registry_seq is not None
    world = World(be, ledger_key, log, issuer_key, secret, d, registry_seq, public.V0)
    for index in range(holders):
        link = new_link_secret()
        y = acc.handle(REGISTRY_ID.encode(), index)
        req, blind = create_credential_request(d, link, backend=be)
        sig = create_credential(sk, d, req, VALUES, EXPIRY, y, backend=be)
        cred = process_credential(d, sig, VALUES, EXPIRY, y, index, link, blind, backend=be)
        world.holders.append(
            Holder(link, cred, acc.issue_witness(secret, public.V0, y, backend=be), registry_seq, public.V0)
        )
    return world


def make_service(
    world: World, db_url: str, clock: Clock, *, refresh_interval: float = 0.0, ledger_key: bytes | None = None
) -> tuple[VerifierService, Engine]:
    engine = make_engine(db_url)
    init_db(engine)
    source = LocalLedgerSource(world.log, ledger_key=ledger_key or world.ledger_public)
    resolver = LedgerResolver(source, refresh_interval=refresh_interval, clock=clock)
    identity = ensure_registered(  # on the world's ledger (once per world: the content is appended once)
        engine=engine,
        key=VERIFIER_KEY,
        name="Verifier Test",
        origins=[VERIFIER_URL],
        public_url=VERIFIER_URL,
        ledger=in_process(world.log),
    )
    return VerifierService(
        store=SqlRequestStore(engine), resolver=resolver, identity=identity, clock=clock, backend=world.be
    ), engine


def present(world: World, holder: Holder, request_json: dict[str, Any]) -> dict[str, Any]:
    """The holder's presentation (JSON) for a request document's ``request``."""
    request = PresentationRequest.from_json(request_json)
    rw = RevocationWitness(
        holder.height, world.be.g1_to_bytes(holder.accumulator), world.be.g1_to_bytes(holder.witness)
    )
    pres = create_presentation(
        request,
        [world.definition],
        [holder.credential],
        holder.link_secret,
        revocation={"credential": rw},
        backend=world.be,
    )
    return pres.to_json(backend=world.be)


def request_body(world: World, **overrides: Any) -> dict[str, Any]:
    body = {
        "disclose": ["country"],
        "predicates": [{"attribute": "income", "op": ">=", "value": 50000}],
        "credential_definitions": [world.definition.id],
        "expires_in": 600,
        "max_staleness": 600,
    }
    body.update(overrides)
    return body
