"""``zkcred issuer``: run the issuer service, or create an admin token."""

from __future__ import annotations

import os
import secrets
from typing import Annotated

import typer
from rich.console import Console

from issuer.config import DEFAULT_DATABASE_URL, DEFAULT_LEDGER_URL, DEFAULT_PORT, MASTER_KEY_ENV, ConfigError
from zkcred.logopt import LogLevelOption, apply_log_level

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__.splitlines()[0] if __doc__ else None)
console = Console(stderr=True, soft_wrap=True, highlight=False)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = DEFAULT_PORT,
    database_url: Annotated[
        str, typer.Option(envvar="DATABASE_URL", help="SQLite or postgresql+psycopg:// URL.")
    ] = DEFAULT_DATABASE_URL,
    ledger_url: Annotated[
        str, typer.Option(envvar="ZKCRED_LEDGER_URL", help="The ledger service the issuer publishes to.")
    ] = DEFAULT_LEDGER_URL,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (PostgreSQL for more than one).")] = 1,
    log_level: LogLevelOption = "info",
    dev: Annotated[
        bool, typer.Option("--dev", help=f"Without {MASTER_KEY_ENV}, use a throw-away key (secrets lost on restart).")
    ] = False,
) -> None:
    """Serve the issuer API (uvicorn). Needs ZKCRED_MASTER_KEY (32 bytes, hex or base64)."""
    import uvicorn

    logs = apply_log_level(log_level)

    from issuer import db
    from issuer.config import Settings

    os.environ["DATABASE_URL"] = database_url
    os.environ["ZKCRED_LEDGER_URL"] = ledger_url
    if dev and not os.environ.get(MASTER_KEY_ENV):
        os.environ[MASTER_KEY_ENV] = secrets.token_hex(32)  # this process and its workers only
        console.print(f"[yellow]dev mode[/]: {MASTER_KEY_ENV} not set; using a throw-away key — "
                      "keys created now cannot be read after a restart")
    try:
        Settings.from_env()
    except ConfigError as e:
        console.print(f"[bold red]error[/]: {e}")
        raise typer.Exit(2) from None
    engine = db.make_engine(database_url)
    db.create_tables(engine)  # once, before any worker starts
    engine.dispose()
    uvicorn.run("issuer.api:create_app_from_env", factory=True, host=host, port=port, workers=workers, **logs)


@app.command("create-admin-token")
def create_admin_token(
    name: Annotated[str, typer.Option(help="A label for the token (who or what uses it).")] = "admin",
    database_url: Annotated[
        str, typer.Option(envvar="DATABASE_URL", help="SQLite or postgresql+psycopg:// URL.")
    ] = DEFAULT_DATABASE_URL,
    as_json: Annotated[bool, typer.Option("--json", help="Print {name, token} as JSON.")] = False,
) -> None:
    """Create an admin bearer token: printed once on stdout, only its SHA-256 is stored."""
    from issuer import db
    from issuer.service import create_admin_token as create

    engine = db.make_engine(database_url)
    try:
        token = create(engine, name=name)
    finally:
        engine.dispose()
    if as_json:
        import json

        typer.echo(json.dumps({"name": name, "token": token}))
        return
    console.print(f"admin token {name!r} created; it is shown once — keep it secret:")
    typer.echo(token)


@app.command("revoke-admin-token")
def revoke_admin_token(
    token: Annotated[str | None, typer.Option(envvar="ZKCRED_REVOKE_ADMIN_TOKEN",
                                              help="The token to revoke (or set ZKCRED_REVOKE_ADMIN_TOKEN).")] = None,
    name: Annotated[str | None, typer.Option(help="Revoke every token with this label instead.")] = None,
    database_url: Annotated[
        str, typer.Option(envvar="DATABASE_URL", help="SQLite or postgresql+psycopg:// URL.")
    ] = DEFAULT_DATABASE_URL,
    as_json: Annotated[bool, typer.Option("--json", help="Print {revoked} as JSON.")] = False,
) -> None:
    """Revoke an admin token (or every token with a label): it authenticates no more (403)."""
    import json

    from issuer import db
    from issuer.errors import IssuerError
    from issuer.service import revoke_admin_tokens

    engine = db.make_engine(database_url)
    try:
        count = revoke_admin_tokens(engine, token=token, name=name)
    except IssuerError as e:
        console.print(f"[red]error:[/] {e.detail}")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps({"revoked": count}))
    else:
        console.print(f"{count} admin token(s) revoked")
