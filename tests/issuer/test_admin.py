"""The issuer's admin API beyond issuance (issue 14 item 5), on SQLite and PostgreSQL.

Offers: list (status, definition, batch filters; pagination), view, cancel; the credential
id on an issued offer and ``offer_id`` as a credential filter; bulk offers (all or nothing,
errors by index); unknown query parameters refused on every admin route; the audit trail
of admin writes; a full revocation registry refused at offer time (pending offers reserve
an index); attribute errors that hide the value without garbling the message.
"""

from __future__ import annotations

import datetime as _dt
import json
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import inspect

from issuer import db
from issuer.service import MAX_BULK_OFFERS, create_admin_token, revoke_admin_tokens
from tests.issuer.conftest import VALUES, assert_problem
from tests.issuer.holder import accept, post_request, request_for

OFFER_KEYS = {
    "id",
    "credential_definition_id",
    "status",
    "created_at",
    "expires_at",
    "issued_at",
    "cancelled_at",
    "credential_id",
    "batch_id",
}


def _item(definition_id: str, values: dict | None = None) -> dict:
    return {"credential_definition_id": definition_id, "attributes": values or VALUES}


def _offers(client, admin, **params) -> list[dict]:
    r = client.get("/admin/offers", params=params, headers=admin)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def _audit(client, admin, **params) -> list[dict]:
    r = client.get("/admin/audit", params=params, headers=admin)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def _later(service, seconds: float) -> None:
    moment = _dt.datetime.now(_dt.UTC) + _dt.timedelta(seconds=seconds)
    service.clock = lambda: moment


# ------------------------------------------------------------------ offers: list, view, cancel


def test_offer_lifecycle_in_the_listing(api, client, service):
    sid = api.schema()["id"]
    definition = api.definition(sid, capacity=8)
    other = api.definition(sid, revocable=False, tag="other")
    issued, cancelled, pending = (api.offer(definition["id"]) for _ in range(3))
    elsewhere = api.offer(other["id"])
    _, body, _ = accept(client, issued)
    r = client.post(f"/admin/offers/{cancelled['offer_id']}/cancel", headers=api.admin)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled" and r.json()["cancelled_at"] is not None

    items = _offers(client, api.admin)
    assert [o["id"] for o in items] == [
        issued["offer_id"],
        cancelled["offer_id"],
        pending["offer_id"],
        elsewhere["offer_id"],
    ]
    for o in items:  # never the token, never a value
        assert set(o) == OFFER_KEYS
        text = json.dumps(o)
        assert "zko_" not in text and VALUES["country"] not in text and VALUES["income"] not in text
    by_id = {o["id"]: o for o in items}
    assert by_id[issued["offer_id"]]["status"] == "issued"
    assert by_id[issued["offer_id"]]["credential_id"] == body["credential_id"]
    assert by_id[issued["offer_id"]]["issued_at"] is not None
    assert by_id[cancelled["offer_id"]]["status"] == "cancelled"
    p = by_id[pending["offer_id"]]
    assert (p["status"], p["credential_id"], p["issued_at"], p["cancelled_at"], p["batch_id"]) == (
        "pending",
        None,
        None,
        None,
        None,
    )
    assert p["credential_definition_id"] == definition["id"] and p["expires_at"] == pending["expires_at"]

    # the view is the listing's item
    for o in items:
        assert client.get(f"/admin/offers/{o['id']}", headers=api.admin).json() == o
    assert_problem(client.get("/admin/offers/offer_nope", headers=api.admin), 404, "not-found")

    # filters
    assert [o["id"] for o in _offers(client, api.admin, status="issued")] == [issued["offer_id"]]
    assert [o["id"] for o in _offers(client, api.admin, status="cancelled")] == [cancelled["offer_id"]]
    assert [o["id"] for o in _offers(client, api.admin, status="pending")] == [
        pending["offer_id"],
        elsewhere["offer_id"],
    ]
    assert _offers(client, api.admin, status="expired") == []
    assert [o["id"] for o in _offers(client, api.admin, definition_id=other["id"])] == [elsewhere["offer_id"]]
    assert [o["id"] for o in _offers(client, api.admin, definition_id=definition["id"], status="pending")] == [
        pending["offer_id"]
    ]
    # pagination, as the credentials listing
    assert [o["id"] for o in _offers(client, api.admin, limit=2, offset=1)] == [
        cancelled["offer_id"],
        pending["offer_id"],
    ]
    assert _offers(client, api.admin, offset=4) == []
    for params in ({"status": "used"}, {"limit": 0}, {"limit": 1001}, {"offset": -1}, {"offset": 2**31}):
        assert_problem(client.get("/admin/offers", params=params, headers=api.admin), 422, "invalid-request")

    # expiry: pending offers become expired; issued and cancelled ones keep their status
    _later(service, service.settings.offer_ttl_seconds + 1)
    assert [o["id"] for o in _offers(client, api.admin, status="expired")] == [
        pending["offer_id"],
        elsewhere["offer_id"],
    ]
    assert _offers(client, api.admin, status="pending") == []
    assert [o["id"] for o in _offers(client, api.admin, status="issued")] == [issued["offer_id"]]


