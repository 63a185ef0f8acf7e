"""``zkcred demo``: the lending story end to end, in one process, on SQLite in a temporary directory.

An issuer (a payroll provider) defines an income / birth-date / country schema and a
revocable credential definition, publishing both to the ledger; it issues a credential
to a wallet, which binds its link secret blindly. A lender asks "income ≥ 50 000, over
18, country ∈ {DE, FR, NL}"; the wallet proves it; the verifier accepts and shows what it
learned — nothing but those facts. The issuer revokes; the wallet follows the ledger;
the same request can no longer be answered, and a presentation with the old witness is
refused by the verifier. Before that, a scene on returning applicants: Ada applies twice
at lender A with a pseudonym for A's context (A recognises her: ``seen_before`` with the
earlier request id) and once at lender B — a second API key on the same verifier, so a
second lender context — whose pseudonym for her is unrelated to A's and who cannot read
A's pseudonym records. Every step prints its time and, for proofs, its size.

The three services run as their real FastAPI apps; the wallet reaches them over HTTP
through in-process transports (``httpx`` + Starlette's TestClient), so every byte that
would cross a network crosses these app boundaries the same way.  Three C2SP witnesses
(``witness``) cosign each ledger checkpoint — in the demo right after every append — and
the verifier and the wallet accept only a view that two of them cosigned.

An SME application (issue 13): a tax office and a bank issue credentials about Bea's company
(a hidden ``company_id`` in both); a lender asks over both in one request — revenue and tax
year from the tax office, balance and debt from the bank, the same company in both, and a
debt-to-income rule across the two (``40*tax.revenue - 1200*bank.monthly_debt >= 0``: a
year's debt at most 40 % of revenue, a linear predicate over hidden values, issue 16) —
shown as a QR code in the terminal; the wallet reads it, picks a credential per query and
proves it all in one presentation; the verdict reports each query. A stricter lender's
rule (5 %) is refused by the wallet before any proof, naming it.
"""

from __future__ import annotations

import datetime as _dt
import json
import secrets
import tempfile
import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from circuits.backend import get_backend
from zkcred.errors import CliError

ISSUER_URL, VERIFIER_URL, LEDGER_URL = "http://issuer.demo", "http://verifier.demo", "http://ledger.demo"


