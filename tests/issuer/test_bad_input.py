"""Bad input of every kind is a 4xx problem+json, never a 500 — and never burns an offer."""

from __future__ import annotations

import datetime as _dt

from circuits.codec import b64e
from tests.issuer.conftest import SCHEMA, VALUES, assert_problem
from tests.issuer.holder import post_request, request_for


def _schema(**changes):
    return {**SCHEMA, **changes}


BAD_SCHEMAS = [
    ({"name": "x", "version": "1"}, 422),  # missing attributes
    (_schema(attributes=[]), 422),
    (_schema(attributes=[{"name": "a", "type": "float"}]), 422),
    (_schema(attributes=[{"name": "a", "type": "decimal(19)"}]), 422),
    (_schema(attributes=[{"name": "a", "type": "int(5..1)"}]), 422),  # bounds reversed
    (_schema(attributes=[{"name": "a", "type": "int(0..9223372036854775808)"}]), 422),  # beyond int64
    (_schema(attributes=[{"name": "a", "type": "int(0 .. 9)"}]), 422),
    (_schema(attributes=[{"name": "Bad Name", "type": "int"}]), 422),
    (_schema(attributes=[{"name": "a", "type": "int"}, {"name": "a", "type": "int"}]), 422),
    (_schema(attributes=[{"name": "link_secret", "type": "int"}]), 422),
    (_schema(attributes=[{"name": "a", "type": "int", "extra": 1}]), 422),
    (_schema(name=7), 422),
    (_schema(name=""), 422),
    (_schema(version=["1"]), 422),
    (_schema(attributes={"a": "int"}), 422),
    (_schema(unexpected=True), 422),
    ([SCHEMA], 422),
    ("schema", 422),
    (None, 422),
]


def test_bad_schemas(client, admin):
    for body, status in BAD_SCHEMAS:
        assert_problem(client.post("/admin/schemas", json=body, headers=admin), status)
    assert client.get("/admin/schemas", headers=admin).json() == {"items": []}


def test_malformed_json_and_wrong_media(client, admin):
    for raw in (b"{", b"{'name': 1}", b"\xff\xfe", b"[1,", b"nul"):
        r = client.post("/admin/schemas", content=raw, headers={**admin, "content-type": "application/json"})
        assert_problem(r, 400, "malformed-json")
    r = client.post("/admin/schemas", content=b"", headers={**admin, "content-type": "application/json"})
    assert 400 <= r.status_code < 500 and r.headers["content-type"].startswith("application/problem+json")
    r = client.post("/admin/schemas", content=b"name=x", headers={**admin, "content-type": "text/plain"})
    assert 400 <= r.status_code < 500 and r.headers["content-type"].startswith("application/problem+json")


def test_duplicate_schema_is_409(api, client):
    api.schema()
    assert_problem(client.post("/admin/schemas", json=SCHEMA, headers=api.admin), 409, "schema-exists")


def test_bad_definitions(api, client):
    sid = api.schema()["id"]
    cases = [
        ({"schema_id": "schema:nope", "tag": "t", "revocable": False}, "unknown-schema"),
        ({"schema_id": sid, "tag": "t", "revocable": True}, "invalid-input"),  # no capacity
        ({"schema_id": sid, "tag": "t", "revocable": True, "capacity": 2_000_000}, "invalid-input"),
        ({"schema_id": sid, "tag": "t", "revocable": False, "capacity": 4}, "invalid-input"),
        ({"schema_id": sid, "tag": "t\n", "revocable": False}, "invalid-input"),
        ({"schema_id": sid, "tag": "t", "revocable": True, "capacity": 0}, "invalid-request"),
        ({"schema_id": sid, "tag": "t", "revocable": "yes", "capacity": 4}, "invalid-request"),
        ({"schema_id": sid, "tag": "t", "revocable": True, "capacity": "4"}, "invalid-request"),
        ({"schema_id": sid, "tag": "t", "revocable": True, "capacity": 4.5}, "invalid-request"),
        ({"schema_id": sid, "tag": "t", "revocable": False, "validity_days": 0}, "invalid-request"),
        ({"schema_id": sid, "tag": "t", "revocable": False, "validity_days": 10**9}, "invalid-request"),
        ({"schema_id": sid, "tag": "", "revocable": False}, "invalid-request"),
        ({"schema_id": sid, "revocable": False}, "invalid-request"),
        ({"schema_id": sid, "tag": "t", "revocable": False, "suite": "x"}, "invalid-request"),
    ]
    for body, slug in cases:
        assert_problem(client.post("/admin/credential-definitions", json=body, headers=api.admin), 422, slug)