def test_credentials_filter_by_offer_and_show_it(api, client):
    definition = api.definition(api.schema()["id"])
    first, second = api.offer(definition["id"]), api.offer(definition["id"])
    _, body1, _ = accept(client, first)
    _, body2, _ = accept(client, second)
    r = client.get("/admin/credentials", params={"offer_id": second["offer_id"]}, headers=api.admin)
    assert [c["id"] for c in r.json()["items"]] == [body2["credential_id"]]
    assert r.json()["items"][0]["offer_id"] == second["offer_id"]
    one = client.get(f"/admin/credentials/{body1['credential_id']}", headers=api.admin).json()
    assert one["offer_id"] == first["offer_id"]
    assert client.get("/admin/credentials", params={"offer_id": "offer_nope"}, headers=api.admin).json() == {
        "items": []
    }


def test_a_cancelled_offers_token_is_refused(api, client, ledger):
    definition = api.definition(api.schema()["id"])
    offer = api.offer(definition["id"])
    requested = request_for(offer)
    assert client.post(f"/admin/offers/{offer['offer_id']}/cancel", headers=api.admin).status_code == 200
    size = ledger.head().size
    body = assert_problem(post_request(client, offer, requested), 409, "offer-cancelled")
    assert "cancelled" in body["detail"] and offer["token"] not in body["detail"]
    assert ledger.head().size == size
    # a wrong token still learns nothing more than before
    assert_problem(post_request(client, offer, requested, token="zko_wrong"), 403, "invalid-token")
    assert client.get("/admin/credentials", headers=api.admin).json() == {"items": []}
    # cancelling twice, an issued offer, an unknown offer
    assert_problem(
        client.post(f"/admin/offers/{offer['offer_id']}/cancel", headers=api.admin), 409, "already-cancelled"
    )
    issued = api.offer(definition["id"])
    accept(client, issued)
    body = assert_problem(
        client.post(f"/admin/offers/{issued['offer_id']}/cancel", headers=api.admin), 409, "offer-issued"
    )
    assert "revoke" in body["detail"]
    assert client.get(f"/admin/offers/{issued['offer_id']}", headers=api.admin).json()["status"] == "issued"
    assert_problem(client.post("/admin/offers/offer_nope/cancel", headers=api.admin), 404, "not-found")


def test_cancel_and_accept_race_one_wins(api, client, service):
    definition = api.definition(api.schema()["id"], capacity=16)
    for _ in range(4):
        offer = api.offer(definition["id"])
        requested = request_for(offer)
        barrier = threading.Barrier(2)

        def cancel(barrier=barrier, offer=offer):
            barrier.wait()
            return client.post(f"/admin/offers/{offer['offer_id']}/cancel", headers=api.admin)

        def take(barrier=barrier, offer=offer, requested=requested):
            barrier.wait()
            return post_request(client, offer, requested)

        with ThreadPoolExecutor(2) as pool:
            c, t = pool.submit(cancel), pool.submit(take)
            cancelled, taken = c.result(), t.result()
        assert sorted([cancelled.status_code, taken.status_code]) in ([200, 409], [201, 409]), (
            cancelled.text,
            taken.text,
        )
        view = client.get(f"/admin/offers/{offer['offer_id']}", headers=api.admin).json()
        if taken.status_code == 201:
            assert view["status"] == "issued" and view["credential_id"] == taken.json()["credential_id"]
            assert cancelled.json()["type"].endswith("/offer-issued")
        else:
            assert view["status"] == "cancelled" and view["credential_id"] is None
            assert taken.json()["type"].endswith("/offer-cancelled")
    assert len(service.list_credentials(limit=100)) == len(_offers(client, api.admin, status="issued"))


