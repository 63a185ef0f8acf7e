"""The witness's settings (:class:`servicekit.settings.CommonSettings`), like every zkcred service's.

Flags > environment > config file (``[witness]`` table) > defaults, and every relative path
resolves against the state directory, never the working directory:

- ``database_url`` (``ZKCRED_WITNESS_DATABASE_URL``, else ``DATABASE_URL``; default
  ``<state dir>/witness.db``): the witness's state per log — it must survive restarts, or
  the witness could be made to cosign a fork of what it cosigned before;
- ``witness_key_file`` (``ZKCRED_WITNESS_KEY_FILE``; default ``<state dir>/witness-key``):
  the 32-byte seed of its cosigning key, created 0600 on first use;
- ``witness_name`` (``ZKCRED_WITNESS_NAME``): the cosigner's key name (default
  ``zkcred.example/witness-<key id>``);
- ``witness_algorithm`` (``ZKCRED_WITNESS_ALGORITHM``): ``ed25519`` (cosignature/v1) or
  ``ml-dsa-44``;
- ``witness_logs_file`` (``ZKCRED_WITNESS_LOGS``): a file of ``log <vkey>`` lines, the logs
  it witnesses (besides ``--log`` flags).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Literal

from servicekit.settings import CommonSettings, ConfigError

__all__ = ["ConfigError", "Settings"]

KEY_NAME = "witness-key"


class Settings(CommonSettings):
    SERVICE: ClassVar[str] = "witness"
    ENV: ClassVar[dict[str, tuple[str, ...]]] = {
        "witness_key_file": ("ZKCRED_WITNESS_KEY_FILE",),
        "witness_name": ("ZKCRED_WITNESS_NAME",),
        "witness_algorithm": ("ZKCRED_WITNESS_ALGORITHM",),
        "witness_logs_file": ("ZKCRED_WITNESS_LOGS",),
    }

    witness_key_file: Path = Path(KEY_NAME)
    witness_name: str | None = None
    witness_algorithm: Literal["ed25519", "ml-dsa-44"] = "ed25519"
    witness_logs_file: Path | None = None

    @classmethod
    def _derive_service(cls, data: dict[str, Any]) -> dict[str, Any]:
        for key, default in (("witness_key_file", KEY_NAME), ("witness_logs_file", None)):
            value = data.get(key) or default
            if value is None:
                continue
            path = Path(os.path.expanduser(str(value)))
            data[key] = path if path.is_absolute() else data["state_dir"] / path
        if isinstance(data.get("witness_algorithm"), str):
            data["witness_algorithm"] = data["witness_algorithm"].strip().lower()
        return data
