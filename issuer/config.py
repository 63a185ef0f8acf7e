"""The issuer's settings: :class:`servicekit.settings.CommonSettings` plus its own.

Every setting, its variable, its config-file key and its default is in
``docs/configuration.md``. The issuer's own (config file table ``[issuer]``):

==========================  ====================  ===============================================
variable                    key                   meaning (default)
==========================  ====================  ===============================================
``ZKCRED_MASTER_KEY``       —                     32 bytes as 64 hex digits or base64: the AES-256-GCM
                                                  key sealing every secret at rest. Overrides the
                                                  master key file (``<state dir>/master.key``)
``ZKCRED_ISSUER_ID``        ``issuer_id``         the ledger id, fixed at first start
                                                  (``issuer-<16 hex of its key>``)
``ZKCRED_ISSUER_NAME``      ``issuer_name``       a display name registered on the ledger (none)
``ZKCRED_OFFER_TTL``        ``offer_ttl_seconds`` seconds an offer stays valid (604800 = 7 days)
==========================  ====================  ===============================================

The master key comes from ``ZKCRED_MASTER_KEY``, else from the master key file; without
either the issuer refuses to start, except in dev mode (``--dev`` / ``ZKCRED_DEV_MODE=1``)
where ``zkcred`` persists a key marked as a development key in the state directory (a
``Settings`` built in dev mode with no key at all gets a key for this process only).
"""

from __future__ import annotations

import secrets
from typing import Any, ClassVar

from pydantic import Field

from servicekit.settings import MASTER_KEY_ENV, CommonSettings, ConfigError, parse_master_key, read_key_file

__all__ = [
    "AdminSettings",
    "ConfigError",
    "DEFAULT_ISSUER_URL",
    "DEFAULT_LEDGER_URL",
    "DEFAULT_PORT",
    "MASTER_KEY_ENV",
    "Settings",
    "parse_master_key",
]

DEFAULT_LEDGER_URL = "http://127.0.0.1:8003"
DEFAULT_PORT = 8001
DEFAULT_ISSUER_URL = f"http://127.0.0.1:{DEFAULT_PORT}"
DEFAULT_OFFER_TTL = 7 * 24 * 3600


class Settings(CommonSettings):
    SERVICE: ClassVar[str] = "issuer"
    ENV: ClassVar[dict[str, tuple[str, ...]]] = {
        "master_key": (MASTER_KEY_ENV,),
        "issuer_id": ("ZKCRED_ISSUER_ID",),
        "issuer_name": ("ZKCRED_ISSUER_NAME",),
        "offer_ttl_seconds": ("ZKCRED_OFFER_TTL",),
    }

    master_key: bytes = Field(repr=False)
    issuer_id: str | None = None
    issuer_name: str | None = None
    offer_ttl_seconds: int = Field(default=DEFAULT_OFFER_TTL, ge=1)

    @classmethod
    def _derive_service(cls, data: dict[str, Any]) -> dict[str, Any]:
        key = data.get("master_key")
        if isinstance(key, str):
            data["master_key"] = parse_master_key(key)
        elif key is None:
            path = data["master_key_file"]
            if path.exists():
                text, _ = read_key_file(path)
                data["master_key"] = parse_master_key(text, where=f"the master key file {path}")
            elif str(data.get("dev_mode", "")).lower() in ("1", "true", "yes", "on"):
                data["master_key"] = secrets.token_bytes(32)  # this process only; zkcred --dev persists one
            else:
                raise ConfigError(
                    f"{MASTER_KEY_ENV} is not set and there is no master key file {path}: the issuer encrypts "
                    "its secret keys at rest under it. Run `zkcred init` (or set it to 64 hex digits), "
                    "or use --dev for a development key."
                )
        elif not isinstance(key, bytes) or len(key) != 32:
            raise ConfigError("the master key is 32 bytes")
        for name in ("issuer_id", "issuer_name"):
            if isinstance(data.get(name), str):
                data[name] = data[name].strip() or None
        return data

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, *, dev_mode: bool | None = None) -> Settings:
        """The settings from the environment and the config file (:meth:`CommonSettings.load`)."""
        return cls.load(env, dev_mode=dev_mode)  # type: ignore[return-value]


class AdminSettings(Settings):
    """The issuer's settings for commands that touch only its tables (admin tokens): no master key needed."""

    master_key: bytes | None = Field(None, repr=False)  # type: ignore[assignment]

    @classmethod
    def _derive_service(cls, data: dict[str, Any]) -> dict[str, Any]:
        data.setdefault("master_key", None)
        if isinstance(data["master_key"], str):
            data["master_key"] = None  # not needed here; the service checks it
        return data