# ------------------------------------------------------------------ unknown query parameters


LISTINGS = ["/admin/schemas", "/admin/credential-definitions", "/admin/offers", "/admin/credentials", "/admin/audit"]


def test_unknown_query_parameters_are_422_on_every_admin_route(api, client):
    definition = api.definition(api.schema()["id"])
    offer = api.offer(definition["id"])
    for path in LISTINGS:
        assert client.get(path, headers=api.admin).status_code == 200
        body = assert_problem(client.get(path, params={"offerid": "x"}, headers=api.admin), 422, "invalid-request")
        assert body["errors"][0]["loc"] == ["query", "offerid"]
    # the case: a filter the route did not have used to list everything
    assert_problem(
        client.get("/admin/offers", params={"offer_id": offer["offer_id"]}, headers=api.admin), 422, "invalid-request"
    )
    # also on views and writes (nothing is written)
    for method, path in (
        ("GET", f"/admin/offers/{offer['offer_id']}"),
        ("GET", f"/admin/credential-definitions/{definition['id']}"),
        ("POST", f"/admin/offers/{offer['offer_id']}/cancel"),
    ):
        assert_problem(client.request(method, path + "?force=1", headers=api.admin), 422, "invalid-request")
    assert client.get(f"/admin/offers/{offer['offer_id']}", headers=api.admin).json()["status"] == "pending"
    # authentication still comes first
    assert_problem(client.get("/admin/offers?nope=1"), 401, "unauthorized")
    assert_problem(client.get("/admin/offers?nope=1", headers={"Authorization": "Bearer zka_wrong"}), 403)


# ------------------------------------------------------------------ bulk offers


def test_bulk_offers_all_created_in_order(api, client, service):
    sid = api.schema()["id"]
    definition = api.definition(sid, capacity=8)
    plain = api.definition(sid, revocable=False, tag="plain")
    items = [_item(definition["id"]), _item(plain["id"], {**VALUES, "employees": 7}), _item(definition["id"])]
    r = client.post("/admin/offers/bulk", json={"offers": items}, headers=api.admin)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["batch_id"].startswith("batch_") and len(out["items"]) == 3
    assert [o["credential_definition_id"] for o in out["items"]] == [i["credential_definition_id"] for i in items]
    assert out["items"][1]["attributes"]["employees"] == 7
    assert len({o["token"] for o in out["items"]}) == 3
    listed = _offers(client, api.admin, batch_id=out["batch_id"])
    assert [o["id"] for o in listed] == [o["offer_id"] for o in out["items"]]
    assert all(o["batch_id"] == out["batch_id"] and o["status"] == "pending" for o in listed)
    # each offer works on its own
    _, body, _ = accept(client, out["items"][2])
    assert body["credential"]["revocation_index"] == 0
    audit = _audit(client, api.admin, action="offer.create")
    assert [(a["object_id"], a["detail"]) for a in audit] == [
        (o["offer_id"], {"batch_id": out["batch_id"], "definition_id": o["credential_definition_id"], "index": i})
        for i, o in enumerate(out["items"])
    ]


