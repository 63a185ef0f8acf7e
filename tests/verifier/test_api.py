"""The verifier over HTTP (TestClient), on SQLite and PostgreSQL: the lender's story, replay,
expiry, another request's proof, authentication, problem+json for every refusal."""

from __future__ import annotations

import pytest

from tests.verifier.helpers import VERIFIER_ID, present, request_body

DBS = pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)


def _create(client, auth, world, **overrides):
    r = client.post("/requests", json=request_body(world, **overrides), headers=auth)
    assert r.status_code == 201, r.text
    return r.json()


def _problem(r, status, slug):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["type"] == f"https://zkcred.dev/problems/{slug}" and body["status"] == status
    return body


@DBS
def test_lender_story_valid_presentation_is_verified(client, auth, world):
    created = _create(client, auth, world)
    assert set(created) == {"id", "nonce", "request", "presentation_url", "request_url", "expires_at", "deep_link"}
    rid = created["id"]
    assert created["presentation_url"] == f"https://verifier.test/requests/{rid}/presentation"
    assert created["request_url"] == f"https://verifier.test/requests/{rid}/document"
    assert created["request"]["verifier_id"] == VERIFIER_ID
    assert [q["id"] for q in created["request"]["queries"]] == ["credential"]

    doc = client.get(f"/requests/{rid}/document")  # public: no API key
    assert doc.status_code == 200 and doc.json()["request"] == created["request"]
    assert client.get(f"/requests/{rid}", headers=auth).json() == {
        "id": rid,
        "status": "pending",
        "verdict": None,
        "deep_link": created["deep_link"],
    }

    presentation = present(world, world.holders[0], doc.json()["request"])
    r = client.post(f"/requests/{rid}/presentation", json={"presentation": presentation})
    assert r.status_code == 200, r.text
    verdict = r.json()
    assert verdict["verified"] is True and verdict["reason"] is None
    assert verdict["disclosed"] == {"country": "NL"}  # and nothing else
    assert "credential: income >= 50000" in verdict["predicates"]
    assert any("not revoked" in p for p in verdict["predicates"])
    status = client.get(f"/requests/{rid}", headers=auth).json()
    assert status == {"id": rid, "status": "verified", "verdict": verdict, "deep_link": created["deep_link"]}

    # The nonce is spent: the same presentation again is 409 replay.
    _problem(client.post(f"/requests/{rid}/presentation", json={"presentation": presentation}), 409, "replay")
    assert client.get(f"/requests/{rid}", headers=auth).json()["status"] == "verified"


@DBS
def test_presentation_for_another_request_is_rejected(client, auth, world):
    a, b = _create(client, auth, world), _create(client, auth, world)
    presentation = present(world, world.holders[0], a["request"])
    r = client.post(f"/requests/{b['id']}/presentation", json={"presentation": presentation})
    assert r.status_code == 200 and r.json() == {
        "verified": False,
        "disclosed": {},
        "predicates": [],
        "reason": "invalid_proof",
    }
    assert client.get(f"/requests/{b['id']}", headers=auth).json()["status"] == "pending"  # a failure spends nothing
    # ... and the request it was made for still accepts it.
    assert client.post(f"/requests/{a['id']}/presentation", json={"presentation": presentation}).json()["verified"]


def test_expired_request_is_rejected_with_its_reason(client, auth, world, clock):
    created = _create(client, auth, world, expires_in=60)
    presentation = present(world, world.holders[0], created["request"])
    clock.advance(61)
    assert client.get(f"/requests/{created['id']}", headers=auth).json()["status"] == "expired"
    r = client.post(f"/requests/{created['id']}/presentation", json={"presentation": presentation})
    assert r.status_code == 200 and r.json()["verified"] is False and r.json()["reason"] == "expired"
    assert client.get(f"/requests/{created['id']}", headers=auth).json()["status"] == "expired"
    _problem(client.post(f"/requests/{created['id']}/presentation", json={"presentation": presentation}), 409, "replay")


