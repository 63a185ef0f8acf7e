"""``zkcred auditor …``: an escrow auditor's keys, its ledger registration, and public openings.

    zkcred auditor init --id audit-co                 # keys in ./.zkcred/auditor.json (ZKCRED_AUDITOR_KEYS)
    zkcred auditor register --name "Audit Co"         # on the ledger (ZKCRED_LEDGER_URL)
    zkcred auditor decrypt escrow.json --reason "loan 42 defaulted"

``decrypt`` takes the escrow a lender reads from the verifier (``verdict.escrow`` of
``GET /requests/{id}``, or the whole answer) and opens it only after its decryption record
is on the ledger and checked there (:func:`zkcred.auditor.open_escrow`). The ledger's key is
pinned with ``ZKCRED_LEDGER_PUBLIC_KEY`` (hex), as for the wallet.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from zkcred.errors import CliError

app = typer.Typer(no_args_is_help=True, add_completion=False, help="An escrow auditor: keys, registration, openings.")
console = Console()

KeysOpt = typer.Option(None, "--keys", envvar="ZKCRED_AUDITOR_KEYS", help="key file [./.zkcred/auditor.json]")
JsonOpt = typer.Option(False, "--json", help="machine-readable output")
LedgerOpt = typer.Option("http://127.0.0.1:8003", "--ledger", envvar="ZKCRED_LEDGER_URL", help="ledger service URL")


def _keys_path(keys: Path | None) -> Path:
    return keys or Path(".zkcred") / "auditor.json"


def _publisher(ledger: str) -> Any:
    from issuer.publisher import HttpPublisher
    from ledger.client import LedgerClient

    if not ledger.startswith(("http://", "https://")):
        raise CliError(f"--ledger {ledger!r} is not an http(s):// URL (e.g. http://127.0.0.1:8003)")
    pin = os.environ.get("ZKCRED_LEDGER_PUBLIC_KEY")
    try:
        pinned = bytes.fromhex(pin) if pin else None
    except ValueError:
        raise CliError("ZKCRED_LEDGER_PUBLIC_KEY is not hex: set it to the ledger's public key") from None
    return HttpPublisher(LedgerClient(ledger, ledger_key=pinned, timeout=30))


def _load_keys(keys: Path | None) -> Any:
    from zkcred.auditor import AuditorKeys

    path = _keys_path(keys)
    if not path.exists():
        raise CliError(f"no auditor keys at {path}; run `zkcred auditor init --id <id>` or pass --keys")
    return AuditorKeys.load(path)


def _print(data: dict[str, Any], text: str, as_json: bool) -> None:
    console.print_json(data=data) if as_json else console.print(text)


@app.command()
def init(
    auditor_id: str = typer.Option(..., "--id", help="the auditor's ledger id, e.g. audit-co"),
    keys: Path = KeysOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Create the auditor's keys: an Ed25519 ledger key and an ElGamal escrow key (file mode 0600)."""
    from zkcred.auditor import AuditorKeys

    path = _keys_path(keys)
    if path.exists():
        raise CliError(f"auditor keys already exist at {path}; choose another with --keys")
    generated = AuditorKeys.generate(auditor_id)
    generated.save(path)
    public = generated.escrow_public().hex()
    _print(
        {"auditor_id": auditor_id, "keys": str(path), "escrow_key": public},
        f"created auditor {auditor_id} (keys in {path}); register it with `zkcred auditor register`",
        as_json,
    )


@app.command()
def register(
    name: str = typer.Option(..., "--name", help="display name lenders and holders see"),
    ledger: str = LedgerOpt,
    keys: Path = KeysOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Publish the auditor's escrow key and name on the ledger (lenders then name it in requests)."""
    from zkcred.auditor import register as do_register

    auditor = _load_keys(keys)
    seq = do_register(_publisher(ledger), auditor, name)
    _print(
        {"auditor_id": auditor.auditor_id, "seq": seq},
        f"registered auditor {auditor.auditor_id} ({name}) at ledger entry {seq}",
        as_json,
    )


@app.command()
def decrypt(
    escrow_file: Path = typer.Argument(..., help="the escrow JSON (verdict.escrow, or the lender's request status)"),
    reason: str = typer.Option(..., "--reason", help="why it is opened: published on the ledger"),
    candidate: list[str] = typer.Option(
        [], "--candidate", help="a value from the issuer's records to match (repeatable; strings, large ranges)"
    ),
    ledger: str = LedgerOpt,
    keys: Path = KeysOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Open an escrow: append the signed decryption record to the ledger, check it there, then decrypt."""
    from zkcred.auditor import open_escrow

    try:
        doc = json.loads(escrow_file.read_text())
    except ValueError:
        raise CliError(f"{escrow_file} is not JSON; pass the escrow the lender read from the verifier") from None
    if isinstance(doc, dict) and isinstance(doc.get("verdict"), dict):
        doc = doc["verdict"]
    if isinstance(doc, dict) and isinstance(doc.get("escrow"), dict):
        doc = doc["escrow"]
    if not isinstance(doc, dict):
        raise CliError(f"{escrow_file} holds no escrow object")
    opened = open_escrow(_publisher(ledger), _load_keys(keys), doc, reason=reason, candidates=candidate)
    found = "no value found (pass --candidate values from the issuer's records)" if opened.value is None else None
    _print(
        opened.to_json(),
        f"decryption record at ledger entry {opened.record_seq} ({opened.request_id}, {opened.label}): "
        + (found or f"{doc.get('attribute', 'value')} = {opened.value}"),
        as_json,
    )
    if opened.value is None:
        raise typer.Exit(1)
