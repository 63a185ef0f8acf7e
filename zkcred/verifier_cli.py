"""``zkcred verifier``: run the verifier service, or create a lender's API key."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from verifier.config import DEFAULT_PORT, ConfigError, Settings
from zkcred.config_cli import (
    ConfigOpt,
    StateDirOpt,
    child_environment,
    database_error,
    effective_log_level,
    listen_port,
    load,
    open_verifier,
    require_database,
    warn_listen,
)
from zkcred.errors import CliError, database, ledger_call, masked_url
from zkcred.logopt import LogLevelOption, apply_log_level
from zkcred.supervisor import ensure_ports_free

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__.splitlines()[0] if __doc__ else None)
console = Console(stderr=True, soft_wrap=True, highlight=False)

DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        help="SQLite or postgresql+psycopg:// URL (env ZKCRED_VERIFIER_DATABASE_URL or DATABASE_URL; default "
        "<state dir>/verifier.db).",
        show_default=False,
    ),
]


def _fail(message: str) -> NoReturn:
    raise CliError(message)  # one line, or {"error"} with --json (zkcred/errors.py)


def _admin_database(state_dir: Path | None, config: Path | None, database_url: str | None) -> str:
    settings = load(Settings, state_dir, config, database_url=database_url, exit_code=1)
    require_database(
        settings.database_url,
        "verifier",
        "--database-url"
        if database_url
        else settings.origin("database_url").replace("default", f"the state directory {settings.state_dir}"),
        exit_code=1,
    )
    return settings.database_url


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[
        int | None, typer.Option(help="TCP port (the port of a loopback verifier_url, else 8002).", show_default=False)
    ] = None,
    database_url: DatabaseOpt = None,
    ledger_url: Annotated[
        str | None, typer.Option(help="The ledger service's base URL (env ZKCRED_LEDGER_URL).", show_default=False)
    ] = None,
    ledger_public_key: Annotated[
        str | None,
        typer.Option(
            help="The ledger's Ed25519 public key (hex), pinned (env ZKCRED_LEDGER_PUBLIC_KEY; "
            "default: the ledger key in the state directory).",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (PostgreSQL for more than one).")] = 1,
    log_level: LogLevelOption = "info",
    dev: Annotated[
        bool,
        typer.Option(
            "--dev", help="Development mode: request URLs under http://<host>:<port> when verifier_url is not set."
        ),
    ] = False,
    state_dir: StateDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Serve the verifier API (uvicorn)."""
    import uvicorn

    settings = load(
        Settings,
        state_dir,
        config,
        database_url=database_url,
        ledger_url=ledger_url,
        ledger_public_key=ledger_public_key,
        dev_mode=True if dev else None,
        exit_code=1,
    )
    if settings.dev_mode and not settings.ledger_url:
        settings = settings.model_copy(update={"ledger_url": "http://127.0.0.1:8003"})
    port = port or listen_port(settings.verifier_url, DEFAULT_PORT)
    warn_listen("verifier_url", settings.verifier_url, port, settings.origin("verifier_url"))
    try:
        settings.require_ledger()
        if not settings.verifier_url and not settings.dev_mode:
            raise ConfigError(
                "verifier_url is not set: set ZKCRED_VERIFIER_URL or verifier_url in the config file "
                "(`zkcred init` writes it), or use --dev"
            )
        ledger, key = open_verifier(settings)  # once, before any worker starts
    except ConfigError as e:
        _fail(str(e))
    from ledger.errors import LedgerError
    from ledger.policy import ENV_POLICY, max_age_from_env, policy_from_env

    try:
        policy = policy_from_env()
        if max_age_from_env() is not None and policy is None:
            _fail(f"ZKCRED_LEDGER_MAX_CHECKPOINT_AGE bounds witness cosignatures: set {ENV_POLICY} too")
    except LedgerError as e:
        _fail(f"{ENV_POLICY}: {e.detail}")
    if policy is not None:
        from ledger.checkpoint import default_origin, log_verifier
        from ledger.policy import CheckpointTrust

        try:  # a policy that lists logs must list this ledger (its key under its origin)
            CheckpointTrust(log_verifier(default_origin(), key), policy)
        except (ValueError, LedgerError) as e:
            _fail(f"{ENV_POLICY}: {getattr(e, 'detail', e)}")
    if policy is None:
        console.print(
            f"[bold yellow]warning:[/] no witness policy ({ENV_POLICY}): this verifier trusts the ledger "
            "operator not to show it a forked view"
        )
    else:
        console.print(f"witness policy: {policy.describe()}")
    ensure_ports_free(host, [("verifier", port, "--port")])
    os.environ.update(child_environment(settings))
    os.environ.update(
        {
            "ZKCRED_VERIFIER_DATABASE_URL": settings.database_url,
            "ZKCRED_LEDGER_URL": ledger,
            "ZKCRED_LEDGER_PUBLIC_KEY": key.hex(),
        }
    )
    if not settings.verifier_url:  # dev mode: the URL it listens on, never a request's Host header
        public_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        os.environ["ZKCRED_VERIFIER_URL"] = (
            f"http://{'[' + public_host + ']' if ':' in public_host else public_host}:{port}"
        )
    os.environ.pop("DATABASE_URL", None)
    public_url = settings.verifier_url or os.environ["ZKCRED_VERIFIER_URL"]  # dev mode: set just above
    identity = _register(settings.model_copy(update={"verifier_url": public_url}), ledger, key)
    console.print(
        f"verifier {identity.verifier_id} ({identity.name!r}, ledger entry {identity.registration_seq}, "
        f"origins {', '.join(identity.origins)}) on http://{host}:{port} (ledger {ledger}, key {key.hex()[:16]}…)"
    )
    logs = apply_log_level(effective_log_level(log_level, settings))
    uvicorn.run("verifier.api:create_app_from_env", factory=True, host=host, port=port, workers=workers, **logs)


