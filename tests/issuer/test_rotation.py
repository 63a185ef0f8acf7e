"""Key rotation at the issuer: one successor per definition, published through the outbox, refusals as problems."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from issuer.errors import IssuerError
from ledger.entries import parse_entry
from tests.issuer.conftest import assert_problem
from tests.issuer.holder import post_request, request_for


def test_rotate_refusals_and_offers_issued_before(api, client, service, ledger):
    definition = api.definition(api.schema()["id"], tag="payslip", capacity=4)
    pending_offer = api.offer(definition["id"])  # made before the rotation
    assert_problem(client.post("/admin/credential-definitions/nope/rotate", headers=api.admin), 404, "not-found")
    assert_problem(
        client.post(f"/admin/credential-definitions/{definition['id']}/rotate", headers=api.admin, json={"tag": ""}),
        422,
        "invalid-request",
    )
    assert_problem(
        client.post(
            f"/admin/credential-definitions/{definition['id']}/rotate", headers=api.admin, json={"surprise": 1}
        ),
        422,
        "invalid-request",
    )
    assert_problem(client.post(f"/admin/credential-definitions/{definition['id']}/rotate"), 401)
    r = client.post(
        f"/admin/credential-definitions/{definition['id']}/rotate",
        headers=api.admin,
        json={"tag": "payslip-2027", "capacity": 16},
    )
    assert r.status_code == 201, r.text
    new = r.json()
    assert (new["tag"], new["capacity"], new["revocable"]) == ("payslip-2027", 16, True)
    entry = parse_entry(ledger.entry(new["ledger_seq"]).body)
    assert entry.payload["supersedes"] == definition["id"]
    # an offer made before the rotation can no longer be used: the old key signs no more
    problem = assert_problem(
        post_request(client, pending_offer, request_for(pending_offer)), 409, "definition-superseded"
    )
    assert problem["successor_id"] == new["id"]
    # the tag of a rotation is a tag like any other: taken is 409
    other = api.definition(new["schema_id"], tag="other", revocable=False)
    assert_problem(
        client.post(
            f"/admin/credential-definitions/{other['id']}/rotate", headers=api.admin, json={"tag": "payslip-2027"}
        ),
        409,
        "definition-exists",
    )


def test_concurrent_rotations_give_one_successor(service, ledger):
    schema = service.create_schema(name="s", version="1", attributes=[{"name": "a", "type": "int"}])
    old = service.create_credential_definition(schema_id=schema.id, tag="t", revocable=False)
    workers = 4
    barrier = threading.Barrier(workers)

    def rotate(i: int):  # type: ignore[no-untyped-def]
        barrier.wait()
        try:
            return service.rotate_credential_definition(old.id, tag=f"t{i}")
        except IssuerError as e:
            return e

    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(rotate, range(workers)))
    made = [r for r in results if not isinstance(r, IssuerError)]
    assert len(made) == 1
    assert {(e.slug, e.extra["successor_id"]) for e in results if isinstance(e, IssuerError)} == {
        ("definition-superseded", made[0].id)
    }
    assert service.get_credential_definition(old.id).superseded_by == made[0].id
    announced = [
        parse_entry(e.body) for e in ledger.entries(start=0) if parse_entry(e.body).type == "credential_definition"
    ]
    assert [e.payload.get("supersedes") for e in announced] == [None, old.id]  # the losers published nothing
