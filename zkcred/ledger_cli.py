"""``zkcred ledger``: run the ledger service, or audit a ledger from entry 0."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ledger.constants import DEFAULT_PORT
from ledger.errors import InvalidRequest, LedgerError, NotFound, VerificationFailed
from zkcred.config_cli import ConfigOpt, StateDirOpt, child_environment, effective_log_level, fail, listen_port, load
from zkcred.errors import describe, masked_url, not_the_service
from zkcred.logopt import LogLevelOption, apply_log_level
from zkcred.supervisor import ensure_ports_free

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__.splitlines()[0] if __doc__ else None)
console = Console(stderr=True, soft_wrap=True, highlight=False)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="TCP port (the port of a loopback ledger_url, else 8003).",
                                             show_default=False)] = None,
    database_url: Annotated[str | None, typer.Option(
        help="SQLite or postgresql+psycopg:// URL (env ZKCRED_LEDGER_DATABASE_URL or DATABASE_URL; default "
        "<state dir>/ledger.db).", show_default=False)] = None,
    key_file: Annotated[str | None, typer.Option(
        help="The ledger's signing key, created for an empty log (env ZKCRED_LEDGER_KEY_FILE; default "
        "<state dir>/ledger-signing-key).", show_default=False)] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (PostgreSQL for more than one).")] = 1,
    log_level: LogLevelOption = "info",
    state_dir: StateDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Serve the ledger API (uvicorn). Refuses to start with a key that did not sign its log."""
    import uvicorn

    from ledger.config import ConfigError, Settings, open_checked

    settings = load(Settings, state_dir, config, database_url=database_url, ledger_key_file=key_file)
    port = port or listen_port(settings.ledger_url, DEFAULT_PORT)
    ensure_ports_free(host, [("ledger", port, "--port")])  # before the key or the tables are made
    try:  # once, before any worker starts: the tables, and the key against the log
        store, key = open_checked(settings)
    except ConfigError as e:
        fail(str(e))
    store.close()
    os.environ.update(child_environment(settings))
    os.environ.update({"ZKCRED_LEDGER_DATABASE_URL": settings.database_url,
                       "ZKCRED_LEDGER_KEY_FILE": str(settings.ledger_key_file)})
    os.environ.pop("DATABASE_URL", None)
    console.print(f"ledger key (public): {key.public_key().public_bytes_raw().hex()}")
    logs = apply_log_level(effective_log_level(log_level, settings))
    uvicorn.run("ledger.api:create_app_from_env", factory=True, host=host, port=port, workers=workers, **logs)


@app.command()
def audit(
    target: Annotated[str, typer.Argument(help="The service's base URL (http[s]://…) or a DATABASE_URL.")],
    ledger_key: Annotated[
        str | None, typer.Option(help="Pin the ledger's public key (hex); else the key the tree head names.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as one JSON object on stdout.")] = False,
) -> None:
    """Replay the ledger from entry 0: every hash, chain link, signature and the tree head."""
    import json

    def fail(code: int, at: int | None, reason: str) -> None:
        if as_json:
            typer.echo(json.dumps({"ok": False, "first_bad_entry": at, "reason": reason}))
        raise typer.Exit(code)
    from ledger.audit import audit_remote, audit_store

    try:
        pinned = bytes.fromhex(ledger_key) if ledger_key else None
    except ValueError:
        raise typer.BadParameter("--ledger-key must be hex") from None
    columns = (TextColumn("auditing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    try:
        with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as progress:
            task = progress.add_task("audit", total=None)

            def report(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            if target.startswith(("http://", "https://")):
                from ledger.client import LedgerClient

                with LedgerClient(target) as client:
                    result = audit_remote(client, ledger_key=pinned, progress=report)
            else:
                from ledger.sql import SqlStore

                store = SqlStore(target, create=False)
                try:
                    result = audit_store(store, ledger_key=pinned, progress=report)
                finally:
                    store.close()
    except VerificationFailed as e:
        where = f"entry {e.seq}" if e.seq is not None else "the tree head"
        console.print(f"[bold red]AUDIT FAILED[/] at {where}: {e.reason}")
        fail(1, e.seq, e.reason)
    except LedgerError as e:
        reason = e.detail
        if isinstance(e, (NotFound, InvalidRequest)) and target.startswith(("http://", "https://")):
            reason = not_the_service(target, "ledger", "the audit")  # e.g. the issuer's URL
        console.print(f"[bold red]AUDIT FAILED[/]: {escape(reason)}")
        fail(2, None, reason)
    except Exception as e:  # unreachable database or service: one line naming it (zkcred/errors.py)
        found = describe(e)
        if found is None:
            raise  # a bug: the error boundary says so
        remote = target.startswith(("http://", "https://"))  # httpx's line names the URL already
        reason = found[0] if remote else f"cannot read the ledger database {masked_url(target)}: {found[0]}"
        console.print(f"[bold red]AUDIT FAILED[/]: {escape(reason)}")
        fail(2, None, reason)
    if as_json:
        typer.echo(json.dumps({"ok": True, "entries": result.size, "issuers": result.issuers, "root": result.root.hex(),
                               "ledger_key": result.ledger_key.hex() if result.ledger_key else None,
                               "key_pinned": result.key_pinned}))
        return
    out = Console(soft_wrap=True, highlight=False)  # the verdict is the command's output: stdout
    summary = f"[bold green]OK[/] {result.size} entries, {result.issuers} issuers; root {result.root.hex()}"
    if result.tree_head is None or result.ledger_key is None:
        out.print(f"{summary}; the log is empty and has no signed tree head yet")
        return
    trust = "pinned" if result.key_pinned else "named by the tree head; pin it with --ledger-key"
    out.print(f"{summary}; tree head signed by {result.ledger_key.hex()} ({trust})")
