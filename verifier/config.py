"""The verifier's settings: :class:`servicekit.settings.CommonSettings` plus its own.

Every setting is in ``docs/configuration.md``. What the verifier reads:

=============================  ==================================================================
``ZKCRED_LEDGER_URL``          the ledger service (required to serve)
``ZKCRED_LEDGER_PUBLIC_KEY``   the ledger's Ed25519 public key, 64 hex digits, pinned. Default: the
                               key of the ledger whose signing key is in the state directory
``ZKCRED_VERIFIER_ID``         this verifier's identity, bound into every proof (``zkcred-verifier``;
                               config file ``[verifier] verifier_id``)
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

from typing import Any, ClassVar

from pydantic import Field, field_validator

from servicekit.settings import CommonSettings, ConfigError

__all__ = [
    "ConfigError",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_PORT",
    "DEFAULT_VERIFIER_ID",
    "DEFAULT_WEBHOOK_HOSTS",
    "Settings",
]

DEFAULT_PORT = 8002
DEFAULT_VERIFIER_ID = "zkcred-verifier"
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
    }

    verifier_id: str = DEFAULT_VERIFIER_ID
    max_attempts: int = Field(default=DEFAULT_MAX_ATTEMPTS, ge=1, le=1000)
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
            data["verifier_id"] = data["verifier_id"].strip() or DEFAULT_VERIFIER_ID
        if "public_url" in data:  # the old keyword
            data.setdefault("verifier_url", data.pop("public_url"))
        return data

    @property
    def public_url(self) -> str | None:
        return self.verifier_url

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
