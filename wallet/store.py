"""The wallet's local store: one SQLite file, every secret encrypted under the passphrase.

Key derivation: scrypt (RFC 7914; n = 2^15, r = 8, p = 1 — about 32 MiB and 0.1 s here)
from the passphrase and a random 16-byte salt. Records are AES-256-GCM with a fresh
12-byte nonce each and the record's table and id as associated data, so a ciphertext
cannot be moved to another row. A wrong passphrase fails on the check record, before
anything else is read. Plaintext columns hold only ids and what a file listing could
show anyway (definition ids); attribute values, the link secret, prover blinds,
signatures and witnesses are encrypted.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
MIN_PASSPHRASE = 8  # characters
_CHECK = b"zkcred-wallet/v1"


class WalletError(Exception):
    """Base of wallet errors (wrong passphrase, missing wallet, no matching credential …)."""


class WrongPassphrase(WalletError):
    pass


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL, id TEXT NOT NULL, definition_id TEXT, sealed BLOB NOT NULL,
    PRIMARY KEY (kind, id)
);
"""


class Store:
    """Encrypted records of a few kinds (``secret``, ``credential``, ``state``, ``verifier``)."""

    def __init__(self, path: Path, key: bytes, db: sqlite3.Connection) -> None:
        self.path, self._aead, self._db = path, AESGCM(key), db

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    # -- lifecycle ------------------------------------------------------------------
    @staticmethod
    def _kdf(salt: bytes, passphrase: str) -> bytes:
        return Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(passphrase.encode("utf-8"))

    @classmethod
    def create(cls, path: str | os.PathLike, passphrase: str) -> Store:
        path = Path(path)
        if path.exists():
            raise WalletError(f"a wallet already exists at {path}")
        if len(passphrase) < MIN_PASSPHRASE:
            raise WalletError(f"choose a passphrase of at least {MIN_PASSPHRASE} characters")
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, isolation_level=None)
        os.chmod(path, 0o600)
        db.executescript(_SCHEMA)
        salt = secrets.token_bytes(16)
        store = cls(path, cls._kdf(salt, passphrase), db)
        with db:
            db.execute("INSERT INTO meta VALUES ('salt', ?)", (salt,))
            db.execute("INSERT INTO meta VALUES ('check', ?)", (store._seal("meta", "check", _CHECK),))
        return store

    @classmethod
    def open(cls, path: str | os.PathLike, passphrase: str) -> Store:
        path = Path(path)
        if not path.exists():
            raise WalletError(f"no wallet at {path}; create one with `zkcred wallet init`")
        try:
            db = sqlite3.connect(path, isolation_level=None)
            rows = dict(db.execute("SELECT key, value FROM meta").fetchall())
            salt, check = rows["salt"], rows["check"]
        except (sqlite3.Error, KeyError) as e:
            raise WalletError(f"{path} is not a zkcred wallet ({e}); check --wallet or ZKCRED_WALLET") from None
        store = cls(path, cls._kdf(salt, passphrase), db)
        try:
            if store._open("meta", "check", check) != _CHECK:
                raise WrongPassphrase(f"wrong passphrase for the wallet at {path}")
        except InvalidTag:
            raise WrongPassphrase(f"wrong passphrase for the wallet at {path}") from None
        return store

    def close(self) -> None:
        self._db.close()

    # -- sealing ----------------------------------------------------------------------
    def _seal(self, kind: str, rid: str, data: bytes) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + self._aead.encrypt(nonce, data, f"{kind}/{rid}".encode())

    def _open(self, kind: str, rid: str, sealed: bytes) -> bytes:
        return self._aead.decrypt(sealed[:12], sealed[12:], f"{kind}/{rid}".encode())

    # -- records ----------------------------------------------------------------------
    def put(self, kind: str, rid: str, value: Any, definition_id: str | None = None) -> None:
        sealed = self._seal(kind, rid, json.dumps(value, sort_keys=True).encode())
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?)", (kind, rid, definition_id, sealed))

    def get(self, kind: str, rid: str) -> Any | None:
        row = self._db.execute("SELECT sealed FROM records WHERE kind = ? AND id = ?", (kind, rid)).fetchone()
        return None if row is None else json.loads(self._open(kind, rid, row[0]))

    def delete(self, kind: str, rid: str) -> None:
        with self._db:
            self._db.execute("DELETE FROM records WHERE kind = ? AND id = ?", (kind, rid))

    def all(self, kind: str) -> list[tuple[str, Any]]:
        rows = self._db.execute("SELECT id, sealed FROM records WHERE kind = ? ORDER BY rowid", (kind,)).fetchall()
        return [(rid, json.loads(self._open(kind, rid, sealed))) for rid, sealed in rows]
