"""One configuration for the three services: environment variables, a TOML file, one state directory.

Every service's ``Settings`` (``issuer.config``, ``verifier.config``, ``ledger.config``)
builds on :class:`CommonSettings`. Values come from, highest first:

1. keyword arguments (command-line flags; tests build settings directly),
2. environment variables (each field lists its names in ``ENV``; the old names keep working),
3. the config file: ``--config`` / ``ZKCRED_CONFIG``, else ``<state dir>/zkcred.toml`` if it
   exists. Common settings are top-level keys; a service's own settings go in its table
   (``[issuer]``, ``[verifier]``, ``[ledger]``). An unknown key is an error, not ignored,
4. defaults derived from the state directory.

Only :meth:`CommonSettings.load` reads the environment and the file: ``Settings(**values)``
takes exactly what it is given plus defaults, so tests stay hermetic.

**The state directory** (``--state-dir`` / ``ZKCRED_STATE_DIR``; default
``$XDG_STATE_HOME/zkcred``, else ``~/.local/state/zkcred``) is always resolved to an absolute
path, never taken from the current directory implicitly. Relative paths in any setting
(key files, ``sqlite:///relative.db``) are relative to it; ``state_dir`` itself, when it is
relative, is relative to the current directory (a flag or variable) or to the config file.

Layout, written by ``zkcred init`` (and the services on first start)::

    <state dir>/zkcred.toml          the public URLs (and anything else you configure)
    <state dir>/master.key           the issuer's master key, 64 hex digits, mode 0600
    <state dir>/ledger-signing-key   the ledger's Ed25519 seed, mode 0600
    <state dir>/{ledger,issuer,verifier}.db   SQLite, unless a database URL says otherwise

The whole table of settings, with defaults, is ``docs/configuration.md``.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import PrivateAttr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

CONFIG_NAME = "zkcred.toml"
MASTER_KEY_NAME = "master.key"
LEDGER_KEY_NAME = "ledger-signing-key"
MASTER_KEY_ENV = "ZKCRED_MASTER_KEY"
#: The first line of a development master key file: the key works, but says loudly what it is.
DEV_KEY_MARKER = "# zkcred DEVELOPMENT master key (zkcred --dev): never use it for real credentials"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
SERVICES = ("issuer", "verifier", "ledger", "witness")
#: Settings never read from a config file (secrets: their own 0600 file or the environment)
SECRET_FIELDS = frozenset({"master_key"})


class ConfigError(ValueError):
    """A missing or malformed setting, or state that does not fit it: the service must not start.

    The message is one line and names the setting (its variable or file) involved.
    """


def default_state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_STATE_HOME/zkcred``, else ``~/.local/state/zkcred`` (absolute)."""
    environ = os.environ if environ is None else environ
    xdg = (environ.get("XDG_STATE_HOME") or "").strip()
    if xdg and Path(xdg).is_absolute():  # the XDG spec: relative values are ignored
        return Path(xdg) / "zkcred"
    home = (environ.get("HOME") or "").strip() or str(Path.home())
    return Path(home) / ".local" / "state" / "zkcred"


def current_state_dir() -> Path:
    """``ZKCRED_STATE_DIR`` (absolute), else :func:`default_state_dir`: for fallbacks that have no settings at hand."""
    explicit = (os.environ.get("ZKCRED_STATE_DIR") or "").strip()
    return Path(os.path.expanduser(explicit)).absolute() if explicit else default_state_dir()


def parse_master_key(text: str, *, where: str = MASTER_KEY_ENV) -> bytes:
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
            f"{where} must be 32 bytes, as 64 hex digits or base64 "
            f"(generate one with: python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    return raw


@dataclass(frozen=True)
class MasterKey:
    key: bytes = field(repr=False)
    source: str  # "ZKCRED_MASTER_KEY" or the file's path
    dev: bool  # a development key (its file carries DEV_KEY_MARKER)


def read_key_file(path: Path) -> tuple[str, bool]:
    """The key text of a key file (comment lines skipped) and whether it is marked as a dev key."""
    try:
        text = path.read_text()
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror or e}") from None
    lines = [line.strip() for line in text.splitlines()]
    body = [line for line in lines if line and not line.startswith("#")]
    return (body[0] if len(body) == 1 else ""), DEV_KEY_MARKER in lines


