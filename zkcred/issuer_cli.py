"""``zkcred issuer``: run the issuer service, or create an admin token.

Every command reads the one configuration (``--state-dir``, ``--config``, the environment;
docs/configuration.md); admin commands refuse a SQLite database that does not exist.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from issuer.config import DEFAULT_LEDGER_URL, DEFAULT_PORT, ConfigError
from zkcred.config_cli import (
    ConfigOpt,
    StateDirOpt,
    child_environment,
    database_error,
    effective_log_level,
    ensure_dev_state,
    fail,
    listen_port,
    load,
    open_issuer,
    require_database,
    warn_dev_key,
    warn_listen,
)
from zkcred.errors import CliError, database, masked_url
from zkcred.logopt import LogLevelOption, apply_log_level
from zkcred.supervisor import ensure_ports_free

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__.splitlines()[0] if __doc__ else None)
console = Console(stderr=True, soft_wrap=True, highlight=False)

DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        help="SQLite or postgresql+psycopg:// URL (env ZKCRED_ISSUER_DATABASE_URL or DATABASE_URL; default "
        "<state dir>/issuer.db).",
        show_default=False,
    ),
]


def _admin_database(state_dir: Path | None, config: Path | None, database_url: str | None) -> str:
    """The issuer's database for an admin command: it must exist (never create an empty one)."""
    from issuer.config import AdminSettings

    settings = load(AdminSettings, state_dir, config, database_url=database_url)
    require_database(
        settings.database_url,
        "issuer",
        "--database-url"
        if database_url
        else settings.origin("database_url").replace("default", f"the state directory {settings.state_dir}"),
    )
    return settings.database_url


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[
        int | None, typer.Option(help="TCP port (the port of a loopback issuer_url, else 8001).", show_default=False)
    ] = None,
    database_url: DatabaseOpt = None,
    ledger_url: Annotated[
        str | None,
        typer.Option(help="The ledger service the issuer publishes to (env ZKCRED_LEDGER_URL).", show_default=False),
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (PostgreSQL for more than one).")] = 1,
    log_level: LogLevelOption = "info",
    dev: Annotated[
        bool,
        typer.Option(
            "--dev",
            help="Development mode: a persisted development master key in the state "
            "directory; URLs default to the ports in use.",
        ),
    ] = False,
    state_dir: StateDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Serve the issuer API (uvicorn). Needs its master key (zkcred init) and its public URL."""
    import uvicorn

    from issuer.config import Settings

    if dev:
        ensure_dev_state(state_dir, config)
    settings = load(
        Settings, state_dir, config, database_url=database_url, ledger_url=ledger_url, dev_mode=True if dev else None
    )
    port = port or listen_port(settings.issuer_url, DEFAULT_PORT)
    warn_listen("issuer_url", settings.issuer_url, port, settings.origin("issuer_url"))
    given = {"issuer_url": settings.issuer_url, "ledger_url": settings.ledger_url}
    if not settings.dev_mode:
        for name, value in given.items():
            if not value:
                fail(
                    f"{name} is not set: set ZKCRED_{name.upper()} or {name} in the config file "
                    f"(`zkcred init` writes it), or use --dev"
                )
    urls = {  # outside dev mode both are set (checked above), so the defaults only fill dev mode's gaps
        "issuer_url": given["issuer_url"] or f"http://{host}:{port}",
        "ledger_url": given["ledger_url"] or DEFAULT_LEDGER_URL,
    }
    if settings.dev_mode:
        console.print(f"[yellow]dev mode[/]: offers carry {urls['issuer_url']}")
    settings = settings.model_copy(update=urls)
    warn_dev_key(settings)
    try:  # once, before any worker starts: the tables, and the master key against this database
        open_issuer(settings)
    except ConfigError as e:
        fail(str(e))
    ensure_ports_free(host, [("issuer", port, "--port")])
    # the workers (uvicorn imports the app in each) load the same settings from the environment
    os.environ.update(child_environment(settings))
    os.environ.update(
        {
            "ZKCRED_ISSUER_DATABASE_URL": settings.database_url,
            "ZKCRED_ISSUER_URL": urls["issuer_url"],
            "ZKCRED_LEDGER_URL": urls["ledger_url"],
        }
    )
    os.environ.pop("DATABASE_URL", None)
    logs = apply_log_level(effective_log_level(log_level, settings))
    uvicorn.run("issuer.api:create_app_from_env", factory=True, host=host, port=port, workers=workers, **logs)


@app.command("create-admin-token")
def create_admin_token(
    name: Annotated[str, typer.Option(help="A label for the token (who or what uses it).")] = "admin",
    database_url: DatabaseOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {name, token} as JSON.")] = False,
    state_dir: StateDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Create an admin bearer token: printed once on stdout, only its SHA-256 is stored."""
    from issuer import db
    from issuer.service import create_admin_token as create

    url = _admin_database(state_dir, config, database_url)
    with database(url):  # a URL make_engine cannot use (scheme, driver): one line naming it
        engine = db.make_engine(url)
    try:
        token = create(engine, name=name)
    except SQLAlchemyError as e:
        fail(database_error("issuer", url, e))
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
    token: Annotated[
        str | None,
        typer.Option(
            envvar="ZKCRED_REVOKE_ADMIN_TOKEN", help="The token to revoke (or set ZKCRED_REVOKE_ADMIN_TOKEN)."
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Revoke every token with this label instead.")] = None,
    database_url: DatabaseOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {revoked} as JSON.")] = False,
    state_dir: StateDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Revoke an admin token (or every token with a label): it authenticates no more (403)."""
    import json

    from issuer import db
    from issuer.errors import IssuerError
    from issuer.service import revoke_admin_tokens

    if (token is None) == (name is None):
        raise CliError(
            "give either --name NAME (every token with that label) or --token TOKEN "
            "(or ZKCRED_REVOKE_ADMIN_TOKEN), not both"
        )
    url = _admin_database(state_dir, config, database_url)
    with database(url):  # a URL make_engine cannot use (scheme, driver): one line naming it
        engine = db.make_engine(url)
    try:
        count = revoke_admin_tokens(engine, token=token, name=name)
    except IssuerError as e:
        raise CliError(e.detail) from None
    except SQLAlchemyError as e:
        fail(database_error("issuer", url, e))
    finally:
        engine.dispose()
    if count == 0:
        which = f"named {name!r}" if name is not None else "with that value"
        raise CliError(
            f"no active admin token {which} in {masked_url(url)} (unknown or already revoked); nothing was revoked"
        )
    if as_json:
        typer.echo(json.dumps({"revoked": count}))
    else:
        console.print(f"{count} admin token(s) revoked")


@app.command()
def reconcile(
    database_url: DatabaseOpt = None,
    ledger_url: Annotated[
        str | None, typer.Option(help="The ledger service (env ZKCRED_LEDGER_URL).", show_default=False)
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report only: publish and mark nothing (needs no master key).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON object.")] = False,
    state_dir: StateDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Compare the issuer's records with the ledger: publish what is missing, mark what is there, report the rest.

    Exit 0: they agree; 1: differences remain (listed); 2: an error (one line).
    """
    import json

    from issuer import db
    from issuer.config import AdminSettings, Settings
    from issuer.errors import ErrorKind, IssuerError
    from issuer.outbox import reconcile as run
    from issuer.publisher import HttpPublisher
    from issuer.service import IssuerService
    from ledger.client import LedgerClient

    url = _admin_database(state_dir, config, database_url)  # never creates an empty database
    settings = load(
        AdminSettings if dry_run else Settings, state_dir, config, database_url=database_url, ledger_url=ledger_url
    )
    ledger = settings.ledger_url or DEFAULT_LEDGER_URL
    publisher = HttpPublisher(LedgerClient(ledger, timeout=30))  # reads every entry of the ledger
    engine = db.make_engine(url)
    try:
        if dry_run:
            report = run(engine=engine, entries=publisher.issuer_entries, outbox=None)
        else:
            service = IssuerService.open(settings=settings, publisher=publisher, engine=engine, deliver=False)
            report = run(engine=engine, entries=publisher.issuer_entries, outbox=service.outbox)
    except IssuerError as e:
        where = f" (ledger {ledger})" if e.kind in (ErrorKind.LEDGER_UNAVAILABLE, ErrorKind.LEDGER_REFUSED) else ""
        fail(f"{e.detail}{where}")
    except ConfigError as e:
        fail(str(e))
    except SQLAlchemyError as e:
        fail(database_error("issuer", url, e))
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(report.to_json()))
    else:
        mode = " (dry run)" if report.dry_run else ""
        typer.echo(f"issuer {report.issuer_id}: {report.ledger_entries} entries on the ledger{mode}")
        for title, items in (
            ("published", report.published),
            ("already on the ledger, marked", report.marked),
            ("pending", report.pending),
            ("on the ledger, unknown to the issuer", report.unrecorded),
            ("mismatched", report.mismatched),
        ):
            for item in items:
                seq = f" seq {item['seq']}" if item.get("seq") is not None else ""
                what = item.get("subject_id") or item.get("id") or ""
                note = item.get("last_error") or item.get("problem") or ""
                typer.echo(f"  {title}: {item['type']} {what}{seq}{' — ' + note if note else ''}")
        typer.echo("OK: the issuer's records and the ledger agree" if report.ok else "DIFFERENCES remain (above)")
    if not report.ok:
        raise typer.Exit(1)
