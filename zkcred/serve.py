"""``zkcred serve``: the ledger, the issuer and the verifier, one process each.

All three read one configuration (``--state-dir`` / ``ZKCRED_STATE_DIR``, ``--config``;
docs/configuration.md), made by ``zkcred init``: one SQLite file per service unless a
database URL says otherwise (``ZKCRED_{LEDGER,ISSUER,VERIFIER}_DATABASE_URL``), the ledger's
signing key, and the master key. The verifier pins the ledger's public key from the state
directory. Each listens on the port of its public URL when that URL is on loopback (else
8003/8001/8002, or ``--*-port``). ``--dev`` runs without ``zkcred init``: a development
state directory is created once and reused. Ctrl-C (or SIGTERM) stops all three.

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
    state_dir: Path | None = typer.Option(
        None,
        "--state-dir",
        "--dir",
        show_default=False,
        help="the state directory (env ZKCRED_STATE_DIR; default $XDG_STATE_HOME/zkcred or ~/.local/state/zkcred)",
    ),
    config: Path | None = typer.Option(
        None, "--config", show_default=False, help="a config file (env ZKCRED_CONFIG; default <state dir>/zkcred.toml)"
    ),
    host: str = typer.Option("127.0.0.1", help="interface for all three services"),
    ledger_port: int | None = typer.Option(None, help="ledger port (from ledger_url, else 8003)", show_default=False),
    issuer_port: int | None = typer.Option(None, help="issuer port (from issuer_url, else 8001)", show_default=False),
    verifier_port: int | None = typer.Option(
        None, help="verifier port (from verifier_url, else 8002)", show_default=False
    ),
    dev: bool = typer.Option(
        False,
        "--dev",
        help="development mode: a development state directory, made once and reused; URLs from the ports in use",
    ),
    as_json: bool = typer.Option(
        False,
        "--json",
        help="once all three answer, print their URLs and the ledger's "
        "public key as one JSON object on stdout (logs go to stderr)",
    ),
    log_level: LogLevelOption = "info",
    witnesses: int = typer.Option(
        0,
        min=0,
        max=16,
        help="also run this many C2SP witnesses; the ledger submits to "
        "them and the issuer and verifier require a majority of them",
    ),
    witness_port: list[int] = typer.Option([], help="port of each witness (repeatable; default 8004, 8005, …)"),
) -> None:
    """Start the ledger, issuer and verifier (one process each), and optionally witnesses, until Ctrl-C."""
    from issuer.config import Settings as IssuerSettings
    from ledger.config import ConfigError, open_checked
    from ledger.config import Settings as LedgerSettings
    from servicekit.settings import CommonSettings
    from verifier.config import Settings as VerifierSettings
    from zkcred.config_cli import (
        child_environment,
        effective_log_level,
        ensure_dev_state,
        fail,
        listen_port,
        load,
        open_issuer,
        open_verifier,
        warn_dev_key,
    )

    console = Console(stderr=as_json, soft_wrap=True)
    if dev:
        ensure_dev_state(state_dir, config)
    common = load(CommonSettings, state_dir, config, dev_mode=True if dev else None)
    log_level = effective_log_level(log_level, common)
    ledger_port = ledger_port or listen_port(common.ledger_url, 8003)
    issuer_port = issuer_port or listen_port(common.issuer_url, 8001)
    verifier_port = verifier_port or listen_port(common.verifier_url, 8002)
    public = {"ledger_url": common.ledger_url, "issuer_url": common.issuer_url, "verifier_url": common.verifier_url}
    if not common.dev_mode:
        missing = [name for name, url in public.items() if not url]
        if missing:
            fail(
                f"{', '.join(missing)} not set: run `zkcred init` (it writes the public URLs), set "
                f"ZKCRED_{missing[0].upper()}, or use --dev"
            )
    ledger_url = public["ledger_url"] or f"http://{host}:{ledger_port}"
    # check everything before anything starts: the settings, the ledger key against its log, the master key
    ensure_ports_free(
        host,
        [
            ("ledger", ledger_port, "--ledger-port"),
            ("issuer", issuer_port, "--issuer-port"),
            ("verifier", verifier_port, "--verifier-port"),
        ],
    )
    ledger_settings = load(LedgerSettings, state_dir, config)
    try:
        store, key = open_checked(ledger_settings)  # creates the ledger key for an empty log
    except ConfigError as e:
        fail(str(e))
    store.close()
    ledger_public = key.public_key().public_bytes_raw().hex()
    issuer_settings = load(IssuerSettings, state_dir, config, dev_mode=True if dev else None)
    verifier_settings = load(VerifierSettings, state_dir, config, ledger_url=ledger_url)
    try:
        pinned = verifier_settings.pinned_ledger_key()
        if pinned is not None and pinned[0].hex() != ledger_public:
            raise ConfigError(
                f"the pinned ledger key {pinned[0].hex()} (from {pinned[1]}) is not this ledger's key {ledger_public}"
            )
        open_issuer(issuer_settings, ledger_url)
        open_verifier(verifier_settings)
    except ConfigError as e:
        fail(str(e))
    warn_dev_key(common)
    base = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    base.update(child_environment(common))
    if not public["ledger_url"]:
        base["ZKCRED_LEDGER_URL"] = ledger_url
    witness_specs, policy_env = _witnesses(common.state_dir, host, witnesses, witness_port, ledger_public, log_level)
    ensure_ports_free(
        host, [(name, int(args[args.index("--port") + 1]), "--witness-port") for name, args, _ in witness_specs]
    )
    consumers = {"ZKCRED_LEDGER_POLICY": policy_env} if policy_env else {}
    specs = [
        *witness_specs,
        (
            "ledger",
            ["ledger", "serve", "--host", host, "--port", str(ledger_port), "--log-level", log_level],
            {"ZKCRED_LEDGER_WITNESSES": policy_env} if policy_env else {},
        ),
        (
            "issuer",
            [
                "issuer",
                "serve",
                "--host",
                host,
                "--port",
                str(issuer_port),
                "--log-level",
                log_level,
                *(["--dev"] if dev else []),
            ],
            consumers,
        ),
        (
            "verifier",
            [
                "verifier",
                "serve",
                "--host",
                host,
                "--port",
                str(verifier_port),
                "--log-level",
                log_level,
                *(["--dev"] if common.dev_mode else []),
            ],
            consumers,
        ),
    ]
    urls = {
        "ledger": f"http://{host}:{ledger_port}",
        "issuer": f"http://{host}:{issuer_port}",
        "verifier": f"http://{host}:{verifier_port}",
    }
    for name, args, _ in witness_specs:  # supervised too; the ledger starts once they answer (gate)
        urls[name] = f"http://{host}:{args[args.index('--port') + 1]}"
    state = f"state    {common.state_dir}" + ("  [bold yellow](development)[/]" if common.dev_mode else "")
    heading = [state]
    for name, _, _ in witness_specs:
        heading.append(f"{name} {urls[name]}")
    if policy_env:
        heading.append(f"witness policy (ledger, issuer, verifier): {policy_env}")
    elif not os.environ.get("ZKCRED_LEDGER_POLICY"):
        heading.append(
            "[bold yellow]no witness policy (ZKCRED_LEDGER_POLICY):[/] the issuer and the verifier "
            "accept checkpoints signed by the ledger alone — one operator could show them a split view"
        )
    run_services(
        specs,
        urls,
        base_env=base,
        ledger_public=ledger_public,
        as_json=as_json,
        console=console,
        heading=tuple(heading),
    )


def run_services(
    specs: list[tuple[str, list[str], dict[str, str]]],
    urls: dict[str, str],
    *,
    base_env: dict[str, str],
    ledger_public: str,
    as_json: bool,
    console: Console,
    heading: tuple[str, ...] = (),
) -> None:
    """Run ``zkcred <args>`` for each spec under the supervisor until Ctrl-C or SIGTERM.

    ``urls`` are where each service answers (probed for readiness); once all three do,
    the URLs are printed — or, with ``as_json``, one JSON object on stdout.
    """
    # the issuer registers itself on the ledger at start-up; the ledger submits to the witnesses
    services = [
        Service(
            name,
            [sys.executable, "-m", "zkcred", *args],
            {**base_env, **env},
            urls[name],
            gate=name == "ledger" or name.startswith("witness-"),
        )
        for name, args, env in specs
    ]
    witnesses = [urls[name] for name, _, _ in specs if name.startswith("witness-")]

    def ready() -> None:
        if as_json:
            shown = {name: urls[name] for name in ("ledger", "issuer", "verifier")}
            typer.echo(
                json.dumps(
                    {**shown, "ledger_public_key": ledger_public, **({"witnesses": witnesses} if witnesses else {})}
                )
            )
            return
        for line in heading:
            console.print(line)
        console.print(f"ledger   {urls['ledger']}  (public key {ledger_public})")
        console.print(f"issuer   {urls['issuer']}/docs")
        console.print(f"verifier {urls['verifier']}/docs")
        console.print("[dim]Ctrl-C stops them all[/]" if witnesses else "[dim]Ctrl-C stops all three[/]")

    supervisor = Supervisor(
        services,
        say=lambda line: console.print(f"[yellow]serve[/]: {line}"),
        child_stdout=sys.stderr.fileno() if as_json else None,
    )
    supervisor.run(ready)
    if supervisor.stop_signal is not None:
        console.print(f"[dim]stopped ({signal.Signals(supervisor.stop_signal).name})[/]")


def _witnesses(
    directory: Path, host: str, count: int, ports: list[int], ledger_public: str, log_level: str = "info"
) -> tuple[list[tuple[str, list[str], dict[str, str]]], str | None]:
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
        specs.append(
            (
                f"witness-{i}",
                [
                    "witness",
                    "serve",
                    "--log",
                    log_vkey.vkey(),
                    "--host",
                    host,
                    "--port",
                    str(port),
                    "--key-file",
                    str(key_file),
                    "--name",
                    name,
                    "--log-level",
                    log_level,
                ],
                {"ZKCRED_WITNESS_DATABASE_URL": f"sqlite:///{directory / f'witness-{i}.db'}"},
            )
        )
    policy = directory / "witnesses.policy"
    policy.write_text(format_policy(simple_policy(listed, count // 2 + 1, log=log_vkey)))
    return specs, str(policy)
