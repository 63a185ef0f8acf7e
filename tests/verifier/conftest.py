"""Verifier fixtures: an in-process ledger with a published credential definition, the service on
SQLite and on PostgreSQL, a TestClient, a lender's API key, and holders that answer requests.

PostgreSQL comes from ``ZKCRED_TEST_POSTGRES`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); each test gets a freshly created
schema (``search_path`` in the URL), dropped afterwards, so parallel workers and other
suites never see each other's tables. If the server is unreachable the PostgreSQL cases
skip, saying why.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.postgres import postgres_schema
from tests.verifier.helpers import Clock, World, make_service, make_world
from verifier.api import create_app
from verifier.service import VerifierService


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """``sqlite`` unless the test is parametrised with ``postgres`` (indirect)."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield f"sqlite:///{tmp_path}/verifier.db"
    else:
        with postgres_schema() as url:
            yield url


@pytest.fixture(scope="module")
def world() -> World:
    """Ledger + issuer + a revocable definition published, holders issued (shared per module: read-mostly)."""
    return make_world()


@pytest.fixture
def fresh_world() -> World:
    """A world of its own, for tests that append to the ledger."""
    return make_world()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(world: World, db_url: str, clock: Clock) -> Iterator[VerifierService]:
    svc, engine = make_service(world, db_url, clock)
    yield svc
    engine.dispose()


@pytest.fixture
def client(service: VerifierService) -> Iterator[TestClient]:
    with TestClient(create_app(service, public_url="https://verifier.test"), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def api_key(service: VerifierService) -> str:
    return service.create_api_key(lender="acme-bank")


@pytest.fixture
def auth(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}
