"""The ledger's own Ed25519 signing key: where it comes from, and how it is kept.

Order: ``ZKCRED_LEDGER_SIGNING_KEY`` (hex of the 32-byte seed; for containers and secret
managers), else the key file (``ZKCRED_LEDGER_KEY_FILE``, default
``<state dir>/ledger-signing-key``, see ``ledger.config``), created with mode 0600 from
``secrets`` on first use.
Only the public key is ever printed or logged.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.constants import DEFAULT_KEY_FILE
from servicekit.settings import write_secret_file

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
        lines = [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
        try:
            return signing_key_from_seed(bytes.fromhex(lines[0] if len(lines) == 1 else ""))
        except ValueError:
            raise ValueError(f"{path} must hold 64 hex digits (a 32-byte Ed25519 seed)") from None
    seed = secrets.token_bytes(32)
    try:
        write_secret_file(path, seed.hex() + "\n")  # atomic: no reader ever sees a half-written key
    except FileExistsError:  # another process made it first: use theirs
        return load_signing_key(path)
    return signing_key_from_seed(seed)
