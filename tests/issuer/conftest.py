"""Issuer fixtures: the same suite on SQLite and on PostgreSQL, a ledger in process.

PostgreSQL comes from ``ZKCRED_TEST_POSTGRES`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); each test gets a freshly created
schema (``search_path`` in the URL), dropped afterwards, so xdist workers and other
suites on the same server never see each other's tables. Unreachable → the PostgreSQL
cases skip with the reason.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from issuer.api import create_app
from issuer.config import Settings
from issuer.publisher import InProcessPublisher
from issuer.service import IssuerService
from ledger.log import LedgerLog
from ledger.store import MemoryStore
from tests.postgres import postgres_schema

SCHEMA = {
    "name": "lending",
    "version": "1.0",
    "attributes": [
        {"name": "income", "type": "decimal(2)"},
        {"name": "birth_date", "type": "date"},
        {"name": "country", "type": "string"},
        {"name": "employees", "type": "int"},
        {"name": "employed", "type": "bool"},
    ],
}
VALUES = {
    "income": "64000.50",
    "birth_date": "1990-12-10",
    "country": "Zyxwvut-Land",
    "employees": 41,
    "employed": True,
}


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/issuer.db"
    else:
        with postgres_schema() as url:
            yield url


@pytest.fixture
def ledger() -> LedgerLog:
    return LedgerLog(MemoryStore(), signing_key=Ed25519PrivateKey.generate())


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(master_key=secrets.token_bytes(32), database_url=db_url, issuer_url="http://issuer.test")


@pytest.fixture
def service(settings: Settings, ledger: LedgerLog) -> Iterator[IssuerService]:
    svc = IssuerService.open(settings=settings, publisher=InProcessPublisher(ledger))
    yield svc
    svc.engine.dispose()


@pytest.fixture
def client(service: IssuerService) -> TestClient:
    return TestClient(create_app(service))


@pytest.fixture
def admin(service: IssuerService) -> dict[str, str]:
    return {"Authorization": f"Bearer {service.create_admin_token('tests')}"}


@dataclass
class Api:
    """Small helpers over the admin API, asserting success."""

    client: TestClient
    admin: dict[str, str]

    def schema(self, body: dict[str, Any] | None = None) -> dict[str, Any]:
        r = self.client.post("/admin/schemas", json=body or SCHEMA, headers=self.admin)
        assert r.status_code == 201, r.text
        return r.json()

    def definition(
        self,
        schema_id: str,
        *,
        revocable: bool = True,
        capacity: int | None = 8,
        validity_days: int = 30,
        tag: str = "default",
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "schema_id": schema_id,
            "tag": tag,
            "revocable": revocable,
            "validity_days": validity_days,
        }
        if revocable:
            body["capacity"] = capacity
        r = self.client.post("/admin/credential-definitions", json=body, headers=self.admin)
        assert r.status_code == 201, r.text
        return r.json()

    def offer(self, definition_id: str, values: dict[str, Any] | None = None) -> dict[str, Any]:
        r = self.client.post(
            "/admin/offers",
            json={"credential_definition_id": definition_id, "attributes": values or VALUES},
            headers=self.admin,
        )
        assert r.status_code == 201, r.text
        return r.json()


@pytest.fixture
def api(client: TestClient, admin: dict[str, str]) -> Api:
    return Api(client, admin)


def assert_problem(response, status: int, slug: str | None = None) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert body["status"] == status and body["title"] and "detail" in body
    assert body["type"].startswith("https://zkcred.dev/problems/")
    if slug is not None:
        assert body["type"] == f"https://zkcred.dev/problems/{slug}", body
    return body
