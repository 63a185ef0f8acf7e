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
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from wallet import MIN_PASSPHRASE, ConsentSummary, OfferSummary, Wallet
from wallet.core import offer_document_url, request_document_url
from zkcred.errors import CliError

app = typer.Typer(no_args_is_help=True, add_completion=False, help="The holder's wallet.")
console = Console()
err = Console(stderr=True)

WalletOpt = typer.Option(None, "--wallet", envvar="ZKCRED_WALLET", help="wallet file [./.zkcred/wallet.db]")
JsonOpt = typer.Option(False, "--json", help="machine-readable output")
YesOpt = typer.Option(False, "--yes", "-y", help="answer yes to the question (scripts); the panel is still shown")
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
    yes: bool = YesOpt,
    ledger: str = LedgerOpt,
    wallet: Path = WalletOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Accept an issuer's offer: shows it (issuer's registered name, attributes, expiry), asks, then
    requests, verifies and stores the credential.

    --yes accepts without asking (scripts). --json without --yes prints the offer as data and
    accepts nothing; with --yes it prints the stored credential.
    """
    document = _load(offer_document_url(offer))  # before the passphrase: a wrong path is said at once
    w = _open(wallet, ledger)  # with a ledger: the issuer's registration, and the witness's accumulator, checked
    review = w.review_offer(document)
    if as_json and not yes:
        console.print_json(data={"offer": review.to_json(), "accepted": False})
        return
    if not as_json:
        console.print(offer_panel(review))
    if not yes and not _ask("Accept this credential?", to=console):
        _declined(f"declined: nothing was stored and nothing sent to {review.issuer_url or 'the issuer'}")
    summary = w.accept_offer(document)
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
        issuer = c.issuer_name or c.issuer_id
        table.add_row(c.id, c.schema, issuer, status, c.expiry, ", ".join(f"{k}={v}" for k, v in c.values.items()))
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


def consent_panel(summary: ConsentSummary) -> Panel:
    """The consent summary as the holder reads it before anything is sent (``wallet.consent``)."""
    who = summary.requester
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    grid.add_row("who", escape(who.describe()))
    grid.add_row("why", escape(who.purpose) if who.purpose else "[dim](no purpose given)[/]")
    grid.add_row("expires", escape(summary.expires_at or "(no expiry given)"))
    for d in summary.disclosed:
        grid.add_row("disclosed", f"[bold]{escape(d.attribute)}[/] = {escape(str(d.value))}")
    if not summary.disclosed:
        grid.add_row("disclosed", "[dim]no attribute value[/]")
    for p in summary.proven:
        grid.add_row("proven", escape(p.text))
    for nym in summary.pseudonyms:
        grid.add_row(
            "pseudonym",
            f"{escape(nym.pseudonym[:16])}… for {escape(nym.scope)} [dim](context {escape(nym.context)})[/]",
        )
    for notice in summary.escrows:
        grid.add_row("escrow", escape(notice))
    named = len(summary.credentials) > 1 or any(c.query_id != "credential" for c in summary.credentials)
    for c in summary.credentials:
        label = f"credential for {c.query_id}" if named else "credential"
        grid.add_row(label, escape(f"{c.schema} ({c.credential_id}), issued by {c.issuer()}"))
    title = f"{who.lender or who.verifier_name or who.verifier_id} asks for a presentation"
    return Panel(grid, title=escape(title), title_align="left", border_style="cyan", expand=False)


def offer_panel(offer: OfferSummary) -> Panel:
    """An issuer's offer as the holder reads it before accepting."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    grid.add_row("issuer", escape(offer.issuer()))
    grid.add_row("credential", escape(f"{offer.schema} ({offer.credential_definition_id})"))
    for name, value in offer.attributes.items():
        grid.add_row("attribute", f"[bold]{escape(name)}[/] = {escape(str(value))}")
    grid.add_row("offer expires", escape(offer.expires_at or "(no expiry given)"))
    title = f"{offer.issuer_name or offer.issuer_id} offers a credential"
    return Panel(grid, title=escape(title), title_align="left", border_style="cyan", expand=False)


