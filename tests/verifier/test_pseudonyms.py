"""Per-lender pseudonyms at the verifier (issue 8), over HTTP, on SQLite and PostgreSQL.

A request with ``"pseudonym": true`` (or ``{"context": …}``) carries a context derived from
the authenticated lender; a verified presentation's pseudonym is recorded with its verdict;
``GET /requests/{id}`` says whether the lender saw it before, and ``GET /pseudonyms/{value}``
lists the lender's own requests with it — another lender gets 403.
"""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import inspect

from circuits.credentials import PresentationRequest
from tests.verifier.helpers import VERIFIER_ID, present, request_body
from verifier.service import lender_context

DBS = pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _create(client, auth, world, pseudonym=True):
    r = client.post("/requests", json=request_body(world, pseudonym=pseudonym), headers=auth)
    assert r.status_code == 201, r.text
    return r.json()


def _apply(client, auth, world, holder, pseudonym=True):
    """Create a request, let ``holder`` answer it; return the lender's view of the request."""
    created = _create(client, auth, world, pseudonym)
    verdict = client.post(
        f"/requests/{created['id']}/presentation", json={"presentation": present(world, holder, created["request"])}
    )
    assert verdict.status_code == 200 and verdict.json()["verified"], verdict.text
    assert "pseudonym" not in verdict.json()  # the holder's verdict does not say whether it was recognised
    status = client.get(f"/requests/{created['id']}", headers=auth)
    assert status.status_code == 200, status.text
    return status.json()


def _problem(r, status, slug):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == f"https://zkcred.dev/problems/{slug}"


@DBS
def test_returning_applicant_is_recognised_by_one_lender_only(client, service, auth, world):
    other = _bearer(service.create_api_key(lender="beta-lend"))
    ada, bob = world.holders[0], world.holders[1]

    created = _create(client, auth, world)
    context = f"{VERIFIER_ID}/acme-bank"
    assert created["request"]["queries"][0]["pseudonym_context"] == context == lender_context(VERIFIER_ID, "acme-bank")
    pending = client.get(f"/requests/{created['id']}", headers=auth).json()
    assert pending == {
        "id": created["id"],
        "status": "pending",
        "verdict": None,
        "pseudonym_context": context,
        "pseudonym": None,
        "seen_before": None,
        "earlier_requests": None,
        "deep_link": created["deep_link"],
    }

    first = _apply(client, auth, world, ada)
    assert first["pseudonym_context"] == context and first["seen_before"] is False
    assert first["earlier_requests"] == [] and len(first["pseudonym"]) == 64  # b64url of 48 bytes
    second = _apply(client, auth, world, ada)  # a fresh presentation, a fresh nonce: the same pseudonym
    assert second["pseudonym"] == first["pseudonym"]
    assert second["seen_before"] is True and second["earlier_requests"] == [first["id"]]

    stranger = _apply(client, auth, world, bob)  # another holder is not recognised
    assert stranger["pseudonym"] != first["pseudonym"] and stranger["seen_before"] is False

    at_b = _apply(client, other, world, ada)  # lender B: another context, an unrelated pseudonym
    assert at_b["pseudonym_context"] == f"{VERIFIER_ID}/beta-lend"
    assert at_b["pseudonym"] not in (first["pseudonym"], stranger["pseudonym"]) and at_b["seen_before"] is False

    records = client.get(f"/pseudonyms/{first['pseudonym']}", headers=auth)
    assert records.status_code == 200, records.text
    body = records.json()
    assert body["pseudonym"] == first["pseudonym"]
    assert [r["request_id"] for r in body["requests"]] == [first["id"], second["id"]]
    assert {r["context"] for r in body["requests"]} == {context}
    assert all(r["verified_at"].endswith("Z") for r in body["requests"])

    # One lender cannot read another's pseudonym records: 403, the same whether the value
    # is another lender's or nobody's (no oracle for what other lenders have seen).
    _problem(client.get(f"/pseudonyms/{first['pseudonym']}", headers=other), 403, "forbidden")
    _problem(client.get(f"/pseudonyms/{at_b['pseudonym']}", headers=auth), 403, "forbidden")
    _problem(client.get("/pseudonyms/" + "A" * 64, headers=auth), 403, "forbidden")
    _problem(client.get(f"/pseudonyms/{first['pseudonym']}"), 401, "unauthorized")
    assert (
        client.get(f"/pseudonyms/{at_b['pseudonym']}", headers=other).json()["requests"][0]["request_id"] == at_b["id"]
    )