def write_secret_file(path: Path, text: str) -> None:
    """Create ``path`` with mode 0600, atomically: readers see no file or the whole of it, and an
    existing file is never overwritten (``FileExistsError``). The directory is created 0700."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.link(tmp, path)  # fails if path exists: first writer wins
    finally:
        tmp.unlink(missing_ok=True)


def create_master_key_file(path: Path, *, dev: bool = False) -> None:
    header = (
        DEV_KEY_MARKER if dev else "# zkcred master key: seals the issuer's secret keys. Keep it secret, back it up."
    )
    header += "\n"
    write_secret_file(path, header + secrets.token_bytes(32).hex() + "\n")


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///…`` URL (None for other databases and ``:memory:``)."""
    if not url.startswith("sqlite"):
        return None
    rest = url.split("///", 1)[1] if "///" in url else ""
    rest = rest.split("?", 1)[0]
    if not rest or rest == ":memory:":
        return None
    return Path(rest)


def _absolute_sqlite(url: str, base: Path) -> str:
    path = sqlite_path(url)
    if path is None or path.is_absolute():
        return url
    scheme, rest = url.split("///", 1)
    query = "?" + rest.split("?", 1)[1] if "?" in rest else ""
    return f"{scheme}///{base / path}{query}"


# ---------------------------------------------------------------- sources


@dataclass
class _Load:
    environ: Mapping[str, str]
    file_values: dict[str, Any]
    file_path: Path | None
    origins: dict[str, str] = field(default_factory=dict)


_LOADING: ContextVar[_Load | None] = ContextVar("zkcred_settings_load", default=None)


class _EnvSource(PydanticBaseSettingsSource):
    """Each field from the first of its ``ENV`` names that is set (and not empty)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        load = _LOADING.get()
        if load is None:
            return {}
        out: dict[str, Any] = {}
        cls = self.settings_cls
        if not issubclass(cls, CommonSettings):  # only CommonSettings installs this source
            raise TypeError(f"{cls.__name__} is not a zkcred settings class")
        for name in cls.model_fields:
            for var in cls.env_names(name):
                value = load.environ.get(var)
                if value is not None and value.strip() != "":
                    out[name] = value.strip()
                    load.origins.setdefault(name, f"environment {var}")
                    break
        return out


class _FileSource(PydanticBaseSettingsSource):
    """Top-level keys of the config file, then the service's own table."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        load = _LOADING.get()
        if load is None or load.file_path is None:
            return {}
        out = {k: v for k, v in load.file_values.items() if k in self.settings_cls.model_fields}
        for k in out:
            load.origins.setdefault(k, f"{load.file_path}")
        return out


# ---------------------------------------------------------------- settings


