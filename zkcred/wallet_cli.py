"""``zkcred wallet …``: the holder's command line over ``wallet.Wallet``.

The wallet file defaults to ``./.zkcred/wallet.db`` (``ZKCRED_WALLET``); the passphrase
comes from ``ZKCRED_WALLET_PASSPHRASE`` or a prompt; the ledger from
``ZKCRED_LEDGER_URL`` (and ``ZKCRED_LEDGER_PUBLIC_KEY``, hex, to pin its key;
``ZKCRED_LEDGER_POLICY``, a C2SP tlog-policy file, to require a witness quorum on its checkpoints).
Every command takes ``--json`` for scripts; errors are one clear line and exit 1
(``zkcred/errors.py``: connection problems name the URL, files their path).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, NoReturn

import httpx
import typer
from rich.console import Console
from rich.table import Table

from wallet import MIN_PASSPHRASE, Wallet, escrow_notices, pseudonym_scopes
from wallet.core import offer_document_url, request_document_url
from zkcred.errors import CliError

app = typer.Typer(no_args_is_help=True, add_completion=False, help="The holder's wallet.")
console = Console()
err = Console(stderr=True)

WalletOpt = typer.Option(None, "--wallet", envvar="ZKCRED_WALLET", help="wallet file [./.zkcred/wallet.db]")
JsonOpt = typer.Option(False, "--json", help="machine-readable output")
LedgerOpt = typer.Option(None, "--ledger", envvar="ZKCRED_LEDGER_URL", help="ledger service URL")


def _path(wallet: Path | None) -> Path:
    return wallet or Path(".zkcred") / "wallet.db"


def _passphrase() -> str:
    value = os.environ.get("ZKCRED_WALLET_PASSPHRASE")
    if value:
        return value
    return typer.prompt("wallet passphrase", hide_input=True)


def _new_passphrase(attempts: int = 3) -> str:
    """A new wallet's passphrase: too short is said right after the first prompt, then asked again."""
    value = os.environ.get("ZKCRED_WALLET_PASSPHRASE")
    if value:
        return value  # Wallet.create checks its length
    for _ in range(attempts):
        value = typer.prompt("new wallet passphrase", hide_input=True)
        if len(value) < MIN_PASSPHRASE:
            err.print(f"[yellow]too short[/]: choose a passphrase of at least {MIN_PASSPHRASE} characters")
            continue
        if typer.prompt("repeat the passphrase", hide_input=True) == value:
            return value
        err.print("[yellow]the two entries differ[/]; again")
    raise CliError(
        f"no passphrase set after {attempts} attempts (at least {MIN_PASSPHRASE} characters, entered twice the same)"
    )


def _open(wallet: Path | None, ledger: str | None = None) -> Wallet:
    from ledger.errors import LedgerError
    from ledger.policy import max_age_from_env, policy_from_env

    key = os.environ.get("ZKCRED_LEDGER_PUBLIC_KEY")
    try:
        pinned = bytes.fromhex(key) if key else None
    except ValueError:
        raise CliError(
            "ZKCRED_LEDGER_PUBLIC_KEY is not hex: set it to the ledger's public key (`zkcred serve` prints it)"
        ) from None
    try:
        policy = policy_from_env()  # ZKCRED_LEDGER_POLICY: the witnesses and quorum every checkpoint needs
        max_age = max_age_from_env() if policy is not None else None
    except LedgerError as e:
        raise CliError(f"ZKCRED_LEDGER_POLICY: {e.detail}") from None
    return Wallet.open(
        _path(wallet), _passphrase(), ledger_url=ledger, ledger_key=pinned, ledger_policy=policy, ledger_max_age=max_age
    )


def _load(source: str) -> dict[str, Any]:
    """A JSON document from a file path or an http(s) URL."""
    if source.startswith(("http://", "https://")):
        response = httpx.get(source, timeout=30)
        response.raise_for_status()
        text = response.text
    else:
        text = Path(source).read_text()
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise CliError(f"{source} is not a JSON document ({e}); pass the file or URL you were given") from None
    if not isinstance(doc, dict):
        raise CliError(f"{source} is JSON but not an object; pass the file or URL you were given")
    return doc


