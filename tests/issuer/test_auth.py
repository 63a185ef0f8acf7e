"""Every admin route refuses a missing (401) or wrong (403) token; issuance needs the offer's token."""

from __future__ import annotations

from tests.issuer.conftest import assert_problem
from tests.issuer.holder import post_request, request_for

ADMIN_ROUTES = [
    ("POST", "/admin/schemas"),
    ("GET", "/admin/schemas"),
    ("GET", "/admin/schemas/schema:0"),
    ("POST", "/admin/credential-definitions"),
    ("GET", "/admin/credential-definitions"),
    ("GET", "/admin/credential-definitions/creddef:0"),
    ("POST", "/admin/credential-definitions/creddef:0/rotate"),
    ("POST", "/admin/offers"),
    ("POST", "/admin/offers/bulk"),
    ("GET", "/admin/offers"),
    ("GET", "/admin/offers/offer_0"),
    ("POST", "/admin/offers/offer_0/cancel"),
    ("GET", "/admin/audit"),
    ("GET", "/admin/credentials"),
    ("GET", "/admin/credentials/cred_0"),
    ("POST", "/admin/credentials/cred_0/revoke"),
]


def test_every_admin_route_is_listed(client):
    """The table above covers every /admin route the app serves."""
    paths = client.get("/openapi.json").json()["paths"]
    served = {(m.upper(), p) for p, ops in paths.items() if p.startswith("/admin") for m in ops}
    listed = {
        (
            m,
            p.replace("schema:0", "{schema_id}")
            .replace("creddef:0", "{definition_id}")
            .replace("cred_0", "{credential_id}")
            .replace("offer_0", "{offer_id}"),
        )
        for m, p in ADMIN_ROUTES
    }
    assert served == listed


def test_admin_routes_refuse_missing_and_wrong_tokens(client, admin):
    for method, path in ADMIN_ROUTES:
        body = {"json": {}} if method == "POST" else {}
        r = client.request(method, path, **body)
        assert_problem(r, 401, "unauthorized")
        assert r.headers["www-authenticate"] == "Bearer"
        for header in ("Basic dXNlcjpwYXNz", "Bearer", "bearer "):
            assert_problem(client.request(method, path, headers={"Authorization": header}, **body), 401)
        for wrong in ("zka_wrong", admin["Authorization"].split()[1] + "x", "a" * 10_000):
            r = client.request(method, path, headers={"Authorization": f"Bearer {wrong}"}, **body)
            assert_problem(r, 403, "forbidden")


def test_an_offer_token_is_not_an_admin_token(api, client):
    offer = api.offer(api.definition(api.schema()["id"])["id"])
    r = client.get("/admin/schemas", headers={"Authorization": f"Bearer {offer['token']}"})
    assert_problem(r, 403)


def test_issuance_needs_the_offers_token(api, client):
    definition = api.definition(api.schema()["id"])
    offer, other = api.offer(definition["id"]), api.offer(definition["id"])
    requested = request_for(offer)
    r = client.post("/credentials", json={"offer_id": offer["offer_id"], "request": "AA"})
    assert_problem(r, 401, "unauthorized")
    assert_problem(post_request(client, offer, requested, token="zko_wrong"), 403, "invalid-token")
    assert_problem(post_request(client, offer, requested, token=other["token"]), 403, "invalid-token")
    admin_token = api.admin["Authorization"].split()[1]
    assert_problem(post_request(client, offer, requested, token=admin_token), 403, "invalid-token")
    # none of that used the offer up
    assert post_request(client, offer, requested).status_code == 201