class CommonSettings(BaseSettings):
    """What every service reads: where its state is, the public URLs, its database, logging, dev mode."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", validate_default=False)

    #: "issuer", "verifier", "ledger" (or "" for the common part alone, as ``zkcred check`` reads it)
    SERVICE: ClassVar[str] = ""
    #: field -> environment variables, first set wins (subclasses add theirs)
    ENV: ClassVar[dict[str, tuple[str, ...]]] = {
        "state_dir": ("ZKCRED_STATE_DIR",),
        "master_key_file": ("ZKCRED_MASTER_KEY_FILE",),
        "issuer_url": ("ZKCRED_ISSUER_URL",),
        "verifier_url": ("ZKCRED_VERIFIER_URL",),
        "ledger_url": ("ZKCRED_LEDGER_URL",),
        "ledger_public_key": ("ZKCRED_LEDGER_PUBLIC_KEY",),
        "ledger_key_file": ("ZKCRED_LEDGER_KEY_FILE",),
        "log_level": ("ZKCRED_LOG_LEVEL",),
        "dev_mode": ("ZKCRED_DEV_MODE", "ZKCRED_DEV"),
    }

    state_dir: Path = Path()
    config_file: Path | None = None
    master_key_file: Path = Path(MASTER_KEY_NAME)
    issuer_url: str | None = None
    verifier_url: str | None = None
    ledger_url: str | None = None
    ledger_public_key: bytes | None = None
    ledger_key_file: Path = Path(LEDGER_KEY_NAME)
    database_url: str = ""
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    dev_mode: bool = False
    _origins: dict[str, str] = PrivateAttr(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, _EnvSource(settings_cls), _FileSource(settings_cls))

    @classmethod
    def env_names(cls, name: str) -> tuple[str, ...]:
        if name == "database_url":
            own = (f"ZKCRED_{cls.SERVICE.upper()}_DATABASE_URL",) if cls.SERVICE else ()
            return (*own, "DATABASE_URL") if cls.SERVICE else ()
        for klass in cls.__mro__:
            names = getattr(klass, "ENV", {}).get(name)
            if names:
                return names
        return ()

    # ------------------------------------------------------------ derived defaults and checks

    @model_validator(mode="before")
    @classmethod
    def _derive(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        state = data.get("state_dir")
        state = Path(os.path.expanduser(str(state))) if state not in (None, "") else default_state_dir()
        state = state if state.is_absolute() else Path.cwd() / state
        data["state_dir"] = Path(os.path.normpath(state))
        for key, default in (("master_key_file", MASTER_KEY_NAME), ("ledger_key_file", LEDGER_KEY_NAME)):
            value = data.get(key) or default
            path = Path(os.path.expanduser(str(value)))
            data[key] = path if path.is_absolute() else data["state_dir"] / path
        if cls.SERVICE:
            url = data.get("database_url") or f"sqlite:///{cls.SERVICE}.db"
            data["database_url"] = _absolute_sqlite(str(url).strip(), data["state_dir"])
        for key in ("issuer_url", "verifier_url", "ledger_url"):
            if isinstance(data.get(key), str):
                data[key] = data[key].strip().rstrip("/") or None
        if isinstance(data.get("log_level"), str):
            data["log_level"] = data["log_level"].strip().lower()
        return cls._derive_service(data)

    @classmethod
    def _derive_service(cls, data: dict[str, Any]) -> dict[str, Any]:
        """A service's own derived values (raise ``ConfigError`` for a whole-settings problem)."""
        return data

    @field_validator("issuer_url", "verifier_url", "ledger_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL")
        try:
            parts.port  # noqa: B018 - raises on a malformed port
        except ValueError:
            raise ValueError("has a malformed port") from None
        return value

    @field_validator("ledger_public_key", mode="before")
    @classmethod
    def _ledger_key(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = bytes.fromhex(value.strip())
            except ValueError:
                value = b""
            if len(value) != 32:
                raise ValueError("must be 64 hex digits (an Ed25519 public key)")
        return value

    @field_validator("dev_mode", mode="before")
    @classmethod
    def _bool(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        return value

    # ------------------------------------------------------------ loading

    @classmethod
    def load(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        config_file: str | os.PathLike[str] | None = None,
        **overrides: Any,
    ) -> CommonSettings:
        """Settings from ``overrides`` (flags; None means not given), the environment and the config file.

        Raises :class:`ConfigError` (one line, naming the setting and where it came from).
        """
        environ = os.environ if environ is None else environ
        overrides = {k: v for k, v in overrides.items() if v is not None}
        origins = {k: "command line" for k in overrides}
        explicit = config_file or (environ.get("ZKCRED_CONFIG") or "").strip() or None
        file_path: Path | None = None
        top: dict[str, Any] = {}
        table: dict[str, Any] = {}
        if explicit:
            file_path = Path(os.path.expanduser(str(explicit))).absolute()
            if not file_path.is_file():
                via = "--config" if config_file else "ZKCRED_CONFIG"
                raise ConfigError(f"config file {file_path} ({via}) does not exist")
            top, table = _read_config(file_path, cls)
        state = overrides.get("state_dir") or (environ.get("ZKCRED_STATE_DIR") or "").strip() or None
        if state is None and "state_dir" in top:
            state = file_path.parent / Path(os.path.expanduser(str(top["state_dir"])))  # type: ignore[union-attr]
            origins["state_dir"] = str(file_path)
        elif state is not None:
            origins.setdefault("state_dir", "environment ZKCRED_STATE_DIR")
        state_dir = Path(os.path.expanduser(str(state))).absolute() if state else default_state_dir(environ)
        if file_path is None and (state_dir / CONFIG_NAME).is_file():
            file_path = state_dir / CONFIG_NAME
            top, table = _read_config(file_path, cls)
        values = {**top, **table}
        values.pop("state_dir", None)
        token = _LOADING.set(_Load(environ=environ, file_values=values, file_path=file_path, origins=origins))
        try:
            settings = cls(**{**overrides, "state_dir": state_dir, "config_file": file_path})
        except ValidationError as e:
            raise ConfigError(_one_line(e, cls, origins)) from None
        finally:
            _LOADING.reset(token)
        settings._origins.update(origins)
        return settings

    def origin(self, name: str) -> str:
        """Where a setting came from: ``command line``, ``environment VAR``, the config file, or ``default``."""
        return self._origins.get(name, "default")

    def is_set(self, name: str) -> bool:
        return self.origin(name) != "default"

    # ------------------------------------------------------------ what the services read

    def read_master_key(self, environ: Mapping[str, str] | None = None) -> MasterKey | None:
        """``ZKCRED_MASTER_KEY`` if set, else the master key file; None if neither exists."""
        environ = os.environ if environ is None else environ
        raw = (environ.get(MASTER_KEY_ENV) or "").strip()
        if raw:
            return MasterKey(parse_master_key(raw), MASTER_KEY_ENV, dev=False)
        path = self.master_key_file
        if not path.exists():
            return None
        text, dev = read_key_file(path)
        return MasterKey(parse_master_key(text, where=f"the master key file {path}"), str(path), dev=dev)

    def pinned_ledger_key(self) -> tuple[bytes, str] | None:
        """The ledger's public key to pin and where it came from.

        The setting, else the ledger's key in the state dir.
        """
        if self.ledger_public_key is not None:
            return self.ledger_public_key, self.origin("ledger_public_key")
        path = self.ledger_key_file
        if path.exists():
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

            text, _ = read_key_file(path)
            try:
                seed = bytes.fromhex(text)
                key = Ed25519PrivateKey.from_private_bytes(seed)
            except ValueError:
                raise ConfigError(f"the ledger key file {path} is not 64 hex digits (a 32-byte Ed25519 seed)") from None
            return key.public_key().public_bytes_raw(), str(path)
        return None


def _read_config(path: Path, cls: type[CommonSettings]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(top-level values, the service's table) of a TOML config file; unknown keys are errors."""
    try:
        data = tomllib.loads(path.read_text())
    except OSError as e:
        raise ConfigError(f"cannot read the config file {path}: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {path} is not valid TOML: {e}") from None
    common = set(CommonSettings.model_fields) - {"config_file", "database_url"}
    top = {}
    for key, value in data.items():
        if key in SERVICES:
            if not isinstance(value, dict):
                raise ConfigError(f"config file {path}: [{key}] must be a table")
            continue
        if key not in common:
            raise ConfigError(f"config file {path}: unknown setting {key!r} (see docs/configuration.md)")
        top[key] = value
    table = data.get(cls.SERVICE, {}) if cls.SERVICE else {}
    own = set(cls.model_fields) - common - {"config_file"}
    for key in table:
        if key in SECRET_FIELDS:
            raise ConfigError(
                f"config file {path}: {key!r} does not belong in a config file (a secret); "
                "use the master key file or the environment"
            )
        if key not in own:
            raise ConfigError(
                f"config file {path}: unknown setting {key!r} in [{cls.SERVICE}] (see docs/configuration.md)"
            )
    return top, dict(table)


def _one_line(error: ValidationError, cls: type[CommonSettings], origins: Mapping[str, str]) -> str:
    first = error.errors()[0]
    name = str(first["loc"][0]) if first.get("loc") else "settings"
    where = origins.get(name)
    if where is None:
        names = cls.env_names(name)
        where = names[0] if names else name
    msg = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    if not first.get("loc"):
        return msg
    return f"invalid setting {name} ({where}): {msg}"
