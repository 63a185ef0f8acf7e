"""One offer token, many concurrent requests: exactly one credential. Many offers: distinct indexes."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from tests.issuer.holder import post_request, request_for

WORKERS = 6


def test_concurrent_double_use_of_one_token_gives_one_credential(api, client, service):
    definition = api.definition(api.schema()["id"], capacity=8)
    for _ in range(2):
        offer = api.offer(definition["id"])
        requests = [request_for(offer) for _ in range(WORKERS)]
        barrier = threading.Barrier(WORKERS)

        def go(requested):
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
    offers = [api.offer(definition["id"]) for _ in range(WORKERS + 1)]
    requests = [request_for(o) for o in offers]
    barrier = threading.Barrier(WORKERS + 1)

    def go(i):
        barrier.wait()
        return post_request(client, offers[i], requests[i])

    with ThreadPoolExecutor(WORKERS + 1) as pool:
        responses = list(pool.map(go, range(WORKERS + 1)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] * WORKERS + [409]  # capacity WORKERS: the last one finds the registry full
    indexes = sorted(r.json()["credential"]["revocation_index"] for r in responses if r.status_code == 201)
    assert indexes == list(range(WORKERS))
