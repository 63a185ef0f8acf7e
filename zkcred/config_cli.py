"""``zkcred init`` and ``zkcred check``, and the configuration helpers every service command shares.

``zkcred init`` makes the state directory: the master key (``master.key``, 0600) and the
config file (``zkcred.toml``) with the public URLs; ``zkcred check`` loads the configuration
the services would load and says what it found. Settings: ``servicekit.settings`` and
``docs/configuration.md``.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from servicekit.settings import (
    CONFIG_NAME,
    MASTER_KEY_ENV,
    CommonSettings,
    ConfigError,
    create_master_key_file,
    default_state_dir,
    sqlite_path,
)

err = Console(stderr=True, soft_wrap=True, highlight=False)
S = TypeVar("S", bound=CommonSettings)

DEFAULT_URLS = {
    "issuer_url": "http://127.0.0.1:8001",
    "verifier_url": "http://127.0.0.1:8002",
    "ledger_url": "http://127.0.0.1:8003",
}
LOOPBACK = ("127.0.0.1", "localhost", "::1")

StateDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        help="The state directory (env ZKCRED_STATE_DIR; default $XDG_STATE_HOME/zkcred or ~/.local/state/zkcred).",
        show_default=False,
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", help="A TOML config file (env ZKCRED_CONFIG; default <state dir>/zkcred.toml).", show_default=False
    ),
]


def fail(message: str, code: int = 2) -> None:
    """One line on stderr and a non-zero exit."""
    err.print(f"[bold red]error[/]: {message}")
    raise typer.Exit(code)


def load(
    cls: type[S], state_dir: Path | None = None, config: Path | None = None, *, exit_code: int = 2, **overrides: Any
) -> S:
    """``cls.load`` or one line and exit ``exit_code``."""
    try:
        return cls.load(config_file=config, state_dir=state_dir, **overrides)  # type: ignore[return-value]
    except ConfigError as e:
        fail(str(e), exit_code)
    raise AssertionError  # unreachable


def child_environment(settings: CommonSettings) -> dict[str, str]:
    """What a service's worker processes need to load the same settings (they re-read env + file)."""
    env = {"ZKCRED_STATE_DIR": str(settings.state_dir)}
    if settings.config_file is not None:
        env["ZKCRED_CONFIG"] = str(settings.config_file)
    if settings.dev_mode:
        env["ZKCRED_DEV_MODE"] = "1"
    return env


def effective_log_level(flag: str, settings: CommonSettings) -> str:
    """``--log-level`` (or ``ZKCRED_LOG_LEVEL``) when it names a level other than the default, else the
    configured ``log_level`` (the config file's, when neither flag nor variable is set)."""
    return flag if flag != "info" else settings.log_level


def listen_port(url: str | None, default: int) -> int:
    """The port of a loopback public URL (``zkcred serve`` listens where it says), else ``default``."""
    if not url:
        return default
    parts = urlsplit(url)
    return parts.port if parts.hostname in LOOPBACK and parts.port else default


def database_error(what: str, url: str, error: Exception) -> str:
    """One line for a database that cannot be used (no password, no driver noise: the driver's own reason only)."""
    from zkcred.errors import one_line

    orig = getattr(error, "orig", None)  # SQLAlchemy's wrapper: the driver's message, without SQL or links
    reason = one_line(str(orig)) if orig is not None and str(orig).strip() else type(error).__name__
    return (
        f"cannot use the {what} database {_redact(url)}: {reason}; check --database-url, "
        f"ZKCRED_{what.upper()}_DATABASE_URL or the config file"
    )


def warn_listen(name: str, url: str | None, port: int, origin: str) -> None:
    """Say so when a loopback public URL is not where this service listens (what it hands out would not answer)."""
    if not url:
        return
    parts = urlsplit(url)
    if parts.hostname in LOOPBACK and (parts.port or 80) != port:
        err.print(
            f"[bold yellow]warning[/]: {name} {url} (from {origin}) is not where this service listens "
            f"(port {port}); it hands out the configured URL"
        )


