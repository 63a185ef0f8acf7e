"""``zkcred serve``: the ledger, the issuer and the verifier, one process each.

State lives under ``--dir`` (default ``./.zkcred``): one SQLite file per service (or a
``DATABASE_URL`` per service: ``ZKCRED_LEDGER_DATABASE_URL``, ``ZKCRED_ISSUER_DATABASE_URL``,
``ZKCRED_VERIFIER_DATABASE_URL``) and the ledger's signing key. The verifier is started
with the ledger's public key pinned. The issuer needs ``ZKCRED_MASTER_KEY`` (or ``--dev``
for a throw-away one). Ctrl-C (or SIGTERM) stops all three.

Supervision lives in ``zkcred/supervisor.py``: busy ports are refused before anything
starts, a service that dies is restarted with backoff while the others keep serving, and
``--json`` prints the three URLs as one JSON object on stdout once all three answer.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import typer
from rich.console import Console

from zkcred.logopt import LogLevelOption
from zkcred.supervisor import Service, Supervisor, ensure_ports_free


def serve(
    directory: Path = typer.Option(Path(".zkcred"), "--dir", help="where the services keep their state"),
    host: str = typer.Option("127.0.0.1", help="interface for all three services"),
    ledger_port: int = typer.Option(8003, help="ledger port"),
    issuer_port: int = typer.Option(8001, help="issuer port"),
    verifier_port: int = typer.Option(8002, help="verifier port"),
    dev: bool = typer.Option(False, "--dev", help="without ZKCRED_MASTER_KEY, use a throw-away issuer key"),
    as_json: bool = typer.Option(False, "--json", help="once all three answer, print their URLs and the ledger's "
                                 "public key as one JSON object on stdout (logs go to stderr)"),
    log_level: LogLevelOption = "info",
) -> None:
    """Start the ledger, issuer and verifier (one process each) until Ctrl-C."""
    from ledger.entries import public_key_bytes
    from ledger.keys import load_signing_key

    ensure_ports_free(host, [("ledger", ledger_port, "--ledger-port"), ("issuer", issuer_port, "--issuer-port"),
                             ("verifier", verifier_port, "--verifier-port")])
    console = Console(stderr=as_json, soft_wrap=True, highlight=False)
    directory.mkdir(parents=True, exist_ok=True)
    key_file = directory / "ledger-signing-key"
    ledger_public = public_key_bytes(load_signing_key(key_file)).hex()
    ledger_url = f"http://{host}:{ledger_port}"

    def db(name: str) -> str:
        return os.environ.get(f"ZKCRED_{name.upper()}_DATABASE_URL") or f"sqlite:///{directory / f'{name}.db'}"

    specs = [
        ("ledger", ["ledger", "serve", "--host", host, "--port", str(ledger_port), "--key-file", str(key_file),
                    "--log-level", log_level],
         {"DATABASE_URL": db("ledger")}),
        ("issuer", ["issuer", "serve", "--host", host, "--port", str(issuer_port), "--log-level", log_level,
                    *(["--dev"] if dev else [])],
         {"DATABASE_URL": db("issuer"), "ZKCRED_LEDGER_URL": ledger_url,
          "ZKCRED_ISSUER_URL": f"http://{host}:{issuer_port}"}),
        ("verifier", ["verifier", "serve", "--host", host, "--port", str(verifier_port), "--log-level", log_level],
         {"DATABASE_URL": db("verifier"), "ZKCRED_LEDGER_URL": ledger_url, "ZKCRED_LEDGER_PUBLIC_KEY": ledger_public}),
    ]
    urls = {"ledger": ledger_url, "issuer": f"http://{host}:{issuer_port}",
            "verifier": f"http://{host}:{verifier_port}"}
    run_services(specs, urls, ledger_public=ledger_public, as_json=as_json, console=console)


def run_services(specs: list[tuple[str, list[str], dict[str, str]]], urls: dict[str, str], *, ledger_public: str,
                 as_json: bool, console: Console) -> None:
    """Run ``zkcred <args>`` for each spec under the supervisor until Ctrl-C or SIGTERM."""
    base = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    services = [Service(name, [sys.executable, "-m", "zkcred", *args], {**base, **env}, urls[name],
                        gate=name == "ledger")  # the issuer registers itself on the ledger at start-up
                for name, args, env in specs]

    def ready() -> None:
        if as_json:
            typer.echo(json.dumps({**urls, "ledger_public_key": ledger_public}))
            return
        console.print(f"ledger   {urls['ledger']}  (public key {ledger_public})")
        console.print(f"issuer   {urls['issuer']}/docs")
        console.print(f"verifier {urls['verifier']}/docs")
        console.print("[dim]Ctrl-C stops all three[/]")

    supervisor = Supervisor(services, say=lambda line: console.print(f"[yellow]serve[/]: {line}"),
                            child_stdout=sys.stderr.fileno() if as_json else None)
    supervisor.run(ready)
    if supervisor.stop_signal is not None:
        console.print(f"[dim]stopped ({signal.Signals(supervisor.stop_signal).name})[/]")
