"""The verifier's settings: :class:`servicekit.settings.CommonSettings` plus its own.

Every setting is in ``docs/configuration.md``. What the verifier reads:

=============================  ==================================================================
``ZKCRED_LEDGER_URL``          the ledger service (required to serve)
``ZKCRED_LEDGER_PUBLIC_KEY``   the ledger's Ed25519 public key, 64 hex digits, pinned. Default: the
                               key of the ledger whose signing key is in the state directory
``ZKCRED_VERIFIER_NAME``       the display name registered on the ledger and shown by wallets (default: the
                               host of ``verifier_url``; config file ``[verifier] name``)
``ZKCRED_VERIFIER_ORIGINS``    comma-separated web origins registered on the ledger, from which wallets accept
                               this verifier's request documents (default: the origin of ``verifier_url``)
``ZKCRED_VERIFIER_KEY_FILE``   the verifier's Ed25519 signing key (hex seed; default
                               ``<state dir>/verifier-signing-key``, made on first start); or the seed itself
                               in ``ZKCRED_VERIFIER_SIGNING_KEY``. Its id is derived from it (``verifier-<hex>``)
``ZKCRED_VERIFIER_ID``         optional: the id this deployment must have (``verifier-<hex>``); a start with a
                               key of another id is refused
``ZKCRED_LEDGER_POLICY``       a C2SP tlog-policy file: the witness quorum every checkpoint needs (optional;
                               without it the ledger operator is trusted not to show a forked view)
``ZKCRED_LEDGER_MAX_CHECKPOINT_AGE``  seconds: how old the quorum's cosignatures may be (optional)
``ZKCRED_VERIFIER_URL``        public base URL for ``presentation_url``/``request_url``
                               (required outside dev mode; in dev mode ``http://<host>:<port>`` of
                               ``zkcred verifier serve``; never the ``Host`` header of a request)
``ZKCRED_VERIFIER_MAX_ATTEMPTS`` presentations that do not verify a request takes before it is
                               rejected (``too-many-attempts``), 1–1000, default 5 (config file
                               ``[verifier] max_attempts``)
``ZKCRED_VERIFIER_WEBHOOK_HOSTS`` the hosts webhook URLs may name: names, ``*.suffix`` wildcards, IP
                               addresses and networks, comma-separated (default ``localhost,
                               127.0.0.0/8,::1``: loopback only). https is required off loopback
``ZKCRED_VERIFIER_WEBHOOK_MAX_ATTEMPTS`` POSTs of one delivery before it is ``failed`` (default 12)
``ZKCRED_VERIFIER_WEBHOOK_RETRY_BASE``  seconds before the first retry; doubling, jittered (default 5)
``ZKCRED_VERIFIER_WEBHOOK_RETRY_MAX``   the longest wait between two attempts, seconds (default 3600)
``ZKCRED_VERIFIER_WEBHOOK_TIMEOUT``     seconds one POST may take (connect, send, answer; default 10)
=============================  ==================================================================
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, field_validator

from servicekit.settings import CommonSettings, ConfigError

__all__ = [
    "ConfigError",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_PORT",
    "DEFAULT_WEBHOOK_HOSTS",
    "Settings",
]

DEFAULT_PORT = 8002
KEY_FILE_NAME = "verifier-signing-key"
DEFAULT_MAX_ATTEMPTS = 5  # presentations that do not verify a request takes before it is rejected
DEFAULT_WEBHOOK_HOSTS = ("localhost", "127.0.0.0/8", "::1/128")  # loopback only, until the operator names hosts


class Settings(CommonSettings):
    SERVICE: ClassVar[str] = "verifier"
    ENV: ClassVar[dict[str, tuple[str, ...]]] = {
        "verifier_id": ("ZKCRED_VERIFIER_ID",),
        "max_attempts": ("ZKCRED_VERIFIER_MAX_ATTEMPTS",),
        "webhook_hosts": ("ZKCRED_VERIFIER_WEBHOOK_HOSTS",),
        "webhook_max_attempts": ("ZKCRED_VERIFIER_WEBHOOK_MAX_ATTEMPTS",),
        "webhook_retry_base": ("ZKCRED_VERIFIER_WEBHOOK_RETRY_BASE",),
        "webhook_retry_max": ("ZKCRED_VERIFIER_WEBHOOK_RETRY_MAX",),
        "webhook_timeout": ("ZKCRED_VERIFIER_WEBHOOK_TIMEOUT",),
        "name": ("ZKCRED_VERIFIER_NAME",),
        "origins": ("ZKCRED_VERIFIER_ORIGINS",),
        "key_file": ("ZKCRED_VERIFIER_KEY_FILE",),
    }

    verifier_id: str | None = None
    max_attempts: int = Field(default=DEFAULT_MAX_ATTEMPTS, ge=1, le=1000)
    name: str | None = None
    origins: tuple[str, ...] = ()
    key_file: Path = Path(KEY_FILE_NAME)
    # webhooks (verifier.webhooks): where they may go, and the retry schedule
    webhook_hosts: tuple[str, ...] = DEFAULT_WEBHOOK_HOSTS
    webhook_max_attempts: int = Field(default=12, ge=1, le=100)
    webhook_retry_base: float = Field(default=5.0, gt=0, le=86400)
    webhook_retry_max: float = Field(default=3600.0, gt=0, le=7 * 86400)
    webhook_timeout: float = Field(default=10.0, gt=0, le=120)

    @field_validator("webhook_hosts", mode="before")
    @classmethod
    def _hosts(cls, value: Any) -> Any:
        """A comma-separated string (the environment) or a list (the config file); each entry checked."""
        from verifier.webhooks import parse_host_patterns  # the one parser, also used at registration

        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            raise ValueError("a comma-separated list of host names, *.suffix wildcards, IP addresses or networks")
        return parse_host_patterns([str(i) for i in items])

    @classmethod
    def _derive_service(cls, data: dict[str, Any]) -> dict[str, Any]:
        if isinstance(data.get("verifier_id"), str):
            data["verifier_id"] = data["verifier_id"].strip() or None
        if isinstance(data.get("name"), str):
            data["name"] = data["name"].strip() or None
        if isinstance(data.get("origins"), str):
            data["origins"] = tuple(o.strip() for o in data["origins"].split(",") if o.strip())
        path = Path(os.path.expanduser(str(data.get("key_file") or KEY_FILE_NAME)))
        data["key_file"] = path if path.is_absolute() else data["state_dir"] / path
        if "public_url" in data:  # the old keyword
            data.setdefault("verifier_url", data.pop("public_url"))
        return data

    @property
    def public_url(self) -> str | None:
        return self.verifier_url

    def display_name(self) -> str:
        """``name``, else the host of the public URL (what a wallet shows for this verifier)."""
        if self.name:
            return self.name
        from urllib.parse import urlsplit

        return urlsplit(self.verifier_url or "").hostname or "zkcred verifier"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        return cls.load(environ)  # type: ignore[return-value]

    def require_ledger(self) -> tuple[str, bytes]:
        """The ledger URL and the pinned key (the setting, else the ledger key in the state dir)."""
        if not self.ledger_url:
            raise ConfigError(
                "set ZKCRED_LEDGER_URL (or ledger_url in the config file) to the ledger service, "
                "e.g. http://127.0.0.1:8003"
            )
        pinned = self.pinned_ledger_key()
        if pinned is None:
            raise ConfigError(
                f"set ZKCRED_LEDGER_PUBLIC_KEY to the ledger's Ed25519 public key (hex): it is pinned "
                f"(no ledger key in the state directory {self.state_dir} to take it from)"
            )
        return self.ledger_url, pinned[0]
