"""The ledger's settings (:class:`servicekit.settings.CommonSettings`) and its start-up checks.

The ledger's signing key: ``ZKCRED_LEDGER_SIGNING_KEY`` (hex of the 32-byte seed, for
containers and secret managers), else the key file (``ZKCRED_LEDGER_KEY_FILE``, default
``<state dir>/ledger-signing-key``), created with mode 0600 on first use — but only for an
empty log. A ledger refuses to start when its database holds a log signed by another key
(:func:`open_checked`): a new key would silently re-sign someone else's history.
"""

from __future__ import annotations

from typing import ClassVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.exc import SQLAlchemyError

from ledger.entries import public_key_bytes
from ledger.keys import ENV_KEY, load_signing_key
from servicekit.settings import CommonSettings, ConfigError

__all__ = ["ConfigError", "Settings", "open_checked"]


class Settings(CommonSettings):
    SERVICE: ClassVar[str] = "ledger"


def open_checked(settings: Settings, *, create: bool = True):  # type: ignore[no-untyped-def]
    """The ledger's store and signing key, after checking that the key is the one that signed the log.

    Raises :class:`ConfigError` (one line) if the log is signed by another key, or if the
    key file is missing while the log is not empty.
    """
    import os

    from ledger.sql import SqlStore

    try:
        store = SqlStore(settings.database_url)
    except Exception as e:  # an unreachable or unusable database
        raise ConfigError(
            f"cannot open the ledger database {_safe(settings.database_url)}: {type(e).__name__}"
        ) from None
    try:
        head = store.head()
        signed_by = head.tree_head.key if head.tree_head is not None else None
        from_env = bool(os.environ.get(ENV_KEY))
        if not from_env and not settings.ledger_key_file.exists() and head.size > 0:
            raise ConfigError(
                f"the ledger database {_safe(settings.database_url)} holds {head.size} entries signed by "
                f"{signed_by.hex() if signed_by else 'another key'}, but the key file {settings.ledger_key_file} does "
                "not exist: point --state-dir (or ZKCRED_LEDGER_KEY_FILE) at the ledger's key"
            )
        try:
            key: Ed25519PrivateKey = load_signing_key(settings.ledger_key_file)
        except ValueError as e:
            raise ConfigError(f"the ledger key ({ENV_KEY if from_env else settings.ledger_key_file}): {e}") from None
        public = public_key_bytes(key)
        if signed_by is not None and signed_by != public:
            raise ConfigError(
                f"the ledger key changed: the log in {_safe(settings.database_url)} is signed by {signed_by.hex()}, "
                f"this key is {public.hex()} ({ENV_KEY if from_env else settings.ledger_key_file}); "
                "a ledger's key never changes"
            )
    except SQLAlchemyError as e:
        store.close()
        raise ConfigError(
            f"cannot read the ledger database {_safe(settings.database_url)}: {type(e).__name__}"
        ) from None
    except BaseException:
        store.close()
        raise
    return store, key


def _safe(url: str) -> str:
    """A database URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(malformed URL)"
