"""The wallet's encrypted store: wrong passphrase refused, nothing secret in plaintext."""

from __future__ import annotations

import pytest

from wallet import Wallet, WalletError, WrongPassphrase
from wallet.store import Store


def test_create_open_and_wrong_passphrase(tmp_path):
    path = tmp_path / "w.db"
    w = Wallet.create(path, "correct horse battery")
    secret = w._link_secret
    w.close()
    again = Wallet.open(path, "correct horse battery")
    assert again._link_secret == secret
    with pytest.raises(WrongPassphrase):
        Wallet.open(path, "wrong passphrase!")
    with pytest.raises(WalletError):
        Wallet.create(path, "correct horse battery")
    with pytest.raises(WalletError):
        Wallet.create(tmp_path / "x.db", "short")


def test_no_secret_in_the_file(tmp_path):
    path = tmp_path / "w.db"
    store = Store.create(path, "correct horse battery")
    store.put("credential", "c1", {"values": {"income": 64000, "name": "Ada Lovelace"}}, "creddef:x")
    link = "ab" * 32
    store.put("secret", "link_secret", link)
    store.close()
    raw = path.read_bytes()
    for needle in (b"Ada Lovelace", b"64000", link.encode(), bytes.fromhex(link)):
        assert needle not in raw


def test_records_cannot_be_moved_between_rows(tmp_path):
    import sqlite3

    from cryptography.exceptions import InvalidTag

    path = tmp_path / "w.db"
    store = Store.create(path, "correct horse battery")
    store.put("credential", "a", {"v": 1})
    store.put("credential", "b", {"v": 2})
    db = sqlite3.connect(path)
    sealed_a = db.execute("SELECT sealed FROM records WHERE id='a'").fetchone()[0]
    db.execute("UPDATE records SET sealed=? WHERE id='b'", (sealed_a,))
    db.commit()
    with pytest.raises(InvalidTag):
        store.get("credential", "b")
