"""Every LedgerStore keeps witnesses' cosignatures by tree size (MemoryStore, SQLite, PostgreSQL)."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.note import CosignatureSigner, NoteSignature
from ledger.store import LedgerStore


def test_cosignatures_by_size_newest_first(store: LedgerStore) -> None:
    assert store.cosignatures() == []
    w1 = CosignatureSigner("w1.test", Ed25519PrivateKey.generate())
    w2 = CosignatureSigner("w2.test", Ed25519PrivateKey.generate())

    def line(w: CosignatureSigner, size: int, t: int) -> NoteSignature:
        return NoteSignature(w.name, w.key_id, w.sign(f"o\n{size}\nx\n".encode(), timestamp=t))

    store.add_cosignatures(3, [line(w1, 3, 100)])
    store.add_cosignatures(3, [line(w2, 3, 101)])
    store.add_cosignatures(7, [line(w1, 7, 102), line(w2, 7, 103)])
    newer = line(w1, 7, 200)
    store.add_cosignatures(7, [newer])  # the same witness again: the newer line replaces the older
    got = store.cosignatures()
    assert [size for size, _ in got] == [7, 3]
    assert sorted((s.name, s.signature[:8]) for s in got[0][1]) == [
        ("w1.test", (200).to_bytes(8, "big")),
        ("w2.test", (103).to_bytes(8, "big")),
    ]
    assert {s.name for s in got[1][1]} == {"w1.test", "w2.test"}
    assert newer in got[0][1]
    assert [size for size, _ in store.cosignatures(sizes=1)] == [7]
