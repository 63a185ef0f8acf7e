"""``zkcred wallet …``: the holder's command line over ``wallet.Wallet``.

The wallet file defaults to ``./.zkcred/wallet.db`` (``ZKCRED_WALLET``); the passphrase
comes from ``ZKCRED_WALLET_PASSPHRASE`` or a prompt; the ledger from
``ZKCRED_LEDGER_URL`` (and ``ZKCRED_LEDGER_PUBLIC_KEY``, hex, to pin its key;
``ZKCRED_LEDGER_POLICY``, a C2SP tlog-policy file, to require a witness quorum on its checkpoints).
Every command takes ``--json`` for scripts; errors are one clear line and exit 1.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from wallet import NoMatchingCredential, Wallet, WalletError, pseudonym_scopes

app = typer.Typer(no_args_is_help=True, add_completion=False, help="The holder's wallet.")
console = Console()
err = Console(stderr=True)

WalletOpt = typer.Option(None, "--wallet", envvar="ZKCRED_WALLET", help="wallet file [./.zkcred/wallet.db]")
JsonOpt = typer.Option(False, "--json", help="machine-readable output")
LedgerOpt = typer.Option(None, "--ledger", envvar="ZKCRED_LEDGER_URL", help="ledger service URL")


def _path(wallet: Path | None) -> Path:
    return wallet or Path(".zkcred") / "wallet.db"


def _passphrase(confirm: bool = False) -> str:
    value = os.environ.get("ZKCRED_WALLET_PASSPHRASE")
    if value:
        return value
    return typer.prompt("wallet passphrase", hide_input=True, confirmation_prompt=confirm)


def _open(wallet: Path | None, ledger: str | None = None) -> Wallet:
    from ledger.errors import LedgerError
    from ledger.policy import max_age_from_env, policy_from_env

    key = os.environ.get("ZKCRED_LEDGER_PUBLIC_KEY")
    try:
        policy = policy_from_env()  # ZKCRED_LEDGER_POLICY: the witnesses and quorum every checkpoint needs
        max_age = max_age_from_env() if policy is not None else None
    except LedgerError as e:
        raise WalletError(f"ZKCRED_LEDGER_POLICY: {e.detail}") from None
    return Wallet.open(_path(wallet), _passphrase(), ledger_url=ledger, ledger_key=bytes.fromhex(key) if key else None,
                       ledger_policy=policy, ledger_max_age=max_age)


def _load(source: str) -> dict[str, Any]:
    """A JSON document from a file path or an http(s) URL."""
    if source.startswith(("http://", "https://")):
        response = httpx.get(source, timeout=30)
        response.raise_for_status()
        return response.json()
    return json.loads(Path(source).read_text())


def _fail(message: str) -> None:
    err.print(f"[red]error:[/] {message}")
    raise typer.Exit(1)


@app.command()
def init(wallet: Path = WalletOpt, as_json: bool = JsonOpt) -> None:
    """Create a wallet with a fresh link secret."""
    try:
        Wallet.create(_path(wallet), _passphrase(confirm=True)).close()
    except WalletError as e:
        _fail(str(e))
    out = {"wallet": str(_path(wallet))}
    console.print_json(data=out) if as_json else console.print(f"created wallet {out['wallet']}")


@app.command()
def accept(offer: str = typer.Argument(..., help="offer file or URL"), wallet: Path = WalletOpt,
           as_json: bool = JsonOpt) -> None:
    """Accept an issuer's offer: request, verify and store the credential."""
    try:
        w = _open(wallet)
        summary = w.accept_offer(_load(offer))
    except (WalletError, OSError, ValueError, httpx.HTTPError) as e:
        _fail(str(e))
    if as_json:
        console.print_json(data=summary.to_json())
    else:
        console.print(f"[green]✔[/] stored credential {summary.id} ({summary.schema}, expires {summary.expiry})")


@app.command("list")
def list_(wallet: Path = WalletOpt, as_json: bool = JsonOpt) -> None:
    """List the stored credentials."""
    try:
        items = _open(wallet).credentials()
    except WalletError as e:
        _fail(str(e))
    if as_json:
        console.print_json(data=[c.to_json() for c in items])
        return
    table = Table(title="credentials")
    for col in ("id", "schema", "issuer", "status", "expires", "values"):
        table.add_column(col)
    for c in items:
        status = c.status if c.superseded_by is None else f"{c.status}; superseded by {c.superseded_by}"
        table.add_row(c.id, c.schema, c.issuer_id, status, c.expiry, ", ".join(f"{k}={v}" for k, v in c.values.items()))
    console.print(table)


def _say_pseudonyms(scopes: list[Any], *, to: Console) -> None:
    for scope in scopes:
        to.print(f"pseudonym: for {scope.describe()} [dim](context {scope.context})[/]")


@app.command()
def present(request: str = typer.Argument(..., help="request file or URL (the verifier's request document)"),
            submit: bool = typer.Option(False, "--submit", help="post the presentation and show the verdict"),
            wallet: Path = WalletOpt, as_json: bool = JsonOpt) -> None:
    """Answer a presentation request (and, with --submit, send it).

    If the request asks for a pseudonym, says which lender context it is for: the lender
    recognises this wallet when it presents for that context again; no other context can
    link it. ``--json`` carries the same as ``pseudonyms: [{query_id, context, verifier_id,
    lender, campaign}]``.
    """
    try:
        w = _open(wallet)
        if submit:
            if not request.startswith(("http://", "https://")):
                _fail("--submit needs the request URL")
            doc = w.fetch_request(request)
            if not as_json:
                _say_pseudonyms(pseudonym_scopes(doc["request"]), to=console)
            result = w.submit_detailed(request, document=doc)
            verdict = result.verdict
            if as_json:
                console.print_json(data={**verdict, "pseudonyms": [p.to_json() for p in result.pseudonyms]})
            else:
                ok = verdict.get("verified")
                console.print(("[green]✔ verified[/]" if ok else f"[red]✘ rejected[/] ({verdict.get('reason')})"))
                for scope in result.pseudonyms if ok else ():
                    console.print(f"  presented a pseudonym for {scope.describe()}: it can recognise this wallet "
                                  "next time; no other lender can link it")
            raise typer.Exit(0 if verdict.get("verified") else 1)
        doc = _load(request)
        presented = w.present_detailed(doc.get("request", doc))
    except NoMatchingCredential as e:
        _fail(f"cannot answer: {e.reason}")
    except (WalletError, OSError, ValueError, KeyError, httpx.HTTPError) as e:
        _fail(str(e))
    if not as_json:
        _say_pseudonyms(presented.pseudonyms, to=err)  # stdout stays the presentation's JSON
    console.print_json(data={"presentation": presented.presentation, "credentials": presented.credentials,
                             "pseudonyms": [p.to_json() for p in presented.pseudonyms]})


@app.command()
def sync(ledger: str = LedgerOpt, wallet: Path = WalletOpt, as_json: bool = JsonOpt) -> None:
    """Follow the ledger: update every revocation witness (never asks the issuer)."""
    from rich.progress import Progress

    try:
        w = _open(wallet, ledger)
        with Progress(console=err, transient=True) as bar:
            task = bar.add_task("reading the ledger", total=None)
            report = w.sync(progress=lambda done, total: bar.update(task, completed=done, total=total))
    except (WalletError, OSError, httpx.HTTPError) as e:
        _fail(str(e))
    if as_json:
        console.print_json(data=report)
    else:
        console.print(f"ledger height {report['height']}: {report['updated']} witness updates, "
                      f"{report['revoked']} credentials revoked")