def _ask(question: str, *, to: Console) -> bool:
    """y/N on the terminal, no by default; no answer (end of input, Ctrl-C) is no."""
    try:
        return bool(typer.confirm(question, default=False, err=to is err))
    except (typer.Abort, EOFError, KeyboardInterrupt):
        return False


def _declined(message: str) -> NoReturn:
    err.print(escape(message))
    raise typer.Exit(1)


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
    yes: bool = YesOpt,
    ledger: str = LedgerOpt,
    wallet: Path = WalletOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Answer a presentation request after showing what would leave the wallet, and asking.

    The panel says who asks (lender, verifier, origin, its ledger registration), why, until
    when, each disclosed attribute with its value, each statement proven without its value,
    the pseudonym and its context, and which credential (and registered issuer) answers.
    The question defaults to no; a no sends nothing. --yes answers yes (scripts). --json
    prints the summary as data ({"consent": …}): without --yes nothing is sent ("sent":
    false); with --yes the verdict follows in the same object.

    A deep link (the text a QR scanner reads off ``GET /requests/{id}/qr``) stands for the
    request_url it carries; a malformed one is refused in one line.

    A request over several credentials (named queries: tax, bank, …) is answered with one
    credential per query, all of this wallet: the wallet picks, per query, a credential
    that meets it and, together, the request's equalities; --use QUERY=ID picks yourself.
    The panel names the credential used for each query (--json: chosen).

    An expired request is refused before proving. With a ledger (--ledger or
    ZKCRED_LEDGER_URL) the wallet syncs first when its ledger view is older than the
    request's max_staleness, and with --submit once more (then retries) if the verifier
    finds it stale. Without --submit the presentation is printed (JSON on stdout; the
    panel and question on stderr).
    """
    request = request_document_url(request)  # strict: another scheme/action, a missing parameter → one line
    choose = _choices(use)
    if ledger and not ledger.startswith(("http://", "https://")):
        _fail(
            f"--ledger {ledger!r} is not an http(s):// URL (e.g. http://127.0.0.1:8003, the ledger of `zkcred serve`)"
        )
    if submit and not request.startswith(("http://", "https://")):
        _fail(f"--submit needs the request's http(s) URL, not {request!r}")
    if submit:
        w = _open(wallet, ledger)
        summary = w.prepare(w.fetch_request(request), choose=choose)  # registration, signature, origin, lender, expiry
    else:
        doc = _load(request)
        w = _open(wallet, ledger)
        _request_of(doc, request)
        w.check_not_expired(doc, request)
        summary = w.prepare(doc, source=request, choose=choose)  # unchecked: shown as such, never sent by us
    shown = console if submit else err  # without --submit stdout stays the presentation's JSON
    if as_json and not yes:
        console.print_json(data={"consent": summary.to_json(), "sent": False})
        return
    if not as_json:
        shown.print(consent_panel(summary))
    to = summary.requester.lender or summary.requester.verifier_id
    if not yes and not _ask(f"Send this to {to}?" if submit else "Create this presentation?", to=shown):
        _declined(f"declined: nothing was sent to {to}" if submit else "declined: no presentation was created")
    if not submit:
        presented = w.present_detailed(summary.approve())
        out: dict[str, Any] = {
            "presentation": presented.presentation,
            "credentials": presented.credentials,
            "chosen": presented.chosen,
            "pseudonyms": [p.to_json() for p in presented.pseudonyms],
        }
        console.print_json(data={**out, "consent": summary.to_json()} if as_json else out)
        return
    result = w.submit_detailed(summary.approve())
    verdict = result.verdict
    if as_json:
        console.print_json(
            data={
                **verdict,
                "pseudonyms": [p.to_json() for p in result.pseudonyms],
                "chosen": result.chosen,
                "consent": summary.to_json(),
                "sent": True,
            }
        )
    else:
        ok = verdict.get("verified")
        console.print("[green]✔ verified[/]" if ok else f"[red]✘ rejected[/] ({verdict.get('reason')})")
        for scope in result.pseudonyms if ok else ():
            console.print(
                f"  presented a pseudonym for {scope.describe()}: it can recognise this wallet "
                "next time; no other lender can link it"
            )
    raise typer.Exit(0 if verdict.get("verified") else 1)


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
