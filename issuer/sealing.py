"""Secrets at rest: AES-256-GCM under the master key, each ciphertext bound to where it lives.

``seal(plaintext, purpose)`` → ``0x01 || nonce (12) || ciphertext || tag (16)``. The
associated data is ``SEAL_LABEL || purpose``, where ``purpose`` names the table, the
column and the row (``b"credential_definitions/bbs_secret_key/creddef:…"``). So a
ciphertext copied into another row or column fails to open (InvalidTag), and a database
dump without the key reveals nothing but lengths.

Nonces are 96 random bits per seal (NIST SP 800-38D §8.2.2): an issuer seals a few
values per object, far below the 2^32 messages per key where random nonces start to
matter. The master key comes from the environment, never from the database; a wrong
key is detected at start-up by opening the issuer's own sealed ledger key.

Hashes of bearer tokens (admin tokens, offer tokens) are plain SHA-256: the tokens are
256-bit random strings, so a slow password hash would add nothing but latency.
"""

from __future__ import annotations

import hashlib
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SEAL_VERSION = b"\x01"
SEAL_LABEL = b"zkcred/issuer/seal/v1\x00"
NONCE_BYTES = 12


class UnsealError(Exception):
    """A sealed value does not open under this master key for this purpose."""


class Sealer:
    """AES-256-GCM with per-value random nonces and purpose-bound associated data."""

    __slots__ = ("_aead",)

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ValueError("the master key is 32 bytes")
        self._aead = AESGCM(master_key)

    def __repr__(self) -> str:
        return "Sealer(<master key>)"

    def seal(self, plaintext: bytes, purpose: str) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return SEAL_VERSION + nonce + self._aead.encrypt(nonce, plaintext, SEAL_LABEL + purpose.encode())

    def open(self, sealed: bytes, purpose: str) -> bytes:
        sealed = bytes(sealed)
        if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[:1] != SEAL_VERSION:
            raise UnsealError(f"{purpose}: not a sealed value")
        nonce, body = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, body, SEAL_LABEL + purpose.encode())
        except InvalidTag as e:
            raise UnsealError(f"{purpose}: does not open under this master key") from e


def token_hash(token: str) -> str:
    """SHA-256 (hex) of a bearer token, as stored and looked up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token(prefix: str) -> str:
    """A bearer token: a short type prefix and 256 random bits (base64url)."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"
