"""The verifier's settings, from the environment.

=============================  =====================================================
``DATABASE_URL``               default ``sqlite:///./.zkcred/verifier.db``
``ZKCRED_LEDGER_URL``          the ledger service, e.g. ``http://127.0.0.1:8003`` (required to serve)
``ZKCRED_LEDGER_PUBLIC_KEY``   the ledger's Ed25519 public key, 64 hex digits (pinned; required)
``ZKCRED_LEDGER_POLICY``       a C2SP tlog-policy file: the witness quorum every checkpoint needs (optional;
                               without it the ledger operator is trusted not to show a forked view)
``ZKCRED_LEDGER_MAX_CHECKPOINT_AGE``  seconds: how old the quorum's cosignatures may be (optional)
``ZKCRED_VERIFIER_ID``         this verifier's identity, bound into every proof (default ``zkcred-verifier``)
``ZKCRED_VERIFIER_URL``        public base URL for ``presentation_url``/``request_url``
                               (default: the URL the request came in on)
=============================  =====================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from verifier.db import DEFAULT_DATABASE_URL

DEFAULT_PORT = 8002
DEFAULT_VERIFIER_ID = "zkcred-verifier"


class ConfigError(ValueError):
    """A missing or malformed setting; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    ledger_url: str | None = None
    ledger_public_key: bytes | None = None
    verifier_id: str = DEFAULT_VERIFIER_ID
    public_url: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        key_hex = (environ.get("ZKCRED_LEDGER_PUBLIC_KEY") or "").strip()
        key = None
        if key_hex:
            try:
                key = bytes.fromhex(key_hex)
            except ValueError:
                key = b""
            if len(key) != 32:
                raise ConfigError("ZKCRED_LEDGER_PUBLIC_KEY must be 64 hex digits (an Ed25519 public key)")
        return cls(
            database_url=environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            ledger_url=(environ.get("ZKCRED_LEDGER_URL") or "").strip() or None,
            ledger_public_key=key,
            verifier_id=(environ.get("ZKCRED_VERIFIER_ID") or "").strip() or DEFAULT_VERIFIER_ID,
            public_url=(environ.get("ZKCRED_VERIFIER_URL") or "").strip().rstrip("/") or None,
        )

    def require_ledger(self) -> tuple[str, bytes]:
        if not self.ledger_url:
            raise ConfigError("set ZKCRED_LEDGER_URL to the ledger service (e.g. http://127.0.0.1:8003)")
        if self.ledger_public_key is None:
            raise ConfigError("set ZKCRED_LEDGER_PUBLIC_KEY to the ledger's Ed25519 public key (hex): it is pinned")
        return self.ledger_url, self.ledger_public_key
