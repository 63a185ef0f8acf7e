"""The domain rules of the log, on every store: what is accepted, what is refused, what is proven."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import merkle
from ledger.constants import GENESIS_PREV_HASH
from ledger.entries import canonical_json, entry_hash, public_key_bytes, verify_tree_head
from ledger.errors import ChainConflict, EntryRejected, InvalidRequest, NotFound, VerificationFailed
from ledger.log import LedgerLog, now_ms
from tests.ledger.conftest import Issuer, populate, sample_payloads


def test_empty_log_has_a_signed_empty_tree_head(log: LedgerLog, ledger_key: Ed25519PrivateKey) -> None:
    sth = log.tree_head()
    assert (sth.size, sth.root) == (0, merkle.EMPTY_ROOT)
    verify_tree_head(sth, public_key_bytes(ledger_key))
    assert log.head().last_hash == GENESIS_PREV_HASH


def test_every_entry_type_is_accepted_and_chained(log: LedgerLog, ledger_key: Ed25519PrivateKey) -> None:
    acme = Issuer("acme")
    payloads = sample_payloads(acme)
    receipts = [log.submit(acme.entry(log, "issuer_registration", payloads["issuer_registration"]))]
    for kind in ["schema", "credential_definition", "revocation_registry", "revocation"]:
        receipts.append(log.submit(acme.entry(log, kind, payloads[kind])))
    assert [r.seq for r in receipts] == list(range(5))
    stored = log.entries(start=0, limit=100)
    prev = GENESIS_PREV_HASH
    for e, r in zip(stored, receipts, strict=True):
        doc = __import__("json").loads(e.body)
        assert canonical_json(doc) == e.body  # stored canonical
        assert bytes.fromhex(doc["prev_hash"]) == prev
        prev = entry_hash(e.body)
        assert e.entry_hash == prev == r.entry_hash
        assert e.leaf_hash == merkle.leaf_hash(e.body) == r.leaf_hash
    sth = log.tree_head()
    verify_tree_head(sth, public_key_bytes(ledger_key))
    assert sth.size == 5 and sth.root == merkle.root_hash([e.leaf_hash for e in stored])
    assert [r.tree_head.time for r in receipts] == sorted(r.tree_head.time for r in receipts)


def _refused(log: LedgerLog, entry, reason: str) -> None:  # type: ignore[no-untyped-def]
    before = log.head()
    with pytest.raises(EntryRejected) as info:
        log.submit(entry)
    assert info.value.reason == reason, info.value.detail
    assert log.head() == before  # nothing written


def test_refusals(log: LedgerLog) -> None:
    acme, mallory = Issuer("acme"), Issuer("mallory")
    payloads = sample_payloads(acme)
    acme.register(log)
    _refused(log, acme.entry(log, "schema", payloads["schema"], key=mallory.key), "bad-signature")
    _refused(log, mallory.entry(log, "schema", payloads["schema"]), "unknown-issuer")
    _refused(log, acme.entry(log, "teleport", {"x": 1}), "unknown-type")
    imposter = Issuer("acme")  # the same id under another key (the same registration is a repeat: test_repeats)
    _refused(log, imposter.entry(log, "issuer_registration", imposter.registration()), "issuer-exists")
    _refused(log, acme.entry(log, "schema", {**payloads["schema"], "extra": 1}), "invalid-payload")
    _refused(log, acme.entry(log, "schema", {"schema_id": "s"}), "invalid-payload")
    _refused(log, acme.entry(log, "revocation", {**payloads["revocation"], "values": ["aa"]}), "invalid-payload")
    _refused(
        log,
        acme.entry(log, "revocation_registry", {**payloads["revocation_registry"], "capacity": "10"}),
        "invalid-payload",
    )
    _refused(log, acme.entry(log, "schema", payloads["schema"], time=now_ms() - 3_600_000), "clock-skew")
    # registration is self-signed by the key it registers
    eve = Issuer("eve")
    _refused(log, eve.entry(log, "issuer_registration", eve.registration(), key=mallory.key), "bad-signature")
    doc = acme.entry(log, "schema", payloads["schema"]).to_json()
    _refused(log, {**doc, "signature": "00" * 64}, "bad-signature")
    _refused(log, {**doc, "seq": -1}, "malformed-entry")
    _refused(log, {**doc, "surprise": True}, "malformed-entry")
    _refused(log, b"not json", "malformed-entry")
    _refused(log, {**doc, "payload": {**doc["payload"], "name": "other"}}, "bad-signature")


def test_wrong_prev_hash_or_seq_is_a_chain_conflict(log: LedgerLog) -> None:
    acme = Issuer("acme")
    populate(log, acme, 3)
    schema = {**sample_payloads(acme)["schema"], "schema_id": "acme/schema/new"}  # not on the log yet
    for kwargs in ({"prev_hash": b"\x07" * 32}, {"seq": 2}, {"seq": 4}, {"prev_hash": GENESIS_PREV_HASH}):
        with pytest.raises(ChainConflict) as info:
            log.submit(acme.entry(log, "schema", schema, **kwargs))
        assert info.value.expected_seq == 3
        assert info.value.expected_prev_hash == log.head().last_hash
    assert log.head().size == 3


def test_key_rotation(log: LedgerLog) -> None:
    acme = Issuer("acme")
    acme.register(log)
    schema = sample_payloads(acme)["schema"]
    new_key = Ed25519PrivateKey.generate()
    rotation = {"new_ledger_key": public_key_bytes(new_key).hex()}
    _refused(log, acme.entry(log, "key_rotation", rotation, key=new_key), "bad-signature")  # signed by the old key
    _refused(log, acme.entry(log, "key_rotation", {"new_ledger_key": acme.public.hex()}), "invalid-payload")
    log.submit(acme.entry(log, "key_rotation", rotation))
    assert log.store.issuer_key("acme") == public_key_bytes(new_key)
    _refused(log, acme.entry(log, "schema", schema), "bad-signature")  # the old key no longer signs
    log.submit(acme.entry(log, "schema", schema, key=new_key))
    assert log.head().size == 3


def test_proofs_from_stored_nodes_match_the_rfc(log: LedgerLog) -> None:
    acme = Issuer("acme")
    populate(log, acme, 37)
    leaves = [e.leaf_hash for e in log.entries(start=0, limit=1000)]
    assert len(leaves) == 37
    for size in (1, 2, 5, 16, 17, 36, 37):
        root = merkle.root_hash(leaves[:size])
        assert log.root(size) == root
        for seq in sorted({0, size // 2, size - 1}):
            p = log.inclusion_proof(seq=seq, tree_size=size)
            assert p.leaf_hash == leaves[seq]
            assert p.proof == merkle.inclusion_proof(leaves[:size], seq)
            assert merkle.verify_inclusion(p.leaf_hash, seq, size, p.proof, root)
        for first in sorted({0, 1, size // 3, size}):
            proof = log.consistency_proof(first=first, second=size)
            assert proof == merkle.consistency_proof(leaves[:size], first)
            assert merkle.verify_consistency(first, size, merkle.root_hash(leaves[:first]), root, proof)
    assert log.inclusion_proof(seq=3).tree_size == 37


def test_bad_reads(log: LedgerLog) -> None:
    populate(log, Issuer("acme"), 4)
    with pytest.raises(NotFound):
        log.entry(4)
    for call in (
        lambda: log.inclusion_proof(seq=4, tree_size=4),
        lambda: log.inclusion_proof(seq=0, tree_size=5),
        lambda: log.inclusion_proof(seq=-1),
        lambda: log.consistency_proof(first=3, second=2),
        lambda: log.consistency_proof(first=0, second=5),
        lambda: log.entries(start=-1),
    ):
        with pytest.raises(InvalidRequest):
            call()
    assert [e.seq for e in log.entries(start=1, limit=2)] == [1, 2]
    assert log.entries(start=10) == []


def test_tree_head_is_resigned_under_a_new_ledger_key(log: LedgerLog) -> None:
    populate(log, Issuer("acme"), 3)
    new_key = Ed25519PrivateKey.generate()
    other = LedgerLog(log.store, signing_key=new_key)
    sth = other.tree_head()
    verify_tree_head(sth, public_key_bytes(new_key))
    assert (sth.size, sth.root) == (3, log.tree_head().root)
    with pytest.raises(VerificationFailed):
        verify_tree_head(sth, log.public_key)
    assert "key" not in repr(log).split("key=")[0] and "Ed25519PrivateKey" not in repr(log)


def test_a_stale_key_cache_never_admits_a_rotated_key(log: LedgerLog) -> None:
    """Another process (here: another LedgerLog) rotates the key; this one's cache is stale."""
    acme = Issuer("acme")
    acme.register(log)
    schema = sample_payloads(acme)["schema"]
    log.submit(acme.entry(log, "schema", schema))  # caches acme's first key
    other = LedgerLog(log.store, signing_key=Ed25519PrivateKey.generate())
    new_key = Ed25519PrivateKey.generate()
    other.append(
        key=acme.key,
        issuer="acme",
        entry_type="key_rotation",
        payload={"new_ledger_key": public_key_bytes(new_key).hex()},
    )
    schema = {**schema, "schema_id": "acme/schema/2"}
    _refused(log, acme.entry(log, "schema", schema), "bad-signature")  # old key, cached as current
    log.submit(acme.entry(log, "schema", schema, key=new_key))
    assert log.head().size == 4