def require_database(url: str, what: str, origin: str, exit_code: int = 2) -> None:
    """Refuse a SQLite database that does not exist (an admin command must not create an empty one)."""
    path = sqlite_path(url)
    if path is not None and not path.is_file():
        fail(
            f"no {what} database at {path} (from {origin}): start the {what} once (`zkcred serve`) to create it, "
            "or give the right --state-dir / --database-url",
            exit_code,
        )


def warn_dev_key(settings: CommonSettings) -> None:
    try:
        key = settings.read_master_key()
    except ConfigError:
        return
    if key is not None and key.dev:
        err.print(
            f"[bold yellow]DEVELOPMENT master key[/] ({key.source}): fine for trying zkcred, never for real credentials"
        )


def open_issuer(settings: Any, ledger_url: str | None = None) -> str:
    """The issuer's start-up check, once before any worker starts: a master key file only its owner
    can read, the tables, the identity, and that the master key opens it. Returns the issuer id;
    raises ``ConfigError`` (one line) otherwise."""
    from issuer import db

    key = settings.read_master_key()
    if key is not None and key.source != MASTER_KEY_ENV and stat.S_IMODE(Path(key.source).stat().st_mode) & 0o077:
        raise ConfigError(
            f"the master key file {key.source} is readable by others ({_mode(Path(key.source))}): chmod 600 it"
        )
    from issuer.publisher import HttpPublisher
    from issuer.service import IssuerService
    from ledger.client import LedgerClient

    engine = db.make_engine(settings.database_url)
    publisher = HttpPublisher(LedgerClient(ledger_url or settings.ledger_url or DEFAULT_URLS["ledger_url"]))
    try:  # no registration, no delivery: the ledger may not be up yet; the workers do both
        service = IssuerService.open(
            settings=settings, engine=engine, register=False, deliver=False, publisher=publisher
        )
        return service.issuer_id
    except SQLAlchemyError as e:
        raise ConfigError(
            f"cannot open the issuer database {_redact(settings.database_url)}: {type(e).__name__}"
        ) from None
    except ConfigError as e:
        if "does not open" not in str(e):
            raise
        key = settings.read_master_key()
        source = key.source if key is not None else "the settings"
        raise ConfigError(
            f"the master key (from {source}) does not open the issuer database "
            f"{_redact(settings.database_url)}: it is not the key the database was created with"
        ) from None
    finally:
        engine.dispose()


def _check_verifier_key(settings: Any, note: Any, out: dict[str, Any]) -> None:
    """The verifier's id, when its key exists (never made here: the first ``serve`` makes it)."""
    from verifier.identity import ENV_KEY, load_key

    if not (os.environ.get(ENV_KEY) or settings.key_file.is_file()):
        note("ok", f"verifier signing key: made at first start in {settings.key_file} (its id: verifier-<hex>)")
        return
    try:
        from ledger.entries import public_key_bytes, verifier_id_of

        out["verifier_id"] = verifier_id_of(public_key_bytes(load_key(settings.key_file)))
    except ConfigError as e:
        note("error", f"verifier signing key: {e}")
        return
    note("ok", f"verifier id {out['verifier_id']} (key {ENV_KEY if os.environ.get(ENV_KEY) else settings.key_file})")


def open_verifier(settings: Any) -> tuple[str, bytes]:
    """The verifier's start-up check: its tables, and the pinned ledger key against the one it was set up with."""
    from verifier.db import check_pinned_ledger_key, init_db, make_engine

    ledger, key = settings.require_ledger()
    engine = make_engine(settings.database_url)
    try:
        init_db(engine)
        check_pinned_ledger_key(engine, key)
    except SQLAlchemyError as e:
        raise ConfigError(
            f"cannot open the verifier database {_redact(settings.database_url)}: {type(e).__name__}"
        ) from None
    finally:
        engine.dispose()
    return ledger, key