def test_bulk_offers_are_all_or_nothing_with_errors_by_index(api, client, ledger):
    definition = api.definition(api.schema()["id"], capacity=8)
    before = _audit(client, api.admin)
    items = [
        _item(definition["id"]),
        _item(definition["id"], {**VALUES, "employees": "many"}),  # 1: a bad value
        _item("creddef:nope"),  # 2: unknown definition
        {"credential_definition_id": definition["id"]},  # 3: no attributes
        "an offer",  # 4: not an object
        _item(definition["id"], {**VALUES, "country": 7}),  # 5
        _item(definition["id"]),
        {**_item(definition["id"]), "token": "mine"},  # 7: unknown field
    ]
    r = client.post("/admin/offers/bulk", json={"offers": items}, headers=api.admin)
    body = assert_problem(r, 422, "invalid-offers")
    assert "none was created" in body["detail"]
    errors = {e["index"]: e for e in body["errors"]}
    assert sorted(errors) == [1, 2, 3, 4, 5, 7]
    slugs = {i: e["type"].rsplit("/", 1)[1] for i, e in errors.items()}
    assert slugs == {
        1: "invalid-attributes",
        2: "unknown-credential-definition",
        3: "invalid-input",
        4: "invalid-input",
        5: "invalid-attributes",
        7: "invalid-input",
    }
    # a shared slug keeps its shared title (servicekit.problems.COMMON)
    assert {e["title"] for e in errors.values() if e["type"].endswith("/invalid-input")} == {"Invalid input"}
    assert all(e["status"] == 422 and e["title"] and e["detail"] for e in errors.values())
    assert "many" not in json.dumps(body)  # never the value
    assert _offers(client, api.admin) == []
    assert _audit(client, api.admin) == before


def test_bulk_offer_limits(api, client):
    definition = api.definition(api.schema()["id"], revocable=False)
    for body in (
        {"offers": []},
        {"offers": [_item(definition["id"])] * (MAX_BULK_OFFERS + 1)},
        {"offers": _item(definition["id"])},
        {},
        {"offers": [_item(definition["id"])], "x": 1},
    ):
        assert_problem(client.post("/admin/offers/bulk", json=body, headers=api.admin), 422, "invalid-request")
    assert _offers(client, api.admin) == []
    r = client.post(
        "/admin/offers/bulk", json={"offers": [_item(definition["id"])] * MAX_BULK_OFFERS}, headers=api.admin
    )
    assert r.status_code == 201, r.text[:300]
    assert len(r.json()["items"]) == MAX_BULK_OFFERS
    assert len(_offers(client, api.admin, limit=1000)) == MAX_BULK_OFFERS


def test_bulk_offers_have_their_own_body_limit(api, client):
    """1000 offers of a wide schema fit the bulk route's 2 MiB; beyond it is 413; other routes keep 256 KiB."""
    from issuer.api import BULK_MAX_BODY_BYTES

    wide = api.schema(
        {"name": "wide", "version": "1", "attributes": [{"name": f"a{i}", "type": "string"} for i in range(12)]}
    )
    did = api.definition(wide["id"], revocable=False)["id"]
    values = {f"a{i}": "x" * 60 for i in range(12)}
    body = {"offers": [_item(did, values)] * MAX_BULK_OFFERS}
    size = len(json.dumps(body))
    assert 256 * 1024 < size < BULK_MAX_BODY_BYTES  # over the shared limit, under this route's
    r = client.post("/admin/offers/bulk", json=body, headers=api.admin)
    assert r.status_code == 201, r.text[:300]
    assert_problem(
        client.post("/admin/offers", json={**_item(did, values), "pad": "x" * 300_000}, headers=api.admin),
        413,
        "payload-too-large",
    )
    big = {"offers": [_item(did, {k: "x" * 200 for k in values})] * MAX_BULK_OFFERS}
    assert len(json.dumps(big)) > BULK_MAX_BODY_BYTES
    assert_problem(client.post("/admin/offers/bulk", json=big, headers=api.admin), 413, "payload-too-large")
    assert len(_offers(client, api.admin, limit=1000)) == MAX_BULK_OFFERS


def test_bulk_offers_beyond_the_registry_are_409_by_index(api, client):
    sid = api.schema()["id"]
    small = api.definition(sid, capacity=3)
    plain = api.definition(sid, revocable=False, tag="plain")
    api.offer(small["id"])  # one index reserved
    items = [_item(small["id"]), _item(plain["id"]), _item(small["id"]), _item(small["id"])]
    body = assert_problem(
        client.post("/admin/offers/bulk", json={"offers": items}, headers=api.admin), 409, "registry-full"
    )
    assert [e["index"] for e in body["errors"]] == [3]
    assert body["errors"][0]["type"].endswith("/registry-full") and body["errors"][0]["status"] == 409
    assert len(_offers(client, api.admin)) == 1  # nothing of the bulk
    # with a bad item too, the request is 422 listing both
    items[1] = _item(plain["id"], {**VALUES, "employed": "yes"})
    body = assert_problem(
        client.post("/admin/offers/bulk", json={"offers": items}, headers=api.admin), 422, "invalid-offers"
    )
    assert [e["index"] for e in body["errors"]] == [1]  # values are checked before capacity
    # two fit
    r = client.post("/admin/offers/bulk", json={"offers": [_item(small["id"])] * 2}, headers=api.admin)
    assert r.status_code == 201, r.text


