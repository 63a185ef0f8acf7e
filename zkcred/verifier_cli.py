"""``zkcred verifier``: run the verifier service, or create a lender's API key."""

from __future__ import annotations

import json
import os
from typing import Annotated

import typer
from rich.console import Console

from verifier.config import DEFAULT_PORT, ConfigError, Settings
from verifier.db import DEFAULT_DATABASE_URL
from zkcred.logopt import LogLevelOption, apply_log_level

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__.splitlines()[0] if __doc__ else None)
console = Console(stderr=True, soft_wrap=True, highlight=False)


def _fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = DEFAULT_PORT,
    database_url: Annotated[
        str, typer.Option(envvar="DATABASE_URL", help="SQLite or postgresql+psycopg:// URL.")
    ] = DEFAULT_DATABASE_URL,
    ledger_url: Annotated[
        str | None, typer.Option(envvar="ZKCRED_LEDGER_URL", help="The ledger service's base URL.")
    ] = None,
    ledger_public_key: Annotated[
        str | None, typer.Option(envvar="ZKCRED_LEDGER_PUBLIC_KEY", help="The ledger's Ed25519 public key (hex), pinned.")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (PostgreSQL for more than one).")] = 1,
    log_level: LogLevelOption = "info",
) -> None:
    """Serve the verifier API (uvicorn)."""
    import uvicorn

    logs = apply_log_level(log_level)

    from verifier.db import init_db, make_engine

    os.environ["DATABASE_URL"] = database_url
    if ledger_url:
        os.environ["ZKCRED_LEDGER_URL"] = ledger_url
    if ledger_public_key:
        os.environ["ZKCRED_LEDGER_PUBLIC_KEY"] = ledger_public_key
    try:
        settings = Settings.from_env()
        settings.require_ledger()
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
            CheckpointTrust(log_verifier(default_origin(), settings.ledger_public_key), policy)
        except (ValueError, LedgerError) as e:
            _fail(f"{ENV_POLICY}: {getattr(e, 'detail', e)}")
    if policy is None:
        console.print(f"[bold yellow]warning:[/] no witness policy ({ENV_POLICY}): this verifier trusts the ledger "
                      "operator not to show it a forked view")
    else:
        console.print(f"witness policy: {policy.describe()}")
    engine = make_engine(settings.database_url)
    init_db(engine)  # create the tables once, before any worker starts
    engine.dispose()
    console.print(f"verifier {settings.verifier_id!r} on http://{host}:{port} (ledger {settings.ledger_url})")
    uvicorn.run("verifier.api:create_app_from_env", factory=True, host=host, port=port, workers=workers, **logs)


@app.command("create-api-key")
def create_api_key(
    lender: Annotated[str, typer.Option(help="The lender this key authenticates.")],
    database_url: Annotated[
        str, typer.Option(envvar="DATABASE_URL", help="SQLite or postgresql+psycopg:// URL.")
    ] = DEFAULT_DATABASE_URL,
    as_json: Annotated[bool, typer.Option("--json", help="Print {lender, api_key} as JSON.")] = False,
) -> None:
    """Create an API key for a lender; it is printed once and stored only as a hash."""
    from verifier.db import SqlRequestStore, init_db, make_engine
    import time

    from verifier.errors import VerifierError
    from verifier.service import create_api_key as new_key

    engine = make_engine(database_url)
    try:
        init_db(engine)
        key = new_key(store=SqlRequestStore(engine), lender=lender, now=time.time())
    except VerifierError as e:
        _fail(e.detail)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps({"lender": lender.strip(), "api_key": key}))
    else:
        console.print(f"API key for lender {lender.strip()!r} (shown once; store it now):")
        typer.echo(key)


@app.command("revoke-api-key")
def revoke_api_key(
    key: Annotated[str | None, typer.Option(envvar="ZKCRED_REVOKE_API_KEY",
                                            help="The key to revoke (or set ZKCRED_REVOKE_API_KEY).")] = None,
    lender: Annotated[str | None, typer.Option(help="Revoke every key of this lender instead.")] = None,
    database_url: Annotated[
        str, typer.Option(envvar="DATABASE_URL", help="SQLite or postgresql+psycopg:// URL.")
    ] = DEFAULT_DATABASE_URL,
    as_json: Annotated[bool, typer.Option("--json", help="Print {revoked} as JSON.")] = False,
) -> None:
    """Revoke a lender's API key (or all of a lender's keys): it authenticates no more (403)."""
    import time

    from verifier.db import SqlRequestStore, init_db, make_engine
    from verifier.errors import VerifierError
    from verifier.service import revoke_api_keys

    engine = make_engine(database_url)
    try:
        init_db(engine)
        count = revoke_api_keys(store=SqlRequestStore(engine), key=key, lender=lender, now=time.time())
    except VerifierError as e:
        _fail(e.detail)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps({"revoked": count}))
    else:
        console.print(f"{count} API key(s) revoked")
