"""One offer token, many concurrent requests: exactly one credential. Many offers: distinct indexes."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from tests.issuer.conftest import VALUES
from tests.issuer.holder import post_request, request_for

WORKERS = 6


def test_concurrent_double_use_of_one_token_gives_one_credential(api, client, service):
    definition = api.definition(api.schema()["id"], capacity=8)
    for _ in range(2):
        offer = api.offer(definition["id"])
        requests = [request_for(offer) for _ in range(WORKERS)]
        barrier = threading.Barrier(WORKERS)

        def go(requested, barrier=barrier, offer=offer):
            barrier.wait()
            return post_request(client, offer, requested)

        with ThreadPoolExecutor(WORKERS) as pool:
            responses = list(pool.map(go, requests))
        codes = sorted(r.status_code for r in responses)
        assert codes == [201] + [409] * (WORKERS - 1), [r.text for r in responses]
        assert all(r.json()["type"].endswith("/offer-used") for r in responses if r.status_code == 409)
    issued = service.list_credentials()
    assert len(issued) == 2
    assert sorted(c.revocation_index for c in issued) == [0, 1]


def test_concurrent_offers_get_distinct_indexes(api, client, service):
    definition = api.definition(api.schema()["id"], capacity=WORKERS)
    offers = [api.offer(definition["id"]) for _ in range(WORKERS)]
    # every index is reserved by a pending offer: one more is refused at offer time, not at accept time
    r = client.post(
        "/admin/offers", json={"credential_definition_id": definition["id"], "attributes": VALUES}, headers=api.admin
    )
    assert r.status_code == 409 and r.json()["type"].endswith("/registry-full"), r.text
    requests = [request_for(o) for o in offers]
    barrier = threading.Barrier(WORKERS)

    def go(i):
        barrier.wait()
        return post_request(client, offers[i], requests[i])

    with ThreadPoolExecutor(WORKERS) as pool:
        responses = list(pool.map(go, range(WORKERS)))
    assert [r.status_code for r in responses] == [201] * WORKERS, [r.text for r in responses]
    indexes = sorted(r.json()["credential"]["revocation_index"] for r in responses)
    assert indexes == list(range(WORKERS))


def test_concurrent_offers_never_overcommit_the_registry(api, client, service):
    """Offers racing for the last free indexes (single and bulk): exactly capacity of them succeed."""
    capacity = 5
    definition = api.definition(api.schema()["id"], capacity=capacity)
    item = {"credential_definition_id": definition["id"], "attributes": VALUES}
    calls = [("/admin/offers", item)] * 4 + [("/admin/offers/bulk", {"offers": [item, item]})] * 2
    barrier = threading.Barrier(len(calls))

    def go(call):
        barrier.wait()
        return client.post(call[0], json=call[1], headers=api.admin)

    with ThreadPoolExecutor(len(calls)) as pool:
        responses = list(pool.map(go, calls))
    created = sum(
        1 if path == "/admin/offers" else 2
        for (path, _), r in zip(calls, responses, strict=True)
        if r.status_code == 201
    )
    assert all(r.status_code in (201, 409) for r in responses), [r.text for r in responses]
    assert created <= capacity and created >= capacity - 1  # a bulk of two may not fit the last index
    assert len(service.list_offers(status="pending")) == created
