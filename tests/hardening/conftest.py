"""Hardening fixtures: the lending story through the real services (``zkcred.demo._services``).

``build_story`` starts the ledger, issuer and verifier apps in process (SQLite files under
a temporary directory, or the databases given), defines a schema and a revocable
credential definition, issues credentials to two wallets and opens a lender's API key —
so every suite here starts from presentations, credentials and ledger entries the real
code made. PostgreSQL is ``ZKCRED_TEST_POSTGRES`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``), one fresh schema per use.
"""

from __future__ import annotations

import datetime as _dt
import secrets
import socket
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

warnings.filterwarnings("ignore", message=".*httpx.*starlette.testclient.*")


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def services(tmp: Path, be, urls: dict[str, str] | None = None):
    """``zkcred.demo._services`` — or the same wiring on the databases in ``urls`` (ledger/issuer/verifier)."""
    from zkcred.demo import _services

    if urls is None:
        return _services(tmp, be)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from fastapi.testclient import TestClient

    from issuer.api import create_app as issuer_app
    from issuer.config import Settings as IssuerSettings
    from issuer.publisher import InProcessPublisher
    from issuer.service import IssuerService
    from ledger.api import create_app as ledger_app
    from ledger.log import LedgerLog
    from ledger.sql import SqlStore
    from verifier.api import create_app as verifier_app
    from verifier.db import SqlRequestStore, init_db, make_engine
    from verifier.identity import ensure_registered, in_process
    from verifier.resolver import LedgerResolver, LocalLedgerSource
    from verifier.service import VerifierService
    from zkcred.demo import ISSUER_URL, LEDGER_URL, VERIFIER_URL

    log = LedgerLog(SqlStore(urls["ledger"]), signing_key=Ed25519PrivateKey.generate())
    issuer = IssuerService.open(
        settings=IssuerSettings(
            master_key=secrets.token_bytes(32),
            database_url=urls["issuer"],
            ledger_url=LEDGER_URL,
            issuer_url=ISSUER_URL,
            issuer_id="payroll-demo",
            issuer_name="Payroll Demo BV",
            dev_mode=True,
        ),
        publisher=InProcessPublisher(log),
        backend=be,
    )
    engine = make_engine(urls["verifier"])
    init_db(engine)
    identity = ensure_registered(
        engine=engine,
        key=Ed25519PrivateKey.generate(),
        name="Hardening Verifier",
        origins=[VERIFIER_URL],
        public_url=VERIFIER_URL,
        ledger=in_process(log),
    )
    verifier = VerifierService(
        store=SqlRequestStore(engine),
        resolver=LedgerResolver(LocalLedgerSource(log, ledger_key=log.public_key)),
        identity=identity,
        backend=be,
    )
    clients = {
        ISSUER_URL: TestClient(issuer_app(issuer), base_url=ISSUER_URL),
        VERIFIER_URL: TestClient(verifier_app(verifier, public_url=VERIFIER_URL), base_url=VERIFIER_URL),
        LEDGER_URL: TestClient(ledger_app(log), base_url=LEDGER_URL),
    }
    return log, issuer, verifier, clients


SCHEMA = {
    "name": "payslip",
    "version": "1.0",
    "attributes": [
        {"name": "income", "type": "int"},
        {"name": "birth_date", "type": "date"},
        {"name": "country", "type": "string"},
    ],
}
ADA = {"income": 64000, "birth_date": "1990-12-10", "country": "NL"}
BOB = {"income": 71000, "birth_date": "1985-03-02", "country": "FR"}