def _witnesses(log, count: int):  # type: ignore[no-untyped-def]
    """``count`` witnesses as in-process apps, the ledger submitting to them after every append (in the
    demo synchronously, so each step already sees a cosigned checkpoint); returns their clients."""
    import httpx
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from fastapi.testclient import TestClient

    from ledger.note import CosignatureSigner
    from ledger.policy import simple_policy
    from ledger.witnessing import WitnessSubmitter
    from witness.api import create_app as witness_app
    from witness.core import MemoryWitnessStore, Witness

    clients, listed = {}, []
    for i in range(1, count + 1):
        url = f"http://witness-{i}.demo"
        w = Witness(
            CosignatureSigner(f"witness-{i}.demo", Ed25519PrivateKey.generate()), [log.verifier], MemoryWitnessStore()
        )
        clients[url] = TestClient(witness_app(w), base_url=url)
        listed.append((f"w{i}", w.signer.verifier, url))

    class Routed(httpx.Client):  # the submitter's HTTP, routed to the in-process witnesses
        def request(self, method, url, **kw):  # type: ignore[no-untyped-def,override]
            kw.pop("timeout", None)
            return next(c for base, c in clients.items() if str(url).startswith(base)).request(method, str(url), **kw)

    log.witness_policy = simple_policy(listed, count // 2 + 1, log=log.verifier)
    submitter = WitnessSubmitter(log, list(log.witness_policy.witnesses.values()), http=Routed())
    log.listeners.append(lambda size: submitter.submit_round())
    submitter.submit_round()  # the empty tree
    return clients


def _issuer(tmp: Path, log, backend, *, issuer_id: str, name: str, url: str):  # type: ignore[no-untyped-def]
    """An issuer service on its own SQLite file under ``tmp``, publishing to ``log`` in process."""
    from issuer.config import Settings as IssuerSettings
    from issuer.publisher import InProcessPublisher
    from issuer.service import IssuerService

    return IssuerService.open(
        settings=IssuerSettings(
            master_key=secrets.token_bytes(32),
            database_url=f"sqlite:///{tmp / (issuer_id + '.db')}",
            ledger_url=LEDGER_URL,
            issuer_url=url,
            issuer_id=issuer_id,
            issuer_name=name,
            dev_mode=True,
        ),
        publisher=InProcessPublisher(log),
        backend=backend,
    )


def _services(tmp: Path, backend, *, witnesses: int = 0, verifier_database_url: str | None = None):
    """Ledger, issuer and verifier apps on SQLite files under ``tmp``, and HTTP clients for them;
    with ``witnesses``, that many witnesses cosign the ledger and the verifier requires a majority.
    ``verifier_database_url``: the verifier's database instead (PostgreSQL in tests)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from fastapi.testclient import TestClient

    from issuer.api import create_app as issuer_app
    from ledger.api import create_app as ledger_app
    from ledger.log import LedgerLog
    from ledger.sql import SqlStore
    from verifier.api import create_app as verifier_app
    from verifier.db import SqlRequestStore, init_db, make_engine
    from verifier.identity import ensure_registered, in_process
    from verifier.resolver import LedgerResolver, LocalLedgerSource
    from verifier.service import VerifierService

    log = LedgerLog(SqlStore(f"sqlite:///{tmp / 'ledger.db'}"), signing_key=Ed25519PrivateKey.generate())
    witness_clients = _witnesses(log, witnesses) if witnesses else {}
    issuer = _issuer(tmp, log, backend, issuer_id="payroll-demo", name="Payroll Demo BV", url=ISSUER_URL)
    engine = make_engine(verifier_database_url or f"sqlite:///{tmp / 'verifier.db'}")
    init_db(engine)
    resolver = LedgerResolver(LocalLedgerSource(log, ledger_key=log.public_key, policy=log.witness_policy))
    identity = ensure_registered(  # the verifier's first start: its registration goes on the ledger
        engine=engine,
        key=Ed25519PrivateKey.generate(),
        name="Demo Lending Verifier",
        origins=[VERIFIER_URL],
        public_url=VERIFIER_URL,
        ledger=in_process(log),
    )
    verifier = VerifierService(store=SqlRequestStore(engine), resolver=resolver, identity=identity, backend=backend)
    clients = {
        ISSUER_URL: TestClient(issuer_app(issuer), base_url=ISSUER_URL),
        VERIFIER_URL: TestClient(verifier_app(verifier, public_url=VERIFIER_URL), base_url=VERIFIER_URL),
        LEDGER_URL: TestClient(ledger_app(log), base_url=LEDGER_URL),
        **witness_clients,
    }
    return log, issuer, verifier, clients


# The SME application: a tax office and a bank, one request over both -------------------------------

TAX_URL, BANK_URL = "http://tax-office.demo", "http://bank.demo"
#: what each SME issuer certifies; ``company_id`` (the chamber-of-commerce number) is in both
SME_SCHEMAS = {
    "tax": {
        "name": "tax-assessment",
        "version": "1",
        "attributes": [
            {"name": "company_id", "type": "string"},
            {"name": "company_name", "type": "string"},
            {"name": "revenue", "type": "int(0..1000000000000)"},
            {"name": "tax_year", "type": "int(2000..2100)"},
        ],
    },
    "bank": {
        "name": "bank-account",
        "version": "1",
        "attributes": [
            {"name": "company_id", "type": "string"},
            {"name": "balance", "type": "int"},
            {"name": "monthly_debt", "type": "int(0..1000000000000)"},
        ],
    },
}


def sme_issuers(tmp: Path, log, backend):  # type: ignore[no-untyped-def]
    """The tax office and the bank: two more issuer services on ``log``, their in-process clients, and
    an admin header each; ``{"tax": (service, client, admin), "bank": (…)}``."""
    from fastapi.testclient import TestClient

    from issuer.api import create_app as issuer_app

    out = {}
    for key, issuer_id, name, url in (
        ("tax", "tax-office-demo", "Tax Office Demo", TAX_URL),
        ("bank", "bank-demo", "Demo Bank NV", BANK_URL),
    ):
        service = _issuer(tmp, log, backend, issuer_id=issuer_id, name=name, url=url)
        admin = {"Authorization": f"Bearer {service.create_admin_token('demo-admin')}"}
        out[key] = (service, TestClient(issuer_app(service), base_url=url), admin)
    return out


def sme_definitions(issuers) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Each SME issuer's schema and credential definition (the bank's revocable); their ids by issuer."""
    ids = {}
    for key, (_service, client, admin) in issuers.items():
        schema = client.post("/admin/schemas", headers=admin, json=SME_SCHEMAS[key])
        schema.raise_for_status()
        body = {"schema_id": schema.json()["id"], "tag": "2026", "validity_days": 365}
        body |= {"revocable": True, "capacity": 100} if key == "bank" else {"revocable": False}
        definition = client.post("/admin/credential-definitions", headers=admin, json=body)
        definition.raise_for_status()
        ids[key] = definition.json()["id"]
    return ids


def sme_offer(issuers, definitions: dict[str, str], key: str, attributes: dict) -> dict:  # type: ignore[no-untyped-def]
    """An offer of issuer ``key`` (tax, bank) for ``attributes``."""
    _service, client, admin = issuers[key]
    r = client.post(
        "/admin/offers", headers=admin, json={"credential_definition_id": definitions[key], "attributes": attributes}
    )
    r.raise_for_status()
    return r.json()


#: the SME lender's debt-to-income rule across the tax office's and the bank's credentials (hidden
#: values): a year's debt, 12 × monthly_debt, at most 40 % of the year's revenue
DEBT_TO_INCOME = "40*tax.revenue - 1200*bank.monthly_debt >= 0"


def sme_request(definitions: dict[str, str]) -> dict:
    """The lender's SME application request: revenue from the tax office, balance and debt from the bank,
    the same company in both (hidden), debt-to-income across both, the company name disclosed — one
    holder, one proof."""
    return {
        "queries": [
            {
                "id": "tax",
                "credential_definitions": [definitions["tax"]],
                "disclose": ["company_name"],
                "predicates": [{"attribute": "revenue", "op": ">=", "value": 250000}],
            },
            {
                "id": "bank",
                "credential_definitions": [definitions["bank"]],
                "predicates": [{"attribute": "balance", "op": ">=", "value": 20000}],
            },
        ],
        "predicates": [
            {"attribute": "tax.tax_year", "op": ">=", "value": 2025},
            {"attribute": "bank.monthly_debt", "op": "<=", "value": 5000},
        ],
        "equalities": ["tax.company_id == bank.company_id"],
        "linear": [DEBT_TO_INCOME],
        "expires_in": 600,
        "max_staleness": 0,
    }


def _sme_scene(tmp: Path, log, be, clients, verifier, step, check, console: Console) -> None:  # type: ignore[no-untyped-def]
    """An SME applies: a tax office's and a bank's credentials, one request over both, the same company."""
    from wallet import HttpRouter, NoMatchingCredential, Wallet

    console.rule("an SME application: a tax office and a bank, one request")
    with step("a tax office and a bank start as issuers and publish their schemas and definitions"):
        issuers = sme_issuers(tmp, log, be)
        definitions = sme_definitions(issuers)
    bea = Wallet.create(
        tmp / "bea.db",
        secrets.token_urlsafe(16),
        http=HttpRouter(
            {**clients, **{url: c for url, c in ((TAX_URL, issuers["tax"][1]), (BANK_URL, issuers["bank"][1]))}}
        ),
        ledger_url=LEDGER_URL,
        ledger_key=log.public_key,
        backend=be,
        ledger_policy=log.witness_policy,
    )
    company = {"company_id": "KVK-12345678"}
    with step("Bea, director of Acme BV, accepts the tax assessment and the bank statement of her company"):
        tax = bea.accept_offer(
            sme_offer(
                issuers, definitions, "tax", {**company, "company_name": "Acme BV", "revenue": 410000, "tax_year": 2025}
            )
        )
        bank = bea.accept_offer(
            sme_offer(issuers, definitions, "bank", {**company, "balance": 36500, "monthly_debt": 1800})
        )
    console.print(f"  tax office credential {tax.id}, bank credential {bank.id} (one wallet, one link secret)")
    lender = {"Authorization": f"Bearer {verifier.create_api_key(lender='SME Lender')}"}
    ver = clients[VERIFIER_URL]
    receiver = _WebhookReceiver()
    with step("the lender registers a webhook endpoint (its own loopback receiver) for verdicts"):
        hook = check(
            ver.post(
                "/webhooks",
                headers=lender,
                json={"url": receiver.url, "events": ["request.verified", "request.rejected"]},
            ),
            201,
        )
    receiver.secret = hook["secret"]
    with step(
        "lender asks over both: revenue ≥ 250 000 and tax year ≥ 2025 (tax office), balance ≥ 20 000 and "
        "monthly debt ≤ 5 000 (bank), tax.company_id == bank.company_id, debt-to-income across both "
        f"({DEBT_TO_INCOME}), the company name disclosed"
    ):
        created = check(ver.post("/requests", headers=lender, json=sme_request(definitions)), 201)
    console.print(f"  the lender's page shows the request as a QR code ({created['deep_link'][:40]}…):")
    console.print(_terminal_qr(created["deep_link"]), highlight=False, markup=False, crop=False)
    with step("Bea's wallet reads the QR code, picks a credential per query and proves everything in one proof"):
        result = bea.submit_detailed(bea.prepare(created["deep_link"]).approve())
    verdict = result.verdict
    for query, credential in result.chosen.items():
        console.print(f"  wallet: query {query} answered with credential {credential}")
    if not verdict["verified"]:
        console.print(f"[red]✘ rejected[/]: {verdict['reason']}")
        raise typer.Exit(1)
    table = Table(title="what the SME lender learned, per query")
    for column in ("query", "issuer's definition", "disclosed", "proven"):
        table.add_column(column)
    for query, view in verdict["queries"].items():
        table.add_row(
            query, view["definition_id"][:20] + "…", json.dumps(view["disclosed"]), "\n".join(view["predicates"])
        )
    joint = [p for p in verdict["predicates"] if not p.startswith(tuple(f"{q}: " for q in verdict["queries"]))]
    table.add_row("both", "", "", "\n".join(joint))
    console.print(table)
    status = check(ver.get(f"/requests/{created['id']}", headers=lender), 200)
    console.print(f"  SME request status: {status['status']}")
    with step("the verdict arrives at the lender's webhook, signed (Standard Webhooks, HMAC-SHA256)"):
        ver.app.state.webhooks.deliver_due()  # the service's dispatcher thread does this; the demo runs it once
        event = receiver.events.get(timeout=30)
    receiver.close()
    console.print(
        f"  webhook {event['type']} for request {event['data']['id']}: signature checked by "
        "verifier.webhooks.verify_webhook with the endpoint's secret"
    )
    strict = {**sme_request(definitions), "linear": ["5*tax.revenue - 1200*bank.monthly_debt >= 0"]}
    with step("a stricter lender (a year's debt ≤ 5 % of revenue) asks; Bea's wallet refuses before any proof"):
        stricter = check(ver.post("/requests", headers=lender, json=strict), 201)
        try:
            bea.prepare(stricter["request_url"])  # the wallet checks before it even asks Bea
            console.print("[red]✘ a false relation was proven — BUG[/]")
            raise typer.Exit(1)
        except NoMatchingCredential as e:
            console.print(f"  the wallet cannot answer: {e.reason}")
    bea.close()


class _WebhookReceiver:
    """A lender's webhook endpoint on loopback: checks each delivery's signature, queues the event."""

    def __init__(self) -> None:
        import queue
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from verifier.webhooks import WebhookVerificationError, verify_webhook

        self.secret = ""
        self.events: queue.Queue[dict] = queue.Queue()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                try:
                    event = verify_webhook(receiver.secret, dict(self.headers), body)
                except WebhookVerificationError:
                    self.send_response(401)
                else:
                    receiver.events.put(event)
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:  # quiet: the demo prints what matters
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks/zkcred"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _terminal_qr(text: str) -> str:
    """``text`` as a QR code in terminal block characters (segno; two modules per character)."""
    import io

    import segno

    out = io.StringIO()
    segno.make(text, error="m").terminal(out=out, compact=True)
    return out.getvalue().rstrip("\n")


def _escrow_scene(console, step, check, clients, log, admin, lender, wallet) -> None:  # type: ignore[no-untyped-def]
    """Escrow an auditor opens on default (issue 16): the issuer assigns Ada an escrow id, a lender's
    request escrows it to a registered auditor for a loan number, the loan defaults, the auditor
    publishes its decryption record on the ledger and only then decrypts; Ada's wallet shows it."""
    from issuer.publisher import InProcessPublisher
    from zkcred.auditor import AuditorKeys, open_escrow, register

    console.rule("escrow: an auditor can identify a borrower who defaults")
    iss, ver = clients[ISSUER_URL], clients[VERIFIER_URL]
    escrow_id = 4_211_337  # issuer-assigned; the issuer's records map it to Ada
    with step("issuer defines a customer credential carrying an issuer-assigned escrow id, and offers it"):
        attrs = [{"name": "escrow_id", "type": "int(0..4294967295)"}, {"name": "name", "type": "string"}]
        schema = check(
            iss.post("/admin/schemas", headers=admin, json={"name": "customer", "version": "1.0", "attributes": attrs}),
            201,
        )
        definition = check(
            iss.post(
                "/admin/credential-definitions",
                headers=admin,
                json={"schema_id": schema["id"], "tag": "2026", "revocable": False, "validity_days": 365},
            ),
            201,
        )
        offer = check(
            iss.post(
                "/admin/offers",
                headers=admin,
                json={
                    "credential_definition_id": definition["id"],
                    "attributes": {"escrow_id": escrow_id, "name": "Ada"},
                },
            ),
            201,
        )
        wallet.accept_offer(offer)
    auditor = AuditorKeys.generate("audit-co")
    with step("auditor Audit Co registers its escrow key on the ledger"):
        register(InProcessPublisher(log), auditor, "Audit Co")
    ask = {
        "credential_definitions": [definition["id"]],
        "escrow": {"auditor": "audit-co", "attribute": "escrow_id", "label": "loan-2026-0042"},
    }
    created = check(ver.post("/requests", headers=lender, json=ask), 201)
    consent = wallet.prepare(created["request_url"])
    for notice in consent.escrows:
        console.print(f"  Ada is shown, before she approves: escrow: {notice}")
    with step("lender asks for the escrow id, encrypted to Audit Co for loan-2026-0042; the wallet proves it"):
        verdict = wallet.submit(consent.approve())
    if not verdict["verified"]:
        console.print(f"[red]✘ rejected[/]: {verdict['reason']}")
        raise typer.Exit(1)
    escrowed = check(ver.get(f"/requests/{created['id']}", headers=lender), 200)["verdict"]["escrow"]
    console.print(
        f"  lender stores ciphertext {escrowed['id'][:16]}… (it learns no escrow id: disclosed {verdict['disclosed']})"
    )
    with step("loan-2026-0042 defaults: Audit Co appends its decryption record, then decrypts"):
        opened = open_escrow(InProcessPublisher(log), auditor, escrowed, reason="loan-2026-0042 in default")
    entry = check(clients[LEDGER_URL].get(f"/entries/{opened.record_seq}"), 200)
    console.print(
        f"  ledger entry {entry['seq']}: {entry['type']} by {entry['issuer']} — "
        f"request {entry['payload']['request_id']}, label {entry['payload']['label']}, "
        f"reason {entry['payload']['reason']!r}"
    )
    console.print(f"  Audit Co recovers escrow id {opened.value}; the issuer's records name its holder: Ada")
    with step("Ada's wallet follows the ledger"):
        wallet.sync()
    record = next(e for e in wallet.escrows() if e.id == escrowed["id"])
    console.print(f"  wallet: {record.describe()}")
    if opened.value != escrow_id or record.opened is None:
        console.print("[red]✘ the escrow did not open as it should — BUG[/]")
        raise typer.Exit(1)


def run(backend: str = typer.Option(None, help="blst or py_ecc (default: ZKCRED_BACKEND, else blst)")) -> None:
    """Run the lending story end to end (SQLite in a temporary directory)."""
    from wallet import HttpRouter, NoMatchingCredential, Wallet
    from zkcred.wallet_cli import consent_panel, offer_panel

    warnings.filterwarnings("ignore", message=".*httpx.*starlette.testclient.*")
    console = Console()
    try:
        be = get_backend(backend)
    except (ValueError, ImportError) as e:
        source = "--backend" if backend else "ZKCRED_BACKEND"
        raise CliError(f"{source}: {e}") from None
    timings: list[tuple[str, float]] = []

    @contextmanager
    def step(title: str):
        t0 = time.perf_counter()
        yield
        ms = (time.perf_counter() - t0) * 1e3
        timings.append((title, ms))
        console.print(f"[green]✔[/] {title} [dim]({ms:.1f} ms)[/]")

    def check(response, status: int):
        if response.status_code != status:
            console.print(f"[red]unexpected {response.status_code}[/]: {response.text}")
            raise typer.Exit(1)
        return response.json()

    console.rule(f"[bold]zkcred demo[/] — lending, on the {be.name} backend")
    with tempfile.TemporaryDirectory(prefix="zkcred-demo-") as tmpdir:
        tmp = Path(tmpdir)
        with step("ledger, three witnesses, issuer and verifier start (SQLite in a temporary directory)"):
            log, issuer, verifier, clients = _services(tmp, be, witnesses=3)
            admin = {"Authorization": f"Bearer {issuer.create_admin_token('demo-admin')}"}
            lender = {"Authorization": f"Bearer {verifier.create_api_key(lender='Lender A')}"}
        iss, ver = clients[ISSUER_URL], clients[VERIFIER_URL]

        console.rule("issuer")
        with step("issuer defines the schema (income, birth_date, country) and publishes it"):
            schema = check(
                iss.post(
                    "/admin/schemas",
                    headers=admin,
                    json={
                        "name": "payslip",
                        "version": "1.0",
                        "attributes": [
                            {"name": "income", "type": "int(0..1000000000)"},
                            {"name": "birth_date", "type": "date"},
                            {"name": "country", "type": "string"},
                        ],
                    },
                ),
                201,
            )
        with step("issuer creates a revocable credential definition (BBS keys, accumulator for 1 000)"):
            cred_def = check(
                iss.post(
                    "/admin/credential-definitions",
                    headers=admin,
                    json={
                        "schema_id": schema["id"],
                        "tag": "2026",
                        "revocable": True,
                        "capacity": 1000,
                        "validity_days": 365,
                    },
                ),
                201,
            )
        with step("issuer makes an offer for Ada"):
            offer = check(
                iss.post(
                    "/admin/offers",
                    headers=admin,
                    json={
                        "credential_definition_id": cred_def["id"],
                        "attributes": {"income": 64000, "birth_date": "1990-12-10", "country": "NL"},
                    },
                ),
                201,
            )

        console.rule("wallet")
        wallet = Wallet.create(
            tmp / "wallet.db",
            secrets.token_urlsafe(16),
            http=HttpRouter(clients),
            ledger_url=LEDGER_URL,
            ledger_key=log.public_key,
            backend=be,
            ledger_policy=log.witness_policy,
        )
        console.print(offer_panel(wallet.review_offer(offer)))
        with step("Ada accepts the offer: the wallet commits to its link secret, verifies signature and witness"):
            summary = wallet.accept_offer(offer)
        console.print(f"  credential {summary.id}: {summary.values}, expires {summary.expiry}")

        console.rule("lender")
        over_18 = (_dt.date.today().replace(year=_dt.date.today().year - 18)).isoformat()
        ask = {
            "disclose": [],
            "credential_definitions": [cred_def["id"]],
            "expires_in": 600,
            "max_staleness": 0,
            "predicates": [
                {"attribute": "income", "op": ">=", "value": 50000},
                {"attribute": "birth_date", "op": "<=", "value": over_18},
                {"attribute": "country", "op": "in", "value": ["DE", "FR", "NL"]},
            ],
        }
        with step("lender asks: income ≥ 50 000, born on or before " + over_18 + ", country ∈ {DE, FR, NL}"):
            created = check(ver.post("/requests", headers=lender, json=ask), 201)
        with step("wallet checks the signed request: the verifier's ledger registration, signature, origin"):
            checked = wallet.fetch_request(created["request_url"])
        with step("wallet shows Ada what would leave it, and to whom (nothing sent yet)"):
            consent = wallet.prepare(checked)
        console.print(consent_panel(consent))
        with step("Ada approves; the wallet proves it in zero knowledge and submits"):
            submitted = wallet.submit_detailed(consent.approve())
        verdict, presentation = submitted.verdict, submitted.presentation
        size = len(json.dumps(presentation, separators=(",", ":")))
        console.print(f"  presentation: {size} bytes of JSON")
        if not verdict["verified"]:
            console.print(f"[red]✘ rejected[/]: {verdict['reason']}")
            raise typer.Exit(1)
        status = check(ver.get(f"/requests/{created['id']}", headers=lender), 200)
        table = Table(title="what the lender learned", show_header=False)
        for p in verdict["predicates"]:
            table.add_row("✔", p)
        table.add_row("disclosed", json.dumps(verdict["disclosed"]) + "  (nothing else)")
        console.print(table)
        console.print(f"  request status: {status['status']}")
        with step("the same presentation replayed is refused"):
            again = ver.post(created["presentation_url"].replace(VERIFIER_URL, ""), json={"presentation": presentation})
        console.print(f"  → {again.status_code} {again.json().get('reason') or again.json().get('title')}")

        console.rule("returning applicants: per-lender pseudonyms")
        lender_b = {"Authorization": f"Bearer {verifier.create_api_key(lender='Lender B')}"}
        nym_ask = {**ask, "pseudonym": True}
        seen: dict[str, list[dict[str, Any]]] = {}  # lender -> the request statuses it saw
        for label, who, headers in (
            ("first application at lender A", "A", lender),
            ("second application at lender A (a fresh presentation)", "A", lender),
            ("one application at lender B", "B", lender_b),
        ):
            created = check(ver.post("/requests", headers=headers, json=nym_ask), 201)
            with step(f"Ada's {label}, with a pseudonym"):
                consent = wallet.prepare(created["request_url"])
                result = wallet.submit_detailed(consent.approve())
            if not result.verdict["verified"]:
                console.print(f"[red]✘ rejected[/]: {result.verdict['reason']}")
                raise typer.Exit(1)
            status = check(ver.get(f"/requests/{created['id']}", headers=headers), 200)
            [nym] = consent.pseudonyms
            console.print(f"  Ada was shown: pseudonym {nym.pseudonym[:12]}… for {nym.scope}; she approved")
            console.print(
                f"  lender {who} sees request {status['id']}: pseudonym {status['pseudonym'][:12]}…, "
                f"seen_before={status['seen_before']}, earlier requests: {status['earlier_requests']}"
            )
            seen.setdefault(who, []).append(status)
        (a1, a2), (b1,) = seen["A"], seen["B"]
        if not (
            a1["pseudonym"] == a2["pseudonym"] != b1["pseudonym"]
            and a2["earlier_requests"] == [a1["id"]]
            and not b1["seen_before"]
        ):
            console.print("[red]✘ the pseudonyms do not behave — BUG[/]")
            raise typer.Exit(1)
        console.print("  lender A recognised Ada; lender B's pseudonym for her shares nothing with A's")
        peek = ver.get(f"/pseudonyms/{a1['pseudonym']}", headers=lender_b)
        console.print(f"  lender B asking for lender A's pseudonym records → {peek.status_code}")
        if peek.status_code != 403:
            raise typer.Exit(1)

        _escrow_scene(console, step, check, clients, log, admin, lender, wallet)
        _sme_scene(tmp, log, be, clients, verifier, step, check, console)

        console.rule("revocation")
        with step("issuer revokes Ada's credential and publishes the new accumulator value"):
            check(iss.post(f"/admin/credentials/{summary.id}/revoke", headers=admin), 200)
        stale_doc = check(ver.post("/requests", headers=lender, json=ask), 201)
        unsynced = wallet.prepare(check(ver.get(f"/requests/{stale_doc['id']}/document"), 200)["request"])
        stale_presentation, _ = wallet.present(unsynced.approve())  # a bare request: the wallet does not sync
        with step("a presentation with the old witness is refused by the verifier"):
            refused = check(
                ver.post(
                    stale_doc["presentation_url"].replace(VERIFIER_URL, ""), json={"presentation": stale_presentation}
                ),
                200,
            )
        console.print(f"  → verified={refused['verified']}, reason={refused['reason']}")
        with step("wallet follows the ledger (no call to the issuer)"):
            report = wallet.sync()
        console.print(f"  {report['updated']} witness updates, {report['revoked']} credential revoked")
        created = check(ver.post("/requests", headers=lender, json=ask), 201)
        with step("the same request again"):
            try:
                wallet.prepare(created["request_url"])
                console.print("[red]✘ a revoked credential was accepted — BUG[/]")
                raise typer.Exit(1)
            except NoMatchingCredential as e:
                console.print(f"  the wallet cannot answer: {e.reason}")
        wallet.close()
        from ledger.checkpoint import SignedCheckpoint

        served = SignedCheckpoint.parse(clients[LEDGER_URL].get("/checkpoint").content)
        cosigners = [sig.name for sig in served.note.signatures if sig.name != served.origin]
        console.print(
            f"  ledger checkpoint of size {served.size} cosigned by {', '.join(cosigners)}; the verifier "
            f"and the wallet accept only views with {log.witness_policy.describe()}"
        )
        if refused["verified"]:
            raise typer.Exit(1)
    console.rule()
    console.print(f"total {sum(ms for _, ms in timings):.0f} ms")