# ------------------------------------------------------------------ reservations at offer time


def test_pending_offers_reserve_indexes_until_issued_cancelled_or_expired(api, client, service):
    sid = api.schema()["id"]
    definition = api.definition(sid, capacity=3)
    did = definition["id"]
    a, b, c = (api.offer(did) for _ in range(3))
    full = client.post("/admin/offers", json=_item(did), headers=api.admin)
    assert_problem(full, 409, "registry-full")
    accept(client, a)  # issued: the reservation became an index
    assert_problem(client.post("/admin/offers", json=_item(did), headers=api.admin), 409, "registry-full")
    client.post(f"/admin/offers/{b['offer_id']}/cancel", headers=api.admin)  # cancelled: freed
    d = api.offer(did)
    assert_problem(client.post("/admin/offers", json=_item(did), headers=api.admin), 409, "registry-full")
    # expired offers free their indexes (c and d); they can no longer be accepted
    _later(service, service.settings.offer_ttl_seconds + 1)
    e, f = api.offer(did), api.offer(did)
    assert_problem(client.post("/admin/offers", json=_item(did), headers=api.admin), 409, "registry-full")
    assert_problem(post_request(client, c, request_for(c)), 410, "offer-expired")
    _, b_e, _ = accept(client, e)
    _, b_f, _ = accept(client, f)
    assert sorted([b_e["credential"]["revocation_index"], b_f["credential"]["revocation_index"]]) == [1, 2]
    assert d["offer_id"] != e["offer_id"]
    # a non-revocable definition reserves nothing
    plain = api.definition(sid, revocable=False, tag="plain")
    for _ in range(5):
        api.offer(plain["id"])


# ------------------------------------------------------------------ audit trail


def test_every_admin_write_is_audited_with_the_tokens_label(api, client, service):
    ops = service.create_admin_token("ops-alice")
    ops_h = {"Authorization": f"Bearer {ops}"}
    schema = api.schema()
    r = client.post(
        "/admin/credential-definitions",
        headers=ops_h,
        json={"schema_id": schema["id"], "tag": "t", "revocable": True, "capacity": 4},
    )
    definition = r.json()
    offer = api.offer(definition["id"])
    r = client.post("/admin/offers/bulk", headers=ops_h, json={"offers": [_item(definition["id"])] * 2})
    bulk = r.json()
    client.post(f"/admin/offers/{bulk['items'][0]['offer_id']}/cancel", headers=ops_h)
    _, body, _ = accept(client, offer)
    revoked = client.post(f"/admin/credentials/{body['credential_id']}/revoke", headers=ops_h).json()
    revoke_admin_tokens(service.engine, name="ops-alice")
    # refused writes record nothing
    client.post(f"/admin/credentials/{body['credential_id']}/revoke", headers=api.admin)
    client.post("/admin/offers", json=_item(definition["id"], {**VALUES, "employees": "x"}), headers=api.admin)
    client.post("/admin/schemas", json={"name": "x"}, headers=api.admin)

    records = _audit(client, api.admin)
    seen = [(a["actor"], a["action"], a["object_type"], a["object_id"]) for a in records]
    tests_id = records[0]["object_id"]
    assert seen == [
        ("in-process", "admin_token.create", "admin_token", tests_id),
        ("in-process", "admin_token.create", "admin_token", seen[1][3]),
        ("tests", "schema.create", "schema", schema["id"]),
        ("ops-alice", "credential_definition.create", "credential_definition", definition["id"]),
        ("tests", "offer.create", "offer", offer["offer_id"]),
        ("ops-alice", "offer.create", "offer", bulk["items"][0]["offer_id"]),
        ("ops-alice", "offer.create", "offer", bulk["items"][1]["offer_id"]),
        ("ops-alice", "offer.cancel", "offer", bulk["items"][0]["offer_id"]),
        ("ops-alice", "credential.revoke", "credential", body["credential_id"]),
        ("cli", "admin_token.revoke", "admin_token", seen[1][3]),
    ]
    by_action = {a["action"]: a for a in records}
    assert by_action["credential.revoke"]["detail"] == {
        "definition_id": definition["id"],
        "registry_id": definition["definition"]["revocation"]["id"],
    }
    assert revoked["status"] == "revoked"
    assert (
        by_action["credential_definition.create"]["detail"]["registry_id"]
        == definition["definition"]["revocation"]["id"]
    )
    assert by_action["schema.create"]["detail"] == {"name": "lending", "version": "1.0"}
    assert by_action["admin_token.revoke"]["detail"] == {"name": "ops-alice"}
    ops_records = [a for a in records if a["actor"] == "ops-alice"]
    assert {a["token_id"] for a in ops_records} == {seen[1][3]}
    for a in records:  # times are ISO UTC, ids increase
        _dt.datetime.fromisoformat(a["at"].replace("Z", "+00:00"))
    assert [a["id"] for a in records] == sorted(a["id"] for a in records)
    # no secret anywhere: no token, no attribute value
    text = json.dumps(records)
    for secret in (ops, api.admin["Authorization"].split()[1], offer["token"], VALUES["country"], VALUES["income"]):
        assert secret not in text


