"""zkcred's checkpoints and proofs verified by an independent implementation from PyPI.

``metamorphic-log`` (Rust, UniFFI bindings; a verification-only C2SP signed-note/checkpoint
client) is the one Python-installable verifier found that runs on Python 3.11; ``aics-tlog``
and ``aics-witness`` (which claim tlog-cosignature and tlog-witness) need Python >= 3.12,
``sigsum`` on PyPI is an empty placeholder, and ``atelya-attest`` has a JSON format of its own.
metamorphic-log does not implement cosignature vkeys (types 0x04 and 0x06), so the
witnesses' cosignatures are checked here only as lines it must ignore; they are tested
against the spec's own text in ``test_note.py``.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.log import LedgerLog
from ledger.note import CosignatureSigner, NoteSignature
from ledger.store import MemoryStore
from tests.ledger.conftest import Issuer, populate
from tests.ledger.test_note import SPEC_NOTE, SPEC_VKEY

ml = pytest.importorskip(
    "metamorphic_log",
    reason="metamorphic-log (an independent C2SP checkpoint verifier) is not installed: pip install metamorphic-log",
)


@pytest.fixture
def log() -> LedgerLog:
    log = LedgerLog(MemoryStore(), signing_key=Ed25519PrivateKey.generate(), origin="ledger.test/interop")
    populate(log, Issuer("acme"), 11)
    return log


def test_it_agrees_on_the_specs_example() -> None:
    assert ml.verify_signed_note(SPEC_NOTE.decode(), [SPEC_VKEY]) == 1


def test_our_checkpoints_verify_and_tampering_does_not(log: LedgerLog) -> None:
    cp = log.checkpoint()
    head = ml.checkpoint_verify(cp.to_bytes().decode(), [log.verifier.vkey()])
    assert (head.origin, head.size, bytes(head.root)) == (log.origin, 11, log.root())
    tampered = cp.to_bytes().decode().replace("\n11\n", "\n12\n")
    with pytest.raises(ml.VerifyError):
        ml.checkpoint_verify(tampered, [log.verifier.vkey()])
    other = LedgerLog(MemoryStore(), signing_key=Ed25519PrivateKey.generate(), origin=log.origin)
    with pytest.raises(ml.VerifyError):
        ml.checkpoint_verify(cp.to_bytes().decode(), [other.verifier.vkey()])


def test_a_cosigned_checkpoint_verifies_its_cosignature_lines_ignored(log: LedgerLog) -> None:
    cp = log.checkpoint()
    w = CosignatureSigner("witness.test/w1", Ed25519PrivateKey.generate())
    cosigned = cp.with_cosignatures([NoteSignature(w.name, w.key_id, w.sign(cp.checkpoint.text().encode()))])
    assert ml.checkpoint_verify(cosigned.to_bytes().decode(), [log.verifier.vkey()]).size == 11


def test_our_proofs_verify(log: LedgerLog) -> None:
    new, vkeys = log.checkpoint(), [log.verifier.vkey()]
    for old_size in (1, 4, 8, 10):
        old = log.checkpoint(old_size)
        proof = log.consistency_proof(first=old_size, second=11)
        ml.checkpoint_verify_consistency(old.to_bytes().decode(), new.to_bytes().decode(), vkeys, proof)
        with pytest.raises(ml.VerifyError):
            ml.checkpoint_verify_consistency(
                old.to_bytes().decode(), new.to_bytes().decode(), vkeys, [bytes(32)] * len(proof)
            )
    for seq in (0, 5, 10):
        inc = log.inclusion_proof(seq=seq, tree_size=11)
        ml.checkpoint_verify_inclusion(new.to_bytes().decode(), vkeys, seq, inc.leaf_hash, inc.proof)
