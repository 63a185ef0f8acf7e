"""``zkcred ledger``: run the ledger service, or audit a ledger from entry 0."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ledger.checkpoint import SignedCheckpoint
from ledger.constants import DEFAULT_DATABASE_URL, DEFAULT_PORT
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
    port: Annotated[
        int | None, typer.Option(help="TCP port (the port of a loopback ledger_url, else 8003).", show_default=False)
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="SQLite or postgresql+psycopg:// URL (env ZKCRED_LEDGER_DATABASE_URL or DATABASE_URL; default "
            "<state dir>/ledger.db).",
            show_default=False,
        ),
    ] = None,
    key_file: Annotated[
        str | None,
        typer.Option(
            help="The ledger's signing key, created for an empty log (env ZKCRED_LEDGER_KEY_FILE; default "
            "<state dir>/ledger-signing-key).",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (PostgreSQL for more than one).")] = 1,
    witnesses: Annotated[
        str | None,
        typer.Option(
            envvar="ZKCRED_LEDGER_WITNESSES",
            help="A C2SP tlog-policy file: the witnesses (with URLs) to submit checkpoints to, and the quorum "
            "GET /checkpoint waits for.",
        ),
    ] = None,
    tiles_dir: Annotated[
        str | None,
        typer.Option(
            "--tiles",
            envvar="ZKCRED_LEDGER_TILES_DIR",
            help="Keep the log as C2SP tiles in this directory (for a static server).",
        ),
    ] = None,
    log_level: LogLevelOption = "info",
    state_dir: StateDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Serve the ledger API (uvicorn). Refuses to start with a key that did not sign its log."""
    import uvicorn

    from ledger.checkpoint import default_origin, log_verifier
    from ledger.config import ConfigError, Settings, open_checked
    from ledger.witnessing import ENV_WITNESSES, witness_policy_from_env

    settings = load(Settings, state_dir, config, database_url=database_url, ledger_key_file=key_file)
    port = port or listen_port(settings.ledger_url, DEFAULT_PORT)
    ensure_ports_free(host, [("ledger", port, "--port")])  # before the key or the tables are made
    try:  # once, before any worker starts: the tables, and the key against the log
        store, key = open_checked(settings)
    except ConfigError as e:
        fail(str(e))
    store.close()
    if tiles_dir:
        os.environ["ZKCRED_LEDGER_TILES_DIR"] = tiles_dir
    if witnesses:
        os.environ[ENV_WITNESSES] = witnesses
        try:
            policy = witness_policy_from_env(witnesses)
        except (LedgerError, ValueError) as e:
            fail(f"--witnesses: {getattr(e, 'detail', e)}")
        console.print(
            f"witnesses: {', '.join(policy.witnesses) if policy else 'none'}; quorum "
            f"{policy.describe() if policy else 'none'}"
        )
    os.environ.update(child_environment(settings))
    os.environ.update(
        {"ZKCRED_LEDGER_DATABASE_URL": settings.database_url, "ZKCRED_LEDGER_KEY_FILE": str(settings.ledger_key_file)}
    )
    os.environ.pop("DATABASE_URL", None)
    public = key.public_key().public_bytes_raw()
    console.print(f"ledger key (public): {public.hex()}")
    console.print(f"ledger vkey (checkpoints): {log_verifier(default_origin(), public).vkey()}")
    logs = apply_log_level(effective_log_level(log_level, settings))
    uvicorn.run("ledger.api:create_app_from_env", factory=True, host=host, port=port, workers=workers, **logs)