def test_audit_filters_and_pagination(api, client, service):
    definition = api.definition(api.schema()["id"], revocable=False)
    offers = [api.offer(definition["id"]) for _ in range(3)]
    client.post(f"/admin/offers/{offers[1]['offer_id']}/cancel", headers=api.admin)
    assert [a["object_id"] for a in _audit(client, api.admin, action="offer.create")] == [o["offer_id"] for o in offers]
    history = _audit(client, api.admin, object_id=offers[1]["offer_id"])
    assert [a["action"] for a in history] == ["offer.create", "offer.cancel"]
    assert len(_audit(client, api.admin, actor="tests")) == 6  # schema, definition, 3 offers, cancel
    assert _audit(client, api.admin, actor="nobody") == []
    token_id = _audit(client, api.admin, action="offer.cancel")[0]["token_id"]
    assert len(_audit(client, api.admin, token_id=token_id)) == 6
    assert len(_audit(client, api.admin, object_type="offer")) == 4
    everything = _audit(client, api.admin)
    assert _audit(client, api.admin, limit=2, offset=1) == everything[1:3]
    # time window: since inclusive, until exclusive
    first = everything[0]["at"]
    assert _audit(client, api.admin, since=first) == everything
    assert _audit(client, api.admin, until=first) == []
    assert _audit(client, api.admin, since="2999-01-01T00:00:00Z") == []
    assert len(_audit(client, api.admin, until="2999-01-01T00:00:00")) == len(everything)
    for params in (
        {"action": "offer.delete"},
        {"since": "yesterday"},
        {"limit": 0},
        {"limit": 1001},
        {"offset": -1},
        {"actor": "x" * 129},
    ):
        assert_problem(client.get("/admin/audit", params=params, headers=api.admin), 422, "invalid-request")
    for params in ({"since": "0001-01-01T00:00:00+14:00"}, {"until": "9999-12-31T23:59:59-14:00"}):
        assert_problem(client.get("/admin/audit", params=params, headers=api.admin), 422, "invalid-input")
    assert _audit(client, api.admin, since="0001-01-01T00:00:00", until="9999-12-31T23:59:59Z") == everything


def test_cli_token_writes_are_audited(service, client, admin):
    token = create_admin_token(service.engine, name="deploy-bot")
    assert revoke_admin_tokens(service.engine, token=token) == 1
    assert revoke_admin_tokens(service.engine, token=token) == 0  # nothing revoked, nothing recorded
    records = _audit(client, admin, object_type="admin_token")
    assert [(a["actor"], a["action"], a["detail"]) for a in records][-2:] == [
        ("cli", "admin_token.create", {"name": "deploy-bot"}),
        ("cli", "admin_token.revoke", {"name": "deploy-bot"}),
    ]
    assert token not in json.dumps(records)


