"""Real services over HTTP for the verifier-identity tests (issue 12, items 1-3 and 5).

A ledger (SQLite or PostgreSQL) served by uvicorn on a loopback port; verifier deployments,
each with its own database (same storage) and Ed25519 key, registered on that ledger over
HTTP at start (``verifier.identity.register`` path: ``LedgerClient.publish``) and served on
their own ports; an issuer (in process, publishing to the same log) that gave the holder a
credential. The wallet reaches the ledger and the verifiers over real HTTP.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from circuits.backend import get_backend
from ledger.client import LedgerClient
from ledger.log import LedgerLog
from ledger.sql import SqlStore
from tests.postgres import postgres_schema
from tests.servers import reserve, serve
from verifier.api import create_app as verifier_app
from verifier.db import SqlRequestStore, init_db, make_engine
from verifier.identity import VerifierIdentity, ensure_registered, over_http
from verifier.resolver import LedgerResolver
from verifier.service import VerifierService
from wallet import HttpRouter, Wallet

ISSUER_URL = "http://issuer.identity.test"
ATTRS = [{"name": "income", "type": "int"}, {"name": "country", "type": "string"}]


@dataclass
class Deployment:
    url: str
    service: VerifierService
    engine: Engine
    app: FastAPI
    posts: list[str]  # the paths of every presentation this deployment received

    @property
    def identity(self) -> VerifierIdentity:
        assert self.service.identity is not None
        return self.service.identity

    def lender(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.service.create_api_key(lender=name)}"}


def counting(app: FastAPI, posts: list[str]) -> FastAPI:
    """Record every presentation the app receives (to show that a refused request sent nothing)."""

    @app.middleware("http")
    async def _count(request: Request, call_next: Callable[[Request], Any]) -> Any:
        if request.method == "POST" and request.url.path.endswith("/presentation"):
            posts.append(request.url.path)
        return await call_next(request)

    return app


@dataclass
class World:
    storage: str
    tmp: Path
    log: LedgerLog
    ledger_url: str
    cred_def: str
    offer: Callable[[int], dict[str, Any]]
    issuer: TestClient
    stack: ExitStack

    def client(self) -> LedgerClient:
        return LedgerClient(self.ledger_url, ledger_key=self.log.public_key)

    def database(self, name: str) -> str:
        if self.storage == "sqlite":
            return f"sqlite:///{self.tmp / name}.db"
        return self.stack.enter_context(postgres_schema(f"zkcred_identity_{name}"))

    def deploy(
        self, name: str, *, key: Ed25519PrivateKey | None = None, display: str = "Verifier", database: str | None = None
    ) -> Deployment:
        """A verifier deployment: registered on the ledger over HTTP at its first start, then served."""
        engine = make_engine(database or self.database(name))
        init_db(engine)
        sock, url = reserve()
        identity = ensure_registered(
            engine=engine,
            key=key or Ed25519PrivateKey.generate(),
            name=display,
            origins=[],
            public_url=url,
            ledger=over_http(self.client()),
        )
        service = VerifierService(
            store=SqlRequestStore(engine), resolver=LedgerResolver(self.client()), identity=identity
        )
        posts: list[str] = []
        app = counting(verifier_app(service, public_url=url), posts)
        self.stack.enter_context(serve(app, sock))
        return Deployment(url, service, engine, app, posts)

    def wallet(self, name: str, **kw: Any) -> Wallet:
        return Wallet.create(
            self.tmp / f"{name}-{secrets.token_hex(4)}.db",
            "correct horse battery",
            http=kw.pop("http", None) or HttpRouter({ISSUER_URL: self.issuer}),
            ledger_url=self.ledger_url,
            ledger_key=self.log.public_key,
            backend=get_backend("blst"),
            **kw,
        )

    def ask(self, deployment: Deployment, lender: dict[str, str], **extra: Any) -> dict[str, Any]:
        r = TestClient(deployment.app).post(
            "/requests",
            headers=lender,
            json={
                "credential_definitions": [self.cred_def],
                "predicates": [{"attribute": "income", "op": ">=", "value": 50000}],
                "max_staleness": 600,
                **extra,
            },
        )
        assert r.status_code == 201, r.text
        return r.json()


def make_world(storage: str, tmp: Path, stack: ExitStack) -> World:
    from issuer.api import create_app as issuer_app
    from issuer.config import Settings as IssuerSettings
    from issuer.publisher import InProcessPublisher
    from issuer.service import IssuerService
    from ledger.api import create_app as ledger_app

    ledger_db = f"sqlite:///{tmp / 'ledger.db'}" if storage == "sqlite" else stack.enter_context(postgres_schema())
    log = LedgerLog(SqlStore(ledger_db), signing_key=Ed25519PrivateKey.generate())
    ledger_url = stack.enter_context(serve(ledger_app(log)))
    issuer = IssuerService.open(
        settings=IssuerSettings(
            master_key=secrets.token_bytes(32),
            database_url=f"sqlite:///{tmp / 'issuer.db'}",
            ledger_url=ledger_url,
            issuer_url=ISSUER_URL,
            issuer_id="payroll-identity",
            issuer_name="Payroll Identity BV",
            dev_mode=True,
        ),
        publisher=InProcessPublisher(log),
        backend=get_backend("blst"),
    )
    iss = TestClient(issuer_app(issuer), base_url=ISSUER_URL)
    admin = {"Authorization": f"Bearer {issuer.create_admin_token('t')}"}
    schema = iss.post("/admin/schemas", headers=admin, json={"name": "s", "version": "1", "attributes": ATTRS}).json()
    cred_def = iss.post(
        "/admin/credential-definitions",
        headers=admin,
        json={"schema_id": schema["id"], "tag": "t", "revocable": False, "validity_days": 30},
    ).json()["id"]

    def offer(income: int) -> dict[str, Any]:
        body = {"credential_definition_id": cred_def, "attributes": {"income": income, "country": "NL"}}
        return iss.post("/admin/offers", headers=admin, json=body).json()

    return World(storage, tmp, log, ledger_url, cred_def, offer, iss, stack)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with ExitStack() as stack:
        yield make_world(request.param, tmp_path_factory.mktemp(f"identity-{request.param}"), stack)


@pytest.fixture(scope="module")
def sqlite_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with ExitStack() as stack:
        yield make_world("sqlite", tmp_path_factory.mktemp("identity-sqlite-only"), stack)