@dataclass
class Story:
    tmp: Path
    be: Any
    log: Any
    issuer: Any
    verifier: Any
    clients: dict
    admin_token: str
    api_key: str
    schema: dict
    cred_def: dict
    other_def: dict
    wallets: list = field(default_factory=list)
    credential_ids: list = field(default_factory=list)
    offer_tokens: list = field(default_factory=list)

    @property
    def iss(self):
        from zkcred.demo import ISSUER_URL

        return self.clients[ISSUER_URL]

    @property
    def ver(self):
        from zkcred.demo import VERIFIER_URL

        return self.clients[VERIFIER_URL]

    @property
    def led(self):
        from zkcred.demo import LEDGER_URL

        return self.clients[LEDGER_URL]

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    @property
    def lender(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def ask(self, **overrides: Any) -> dict[str, Any]:
        """The lender's request: disclose country; income ≥ 50 000, born ≥ 18 years ago, country ∈ {DE, FR, NL}."""
        over_18 = _dt.date.today().replace(year=_dt.date.today().year - 18).isoformat()
        body = {
            "disclose": ["country"],
            "credential_definitions": [self.cred_def["id"]],
            "expires_in": 600,
            "max_staleness": 600,
            "predicates": [
                {"attribute": "income", "op": ">=", "value": 50000},
                {"attribute": "birth_date", "op": "<=", "value": over_18},
                {"attribute": "country", "op": "in", "value": ["DE", "FR", "NL"]},
            ],
        }
        body.update(overrides)
        return body

    def new_request(self, **overrides: Any) -> dict[str, Any]:
        r = self.ver.post("/requests", headers=self.lender, json=self.ask(**overrides))
        assert r.status_code == 201, r.text
        return r.json()

    def present(self, created: dict[str, Any], wallet: int = 0) -> dict[str, Any]:
        presentation, _ = self.wallets[wallet].present(self.wallets[wallet].prepare(created["request"]).approve())
        return presentation

    def submit(self, created: dict[str, Any], presentation: dict[str, Any]):
        return self.ver.post(f"/requests/{created['id']}/presentation", json={"presentation": presentation})

    def offer(self, definition_id: str, values: dict[str, Any]) -> dict[str, Any]:
        r = self.iss.post(
            "/admin/offers", headers=self.admin, json={"credential_definition_id": definition_id, "attributes": values}
        )
        assert r.status_code == 201, r.text
        offer = r.json()
        self.offer_tokens.append(offer["token"])
        return offer

    def close(self) -> None:
        for w in self.wallets:
            w.close()
        self.verifier.store.engine.dispose()
        self.issuer.engine.dispose()
        store = self.log.store
        if hasattr(store, "close"):
            store.close()


def build_story(tmp: Path, urls: dict[str, str] | None = None, *, holders: tuple[dict, ...] = (ADA, BOB)) -> Story:
    """The demo's story up to "the holders hold credentials"; the lender has an API key."""
    from circuits.backend import get_backend
    from wallet import HttpRouter, Wallet
    from zkcred.demo import LEDGER_URL

    be = get_backend("blst")
    log, issuer, verifier, clients = services(tmp, be, urls)
    admin_token = issuer.create_admin_token("hardening-admin")
    api_key = verifier.create_api_key(lender="Hardening Lender")
    story = Story(tmp, be, log, issuer, verifier, clients, admin_token, api_key, {}, {}, {})
    r = story.iss.post("/admin/schemas", headers=story.admin, json=SCHEMA)
    assert r.status_code == 201, r.text
    story.schema = r.json()
    for tag, attr in (("2026", "cred_def"), ("other", "other_def")):
        r = story.iss.post(
            "/admin/credential-definitions",
            headers=story.admin,
            json={"schema_id": story.schema["id"], "tag": tag, "revocable": True, "capacity": 64, "validity_days": 365},
        )
        assert r.status_code == 201, r.text
        setattr(story, attr, r.json())
    for i, values in enumerate(holders):
        wallet = Wallet.create(
            tmp / f"wallet{i}.db",
            secrets.token_urlsafe(16),
            http=HttpRouter(clients),
            ledger_url=LEDGER_URL,
            ledger_key=log.public_key,
            backend=be,
        )
        summary = wallet.accept_offer(story.offer(story.cred_def["id"], values))
        story.wallets.append(wallet)
        story.credential_ids.append(summary.id)
    return story


@pytest.fixture(scope="module")
def story(tmp_path_factory) -> Iterator[Story]:
    """One story per module (tests that revoke or append build their own)."""
    s = build_story(tmp_path_factory.mktemp("story"))
    yield s
    s.close()