def test_bad_offers(api, client):
    did = api.definition(api.schema()["id"])["id"]
    bad_values = [
        {**VALUES, "employees": 2**63},  # out of the signed 64-bit range
        {**VALUES, "employees": -(2**63) - 1},
        {**VALUES, "employees": "many"},
        {**VALUES, "employees": 1.5},
        {**VALUES, "income": "64000.505"},  # more places than the scale
        {**VALUES, "income": 64000.5},  # floats are refused for decimals
        {**VALUES, "income": "NaN"},
        {**VALUES, "birth_date": "1990-13-01"},
        {**VALUES, "birth_date": "1990-01-01T00:00:00"},
        {**VALUES, "employed": "yes"},
        {**VALUES, "country": 7},
        {k: v for k, v in VALUES.items() if k != "income"},  # missing
        {**VALUES, "nickname": "x"},  # unknown
    ]
    for values in bad_values:
        r = client.post(
            "/admin/offers", json={"credential_definition_id": did, "attributes": values}, headers=api.admin
        )
        body = assert_problem(r, 422, "invalid-attributes")
        for v in values.values():  # the detail does not echo personal data
            if isinstance(v, str) and len(v) > 4:
                assert v not in body["detail"]
    r = client.post(
        "/admin/offers", json={"credential_definition_id": "creddef:nope", "attributes": VALUES}, headers=api.admin
    )
    assert_problem(r, 422, "unknown-credential-definition")
    for body in (
        {"credential_definition_id": did},
        {"credential_definition_id": did, "attributes": [1]},
        {"credential_definition_id": 5, "attributes": VALUES},
    ):
        assert_problem(client.post("/admin/offers", json=body, headers=api.admin), 422, "invalid-request")


def test_declared_int_bounds_are_enforced_at_issuance(api, client):
    schema = api.schema(
        {"name": "bounded", "version": "1.0", "attributes": [{"name": "income", "type": "int(0..1000000000)"}]}
    )
    assert schema["attributes"] == [{"name": "income", "type": "int(0..1000000000)"}]
    did = api.definition(schema["id"], revocable=False)["id"]
    for value in (-1, 10**9 + 1, 2**63):
        r = client.post(
            "/admin/offers", json={"credential_definition_id": did, "attributes": {"income": value}}, headers=api.admin
        )
        assert str(value) not in assert_problem(r, 422, "invalid-attributes")["detail"]
    for value in (0, 10**9):
        r = client.post(
            "/admin/offers", json={"credential_definition_id": did, "attributes": {"income": value}}, headers=api.admin
        )
        assert r.status_code == 201, r.text


def test_bad_credential_requests_never_burn_the_offer(api, client):
    definition = api.definition(api.schema()["id"])
    offer = api.offer(definition["id"])
    requested = request_for(offer)
    good = b64e(requested.request)
    flipped = bytearray(requested.request)
    flipped[-1] ^= 1
    headers = {"Authorization": f"Bearer {offer['token']}"}
    bad_requests = [
        ("!!not base64!!", "invalid-credential-request"),
        (good + "=", "invalid-credential-request"),  # padded
        ("", "invalid-request"),
        (b64e(b"\x00" * 10), "invalid-credential-request"),  # truncated
        (b64e(requested.request[:-1]), "invalid-credential-request"),
        (b64e(requested.request + b"\x00"), "invalid-credential-request"),  # trailing bytes
        (b64e(bytes(flipped)), "invalid-credential-request"),  # proof no longer holds
        (b64e(b"\xff" * len(requested.request)), "invalid-credential-request"),  # not a point
    ]
    for request, slug in bad_requests:
        r = client.post("/credentials", json={"offer_id": offer["offer_id"], "request": request}, headers=headers)
        assert_problem(r, 422, slug)
    for body in (
        {"offer_id": offer["offer_id"]},
        {"offer_id": 1, "request": good},
        {"offer_id": offer["offer_id"], "request": 5},
        {"offer_id": offer["offer_id"], "request": good, "x": 1},
    ):
        assert_problem(client.post("/credentials", json=body, headers=headers), 422, "invalid-request")
    assert_problem(
        client.post("/credentials", content=b"{", headers={**headers, "content-type": "application/json"}),
        400,
        "malformed-json",
    )
    r = client.post("/credentials", json={"offer_id": "offer_nope", "request": good}, headers=headers)
    assert_problem(r, 404, "not-found")
    # the offer survived all of it, and then is used exactly once
    first = post_request(client, offer, requested)
    assert first.status_code == 201
    assert post_request(client, offer, requested).json() == first.json()  # a retry: the same credential
    assert_problem(post_request(client, offer, request_for(offer)), 409, "offer-used")
    assert_problem(post_request(client, offer, request_for(offer)), 409, "offer-used")


def test_expired_offer_is_410(api, client, service):
    offer = api.offer(api.definition(api.schema()["id"])["id"])
    later = _dt.datetime.now(_dt.UTC) + _dt.timedelta(seconds=service.settings.offer_ttl_seconds + 1)
    service.clock = lambda: later
    assert_problem(post_request(client, offer, request_for(offer)), 410, "offer-expired")


def test_unknown_ids_and_bad_queries(client, admin):
    assert_problem(client.get("/admin/schemas/schema:nope", headers=admin), 404, "not-found")
    assert_problem(client.get("/admin/credential-definitions/creddef:nope", headers=admin), 404, "not-found")
    assert_problem(client.get("/admin/credentials/cred_nope", headers=admin), 404, "not-found")
    assert_problem(client.post("/admin/credentials/cred_nope/revoke", headers=admin), 404, "not-found")
    assert_problem(client.get("/no/such/route"), 404, "not-found")
    assert_problem(client.delete("/admin/schemas", headers=admin), 405)
    for params in ({"status": "lost"}, {"limit": 0}, {"limit": 10**6}, {"offset": -1}, {"limit": "x"}):
        assert_problem(client.get("/admin/credentials", params=params, headers=admin), 422, "invalid-request")