# ---------------------------------------------------------------- init


def _toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def initialise(state_dir: Path, *, dev: bool, urls: dict[str, str]) -> list[str]:
    """Create the state directory, its master key and config file; return what was made (refuses to overwrite)."""
    config = state_dir / CONFIG_NAME
    key = state_dir / "master.key"
    for existing in (config, key):
        if existing.exists():
            raise ConfigError(f"{state_dir} is already initialised ({existing} exists); not overwriting it")
    made = []
    if not state_dir.exists():
        state_dir.mkdir(mode=0o700, parents=True)
        made.append(f"{state_dir}/  the state directory (mode 0700)")
    if not os.environ.get(MASTER_KEY_ENV):
        create_master_key_file(key, dev=dev)
        made.append(f"{key}  the {'DEVELOPMENT ' if dev else ''}master key (mode 0600){'' if dev else ' — back it up'}")
    lines = [
        "# zkcred configuration, written by `zkcred init`. Every setting: docs/configuration.md",
        "# The public URLs: what holders and lenders are given (`zkcred serve` listens on their ports).",
        *(f"{name} = {_toml_string(url)}" for name, url in urls.items()),
    ]
    if dev:
        lines += [
            "# A development setup: a development master key; URLs default to the ports in use.",
            "dev_mode = true",
        ]
    config.write_text("\n".join(lines) + "\n")
    made.append(
        f"{config}  the configuration: "
        + (", ".join(f"{k} {v}" for k, v in urls.items()) if urls else "development mode, URLs from the ports in use")
    )
    return made