@DBS
def test_campaign_contexts_are_namespaced_under_the_lender(client, service, auth, world):
    other = _bearer(service.create_api_key(lender="beta-lend"))
    ada = world.holders[0]
    spring = _apply(client, auth, world, ada, {"context": "spring/2026"})
    assert spring["pseudonym_context"] == f"{VERIFIER_ID}/acme-bank/spring%2F2026"
    plain = _apply(client, auth, world, ada)
    assert plain["pseudonym"] != spring["pseudonym"] and plain["seen_before"] is False  # campaigns are separate
    assert _apply(client, auth, world, ada, {"context": "spring/2026"})["earlier_requests"] == [spring["id"]]
    # Lender B naming the same campaign gets its own context: never A's pseudonym.
    b_spring = _apply(client, other, world, ada, {"context": "spring/2026"})
    assert b_spring["pseudonym_context"] == f"{VERIFIER_ID}/beta-lend/spring%2F2026"
    assert b_spring["pseudonym"] != spring["pseudonym"] and b_spring["seen_before"] is False
    # …nor by naming A's context as its campaign, or smuggling the context in
    sneaky = _create(client, other, world, {"context": f"{VERIFIER_ID}/acme-bank"})
    assert sneaky["request"]["queries"][0]["pseudonym_context"].startswith(f"{VERIFIER_ID}/beta-lend/")
    for bad in (
        {"context": ""},
        {"context": "x" * 65},
        {"context": "a", "lender": "acme-bank"},
        "yes",
        1,
        {"pseudonym_context": "x"},
    ):
        _problem(
            client.post("/requests", json=request_body(world, pseudonym=bad), headers=auth), 422, "invalid-request"
        )
    # Without a pseudonym nothing changes: no key in the query, none in the status.
    created = client.post("/requests", json=request_body(world), headers=auth).json()
    assert "pseudonym_context" not in created["request"]["queries"][0]
    assert set(client.get(f"/requests/{created['id']}", headers=auth).json()) == {
        "id",
        "status",
        "verdict",
        "deep_link",
    }


@DBS
def test_presentation_for_context_a_is_rejected_in_a_context_b_request(client, service, auth, world):
    other = _bearer(service.create_api_key(lender="beta-lend"))
    ada = world.holders[0]
    b = _create(client, other, world)
    # A holder (or a relay) answering B's nonce with its pseudonym for A's context.
    request_b = PresentationRequest.from_json(b["request"])
    query_a = dataclasses.replace(request_b.queries[0], pseudonym_context=lender_context(VERIFIER_ID, "acme-bank"))
    forged = present(world, ada, dataclasses.replace(request_b, queries=(query_a,)).to_json())
    r = client.post(f"/requests/{b['id']}/presentation", json={"presentation": forged})
    assert r.status_code == 200 and r.json() == {
        "verified": False,
        "disclosed": {},
        "predicates": [],
        "reason": "invalid_proof",
    }
    status = client.get(f"/requests/{b['id']}", headers=other).json()
    assert status["status"] == "pending" and status["pseudonym"] is None and status["seen_before"] is None
    # A's whole presentation for an A request, posted to B's request: rejected too.
    a = _create(client, auth, world)
    b2 = _create(client, other, world)
    r = client.post(f"/requests/{b2['id']}/presentation", json={"presentation": present(world, ada, a["request"])})
    assert r.json()["verified"] is False
    # A presentation without the pseudonym for a request that asks for one: rejected.
    b3 = _create(client, other, world)
    plain = dataclasses.replace(
        PresentationRequest.from_json(b3["request"]),
        queries=(dataclasses.replace(PresentationRequest.from_json(b3["request"]).queries[0], pseudonym_context=None),),
    )
    r = client.post(f"/requests/{b3['id']}/presentation", json={"presentation": present(world, ada, plain.to_json())})
    assert r.json()["verified"] is False
    # Rejections record no pseudonym.
    assert all(service.store.pseudonym_of(request_id=x["id"]) is None for x in (b, b2, b3))


@DBS
def test_pseudonym_table_holds_no_attribute_values(service, client, auth, world):
    _apply(client, auth, world, world.holders[0])
    engine = service.store.engine
    columns = {c["name"] for c in inspect(engine).get_columns("verifier_pseudonyms")}
    assert columns == {"seq", "lender", "context", "pseudonym", "request_id", "verified_ms"}
    indexes = {tuple(i["column_names"]) for i in inspect(engine).get_indexes("verifier_pseudonyms")}
    assert ("lender", "pseudonym") in indexes