# ------------------------------------------------------------------ attribute errors hide the value, cleanly


def test_attribute_errors_hide_the_value_without_garbling(api, client):
    schema = api.schema(
        {
            "name": "msgs",
            "version": "1",
            "attributes": [
                {"name": "score", "type": "int(10..100)"},
                {"name": "flag", "type": "bool"},
                {"name": "day", "type": "date"},
                {"name": "amount", "type": "decimal(2)"},
            ],
        }
    )
    did = api.definition(schema["id"], revocable=False)["id"]
    good = {"score": 50, "flag": True, "day": "2000-01-01", "amount": "1.00"}
    cases = [
        ({"score": 1}, "score (int(10..100)): the value is outside the declared [10, 100]"),
        ({"score": 1000}, "score (int(10..100)): the value is outside the declared [10, 100]"),
        ({"flag": None}, "flag (bool): expected a boolean, got NoneType"),
        ({"flag": "True"}, "flag (bool): expected a boolean, got str"),
        ({"day": "1990-13-01"}, "day (date): not an ISO date: the value"),
        ({"amount": "1.005"}, "amount (decimal(2)): the value has more than 2 decimal places"),
        ({"amount": "x1"}, "amount (decimal(2)): not a decimal: the value"),
        ({"score": "10"}, None),  # a decimal string is a valid int (JSON carries big ints as strings)
    ]
    for change, expected in cases:
        r = client.post("/admin/offers", json=_item(did, {**good, **change}), headers=api.admin)
        if expected is None:
            assert r.status_code == 201, r.text
            continue
        assert assert_problem(r, 422, "invalid-attributes")["detail"] == f"attributes: {expected}"


# ------------------------------------------------------------------ an older database gains the new columns


def test_create_tables_adds_the_new_offer_columns_to_an_older_database(api, client, service):
    """A database made before cancellation and batches existed (no cancelled_at, batch_id) is upgraded."""
    definition = api.definition(api.schema()["id"], revocable=False)
    offer = api.offer(definition["id"])
    engine = service.engine
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX IF EXISTS ix_issuer_offers_batch_id")
        conn.exec_driver_sql("ALTER TABLE issuer_offers DROP COLUMN batch_id")
        conn.exec_driver_sql("ALTER TABLE issuer_offers DROP COLUMN cancelled_at")
        conn.exec_driver_sql("DROP TABLE issuer_audit")
    assert "cancelled_at" not in {c["name"] for c in inspect(engine).get_columns("issuer_offers")}
    db.create_tables(engine)
    db.create_tables(engine)  # idempotent
    inspector = inspect(engine)
    assert {"cancelled_at", "batch_id"} <= {c["name"] for c in inspector.get_columns("issuer_offers")}
    assert "ix_issuer_offers_batch_id" in {i["name"] for i in inspector.get_indexes("issuer_offers")}
    assert "issuer_audit" in inspector.get_table_names()
    # the old offer is pending, and can be cancelled
    assert client.get(f"/admin/offers/{offer['offer_id']}", headers=api.admin).json()["status"] == "pending"
    r = client.post(f"/admin/offers/{offer['offer_id']}/cancel", headers=api.admin)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"


def test_a_bulk_that_fails_while_writing_leaves_nothing(api, client, service, monkeypatch):
    """All or nothing also when the write itself fails half-way (here: the 3rd token)."""
    import issuer.service as svc

    definition = api.definition(api.schema()["id"], capacity=8)
    real, calls = svc.new_token, []

    def flaky(prefix: str) -> str:
        calls.append(prefix)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return real(prefix)

    monkeypatch.setattr(svc, "new_token", flaky)
    audit_before = service.list_audit(limit=1000)
    try:
        service.create_offers([_item(definition["id"])] * 5)
        raise AssertionError("the bulk did not fail")
    except RuntimeError:
        pass
    assert service.list_offers() == [] and service.list_audit(limit=1000) == audit_before
    monkeypatch.setattr(svc, "new_token", real)
    # the reservations were not taken either: all 8 indexes are still free
    assert len(service.create_offers([_item(definition["id"])] * 8)["items"]) == 8