def test_repeats_are_answered_with_the_entry_on_the_log(log: LedgerLog) -> None:
    """A writer that lost its receipt re-sends (re-signed on the new head): nothing is appended twice."""
    acme, mallory = Issuer("acme"), Issuer("mallory")
    payloads = sample_payloads(acme)
    first = log.submit(acme.entry(log, "issuer_registration", acme.registration()))
    schema = log.submit(acme.entry(log, "schema", payloads["schema"]))
    assert not first.existing and not schema.existing
    log.append(key=acme.key, issuer=acme.id, entry_type="revocation", payload=payloads["revocation"])
    before = log.head()
    again = log.submit(acme.entry(log, "schema", payloads["schema"]))  # seq 3 now, another time and signature
    assert again.existing and (again.seq, again.entry_hash, again.leaf_hash) == (1, schema.entry_hash, schema.leaf_hash)
    assert again.tree_head.size == before.size
    in_process = log.append(key=acme.key, issuer=acme.id, entry_type="schema", payload=payloads["schema"])
    assert in_process.existing and in_process.seq == 1
    assert log.submit(acme.entry(log, "issuer_registration", acme.registration())).seq == 0
    assert log.head() == before  # nothing appended
    # a repeat still needs the issuer's signature; a stale chain link does not matter
    _refused(log, acme.entry(log, "schema", payloads["schema"], key=mallory.key), "bad-signature")
    assert log.submit(acme.entry(log, "schema", payloads["schema"], seq=1, prev_hash=b"\x07" * 32)).seq == 1
    # the same payload from another issuer is another content
    mallory.register(log)
    assert not log.submit(mallory.entry(log, "schema", payloads["schema"])).existing


