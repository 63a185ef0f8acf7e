"""``zkcred serve``: the ledger, the issuer and the verifier, one process each.

State lives under ``--dir`` (default ``./.zkcred``): one SQLite file per service (or a
``DATABASE_URL`` per service: ``ZKCRED_LEDGER_DATABASE_URL``, ``ZKCRED_ISSUER_DATABASE_URL``,
``ZKCRED_VERIFIER_DATABASE_URL``) and the ledger's signing key. The verifier is started
with the ledger's public key pinned. The issuer needs ``ZKCRED_MASTER_KEY`` (or ``--dev``
for a throw-away one). Ctrl-C stops all three.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import typer
from rich.console import Console


def serve(
    directory: Path = typer.Option(Path(".zkcred"), "--dir", help="where the services keep their state"),
    host: str = typer.Option("127.0.0.1", help="interface for all three services"),
    ledger_port: int = typer.Option(8003, help="ledger port"),
    issuer_port: int = typer.Option(8001, help="issuer port"),
    verifier_port: int = typer.Option(8002, help="verifier port"),
    dev: bool = typer.Option(False, "--dev", help="without ZKCRED_MASTER_KEY, use a throw-away issuer key"),
) -> None:
    """Start the ledger, issuer and verifier (one process each) until Ctrl-C."""
    from ledger.entries import public_key_bytes
    from ledger.keys import load_signing_key

    console = Console()
    directory.mkdir(parents=True, exist_ok=True)
    key_file = directory / "ledger-signing-key"
    ledger_public = public_key_bytes(load_signing_key(key_file)).hex()
    ledger_url = f"http://{host}:{ledger_port}"
    base = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}

    def db(name: str) -> str:
        return os.environ.get(f"ZKCRED_{name.upper()}_DATABASE_URL") or f"sqlite:///{directory / f'{name}.db'}"

    specs = [
        ("ledger", ["ledger", "serve", "--host", host, "--port", str(ledger_port), "--key-file", str(key_file)],
         {"DATABASE_URL": db("ledger")}),
        ("issuer", ["issuer", "serve", "--host", host, "--port", str(issuer_port), *(["--dev"] if dev else [])],
         {"DATABASE_URL": db("issuer"), "ZKCRED_LEDGER_URL": ledger_url, "ZKCRED_LEDGER_PUBLIC_KEY": ledger_public,
          "ZKCRED_ISSUER_URL": f"http://{host}:{issuer_port}"}),
        ("verifier", ["verifier", "serve", "--host", host, "--port", str(verifier_port)],
         {"DATABASE_URL": db("verifier"), "ZKCRED_LEDGER_URL": ledger_url, "ZKCRED_LEDGER_PUBLIC_KEY": ledger_public}),
    ]
    children: list[tuple[str, subprocess.Popen]] = []
    # SIGTERM (a supervisor, a test's terminate()) must stop the children too: turn it into
    # SystemExit so the finally below runs, instead of dying and orphaning three servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        for name, args, env in specs:
            children.append((name, subprocess.Popen([sys.executable, "-m", "zkcred", *args], env={**base, **env})))
            if name == "ledger":
                time.sleep(1.0)  # the issuer registers itself on the ledger at start-up
        console.print(f"ledger   {ledger_url}  (public key {ledger_public})")
        console.print(f"issuer   http://{host}:{issuer_port}/docs")
        console.print(f"verifier http://{host}:{verifier_port}/docs")
        if not os.environ.get("ZKCRED_LEDGER_POLICY"):
            console.print("[bold yellow]no witness policy (ZKCRED_LEDGER_POLICY):[/] the issuer and the verifier "
                          "accept checkpoints signed by the ledger alone — one operator could show them a split view")
        console.print("[dim]Ctrl-C stops all three[/]")
        while True:
            for name, proc in children:
                if proc.poll() is not None:
                    console.print(f"[red]{name} exited with {proc.returncode}[/]")
                    raise typer.Exit(1)
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for _, proc in children:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for _, proc in children:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
