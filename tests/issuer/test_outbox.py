"""The outbox (issue 14 item 4): a record and its ledger entry commit together; delivery is idempotent.

The ledger goes away and comes back; receipts get lost on the way back; two creators race
for one (name, version) — and the records and the ledger still agree, with every entry on
the ledger exactly once.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient

from issuer.api import create_app
from issuer.errors import ErrorKind, IssuerError
from issuer.outbox import reconcile
from issuer.publisher import HttpPublisher, InProcessPublisher
from issuer.service import IssuerService
from ledger.api import create_app as create_ledger_app
from ledger.audit import audit_store
from ledger.client import LedgerClient
from ledger.entries import parse_entry
from tests.issuer.conftest import SCHEMA, VALUES, Api, assert_problem
from tests.issuer.holder import accept, post_request, request_for


class Switch(InProcessPublisher):
    """An in-process ledger that can be unplugged."""

    def __init__(self, log) -> None:  # type: ignore[no-untyped-def]
        super().__init__(log)
        self.down = False

    def publish(self, **kw):  # type: ignore[no-untyped-def]
        if self.down:
            raise IssuerError(ErrorKind.LEDGER_UNAVAILABLE, "the ledger is unreachable (unplugged)")
        return super().publish(**kw)

    def issuer_key(self, issuer_id):  # type: ignore[no-untyped-def]
        if self.down:
            raise IssuerError(ErrorKind.LEDGER_UNAVAILABLE, "the ledger is unreachable (unplugged)")
        return super().issuer_key(issuer_id)


def _mine(ledger, issuer_id):  # type: ignore[no-untyped-def]
    return [parse_entry(e.body) for e in ledger.entries(start=0) if parse_entry(e.body).issuer == issuer_id]


def _assert_once(ledger, issuer_id):  # type: ignore[no-untyped-def]
    mine = _mine(ledger, issuer_id)
    contents = [e.content_id() for e in mine]
    assert len(contents) == len(set(contents)), [e.type for e in mine]
    audit_store(ledger.store, ledger_key=ledger.public_key)
    return mine


def test_ledger_down_then_up_records_wait_and_go_out_once_in_order(settings, ledger):
    switch = Switch(ledger)
    service = IssuerService.open(settings=settings, publisher=switch)
    client = TestClient(create_app(service))
    api = Api(client, {"Authorization": f"Bearer {service.create_admin_token()}"})
    published = api.definition(api.schema()["id"])  # the ledger is up: as before
    assert published["publication"] == "published" and published["registry_seq"] == published["ledger_seq"] + 1
    alice = accept(client, api.offer(published["id"]))[1]

    switch.down = True
    r = client.post("/admin/schemas", json={**SCHEMA, "version": "2.0"}, headers=api.admin)
    assert r.status_code == 202 and r.json()["publication"] == "pending" and r.json()["ledger_seq"] is None
    schema2 = r.json()
    r = client.post(
        "/admin/credential-definitions",
        headers=api.admin,
        json={"schema_id": schema2["id"], "tag": "t", "revocable": True, "capacity": 4},
    )
    assert r.status_code == 202 and r.json()["ledger_seq"] is None and r.json()["registry_seq"] is None
    definition2 = r.json()
    r = client.post(f"/admin/credentials/{alice['credential_id']}/revoke", headers=api.admin)
    assert r.status_code == 202 and r.json() == {
        "id": alice["credential_id"],
        "status": "revoked",
        "ledger_seq": None,
        "publication": "pending",
    }
    # issuing against what holders cannot find on the ledger waits; the offer stays usable
    offer = api.offer(published["id"])
    assert_problem(post_request(client, offer, request_for(offer)), 503, "publication-pending")
    offer2 = api.offer(definition2["id"])
    assert_problem(post_request(client, offer2, request_for(offer2)), 503, "publication-pending")
    assert [r.entry_type for r in service.outbox.pending()] == [
        "schema",
        "credential_definition",
        "revocation_registry",
        "revocation",
    ]
    assert "zkcred_issuer_outbox_pending 4.0" in client.get("/metrics").text

    switch.down = False
    accept(client, offer)  # delivers what is pending first, then issues
    mine = _assert_once(ledger, service.issuer_id)
    assert [e.type for e in mine] == [
        "issuer_registration",
        "schema",
        "credential_definition",
        "revocation_registry",
        "schema",
        "credential_definition",
        "revocation_registry",
        "revocation",
    ]
    got = client.get(f"/admin/schemas/{schema2['id']}", headers=api.admin).json()
    assert got["publication"] == "published" and mine[-4].seq == got["ledger_seq"]
    got = client.get(f"/admin/credential-definitions/{definition2['id']}", headers=api.admin).json()
    assert (got["ledger_seq"], got["registry_seq"]) == (mine[-3].seq, mine[-2].seq)
    assert service.outbox.pending() == []
    assert "zkcred_issuer_outbox_pending 0.0" in client.get("/metrics").text
    accept(client, offer2)
    assert reconcile(engine=service.engine, entries=switch.issuer_entries, outbox=None).ok


def test_the_background_loop_delivers_when_the_ledger_returns(settings, ledger):
    import time

    switch = Switch(ledger)
    switch.down = True
    service = IssuerService.open(settings=settings, publisher=switch)
    schema = service.create_schema(name="loop", version="1", attributes=[{"name": "a", "type": "int"}])
    assert schema.ledger_seq is None
    service.outbox.start()
    try:
        time.sleep(0.2)
        switch.down = False
        deadline = time.time() + 10
        while service.get_schema(schema.id).ledger_seq is None and time.time() < deadline:
            time.sleep(0.05)
    finally:
        service.outbox.stop()
    assert service.get_schema(schema.id).ledger_seq is not None
    assert [e.type for e in _assert_once(ledger, service.issuer_id)] == ["issuer_registration", "schema"]


class LosingClient(LedgerClient):
    """The ledger appends, then the answer is lost on the way back (a timeout, a crash) — ``lose`` times."""

    def __init__(self, *a, lose: int, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*a, **kw)
        self.lose = lose
        self.statuses: list[bool] = []

    def submit(self, entry):  # type: ignore[no-untyped-def]
        receipt = super().submit(entry)
        self.statuses.append(receipt["existing"])
        if self.lose > 0 and entry.type != "issuer_registration":
            self.lose -= 1
            raise httpx.ReadTimeout("the receipt was lost")
        return receipt


def test_a_lost_receipt_is_resent_and_the_ledger_answers_with_the_entry_it_has(settings, ledger):
    http = TestClient(create_ledger_app(ledger))
    losing = LosingClient("http://ledger.test", http=http, lose=1)
    service = IssuerService.open(settings=settings, publisher=HttpPublisher(losing))
    schema = service.create_schema(name="lost", version="1", attributes=[{"name": "a", "type": "int"}])
    assert schema.ledger_seq is None  # the ledger has it; we do not know yet
    assert service.outbox.deliver().delivered == 1
    assert losing.statuses == [False, False, True]  # registration, schema, the re-sent schema: 200 existing
    mine = _assert_once(ledger, service.issuer_id)
    assert service.get_schema(schema.id).ledger_seq == mine[-1].seq and len(mine) == 2


def test_duplicate_schema_and_definition_are_409_with_the_existing_id(api, client):
    schema = api.schema()
    for body in (SCHEMA, {**SCHEMA, "attributes": SCHEMA["attributes"][:2]}):  # same content / same name+version
        problem = assert_problem(client.post("/admin/schemas", json=body, headers=api.admin), 409, "schema-exists")
        assert problem["existing_id"] == schema["id"]
    definition = api.definition(schema["id"], tag="2026")
    problem = assert_problem(
        client.post(
            "/admin/credential-definitions",
            headers=api.admin,
            json={"schema_id": schema["id"], "tag": "2026", "revocable": False},
        ),
        409,
        "definition-exists",
    )
    assert problem["existing_id"] == definition["id"]
    assert api.definition(schema["id"], tag="2027")["id"] != definition["id"]  # another tag is another definition
    assert len(client.get("/admin/credential-definitions", headers=api.admin).json()["items"]) == 2


def test_concurrent_creators_of_one_schema_get_exactly_one(service, ledger):
    workers = 6
    barrier = threading.Barrier(workers)

    def create(i: int):  # type: ignore[no-untyped-def]
        barrier.wait()
        try:  # same name and version, different attributes: only the unique key can decide
            return service.create_schema(name="race", version="1", attributes=[{"name": f"a{i}", "type": "int"}])
        except IssuerError as e:
            return e

    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(create, range(workers)))
    made = [r for r in results if not isinstance(r, IssuerError)]
    refused = [r for r in results if isinstance(r, IssuerError)]
    assert len(made) == 1 and len(refused) == workers - 1
    assert {e.slug for e in refused} == {"schema-exists"} and {e.extra["existing_id"] for e in refused} == {made[0].id}
    assert [e.type for e in _assert_once(ledger, service.issuer_id)] == ["issuer_registration", "schema"]


def test_concurrent_creators_of_one_definition_get_exactly_one(service, ledger):
    schema = service.create_schema(name="s", version="1", attributes=[{"name": "a", "type": "int"}])
    workers = 4
    barrier = threading.Barrier(workers)

    def create(_: int):  # type: ignore[no-untyped-def]
        barrier.wait()
        try:
            return service.create_credential_definition(schema_id=schema.id, tag="one", revocable=False)
        except IssuerError as e:
            return e

    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(create, range(workers)))
    made = [r for r in results if not isinstance(r, IssuerError)]
    assert len(made) == 1
    assert {(e.slug, e.extra["existing_id"]) for e in results if isinstance(e, IssuerError)} == {
        ("definition-exists", made[0].id)
    }
    assert [e.type for e in _assert_once(ledger, service.issuer_id)] == [
        "issuer_registration",
        "schema",
        "credential_definition",
    ]


def test_a_database_from_before_the_outbox_is_upgraded(db_url, settings, ledger):
    """Tables created by the previous version: ledger_seq NOT NULL, no unique (name, version)."""
    from sqlalchemy import inspect, text

    from issuer import db

    engine = db.make_engine(db_url)
    with engine.begin() as conn:
        for ddl in (
            "CREATE TABLE issuer_schemas (id VARCHAR(128) NOT NULL PRIMARY KEY, name VARCHAR(128) NOT NULL, "
            "version VARCHAR(32) NOT NULL, schema_doc TEXT NOT NULL, ledger_seq BIGINT NOT NULL, "
            "created_at TIMESTAMP WITH TIME ZONE NOT NULL)",
            "CREATE TABLE issuer_credential_definitions (id VARCHAR(128) NOT NULL PRIMARY KEY, "
            "schema_id VARCHAR(128) NOT NULL REFERENCES issuer_schemas (id), tag VARCHAR(64) NOT NULL, "
            "revocable BOOLEAN NOT NULL, capacity BIGINT, validity_days INTEGER NOT NULL, "
            "definition_json TEXT NOT NULL, "
            "bbs_secret_key_sealed BYTEA NOT NULL, ledger_seq BIGINT NOT NULL, registry_id VARCHAR(128) UNIQUE, "
            "accumulator_secret_sealed BYTEA, accumulator BYTEA, accumulator_seq BIGINT, registry_seq BIGINT, "
            "next_index BIGINT NOT NULL, created_at TIMESTAMP WITH TIME ZONE NOT NULL)",
        ):
            conn.execute(text(ddl if engine.dialect.name == "postgresql" else ddl.replace("BYTEA", "BLOB")))
    engine.dispose()
    switch = Switch(ledger)
    switch.down = True
    service = IssuerService.open(settings=settings, publisher=switch)
    columns = {c["name"]: c for c in inspect(service.engine).get_columns("issuer_schemas")}
    assert columns["ledger_seq"]["nullable"]
    schema = service.create_schema(name="old", version="1", attributes=[{"name": "a", "type": "int"}])
    assert schema.ledger_seq is None
    with pytest.raises(IssuerError) as info:
        service.create_schema(name="old", version="1", attributes=[{"name": "b", "type": "int"}])
    assert info.value.slug == "schema-exists"
    definition = service.create_credential_definition(schema_id=schema.id, tag="t", revocable=True, capacity=2)
    assert definition.ledger_seq is None
    switch.down = False
    service.outbox.deliver()
    assert service.get_credential_definition(definition.id).published


def test_the_same_request_with_the_same_token_gets_the_same_credential_again(api, client, service):
    """A holder whose answer was lost retries: the credential issued before, never a second one."""
    definition = api.definition(api.schema()["id"])
    offer = api.offer(definition["id"])
    requested = request_for(offer)
    first = post_request(client, offer, requested)
    assert first.status_code == 201
    again = post_request(client, offer, requested)
    assert again.status_code == 201 and again.json() == first.json()
    assert_problem(post_request(client, offer, request_for(offer)), 409, "offer-used")  # another request
    assert_problem(post_request(client, offer, requested, token="zko_" + "A" * 43), 403, "invalid-token")
    assert len(service.list_credentials()) == 1
    assert VALUES == first.json()["credential"]["values"]


class Refusing(InProcessPublisher):
    """A ledger that refuses schema entries named ``refused`` (a misconfiguration, a bug) while ``strict``."""

    strict = True

    def publish(self, **kw):  # type: ignore[no-untyped-def]
        if self.strict and kw["payload"].get("name") == "refused":
            raise IssuerError(ErrorKind.LEDGER_REFUSED, "the ledger refused the entry: schema: invalid")
        return super().publish(**kw)


def test_a_refused_entry_holds_back_later_ones_and_is_reported(settings, ledger):
    refusing = Refusing(ledger)
    service = IssuerService.open(settings=settings, publisher=refusing)
    first = service.create_schema(name="refused", version="1", attributes=[{"name": "a", "type": "int"}])
    later = service.create_schema(name="later", version="1", attributes=[{"name": "a", "type": "int"}])
    assert first.ledger_seq is None and later.ledger_seq is None  # nothing overtakes the refused entry
    report = reconcile(engine=service.engine, entries=refusing.issuer_entries, outbox=service.outbox)
    assert not report.ok and [p["subject_id"] for p in report.pending] == [first.id, later.id]
    assert "refused" in report.pending[0]["last_error"] and report.pending[0]["attempts"] >= 2
    refusing.strict = False  # the operator fixed it
    report = reconcile(engine=service.engine, entries=refusing.issuer_entries, outbox=service.outbox)
    assert report.ok and [p["subject_id"] for p in report.published] == [first.id, later.id]
    mine = _assert_once(ledger, service.issuer_id)
    assert [e.payload.get("name") for e in mine] == [None, "refused", "later"]


def test_two_deliverers_racing_publish_each_entry_once_in_order(settings, ledger):
    """Two workers (two services on one database) and their loops deliver the same outbox at once."""
    switch = Switch(ledger)
    first = IssuerService.open(settings=settings, publisher=switch)
    switch.down = True
    schemas = [
        first.create_schema(name=f"race{i}", version="1", attributes=[{"name": "a", "type": "int"}]) for i in range(6)
    ]
    second = IssuerService.open(settings=settings, publisher=switch, deliver=False)
    switch.down = False
    barrier = threading.Barrier(2)

    def deliver(service):  # type: ignore[no-untyped-def]
        barrier.wait()
        return service.outbox.deliver()

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(deliver, [first, second]))
    assert all(r.pending == 0 and r.error is None for r in results)
    mine = _assert_once(ledger, first.issuer_id)
    assert [e.payload.get("name") for e in mine] == [None] + [f"race{i}" for i in range(6)]  # committed order
    assert [first.get_schema(s.id).ledger_seq for s in schemas] == [e.seq for e in mine[1:]]