def _register(settings: Settings, ledger: str, key: bytes):  # type: ignore[no-untyped-def]
    """Register this verifier on the ledger on first start (and check the registration on every start)."""

    from ledger.client import LedgerClient
    from ledger.policy import max_age_from_env, policy_from_env
    from verifier.db import make_engine
    from verifier.identity import register_from_settings

    engine = make_engine(settings.database_url)
    client = LedgerClient(ledger, ledger_key=key, policy=policy_from_env(), max_age=max_age_from_env())
    try:
        with ledger_call(ledger, "cannot register the verifier"):
            return register_from_settings(settings, engine, client)
    except ConfigError as e:
        _fail(str(e))
    finally:
        client.close()
        engine.dispose()


@app.command("rotate-key")
def rotate_key(
    database_url: DatabaseOpt = None,
    ledger_url: Annotated[
        str | None, typer.Option(help="The ledger service's base URL (env ZKCRED_LEDGER_URL).", show_default=False)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {verifier_id, key} as JSON.")] = False,
    state_dir: StateDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Rotate the verifier's signing key: a key_rotation on the ledger; the id and pseudonym contexts stay.

    Restart the verifier afterwards: it signs request documents with the new key.
    """

    from ledger.client import LedgerClient
    from ledger.policy import max_age_from_env, policy_from_env
    from verifier.db import make_engine
    from verifier.identity import over_http
    from verifier.identity import rotate_key as rotate

    settings = load(Settings, state_dir, config, database_url=database_url, ledger_url=ledger_url, exit_code=1)
    url = _admin_database(state_dir, config, database_url)
    try:
        ledger, pinned = settings.require_ledger()
    except ConfigError as e:
        _fail(str(e))
    engine = make_engine(url)
    client = LedgerClient(ledger, ledger_key=pinned, policy=policy_from_env(), max_age=max_age_from_env())
    try:
        with ledger_call(ledger, "cannot rotate the key"):
            verifier_id, key = rotate(engine=engine, key_file=settings.key_file, ledger=over_http(client))
    except ConfigError as e:
        _fail(str(e))
    finally:
        client.close()
        engine.dispose()
    if as_json:
        typer.echo(json.dumps({"verifier_id": verifier_id, "key": key.hex()}))
    else:
        console.print(f"verifier {verifier_id}: key rotated to {key.hex()[:16]}…; restart the verifier to sign with it")


@app.command("create-api-key")
def create_api_key(
    lender: Annotated[str, typer.Option(help="The lender this key authenticates.")],
    database_url: DatabaseOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {lender, api_key} as JSON.")] = False,
    state_dir: StateDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Create an API key for a lender; it is printed once and stored only as a hash."""
    import time

    from verifier.db import SqlRequestStore, init_db, make_engine
    from verifier.errors import VerifierError
    from verifier.service import create_api_key as new_key

    url = _admin_database(state_dir, config, database_url)
    with database(url):  # a URL make_engine cannot use (scheme, driver): one line naming it
        engine = make_engine(url)
    try:
        init_db(engine)
        key = new_key(store=SqlRequestStore(engine), lender=lender, now=time.time())
    except VerifierError as e:
        _fail(e.detail)
    except SQLAlchemyError as e:
        _fail(database_error("verifier", url, e))
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps({"lender": lender.strip(), "api_key": key}))
    else:
        console.print(f"API key for lender {lender.strip()!r} (shown once; store it now):")
        typer.echo(key)


@app.command("revoke-api-key")
def revoke_api_key(
    key: Annotated[
        str | None,
        typer.Option(envvar="ZKCRED_REVOKE_API_KEY", help="The key to revoke (or set ZKCRED_REVOKE_API_KEY)."),
    ] = None,
    lender: Annotated[str | None, typer.Option(help="Revoke every key of this lender instead.")] = None,
    database_url: DatabaseOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {revoked} as JSON.")] = False,
    state_dir: StateDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Revoke a lender's API key (or all of a lender's keys): it authenticates no more (403)."""
    import time

    from verifier.db import SqlRequestStore, init_db, make_engine
    from verifier.errors import VerifierError
    from verifier.service import revoke_api_keys

    if (key is None) == (lender is None):
        _fail("give either --lender NAME (every key of that lender) or --key KEY (or ZKCRED_REVOKE_API_KEY), not both")
    url = _admin_database(state_dir, config, database_url)
    with database(url):  # a URL make_engine cannot use (scheme, driver): one line naming it
        engine = make_engine(url)
    try:
        init_db(engine)
        count = revoke_api_keys(store=SqlRequestStore(engine), key=key, lender=lender, now=time.time())
    except VerifierError as e:
        _fail(e.detail)
    except SQLAlchemyError as e:
        _fail(database_error("verifier", url, e))
    finally:
        engine.dispose()
    if count == 0:
        which = f"of lender {lender.strip()!r}" if lender is not None else "with that value"
        _fail(f"no active API key {which} in {masked_url(url)} (unknown or already revoked); nothing was revoked")
    if as_json:
        typer.echo(json.dumps({"revoked": count}))
    else:
        console.print(f"{count} API key(s) revoked")