def init(
    state_dir: StateDirOpt = None,
    dev: Annotated[
        bool, typer.Option("--dev", help="A development setup: the master key is marked as a dev key.")
    ] = False,
    issuer_url: Annotated[
        str | None,
        typer.Option(
            help="The issuer's public URL (env ZKCRED_ISSUER_URL; http://127.0.0.1:8001).", show_default=False
        ),
    ] = None,
    verifier_url: Annotated[
        str | None,
        typer.Option(
            help="The verifier's public URL (env ZKCRED_VERIFIER_URL; http://127.0.0.1:8002).", show_default=False
        ),
    ] = None,
    ledger_url: Annotated[
        str | None,
        typer.Option(help="The ledger's URL (env ZKCRED_LEDGER_URL; http://127.0.0.1:8003).", show_default=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {state_dir, created} as JSON.")] = False,
) -> None:
    """Create the state directory: a master key (0600) and a config file with the public URLs."""
    given = {"issuer_url": issuer_url, "verifier_url": verifier_url, "ledger_url": ledger_url}
    try:
        # the URLs: flags, else the environment, else loopback defaults — validated as the services will
        settings = CommonSettings.load(
            {k: v for k, v in os.environ.items() if k != "ZKCRED_CONFIG"}, state_dir=state_dir, **given
        )
        urls = {k: getattr(settings, k) or DEFAULT_URLS[k] for k in DEFAULT_URLS}
        made = initialise(settings.state_dir, dev=dev, urls=urls)
    except ConfigError as e:
        fail(str(e))
    except OSError as e:
        fail(f"cannot create {e.filename or 'the state directory'}: {e.strerror or e}")
    if as_json:
        typer.echo(json.dumps({"state_dir": str(settings.state_dir), "created": made}))
        return
    for line in made:
        typer.echo(f"created {line}")
    if os.environ.get(MASTER_KEY_ENV):
        typer.echo(f"no master key file: {MASTER_KEY_ENV} is set and the services will use it")
    if settings.state_dir != default_state_dir() and not os.environ.get("ZKCRED_STATE_DIR"):
        typer.echo(
            f"the services find it with --state-dir {settings.state_dir} or ZKCRED_STATE_DIR={settings.state_dir}"
        )


def ensure_dev_state(state_dir: Path | None, config: Path | None) -> None:
    """``--dev``: an uninitialised state directory gets a development master key and config, loudly."""
    settings = load(CommonSettings, state_dir, config)
    if settings.config_file is not None or settings.master_key_file.exists() or os.environ.get(MASTER_KEY_ENV):
        return
    try:
        made = initialise(settings.state_dir, dev=True, urls={})
    except (ConfigError, OSError) as e:
        fail(str(e))
    err.print("[bold yellow]dev mode[/]: a DEVELOPMENT state directory was created (kept for the next --dev run):")
    for line in made:
        err.print(f"  {line}")


# ---------------------------------------------------------------- check


def _mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


def check(
    state_dir: StateDirOpt = None,
    config: ConfigOpt = None,
    online: Annotated[bool, typer.Option("--online/--offline", help="Also ask the ledger for its key.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as one JSON object.")] = False,
) -> None:
    """Validate the configuration and the state directory, and print what was found."""
    from issuer.config import AdminSettings as IssuerSettings
    from ledger.config import Settings as LedgerSettings
    from verifier.config import Settings as VerifierSettings

    findings: list[tuple[str, str]] = []  # (level, message)
    out: dict[str, Any] = {}

    def note(level: str, message: str) -> None:
        findings.append((level, message))

    try:
        common = CommonSettings.load(config_file=config, state_dir=state_dir)
    except ConfigError as e:
        note("error", str(e))
        common = None
    if common is not None:
        out.update(
            state_dir=str(common.state_dir),
            config_file=str(common.config_file) if common.config_file else None,
            dev_mode=common.dev_mode,
            log_level=common.log_level,
        )
        sd = common.state_dir
        if not sd.is_dir():
            note("error", f"state directory {sd} does not exist: run `zkcred init`")
        else:
            note("ok", f"state directory {sd} ({common.origin('state_dir')}, mode {_mode(sd)})")
        if common.config_file is None:
            note("warn", f"no config file ({sd / CONFIG_NAME} does not exist; settings come from the environment)")
        else:
            note("ok", f"config file {common.config_file}")
        for name in ("issuer_url", "verifier_url", "ledger_url"):
            value = getattr(common, name)
            out[name] = value
            if value:
                note("ok", f"{name} {value} ({common.origin(name)})")
            else:
                note(
                    "warn" if common.dev_mode else "error",
                    f"{name} is not set (ZKCRED_{name.upper()} or {name} in the config file)"
                    + ("; dev mode uses the port in use" if common.dev_mode else "; required outside --dev"),
                )
        try:
            key = common.read_master_key()
        except ConfigError as e:
            key = None
            note("error", str(e))
        else:
            if key is None:
                note("error", f"no master key: {MASTER_KEY_ENV} is not set and {common.master_key_file} does not exist")
            else:
                label = " — a DEVELOPMENT key" if key.dev else ""
                if key.source != MASTER_KEY_ENV and stat.S_IMODE(Path(key.source).stat().st_mode) & 0o077:
                    note(
                        "error",
                        f"master key file {key.source} is readable by others ({_mode(Path(key.source))}); chmod 600 it",
                    )
                else:
                    note("warn" if key.dev else "ok", f"master key from {key.source}{label}")
            out["master_key"] = None if key is None else {"source": key.source, "dev": key.dev}

    services: dict[str, Any] = {}
    for name, cls in (("ledger", LedgerSettings), ("issuer", IssuerSettings), ("verifier", VerifierSettings)):
        try:
            s = cls.load(config_file=config, state_dir=state_dir)
        except ConfigError as e:
            note("error", f"{name}: {e}")
            continue
        db_path = sqlite_path(s.database_url)
        exists = None if db_path is None else db_path.is_file()
        services[name] = {"database_url": _redact(s.database_url), "database_exists": exists}
        state = "" if exists is None else (", exists" if exists else ", not created yet (the service creates it)")
        note("ok", f"{name} database {_redact(s.database_url)} ({s.origin('database_url')}{state})")
        if name == "ledger":
            _check_ledger(s, note, out)
        if name == "issuer" and exists and common is not None:
            _check_issuer(s, note)
        if name == "verifier":
            _check_verifier_key(s, note, out)
            try:
                pinned = s.pinned_ledger_key()
            except ConfigError as e:
                note("error", str(e))
                pinned = None
            if pinned is None:
                note(
                    "warn",
                    "no ledger key to pin: ZKCRED_LEDGER_PUBLIC_KEY is not set and the ledger's key is not "
                    "in the state directory",
                )
            else:
                out["ledger_public_key"] = pinned[0].hex()
                note("ok", f"pinned ledger key {pinned[0].hex()} (from {pinned[1]})")
                if online and s.ledger_url:
                    _check_ledger_online(s.ledger_url, pinned[0], note)
    out["services"] = services
    out["findings"] = [{"level": lv, "message": m} for lv, m in findings]
    errors = [m for lv, m in findings if lv == "error"]
    out["ok"] = not errors
    if as_json:
        typer.echo(json.dumps(out))
    else:
        colours = {"ok": "green", "warn": "yellow", "error": "red"}
        out_console = Console(soft_wrap=True, highlight=False)  # stdout: the findings are the output
        for level, message in findings:
            out_console.print(f"[{colours[level]}]{level:5}[/] {message}")
        out_console.print("[bold green]configuration OK[/]" if not errors else f"[bold red]{len(errors)} problem(s)[/]")
    raise typer.Exit(1 if errors else 0)


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(malformed database URL)"


def _check_ledger(settings: Any, note: Any, out: dict[str, Any]) -> None:
    from ledger.config import open_checked

    path = settings.ledger_key_file
    if not path.exists() and not os.environ.get("ZKCRED_LEDGER_SIGNING_KEY"):
        note("ok", f"ledger key file {path} not created yet (the ledger creates it at first start)")
        return
    db = sqlite_path(settings.database_url)
    if db is not None and not db.is_file():
        note("ok", f"ledger key {path} (mode {_mode(path)}); the ledger database is not created yet")
        return
    try:
        store, key = open_checked(settings)
    except ConfigError as e:
        note("error", str(e))
        return
    size = store.head().size
    store.close()
    public = key.public_key().public_bytes_raw().hex()
    out["ledger_key"] = public
    note("ok", f"ledger key {public} signs the log ({size} entries)")


def _check_issuer(settings: Any, note: Any) -> None:
    """Does the master key open the issuer's database?"""
    from issuer import db
    from issuer.config import Settings

    try:
        full = Settings.load(config_file=settings.config_file, state_dir=settings.state_dir)
    except ConfigError:
        return  # reported above (no or bad master key)
    from sqlalchemy import text

    engine = db.make_engine(full.database_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT issuer_id, ledger_key_sealed FROM issuer_identity WHERE id = 1")).first()
    except Exception:
        row = None
    finally:
        engine.dispose()
    if row is None:
        note("ok", "issuer database has no identity yet (made at first start)")
        return
    try:  # the start-up check itself; with an identity present it only reads
        open_issuer(full)
    except ConfigError as e:
        note("error", str(e))
        return
    note("ok", f"the master key opens the issuer database (issuer {row[0]})")


def _check_ledger_online(url: str, pinned: bytes, note: Any) -> None:
    import httpx

    try:
        head = httpx.get(url.rstrip("/") + "/tree-head", timeout=5).json()
    except (httpx.HTTPError, ValueError):
        note("warn", f"ledger {url} not reachable (not started?)")
        return
    served = head.get("key") if isinstance(head, dict) else None
    if served and served != pinned.hex():
        note("error", f"ledger {url} signs with {served}, not the pinned key {pinned.hex()}")
    elif served:
        note("ok", f"ledger {url} answers, signed by the pinned key")