def test_predicate_not_met_cannot_be_answered(client, auth, world):
    """A lender asking income ≥ 100 000 of a holder earning 64 000: the wallet refuses; a forged
    proof of the lower bound (answering another request's threshold) is rejected."""
    high = _create(client, auth, world, predicates=[{"attribute": "income", "op": ">=", "value": 100000}])
    low = _create(client, auth, world)
    presentation = present(world, world.holders[0], low["request"])
    r = client.post(f"/requests/{high['id']}/presentation", json={"presentation": presentation})
    assert r.json()["verified"] is False and r.json()["reason"] == "invalid_proof"


def test_lender_routes_need_a_valid_api_key(client, auth, world, service):
    body = request_body(world)
    _problem(client.post("/requests", json=body), 401, "unauthorized")
    assert client.post("/requests", json=body).headers["www-authenticate"] == "Bearer"
    _problem(client.post("/requests", json=body, headers={"Authorization": "Basic dXNlcjpwdw=="}), 401, "unauthorized")
    _problem(client.post("/requests", json=body, headers={"Authorization": "Bearer "}), 401, "unauthorized")
    _problem(client.post("/requests", json=body, headers={"Authorization": "Bearer zkv_wrong"}), 403, "forbidden")
    created = _create(client, auth, world)
    _problem(client.get(f"/requests/{created['id']}"), 401, "unauthorized")
    _problem(client.get(f"/requests/{created['id']}", headers={"Authorization": "Bearer nope"}), 403, "forbidden")
    # Another lender sees only its own requests.
    other = {"Authorization": f"Bearer {service.create_api_key(lender='other-bank')}"}
    _problem(client.get(f"/requests/{created['id']}", headers=other), 403, "forbidden")
    assert client.get(f"/requests/{created['id']}", headers=auth).status_code == 200
    _problem(client.get("/requests/no-such-request", headers=auth), 404, "not-found")


def test_unknown_routes_and_methods_are_problems(client, auth):
    _problem(client.get("/nowhere"), 404, "not-found")
    _problem(client.get("/requests/x/document"), 404, "not-found")
    _problem(client.delete("/requests/x/document"), 405, "method-not-allowed")
    _problem(client.post("/requests/x/presentation", json={"presentation": {}}), 404, "not-found")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"credential_definitions": []},
        {"credential_definitions": "creddef:x"},
        {"credential_definitions": ["creddef:x"], "expires_in": 0},
        {"credential_definitions": ["creddef:x"], "expires_in": 10**12},
        {"credential_definitions": ["creddef:x"], "max_staleness": -1},
        {"credential_definitions": ["creddef:x"], "predicates": [{"attribute": "income", "op": "~", "value": 1}]},
        {"credential_definitions": ["creddef:x"], "surprise": 1},
    ],
    ids=lambda b: ",".join(b) or "empty",
)
def test_bad_request_bodies_are_422(client, auth, body):
    _problem(client.post("/requests", json=body, headers=auth), 422, "invalid-request")


@pytest.mark.parametrize(
    "change,slug",
    [
        ({"credential_definitions": ["creddef:00000000000000000000000000000000"]}, "unknown-definition"),
        ({"disclose": ["shoe_size"]}, "invalid-input"),
        ({"disclose": ["country", "country"]}, "invalid-input"),
        ({"predicates": [{"attribute": "income", "op": ">=", "value": "lots"}]}, "invalid-input"),
        ({"predicates": [{"attribute": "country", "op": ">=", "value": 3}]}, "invalid-input"),
        ({"predicates": [{"attribute": "income", "op": "between", "value": [1]}]}, "invalid-input"),
        ({"predicates": [{"attribute": "country", "op": "in", "value": []}]}, "invalid-input"),
        ({"predicates": [{"attribute": "birth_date", "op": "<=", "value": "not a date"}]}, "invalid-input"),
        ({"predicates": [{"attribute": "income", "op": ">=", "value": {"a": 1}}]}, "invalid-input"),
    ],
)
def test_requests_no_credential_could_answer_are_422(client, auth, world, change, slug):
    _problem(client.post("/requests", json=request_body(world, **change), headers=auth), 422, slug)


def test_oversized_body_is_413(client):
    r = client.post(
        "/requests/x/presentation", content=b"{" + b" " * 300_000 + b"}", headers={"content-type": "application/json"}
    )
    _problem(r, 413, "payload-too-large")
