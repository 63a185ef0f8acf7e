"""``zkcred verifier``: run the verifier service, or create a lender's API key."""

from __future__ import annotations

import json
import os
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from verifier.config import DEFAULT_PORT, ConfigError, Settings
from verifier.db import DEFAULT_DATABASE_URL
from zkcred.errors import CliError, database, masked_url
from zkcred.logopt import LogLevelOption, apply_log_level
from zkcred.supervisor import ensure_ports_free

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__.splitlines()[0] if __doc__ else None)
console = Console(stderr=True, soft_wrap=True, highlight=False)


def _fail(message: str) -> NoReturn:
    raise CliError(message)  # one line, or {"error"} with --json (zkcred/errors.py)


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
    ensure_ports_free(host, [("verifier", port, "--port")])
    with database(settings.database_url):
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

    with database(database_url):
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

    if (key is None) == (lender is None):
        _fail("give either --lender NAME (every key of that lender) or --key KEY (or ZKCRED_REVOKE_API_KEY), not both")
    with database(database_url):
        engine = make_engine(database_url)
        try:
            init_db(engine)
            count = revoke_api_keys(store=SqlRequestStore(engine), key=key, lender=lender, now=time.time())
        except VerifierError as e:
            _fail(e.detail)
        finally:
            engine.dispose()
    if count == 0:
        which = f"of lender {lender.strip()!r}" if lender is not None else "with that value"
        _fail(f"no active API key {which} in {masked_url(database_url)} (unknown or already revoked); "
              "nothing was revoked")
    if as_json:
        typer.echo(json.dumps({"revoked": count}))
    else:
        console.print(f"{count} API key(s) revoked")
