"""The ledger's own Ed25519 signing key: where it comes from, and how it is kept.

Order: ``ZKCRED_LEDGER_SIGNING_KEY`` (hex of the 32-byte seed; for containers and secret
managers), else the key file (``ZKCRED_LEDGER_KEY_FILE``, default
``./.zkcred/ledger-signing-key``), created with mode 0600 from ``secrets`` on first use.
Only the public key is ever printed or logged.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.constants import DEFAULT_KEY_FILE

ENV_KEY = "ZKCRED_LEDGER_SIGNING_KEY"
ENV_KEY_FILE = "ZKCRED_LEDGER_KEY_FILE"


def signing_key_from_seed(seed: bytes) -> Ed25519PrivateKey:
    if len(seed) != 32:
        raise ValueError("an Ed25519 seed is 32 bytes")
    return Ed25519PrivateKey.from_private_bytes(seed)


def load_signing_key(key_file: str | os.PathLike[str] | None = None) -> Ed25519PrivateKey:
    """The ledger key from the environment or the key file (created if missing)."""
    from_env = os.environ.get(ENV_KEY)
    if from_env:
        try:
            return signing_key_from_seed(bytes.fromhex(from_env.strip()))
        except ValueError as e:
            raise ValueError(f"{ENV_KEY} must be 64 hex digits (a 32-byte Ed25519 seed)") from e
    return key_from_file(key_file or os.environ.get(ENV_KEY_FILE) or DEFAULT_KEY_FILE)


def key_from_file(key_file: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """An Ed25519 key kept as the hex of its seed in ``key_file`` (created with mode 0600 if missing)."""
    path = Path(key_file)
    if path.exists():
        return signing_key_from_seed(bytes.fromhex(path.read_text().strip()))
    path.parent.mkdir(parents=True, exist_ok=True)
    seed = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(seed.hex() + "\n")
    return signing_key_from_seed(seed)