def test_a_rotation_is_repeatable_but_not_back_to_an_old_key(log: LedgerLog) -> None:
    acme = Issuer("acme")
    acme.register(log)
    old_key, new_key = acme.key, Ed25519PrivateKey.generate()
    rotation = {"new_ledger_key": public_key_bytes(new_key).hex()}
    first = log.submit(acme.entry(log, "key_rotation", rotation))
    # the writer lost the receipt and re-sends, still signing with the old key
    assert log.submit(acme.entry(log, "key_rotation", rotation, key=old_key)).seq == first.seq
    acme.key = new_key
    log.submit(acme.entry(log, "key_rotation", {"new_ledger_key": public_key_bytes(old_key).hex()}))
    acme.key = old_key
    _refused(log, acme.entry(log, "key_rotation", rotation), "invalid-payload")  # back to new_key: used before


def test_the_audit_finds_a_repeat(log: LedgerLog, monkeypatch: pytest.MonkeyPatch) -> None:
    """A log written before the rule (or by a buggy ledger) that holds one publication twice fails the audit."""
    import secrets

    from ledger import audit
    from ledger import log as log_module
    from ledger.entries import Entry

    acme = Issuer("acme")
    populate(log, acme, 3)
    monkeypatch.setattr(log_module, "_check_repeat", lambda *a: None)
    monkeypatch.setattr(Entry, "content_id", lambda self: secrets.token_bytes(32))  # the store's index too
    log.append(key=acme.key, issuer=acme.id, entry_type="schema", payload=sample_payloads(acme)["schema"])
    monkeypatch.undo()
    with pytest.raises(VerificationFailed) as info:
        audit.audit_store(log.store, ledger_key=log.public_key)
    assert info.value.seq == 3 and "repeats entry 1" in str(info.value)


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_a_database_from_before_the_content_index_is_back_filled(db_url: str, ledger_key: Ed25519PrivateKey) -> None:
    from sqlalchemy import text

    from ledger.sql import SqlStore

    acme = Issuer("acme")
    store = SqlStore(db_url)
    log = LedgerLog(store, signing_key=ledger_key)
    populate(log, acme, 5)
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM ledger_content"))  # as an older version left it
    store.close()
    store = SqlStore(db_url)  # opening indexes the entries
    log = LedgerLog(store, signing_key=ledger_key)
    before = log.head()
    assert log.submit(acme.entry(log, "schema", sample_payloads(acme)["schema"])).seq == 1
    assert log.head() == before
    store.close()