def test_an_expired_offer_can_be_cancelled(api, client, service):
    offer = api.offer(api.definition(api.schema()["id"])["id"])
    _later(service, service.settings.offer_ttl_seconds + 1)
    assert client.get(f"/admin/offers/{offer['offer_id']}", headers=api.admin).json()["status"] == "expired"
    r = client.post(f"/admin/offers/{offer['offer_id']}/cancel", headers=api.admin)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert_problem(post_request(client, offer, request_for(offer)), 409, "offer-cancelled")


def test_nul_characters_are_422_not_500(api, client):
    """PostgreSQL text cannot hold NUL: in a path, a query or an id in a body it is refused first."""
    definition = api.definition(api.schema()["id"])
    for method, url in (
        ("GET", "/admin/offers/a%00b"),
        ("GET", "/admin/offers?definition_id=a%00b"),
        ("GET", "/admin/offers?batch_id=%00"),
        ("GET", "/admin/audit?actor=%00"),
        ("GET", "/admin/audit?object_id=%00"),
        ("GET", "/admin/credentials?offer_id=%00"),
        ("GET", "/admin/schemas/%00"),
        ("GET", "/admin/credentials/%00"),
        ("GET", "/admin/credential-definitions/%00"),
        ("POST", "/admin/offers/a%00/cancel"),
        ("POST", "/admin/credentials/%00/revoke"),
    ):
        assert_problem(client.request(method, url, headers=api.admin), 422, "invalid-request")
    nul = _item("creddef:\x00")
    assert_problem(client.post("/admin/offers", json=nul, headers=api.admin), 422, "invalid-request")
    body = assert_problem(
        client.post("/admin/offers/bulk", json={"offers": [_item(definition["id"]), nul]}, headers=api.admin),
        422,
        "invalid-offers",
    )
    assert [e["index"] for e in body["errors"]] == [1]
    for body in ({"schema_id": "schema:\x00", "tag": "t", "revocable": False},):
        assert_problem(
            client.post("/admin/credential-definitions", json=body, headers=api.admin), 422, "invalid-request"
        )
    assert_problem(
        client.post(
            "/admin/schemas",
            json={"name": "a\x00", "version": "1", "attributes": [{"name": "a", "type": "int"}]},
            headers=api.admin,
        ),
        422,
        "invalid-request",
    )
    offer = api.offer(definition["id"])
    r = client.post(
        "/credentials",
        json={"offer_id": "offer_\x00", "request": "AAAA"},
        headers={"Authorization": f"Bearer {offer['token']}"},
    )
    assert_problem(r, 422, "invalid-request")


def test_offers_of_a_rotated_definition_are_refused_single_and_bulk(api, client):
    sid = api.schema()["id"]
    old = api.definition(sid, capacity=8)
    other = api.definition(sid, revocable=False, tag="other")
    r = client.post(f"/admin/credential-definitions/{old['id']}/rotate", headers=api.admin)
    assert r.status_code in (201, 202), r.text
    new = r.json()
    body = assert_problem(
        client.post("/admin/offers", json=_item(old["id"]), headers=api.admin), 409, "definition-superseded"
    )
    assert body["successor_id"] == new["id"]
    body = assert_problem(
        client.post("/admin/offers/bulk", json={"offers": [_item(old["id"])] * 2}, headers=api.admin),
        409,
        "definition-superseded",
    )
    assert [e["index"] for e in body["errors"]] == [0, 1]
    body = assert_problem(
        client.post("/admin/offers/bulk", json={"offers": [_item(other["id"]), _item(old["id"])]}, headers=api.admin),
        409,
        "definition-superseded",
    )
    assert [(e["index"], e["status"]) for e in body["errors"]] == [(1, 409)]
    mixed = [_item(other["id"], {**VALUES, "employees": "x"}), _item(old["id"])]
    body = assert_problem(
        client.post("/admin/offers/bulk", json={"offers": mixed}, headers=api.admin), 422, "invalid-offers"
    )
    assert [(e["index"], e["status"]) for e in body["errors"]] == [(0, 422), (1, 409)]
    assert _offers(client, api.admin) == []
    # the rotation is audited as a definition naming what it supersedes
    [created] = _audit(client, api.admin, action="credential_definition.create", object_id=new["id"])
    assert created["detail"]["supersedes"] == old["id"] and created["actor"] == "tests"