@app.command()
def audit(
    targets: Annotated[
        list[str],
        typer.Argument(
            help="The service's base URL (http[s]://…) or a DATABASE_URL; several URLs: views of one ledger "
            "(what different parties were shown), audited and compared for a fork."
        ),
    ],
    ledger_key: Annotated[
        str | None, typer.Option(help="Pin the ledger's public key (hex); else the key the tree head names.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as one JSON object on stdout.")] = False,
    origin: Annotated[
        str | None, typer.Option(help="The ledger's expected checkpoint origin; else the one its checkpoint names.")
    ] = None,
    policy_file: Annotated[
        str | None,
        typer.Option(
            "--policy",
            envvar="ZKCRED_LEDGER_POLICY",
            help="A C2SP tlog-policy file: the checkpoint must carry its witness quorum.",
        ),
    ] = None,
    witness_urls: Annotated[
        list[str],
        typer.Option(
            "--witness",
            help="A witness's monitoring prefix: compare what it last cosigned with this view (repeatable).",
        ),
    ] = [],  # noqa: B006
) -> None:
    """Replay the ledger from entry 0: every hash, chain link, signature, the tree head and the checkpoint.

    Given several URLs (views of one ledger), each is replayed and their checkpoints compared:
    two checkpoints under the ledger's key that no append-only log can both have signed are a
    fork, reported with both checkpoints as evidence (exit code 3).  With ``--witness URL``, the
    checkpoint each witness last cosigned must be in the audited tree (else a fork, exit 3, or a
    withheld view, exit 1).
    """
    import json

    def fail(code: int, at: int | None, reason: str) -> None:
        if as_json:
            typer.echo(json.dumps({"ok": False, "first_bad_entry": at, "reason": reason}))
        raise typer.Exit(code)

    from ledger.audit import ForkDetected, audit_remote, audit_store, audit_views, compare_with_witnesses
    from ledger.policy import load_policy

    target = targets[0]
    if (len(targets) > 1 or witness_urls) and not all(t.startswith(("http://", "https://")) for t in targets):
        raise typer.BadParameter(
            "several targets, or --witness, need the ledger service's http(s) URL", param_hint="TARGETS"
        )

    try:
        pinned = bytes.fromhex(ledger_key) if ledger_key else None
    except ValueError:
        raise typer.BadParameter("--ledger-key must be hex") from None
    try:
        policy = load_policy(policy_file)
    except LedgerError as e:
        raise typer.BadParameter(e.detail, param_hint="--policy") from None
    columns = (TextColumn("auditing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    try:
        with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as progress:
            task = progress.add_task("audit", total=None)

            def report(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            if len(targets) > 1:
                from ledger.client import LedgerClient

                clients = [LedgerClient(t) for t in targets]
                try:
                    result = audit_views(
                        clients, ledger_key=pinned, origin=origin, policy=policy, progress=report, names=targets
                    )[0]
                finally:
                    for c in clients:
                        c.close()
            elif target.startswith(("http://", "https://")):
                from ledger.client import LedgerClient

                with LedgerClient(target) as client:
                    seen = _witness_checkpoints(client, witness_urls, origin)  # before the audit reads the head
                    result = audit_remote(
                        client,
                        ledger_key=pinned,
                        origin=origin,
                        policy=policy,
                        progress=report,
                        watch=[SignedCheckpoint.parse(raw).size for _, raw in seen],
                    )
                    compare_with_witnesses(result, seen, name=target, origin=origin)
            else:
                from ledger.sql import SqlStore

                store = SqlStore(target, create=False)
                try:
                    result = audit_store(store, ledger_key=pinned, progress=report)
                finally:
                    store.close()
    except ForkDetected as e:
        a, b = e.fork.views
        console.print(f"[bold red]FORK DETECTED[/] between {a} and {b}: {e.fork.reason}")
        for view, cp in zip((a, b), e.fork.evidence, strict=True):
            console.print(f"--- checkpoint shown by {view}:\n{cp.to_bytes().decode()}", markup=False)
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "ok": False,
                        "fork": {
                            "reason": e.fork.reason,
                            "views": [a, b],
                            "checkpoints": [cp.to_bytes().decode() for cp in e.fork.evidence],
                        },
                    }
                )
            )
        raise typer.Exit(3) from None
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
        typer.echo(
            json.dumps(
                {
                    "ok": True,
                    "entries": result.size,
                    "issuers": result.issuers,
                    "root": result.root.hex(),
                    "ledger_key": result.ledger_key.hex() if result.ledger_key else None,
                    "key_pinned": result.key_pinned,
                    "checkpoint": result.checkpoint.to_bytes().decode() if result.checkpoint else None,
                    "cosigners": list(result.cosigners),
                }
            )
        )
        return
    out = Console(soft_wrap=True, highlight=False)  # the verdict is the command's output: stdout
    summary = f"[bold green]OK[/] {result.size} entries, {result.issuers} issuers; root {result.root.hex()}"
    if result.tree_head is None or result.ledger_key is None:
        out.print(f"{summary}; the log is empty and has no signed tree head yet")
        return
    trust = "pinned" if result.key_pinned else "named by the tree head; pin it with --ledger-key"
    out.print(f"{summary}; tree head signed by {result.ledger_key.hex()} ({trust})")
    if len(targets) > 1:
        out.print(f"{len(targets)} views, no fork: each checkpoint extends the smaller ones")
    if result.checkpoint is not None:
        witnessed = (
            f"cosigned by {', '.join(result.cosigners) or 'no one'} (policy {policy.describe()})"
            if policy
            else "no witness policy given (--policy): a split view would go unnoticed"
        )
        out.print(f"checkpoint {result.checkpoint.origin} size {result.checkpoint.size}: {witnessed}")


