"""``zkcred witness``: run a C2SP tlog-witness for the zkcred ledger (or any log), or print its vkey."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from zkcred.config_cli import ConfigOpt, StateDirOpt, effective_log_level, load
from zkcred.logopt import LogLevelOption, apply_log_level

if TYPE_CHECKING:
    from witness.config import Settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__.splitlines()[0] if __doc__ else None)
console = Console(stderr=True, soft_wrap=True, highlight=False)

DEFAULT_PORT = 8004

KeyFileOpt = Annotated[
    str | None,
    typer.Option(
        help="The witness's key (hex seed, created 0600 if missing; env ZKCRED_WITNESS_KEY_FILE; default "
        "<state dir>/witness-key).",
        show_default=False,
    ),
]
NameOpt = Annotated[
    str | None,
    typer.Option(help="The cosigner's key name (env ZKCRED_WITNESS_NAME; default zkcred.example/witness-<key id>)."),
]
AlgorithmOpt = Annotated[
    str | None,
    typer.Option(
        help="ed25519 (cosignature/v1, type 0x04) or ml-dsa-44 (type 0x06); env ZKCRED_WITNESS_ALGORITHM.",
        show_default=False,
    ),
]


def _settings(state_dir: Path | None, config: Path | None, **overrides: Any) -> Settings:
    from witness.config import Settings

    return load(Settings, state_dir, config, **overrides)


def _fail(message: str) -> None:
    console.print(f"[red]error:[/] {message}")
    raise typer.Exit(1)


def _signer(settings: Settings):  # type: ignore[no-untyped-def]
    from ledger.errors import LedgerError
    from ledger.keys import key_from_file
    from ledger.note import CosignatureSigner, MLDSACosignatureSigner, key_id

    key_file, name, algorithm = settings.witness_key_file, settings.witness_name, settings.witness_algorithm
    try:
        key = key_from_file(key_file)  # a 32-byte seed: Ed25519 or ML-DSA-44 (FIPS 204 ξ)
    except (OSError, ValueError) as e:
        _fail(f"cannot read the witness key {key_file}: {e}")
    if not name:
        name = f"zkcred.example/witness-{key_id('w', 0x04, key.public_key().public_bytes_raw()):08x}"
    try:
        if algorithm == "ml-dsa-44":
            return MLDSACosignatureSigner(name, key.private_bytes_raw())
        return CosignatureSigner(name, key)
    except LedgerError as e:
        _fail(f"--name: {e.detail}")


def _logs(vkeys: list[str], logs_file: Path | None) -> list:  # type: ignore[type-arg]
    """Log vkeys from ``--log`` and from a file of ``log <vkey>`` lines (tlog-policy syntax)."""
    from ledger.errors import LedgerError
    from ledger.note import SIG_ED25519, parse_vkey

    lines = list(vkeys)
    if logs_file is not None:
        try:
            text = logs_file.read_text()
        except OSError as e:
            _fail(f"cannot read {logs_file}: {e.strerror}")
        for number, line in enumerate(text.splitlines(), 1):
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            if words[0] != "log" or len(words) not in (2, 3):
                _fail(f"{logs_file}:{number}: expected 'log <vkey> [<url>]'")
            lines.append(words[1])
    try:
        verifiers = [parse_vkey(v, allowed=(SIG_ED25519,)) for v in lines]
    except LedgerError as e:
        _fail(f"log vkey: {e.detail}")
    if not verifiers:
        _fail("no log to witness: give --log <vkey> (the ledger prints its vkey at start) or --logs-file")
    return verifiers


@app.command()
def serve(
    log: Annotated[list[str], typer.Option("--log", help="A log's vkey (origin+keyid+key); repeatable.")] = [],  # noqa: B006
    logs_file: Annotated[
        Path | None, typer.Option(help="A file of 'log <vkey>' lines (env ZKCRED_WITNESS_LOGS).", show_default=False)
    ] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = DEFAULT_PORT,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="SQLite or postgresql+psycopg:// URL (env ZKCRED_WITNESS_DATABASE_URL or DATABASE_URL; default "
            "<state dir>/witness.db).",
            show_default=False,
        ),
    ] = None,
    key_file: KeyFileOpt = None,
    name: NameOpt = None,
    algorithm: AlgorithmOpt = None,
    log_level: LogLevelOption = "info",
    state_dir: StateDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Serve POST /add-checkpoint (C2SP tlog-witness) for the given logs."""
    import uvicorn

    settings = _settings(
        state_dir,
        config,
        database_url=database_url,
        witness_key_file=key_file,
        witness_name=name,
        witness_algorithm=algorithm,
        witness_logs_file=logs_file,
    )
    logs = apply_log_level(effective_log_level(log_level, settings))  # JSON lines, like the other services

    from witness.api import create_app
    from witness.core import Witness
    from witness.sql import SqlWitnessStore

    witnessed = _logs(log, settings.witness_logs_file)
    signer = _signer(settings)
    try:
        store = SqlWitnessStore(settings.database_url)
    except Exception as e:  # unreachable database, bad URL
        _fail(f"cannot open the witness database: {type(e).__name__}: {e}")
    console.print(f"witness vkey: {signer.verifier.vkey()}")
    for v in witnessed:
        console.print(f"witnessing {v.name} ({v.vkey()})")
    uvicorn.run(create_app(Witness(signer, witnessed, store)), host=host, port=port, **logs)


@app.command()
def vkey(
    key_file: KeyFileOpt = None,
    name: NameOpt = None,
    algorithm: AlgorithmOpt = None,
    state_dir: StateDirOpt = None,
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {name, vkey} as one JSON object.")] = False,
) -> None:
    """Print the witness's vkey (for the ledger's and consumers' policy files)."""
    settings = _settings(state_dir, config, witness_key_file=key_file, witness_name=name, witness_algorithm=algorithm)
    verifier = _signer(settings).verifier
    if as_json:
        import json

        typer.echo(json.dumps({"name": verifier.name, "vkey": verifier.vkey()}))
        return
    typer.echo(verifier.vkey())