def _fail(message: str) -> NoReturn:
    raise CliError(message)


@app.command()
def init(wallet: Path = WalletOpt, as_json: bool = JsonOpt) -> None:
    """Create a wallet with a fresh link secret."""
    if _path(wallet).exists():  # before asking for a passphrase
        _fail(f"a wallet already exists at {_path(wallet)}; choose another with --wallet or ZKCRED_WALLET")
    Wallet.create(_path(wallet), _new_passphrase()).close()
    out = {"wallet": str(_path(wallet))}
    console.print_json(data=out) if as_json else console.print(f"created wallet {out['wallet']}")


@app.command()
def accept(
    offer: str = typer.Argument(..., help="offer file, URL or zkcred://accept?offer_uri=… deep link"),
    wallet: Path = WalletOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Accept an issuer's offer: request, verify and store the credential."""
    document = _load(offer_document_url(offer))  # before the passphrase: a wrong path is said at once
    summary = _open(wallet).accept_offer(document)
    if as_json:
        console.print_json(data=summary.to_json())
    else:
        console.print(f"[green]✔[/] stored credential {summary.id} ({summary.schema}, expires {summary.expiry})")


@app.command("list")
def list_(wallet: Path = WalletOpt, as_json: bool = JsonOpt) -> None:
    """List the stored credentials."""
    items = _open(wallet).credentials()
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


@app.command()
def escrows(wallet: Path = WalletOpt, as_json: bool = JsonOpt) -> None:
    """List the attributes this wallet escrowed, to which auditor, for which label — and whether it opened them.

    An opening shows after `zkcred wallet sync`: the auditor's signed decryption record on the ledger.
    """
    items = _open(wallet).escrows()
    if as_json:
        console.print_json(data=[e.to_json() for e in items])
        return
    if not items:
        console.print("no escrows")
    for e in items:
        console.print(f"{e.escrowed_at} {e.verifier_id} request {e.request_id}: {e.describe()}")


def _request_of(doc: dict[str, Any], source: str) -> Any:
    """The presentation request in a request document (or the bare request), or one line naming ``source``."""
    from circuits.credentials import PresentationRequest
    from circuits.errors import ZkCredError

    try:
        request = doc["request"] if "request" in doc else doc
        return PresentationRequest.from_json(request)
    except (KeyError, TypeError, ValueError, ZkCredError) as e:
        raise CliError(
            f"{source} is not a presentation request ({type(e).__name__}: {e}); "
            "pass the request_url the lender gave you"
        ) from None


def _say_pseudonyms(scopes: list[Any], *, to: Console) -> None:
    for scope in scopes:
        to.print(f"pseudonym: for {scope.describe()} [dim](context {scope.context})[/]")


def _choices(use: list[str]) -> dict[str, str]:
    """``--use QUERY=CREDENTIAL_ID`` options as a mapping (one line on a malformed or repeated one)."""
    out: dict[str, str] = {}
    for item in use:
        query, sep, credential = item.partition("=")
        if not sep or not query or not credential:
            _fail(
                f"--use {item!r}: write QUERY=CREDENTIAL_ID (the query's id in the request, an id from `wallet list`)"
            )
        if query in out:
            _fail(f"--use names query {query!r} twice")
        out[query] = credential
    return out


def _say_chosen(chosen: dict[str, str], *, to: Console) -> None:
    if len(chosen) > 1 or set(chosen) - {"credential"}:
        for query, credential in chosen.items():
            to.print(f"query {query}: credential {credential}")


@app.command()
def present(
    request: str = typer.Argument(
        ...,
        help="request file, URL (the verifier's request document) or "
        "zkcred://present?request_uri=… deep link (what its QR code says)",
    ),
    submit: bool = typer.Option(False, "--submit", help="post the presentation and show the verdict"),
    use: list[str] = typer.Option(
        [], "--use", help="QUERY=CREDENTIAL_ID: answer that query with that credential (repeatable)"
    ),
    ledger: str = LedgerOpt,
    wallet: Path = WalletOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Answer a presentation request (and, with --submit, send it).

    If the request asks for a pseudonym, says which lender context it is for: the lender
    recognises this wallet when it presents for that context again; no other context can
    link it. --json carries the same as pseudonyms: [{query_id, context, verifier_id,
    lender, campaign}].

    A deep link (the text a QR scanner reads off ``GET /requests/{id}/qr``) stands for the
    request_url it carries; a malformed one is refused in one line.

    A request over several credentials (named queries: tax, bank, …) is answered with one
    credential per query, all of this wallet: the wallet picks, per query, a credential
    that meets it and, together, the request's equalities; --use QUERY=ID picks yourself.
    The answer names the credential used for each query (--json: chosen).

    An expired request is refused before proving. With --submit and a ledger (--ledger or
    ZKCRED_LEDGER_URL) the wallet syncs first when its ledger view is older than the
    request's max_staleness, and once more (then retries) if the verifier finds it stale.
    """
    request = request_document_url(request)  # strict: another scheme/action, a missing parameter → one line
    choose = _choices(use)
    if ledger and not ledger.startswith(("http://", "https://")):
        _fail(
            f"--ledger {ledger!r} is not an http(s):// URL (e.g. http://127.0.0.1:8003, the ledger of `zkcred serve`)"
        )
    if submit:
        if not request.startswith(("http://", "https://")):
            _fail(f"--submit needs the request's http(s) URL, not {request!r}")
        w = _open(wallet, ledger)
        doc = w.fetch_request(request)
        _request_of(doc, request)
        w.check_not_expired(doc, request)
        if "request" not in doc or "presentation_url" not in doc:
            _fail(
                f"{request} answered with a request but no presentation_url; pass the request_url the lender gave you"
            )
        if not as_json:
            _say_pseudonyms(pseudonym_scopes(doc["request"]), to=console)
            for notice in escrow_notices(doc["request"]):
                console.print(f"escrow: {notice}")
        result = w.submit_detailed(request, document=doc, choose=choose)
        verdict = result.verdict
        if as_json:
            console.print_json(
                data={**verdict, "pseudonyms": [p.to_json() for p in result.pseudonyms], "chosen": result.chosen}
            )
        else:
            _say_chosen(result.chosen, to=console)
            ok = verdict.get("verified")
            console.print("[green]✔ verified[/]" if ok else f"[red]✘ rejected[/] ({verdict.get('reason')})")
            for scope in result.pseudonyms if ok else ():
                console.print(
                    f"  presented a pseudonym for {scope.describe()}: it can recognise this wallet "
                    "next time; no other lender can link it"
                )
        raise typer.Exit(0 if verdict.get("verified") else 1)
    doc = _load(request)
    w = _open(wallet, ledger)
    w.check_not_expired(doc, request)
    presented = w.present_detailed(_request_of(doc, request), choose=choose)
    if not as_json:
        _say_chosen(presented.chosen, to=err)  # stdout stays the presentation's JSON
        _say_pseudonyms(presented.pseudonyms, to=err)
    console.print_json(
        data={
            "presentation": presented.presentation,
            "credentials": presented.credentials,
            "chosen": presented.chosen,
            "pseudonyms": [p.to_json() for p in presented.pseudonyms],
        }
    )


@app.command()
def sync(ledger: str = LedgerOpt, wallet: Path = WalletOpt, as_json: bool = JsonOpt) -> None:
    """Follow the ledger: update every revocation witness (never asks the issuer)."""
    from rich.progress import Progress

    if ledger and not ledger.startswith(("http://", "https://")):
        _fail(
            f"--ledger {ledger!r} is not an http(s):// URL (e.g. http://127.0.0.1:8003, the ledger of `zkcred serve`)"
        )
    w = _open(wallet, ledger)
    with Progress(console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("reading the ledger", total=None)
        report = w.sync(progress=lambda done, total: bar.update(task, completed=done, total=total))
    if as_json:
        console.print_json(data=report)
    else:
        console.print(
            f"ledger height {report['height']}: {report['updated']} witness updates, "
            f"{report['revoked']} credentials revoked"
        )
