"""The ``verifier_registration`` entry: an id derived from the key, first come first served, a closed set
of entry types for verifier ids — on the memory, SQLite and PostgreSQL stores (the ``log`` fixture)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.audit import audit_store
from ledger.entries import Entry, canonical_origin, is_verifier_id, public_key_bytes, verifier_id_of
from ledger.log import LedgerLog
from ledger.verifiers import VerifierUnknown, registration_payload, replay_registration
from tests.ledger.conftest import Issuer, sample_payloads
from tests.ledger.test_log import _refused


def _verifier(key: Ed25519PrivateKey | None = None) -> Issuer:
    key = key or Ed25519PrivateKey.generate()
    return Issuer(verifier_id_of(public_key_bytes(key)), key)


def _registration(v: Issuer, **changes: object) -> dict:
    return {**registration_payload(v.key, name="Alpha Verifier", origins=["https://verify.alpha.example"]), **changes}


def test_the_id_is_derived_from_the_key() -> None:
    key = Ed25519PrivateKey.generate()
    vid = verifier_id_of(public_key_bytes(key))
    assert is_verifier_id(vid) and len(vid) == len("verifier-") + 32
    assert vid != verifier_id_of(public_key_bytes(Ed25519PrivateKey.generate()))
    assert not is_verifier_id("zkcred-verifier") and not is_verifier_id(vid + "0")


def test_a_verifier_registers_rotates_and_is_replayed(log: LedgerLog, ledger_key: Ed25519PrivateKey) -> None:
    v = _verifier()
    seq = log.submit(v.entry(log, "verifier_registration", _registration(v))).seq
    new_key = Ed25519PrivateKey.generate()
    log.submit(v.entry(log, "key_rotation", {"new_ledger_key": public_key_bytes(new_key).hex()}))
    moved = {"name": "Alpha Verifier", "origins": ["https://alpha.example"], "previous": seq}
    # an update is signed by the current key (not the rotated-away one) and names what it replaces
    _refused(log, v.entry(log, "verifier_update", moved), "bad-signature")
    v.key = new_key
    at = log.submit(v.entry(log, "verifier_update", moved)).seq
    _refused(log, Issuer("acme").entry(log, "verifier_update", moved), "invalid-payload")
    entries = log.entries(start=seq, limit=10)
    parsed = [Entry.model_validate_json(e.body) for e in entries]
    record = replay_registration(parsed, v.id, seq=seq, tree_size=log.head().size)
    assert (record.name, record.origins, record.key, record.updated_seq) == (
        "Alpha Verifier",
        ("https://alpha.example",),
        public_key_bytes(new_key),
        at,
    )
    with pytest.raises(VerifierUnknown):
        replay_registration(parsed, _verifier().id, seq=seq, tree_size=log.head().size)
    assert audit_store(log.store, ledger_key=public_key_bytes(ledger_key)).size == log.head().size


def test_refusals(log: LedgerLog) -> None:
    v, mallory = _verifier(), _verifier()
    # the id must be the key's: no registering someone else's id, even self-signed
    stolen = Issuer(v.id, mallory.key)
    _refused(log, stolen.entry(log, "verifier_registration", _registration(mallory)), "invalid-payload")
    # no issuer may take a verifier id, and no verifier_registration under an issuer-style id
    squatter = Issuer(v.id)
    _refused(log, squatter.entry(log, "issuer_registration", squatter.registration()), "invalid-payload")
    plain = Issuer("plain-verifier", mallory.key)
    _refused(log, plain.entry(log, "verifier_registration", _registration(mallory)), "invalid-payload")
    # bad payloads: origins, names a terminal would act on
    for bad in (
        {"origins": ["https://verify.alpha.example/path"]},
        {"origins": ["HTTPS://verify.alpha.example"]},
        {"origins": ["https://verify.alpha.example:443"]},
        {"origins": ["ftp://verify.alpha.example"]},
        {"origins": []},
        {"origins": ["https://a.example", "https://a.example"]},
        {"name": "Alpha\x1b[2J"},
        {"name": "Alpha\nBank"},
        {"name": "\u202eknaB"},
        {"name": ""},
    ):
        _refused(log, v.entry(log, "verifier_registration", _registration(v, **bad)), "invalid-payload")
    log.submit(v.entry(log, "verifier_registration", _registration(v)))
    # first come first served, and a verifier publishes nothing but its registration and rotations
    again = _registration(v, name="Alpha Two")
    _refused(log, v.entry(log, "verifier_registration", again), "issuer-exists")
    _refused(log, v.entry(log, "schema", sample_payloads(v)["schema"]), "invalid-payload")
    # an issuer cannot publish a verifier_registration for itself
    acme = Issuer("acme")
    acme.register(log)
    _refused(log, acme.entry(log, "verifier_registration", _registration(v), key=v.key), "invalid-payload")


def test_canonical_origin() -> None:
    assert canonical_origin("HTTPS://Verify.Example:443/requests/x") == "https://verify.example"
    assert canonical_origin("http://127.0.0.1:8002/") == "http://127.0.0.1:8002"
    assert canonical_origin("http://[::1]:80") == "http://[::1]"
    for bad in ("ftp://x.example", "https://", "https://u:p@x.example", "x.example", "http://x:99999"):
        with pytest.raises(ValueError):
            canonical_origin(bad)
