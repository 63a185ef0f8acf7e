"""The issuer's settings, from the environment (plain ``os.environ``; no extra dependency).

======================  ==============================================================
variable                meaning (default)
======================  ==============================================================
``DATABASE_URL``        SQLite or ``postgresql+psycopg://`` URL (``sqlite:///./.zkcred/issuer.db``)
``ZKCRED_MASTER_KEY``   32 bytes as 64 hex digits or base64/base64url: the AES-256-GCM key
                        that seals every secret at rest. **Required**; missing or malformed
                        is a start-up error, unless dev mode is asked for explicitly.
``ZKCRED_DEV_MODE``     ``1``: if no master key is set, generate one for this process only
                        (secrets written under it are unreadable after a restart). Never
                        the default. The demo passes a generated key instead.
``ZKCRED_LEDGER_URL``   the ledger service (``http://127.0.0.1:8003``)
``ZKCRED_ISSUER_URL``   this service's public URL, written into offers (``http://127.0.0.1:8001``)
``ZKCRED_ISSUER_ID``    the issuer's ledger id, fixed at first start (``issuer-<16 hex of its key>``)
``ZKCRED_ISSUER_NAME``  a display name registered on the ledger (none)
``ZKCRED_OFFER_TTL``    seconds an offer stays valid (604800 = 7 days)
======================  ==============================================================
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_DATABASE_URL = "sqlite:///./.zkcred/issuer.db"
DEFAULT_LEDGER_URL = "http://127.0.0.1:8003"
DEFAULT_PORT = 8001
DEFAULT_ISSUER_URL = f"http://127.0.0.1:{DEFAULT_PORT}"
DEFAULT_OFFER_TTL = 7 * 24 * 3600
MASTER_KEY_ENV = "ZKCRED_MASTER_KEY"


class ConfigError(Exception):
    """A setting is missing or malformed: the service must not start."""


def parse_master_key(text: str) -> bytes:
    """32 bytes from 64 hex digits, or from standard / URL-safe base64 (padded or not)."""
    text = text.strip()
    if len(text) == 64:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    try:
        raw = base64.b64decode(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ConfigError(
            f"{MASTER_KEY_ENV} must be 32 bytes, as 64 hex digits or base64 "
            f"(generate one with: python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    return raw


@dataclass(frozen=True)
class Settings:
    master_key: bytes = field(repr=False)
    database_url: str = DEFAULT_DATABASE_URL
    ledger_url: str = DEFAULT_LEDGER_URL
    issuer_url: str = DEFAULT_ISSUER_URL
    issuer_id: str | None = None
    issuer_name: str | None = None
    offer_ttl_seconds: int = DEFAULT_OFFER_TTL
    dev_mode: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.master_key, bytes) or len(self.master_key) != 32:
            raise ConfigError("the master key is 32 bytes")
        if self.offer_ttl_seconds < 1:
            raise ConfigError("ZKCRED_OFFER_TTL must be a positive number of seconds")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, dev_mode: bool | None = None) -> Settings:
        """Read the environment; raise :class:`ConfigError` with a clear message on a missing master key."""
        env = os.environ if env is None else env
        dev = dev_mode if dev_mode is not None else env.get("ZKCRED_DEV_MODE", "").lower() in ("1", "true", "yes")
        raw_key = env.get(MASTER_KEY_ENV, "").strip()
        if raw_key:
            master_key = parse_master_key(raw_key)
        elif dev:
            master_key = secrets.token_bytes(32)
        else:
            raise ConfigError(
                f"{MASTER_KEY_ENV} is not set: the issuer encrypts its secret keys at rest under it. "
                "Set it to 32 random bytes (64 hex digits), or run in dev mode (--dev / ZKCRED_DEV_MODE=1) "
                "with a throw-away key."
            )
        try:
            ttl = int(env.get("ZKCRED_OFFER_TTL", DEFAULT_OFFER_TTL))
        except ValueError as e:
            raise ConfigError("ZKCRED_OFFER_TTL must be an integer number of seconds") from e
        return cls(
            master_key=master_key,
            database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            ledger_url=env.get("ZKCRED_LEDGER_URL") or DEFAULT_LEDGER_URL,
            issuer_url=(env.get("ZKCRED_ISSUER_URL") or DEFAULT_ISSUER_URL).rstrip("/"),
            issuer_id=env.get("ZKCRED_ISSUER_ID") or None,
            issuer_name=env.get("ZKCRED_ISSUER_NAME") or None,
            offer_ttl_seconds=ttl,
            dev_mode=dev,
        )
