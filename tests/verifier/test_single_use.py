"""A nonce is accepted once: concurrent submissions of one presentation — threads on one engine,
and on PostgreSQL two engines (two "workers") — record exactly one verdict."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.verifier.helpers import make_service, present, request_body
from verifier.db import SqlRequestStore
from verifier.errors import ErrorKind, VerifierError
from verifier.service import Verdict, VerifierService

DBS = pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)


class _RacingStore(SqlRequestStore):
    """Lets every submitter read the request as pending before any of them records a verdict,
    so the race is decided where it must be: in the database's conditional UPDATE."""

    def __init__(self, store: SqlRequestStore, barrier: threading.Barrier) -> None:
        super().__init__(store.engine)
        self.barrier = barrier

    def get_request(self, *, request_id: str) -> dict[str, Any] | None:
        row = super().get_request(request_id=request_id)
        self.barrier.wait(timeout=30)
        return row


def _race(services: list[VerifierService], request_id: str, presentation: dict) -> list[Any]:
    barrier = threading.Barrier(len(services))
    distinct = list({id(s): s for s in services}.values())
    originals = [s.store for s in distinct]
    for s in distinct:  # wrap each distinct service once
        s.store = _RacingStore(s.store, barrier)  # type: ignore[arg-type]
    results: list[Any] = [None] * len(services)

    def submit(i: int) -> None:
        try:
            results[i] = services[i].submit_presentation(request_id=request_id, unverified_presentation=presentation)
        except VerifierError as e:
            results[i] = e

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(len(services))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for s, original in zip(distinct, originals, strict=True):
        s.store = original
    return results


def _exactly_one_accepted(results: list[Any]) -> None:
    accepted = [r for r in results if isinstance(r, Verdict)]
    refused = [r for r in results if isinstance(r, VerifierError)]
    assert len(accepted) == 1 and accepted[0].verified, results
    assert len(refused) == len(results) - 1 and all(e.kind is ErrorKind.REPLAY for e in refused), results


@DBS
def test_concurrent_threads_accept_one_nonce_once(service, world):
    record = service.create_request(lender="acme", **request_body(world))
    presentation = present(world, world.holders[0], record.request.to_json())
    _exactly_one_accepted(_race([service] * 3, record.id, presentation))
    row = service.store.get_request(request_id=record.id)
    assert row["status"] == "verified" and row["verdict"]["verified"] is True


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_two_workers_on_one_postgresql_accept_one_nonce_once(world, db_url, clock):
    first, engine1 = make_service(world, db_url, clock)
    second, engine2 = make_service(world, db_url, clock)  # its own engine, pool and resolver: another worker
    try:
        record = first.create_request(lender="acme", **request_body(world))
        presentation = present(world, world.holders[0], record.request.to_json())
        _exactly_one_accepted(_race([first, second], record.id, presentation))
        # Whichever won, both workers now see the request as answered.
        for worker in (first, second):
            with pytest.raises(VerifierError) as e:
                worker.submit_presentation(request_id=record.id, unverified_presentation=presentation)
            assert e.value.kind is ErrorKind.REPLAY
    finally:
        engine1.dispose()
        engine2.dispose()


@DBS
def test_finish_request_is_a_compare_and_set(service, world):
    record = service.create_request(lender="acme", **request_body(world))
    barrier = threading.Barrier(8)
    wins: list[bool] = []

    def finish(i: int) -> None:
        barrier.wait(timeout=30)
        wins.append(
            service.store.finish_request(request_id=record.id, status="rejected", verdict={"i": i}, answered_ms=0)
        )

    threads = [threading.Thread(target=finish, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(wins) == [False] * 7 + [True]


def test_nonces_are_unique_in_the_database(service, world):
    from sqlalchemy.exc import IntegrityError

    record = service.create_request(lender="acme", **request_body(world))
    twin = type(record)(**{**record.__dict__, "id": "another-id"})  # same nonce, another request
    with pytest.raises(IntegrityError):
        service.store.insert_request(twin)
