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

from zkcred.logopt import LogLevelOption


def serve(
    directory: Path = typer.Option(Path(".zkcred"), "--dir", help="where the services keep their state"),
    host: str = typer.Option("127.0.0.1", help="interface for all three services"),
    ledger_port: int = typer.Option(8003, help="ledger port"),
    issuer_port: int = typer.Option(8001, help="issuer port"),
    verifier_port: int = typer.Option(8002, help="verifier port"),
    dev: bool = typer.Option(False, "--dev", help="without ZKCRED_MASTER_KEY, use a throw-away issuer key"),
    witnesses: int = typer.Option(0, min=0, max=16, help="also run this many C2SP witnesses; the ledger submits to "
                                  "them and the issuer and verifier require a majority of them"),
    witness_port: list[int] = typer.Option([], help="port of each witness (repeatable; default 8004, 8005, …)"),
    log_level: LogLevelOption = "info",
) -> None:
    """Start the ledger, issuer and verifier (one process each), and optionally witnesses, until Ctrl-C."""
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

    witness_specs, policy_env = _witnesses(directory, host, witnesses, witness_port, ledger_public, log_level)
    specs = [
        *witness_specs,
        ("ledger", ["ledger", "serve", "--host", host, "--port", str(ledger_port), "--key-file", str(key_file),
                    "--log-level", log_level],
         {"DATABASE_URL": db("ledger"), **({"ZKCRED_LEDGER_WITNESSES": policy_env} if policy_env else {})}),
        ("issuer", ["issuer", "serve", "--host", host, "--port", str(issuer_port), "--log-level", log_level,
                    *(["--dev"] if dev else [])],
         {"DATABASE_URL": db("issuer"), "ZKCRED_LEDGER_URL": ledger_url, "ZKCRED_LEDGER_PUBLIC_KEY": ledger_public,
          "ZKCRED_ISSUER_URL": f"http://{host}:{issuer_port}",
          **({"ZKCRED_LEDGER_POLICY": policy_env} if policy_env else {})}),
        ("verifier", ["verifier", "serve", "--host", host, "--port", str(verifier_port), "--log-level", log_level],
         {"DATABASE_URL": db("verifier"), "ZKCRED_LEDGER_URL": ledger_url, "ZKCRED_LEDGER_PUBLIC_KEY": ledger_public,
          **({"ZKCRED_LEDGER_POLICY": policy_env} if policy_env else {})}),
    ]
    children: list[tuple[str, subprocess.Popen]] = []
    # SIGTERM (a supervisor, a test's terminate()) must stop the children too: turn it into
    # SystemExit so the finally below runs, instead of dying and orphaning three servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        for name, args, env in specs:
            if name == "ledger" and witness_specs:
                _wait_for([f"http://{host}:{a[a.index('--port') + 1]}/vkey" for _, a, _ in witness_specs], children)
            children.append((name, subprocess.Popen([sys.executable, "-m", "zkcred", *args], env={**base, **env})))
            if name == "ledger":
                time.sleep(1.0)  # the issuer registers itself on the ledger at start-up
        console.print(f"ledger   {ledger_url}  (public key {ledger_public})")
        console.print(f"issuer   http://{host}:{issuer_port}/docs")
        console.print(f"verifier http://{host}:{verifier_port}/docs")
        for name, args, _ in witness_specs:
            console.print(f"{name} http://{host}:{args[args.index('--port') + 1]}")
        if policy_env:
            console.print(f"witness policy (ledger, issuer, verifier): {policy_env}")
        elif not os.environ.get("ZKCRED_LEDGER_POLICY"):
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


def _witnesses(directory: Path, host: str, count: int, ports: list[int], ledger_public: str,
               log_level: str = "info") -> tuple[list[tuple[str, list[str], dict[str, str]]], str | None]:
    """The witness processes' specs and the policy file (majority quorum) the others are given."""
    if ports and count and len(ports) != count:
        raise typer.BadParameter("give one --witness-port per witness")
    count = count or len(ports)
    if not count:
        return [], None
    from ledger.checkpoint import default_origin, log_verifier
    from ledger.keys import key_from_file
    from ledger.note import CosignatureSigner
    from ledger.policy import format_policy, simple_policy

    log_vkey = log_verifier(default_origin(), bytes.fromhex(ledger_public))
    ports = ports or [8004 + i for i in range(count)]
    specs, listed = [], []
    for i, port in enumerate(ports, 1):
        name, key_file = f"zkcred.example/witness-{i}", directory / f"witness-{i}-key"
        signer = CosignatureSigner(name, key_from_file(key_file))
        listed.append((f"w{i}", signer.verifier, f"http://{host}:{port}"))
        specs.append((f"witness-{i}", ["witness", "serve", "--log", log_vkey.vkey(), "--host", host, "--port", str(port),
                                       "--key-file", str(key_file), "--name", name, "--log-level", log_level],
                      {"ZKCRED_WITNESS_DATABASE_URL": f"sqlite:///{directory / f'witness-{i}.db'}"}))
    policy = directory / "witnesses.policy"
    policy.write_text(format_policy(simple_policy(listed, count // 2 + 1, log=log_vkey)))
    return specs, str(policy)


def _wait_for(urls: list[str], children: list[tuple[str, subprocess.Popen]], timeout: float = 60.0) -> None:
    """Until every URL answers (the witnesses, before the ledger submits its first checkpoint)."""
    import httpx

    deadline = time.monotonic() + timeout
    for url in urls:
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                dead = [name for name, proc in children if proc.poll() is not None]
                if dead or time.monotonic() > deadline:
                    raise typer.Exit(1) from None
                time.sleep(0.1)