def _witness_checkpoints(client, urls: list[str], origin: str | None) -> list[tuple[str, bytes]]:  # type: ignore[no-untyped-def]
    """What each witness last cosigned for this ledger's origin (tlog-witness monitoring)."""
    import hashlib

    import httpx

    if not urls:
        return []
    named = origin or SignedCheckpoint.parse(client.fetch_checkpoint()).origin
    path = hashlib.sha256(named.encode()).hexdigest() + "/checkpoint"
    out = []
    for url in urls:
        response = httpx.get(f"{url.rstrip('/')}/{path}", timeout=10)
        if response.status_code != 200:
            raise LedgerError(f"witness {url} answered {response.status_code} for {named}")
        out.append((f"witness {url}", response.content))
    return out


@app.command()
def tiles(
    directory: Annotated[
        str, typer.Argument(help="Where to write checkpoint, tile/… and tile/entries/… (C2SP tlog-tiles).")
    ],
    database_url: Annotated[
        str, typer.Option(envvar="DATABASE_URL", help="The ledger's database (SQLite or postgresql+psycopg://).")
    ] = DEFAULT_DATABASE_URL,
    key_file: Annotated[
        str | None, typer.Option(envvar="ZKCRED_LEDGER_KEY_FILE", help="The ledger's signing key.")
    ] = None,
    witnesses: Annotated[
        str | None, typer.Option(envvar="ZKCRED_LEDGER_WITNESSES", help="The ledger's witness policy (its quorum).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print {origin, size, directory} as one JSON object.")
    ] = False,
) -> None:
    """Write the ledger as static tiles for any web server or object store (run it after appends, or from cron)."""
    from ledger.keys import load_signing_key
    from ledger.log import LedgerLog
    from ledger.sql import SqlStore, create_tables
    from ledger.tiles import write_tiles
    from ledger.witnessing import witness_policy_from_env

    try:
        policy = witness_policy_from_env(witnesses)
        store = SqlStore(database_url, create=False)  # an existing ledger only …
        create_tables(store.engine)  # … with the tables added since it was created (ledger_cosignatures)
    except Exception as e:  # a bad policy, no such database, an unreachable server
        console.print(f"[red]error:[/] {getattr(e, 'detail', e)}")
        raise typer.Exit(1) from None
    try:
        checkpoint = write_tiles(
            LedgerLog(store, signing_key=load_signing_key(key_file), witness_policy=policy), directory
        )
    except LedgerError as e:
        console.print(f"[red]error:[/] {e.detail}")
        raise typer.Exit(1) from None
    except Exception as e:  # a database without the ledger's tables, an unwritable directory
        console.print(f"[red]error:[/] cannot write the tiles: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
        raise typer.Exit(1) from None
    finally:
        store.close()
    if as_json:
        import json

        typer.echo(json.dumps({"origin": checkpoint.origin, "size": checkpoint.size, "directory": directory}))
        return
    console.print(f"wrote the tiles of {checkpoint.origin} at size {checkpoint.size} to {directory}")
