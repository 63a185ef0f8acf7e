"""Step 2 of issue 17 end to end: the ledger submits checkpoints to three witnesses on loopback
(real HTTP servers), keeps their cosignatures and serves the cosigned checkpoint; consumers with a
quorum policy accept it, and a witness that is down or slow never stops an append."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from ledger.api import create_app as ledger_app
from ledger.client import LedgerClient
from ledger.errors import QuorumNotMet
from ledger.log import LedgerLog
from ledger.note import CosignatureSigner, open_note
from ledger.policy import simple_policy
from ledger.sql import SqlStore
from ledger.store import MemoryStore
from ledger.witnessing import WitnessSubmitter
from tests.ledger.conftest import Issuer, populate
from tests.postgres import postgres_schema
from tests.servers import dead_url, serve
from witness.api import create_app as witness_app
from witness.core import MemoryWitnessStore, Witness

ORIGIN = "ledger.test/witnessed"


class SlowWitness(Witness):
    """Answers only once ``release`` is set (or after ``delay`` seconds): a witness that hangs."""

    delay = 1.5
    release: threading.Event | None = None
    holding = threading.Event()  # set once a request is being held
    answered = 0

    def add_checkpoint(self, body: bytes) -> bytes:
        SlowWitness.holding.set()
        if self.release is not None:
            self.release.wait(30)
        else:
            time.sleep(self.delay)
        SlowWitness.answered += 1
        return super().add_checkpoint(body)


def _witness(log: LedgerLog, name: str, cls: type[Witness] = Witness) -> Witness:
    return cls(CosignatureSigner(name, Ed25519PrivateKey.generate()), [log.verifier], MemoryWitnessStore())


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def log(request: pytest.FixtureRequest, tmp_path) -> Iterator[LedgerLog]:  # type: ignore[no-untyped-def]
    if request.param == "postgres":  # the ledger's cosignatures on PostgreSQL, its own schema
        with postgres_schema() as url:
            store = SqlStore(url)
            yield LedgerLog(store, signing_key=Ed25519PrivateKey.generate(), origin=ORIGIN)
            store.close()
        return
    store = MemoryStore() if request.param == "memory" else SqlStore(f"sqlite:///{tmp_path}/ledger.db")
    yield LedgerLog(store, signing_key=Ed25519PrivateKey.generate(), origin=ORIGIN)


@pytest.fixture
def three(log: LedgerLog) -> Iterator[list[tuple[Witness, str]]]:
    witnesses = [_witness(log, f"witness.test/w{i}") for i in (1, 2, 3)]
    with ExitStack() as stack:
        yield [(w, stack.enter_context(serve(witness_app(w)))) for w in witnesses]


def _policy(log: LedgerLog, witnesses: list[tuple[Witness, str]], k: int, *, urls: bool = True):  # type: ignore[no-untyped-def]
    return simple_policy(
        [(w.signer.name, w.signer.verifier, url if urls else None) for w, url in witnesses], k, log=log.verifier
    )


def test_checkpoints_are_cosigned_and_served(log: LedgerLog, three: list[tuple[Witness, str]]) -> None:
    log.witness_policy = _policy(log, three, 2)
    submitter = WitnessSubmitter(log, list(log.witness_policy.witnesses.values()))
    issuer = Issuer("acme")
    populate(log, issuer, 4)
    outcomes = submitter.submit_round()
    assert [o.status for o in outcomes] == ["cosigned"] * 3 and {o.size for o in outcomes} == {4}
    assert [o.status for o in submitter.submit_round()] == ["up-to-date"] * 3
    served = log.latest_checkpoint()
    assert served.size == 4 and len(served.note.signatures) == 4  # the ledger's + three cosignatures
    witness_keys = [w.signer.verifier for w, _ in three]
    assert len(open_note(served.to_bytes(), [log.verifier, *witness_keys]).verified) == 4

    http = TestClient(ledger_app(log))
    consumer = LedgerClient(
        "http://ledger", ledger_key=log.public_key, origin=ORIGIN, policy=_policy(log, three, 3, urls=False), http=http
    )
    assert consumer.checkpoint().size == 4  # 3 of 3
    populate_more(log, issuer)
    # the head moved on, not yet cosigned: the ledger keeps serving the cosigned size 4
    assert log.latest_checkpoint().size == 4 and consumer.checkpoint().size == 4
    submitter.submit_round()  # old size 4 + a consistency proof to 6
    assert consumer.checkpoint().size == 6
    for w, _ in three:
        assert w.store.get(ORIGIN).size == 6


def populate_more(log: LedgerLog, issuer: Issuer, n: int = 2) -> None:
    for i in range(n):
        size = log.head().size
        log.append(
            key=issuer.key,
            issuer=issuer.id,
            entry_type="revocation",
            payload={"registry_id": "r", "handles": [f"{size:04x}"], "values": [f"{i:096x}"]},
        )


def test_a_down_or_slow_witness_never_stops_appends(log: LedgerLog) -> None:
    live, slow = _witness(log, "witness.test/live"), _witness(log, "witness.test/slow", SlowWitness)
    assert isinstance(slow, SlowWitness)
    slow.release = threading.Event()  # the slow witness holds every request until the appends are done
    SlowWitness.holding, SlowWitness.answered = threading.Event(), 0
    down_signer = CosignatureSigner("witness.test/down", Ed25519PrivateKey.generate())
    with serve(witness_app(live)) as live_url, serve(witness_app(slow)) as slow_url:
        policy = simple_policy(
            [
                (live.signer.name, live.signer.verifier, live_url),
                (down_signer.name, down_signer.verifier, dead_url()),
                (slow.signer.name, slow.signer.verifier, slow_url),
            ],
            2,
            log=log.verifier,
        )
        log.witness_policy = policy
        submitter = WitnessSubmitter(log, list(policy.witnesses.values()), timeout=0.3, interval=0.05).start()
        try:
            issuer = Issuer("acme")
            populate(log, issuer, 1)
            assert SlowWitness.holding.wait(30), "the submitter never reached the slow witness"
            # the slow witness is holding a submission and will until released: if an append
            # waited for witnesses, these would hang (and the test with them) instead of landing
            populate_more(log, issuer, 7)
            assert log.head().size == 8 and SlowWitness.answered == 0  # all landed while it held the first
            deadline = time.monotonic() + 10
            while live.store.get(ORIGIN) is None or live.store.get(ORIGIN).size < 8:
                assert time.monotonic() < deadline, "the live witness never caught up"
                time.sleep(0.05)
        finally:
            submitter.stop()
            slow.release.set()  # the held requests end (the submitter has stopped: nothing stored)
        # only one of three cosigned: 2 of 3 is not met, so the head is served without a quorum
        served = log.latest_checkpoint()
        assert served.size == 8
        http = TestClient(ledger_app(log))
        strict = LedgerClient("http://ledger", ledger_key=log.public_key, origin=ORIGIN, policy=policy, http=http)
        with pytest.raises(QuorumNotMet) as e:
            strict.checkpoint()
        assert e.value.missing == ["witness.test/down", "witness.test/slow"]
        assert "witness.test/down" in e.value.detail and "2 of (" in e.value.detail
        lenient = simple_policy(
            [(live.signer.name, live.signer.verifier, None), (slow.signer.name, slow.signer.verifier, None)], 1
        )
        assert (
            LedgerClient("http://ledger", ledger_key=log.public_key, origin=ORIGIN, policy=lenient, http=http)
            .checkpoint()
            .size
            == 8
        )


def test_a_restarted_ledger_learns_each_witness_size_from_409(log: LedgerLog, three: list[tuple[Witness, str]]) -> None:
    policy = _policy(log, three, 3)
    log.witness_policy = policy
    issuer = Issuer("acme")
    populate(log, issuer, 3)
    WitnessSubmitter(log, list(policy.witnesses.values())).submit_round()
    populate_more(log, issuer)
    fresh = WitnessSubmitter(log, list(policy.witnesses.values()))  # knows nothing: starts from old size 0
    assert [o.status for o in fresh.submit_round()] == ["cosigned"] * 3
    assert log.latest_checkpoint().size == 5


def test_an_unchanged_checkpoint_is_recosigned_to_stay_fresh(log: LedgerLog, three: list[tuple[Witness, str]]) -> None:
    policy = _policy(log, three, 3)
    log.witness_policy = policy
    populate(log, Issuer("acme"), 2)
    offset = [0.0]
    submitter = WitnessSubmitter(
        log, list(policy.witnesses.values()), refresh_after=60, clock=lambda: time.time() + offset[0]
    )
    assert {o.status for o in submitter.submit_round()} == {"cosigned"}
    assert {o.status for o in submitter.submit_round()} == {"up-to-date"}
    offset[0] = 61  # a minute later, nothing appended: re-cosign the same size for fresh timestamps
    assert {o.status for o in submitter.submit_round()} == {"cosigned"}
    consumer = LedgerClient(
        "http://ledger",
        ledger_key=log.public_key,
        origin=ORIGIN,
        max_age=30,
        policy=_policy(log, three, 3, urls=False),
        http=TestClient(ledger_app(log)),
    )
    assert consumer.checkpoint().size == 2


def test_a_post_quantum_witness_counts_like_any_other(log: LedgerLog) -> None:
    """Two Ed25519 witnesses and one ML-DSA-44 witness (tlog-cosignature type 0x06); 2 of 3."""
    import hashlib

    from ledger.note import MLDSACosignatureSigner

    ed = [_witness(log, "witness.test/ed1"), _witness(log, "witness.test/ed2")]
    pq = Witness(
        MLDSACosignatureSigner("witness.test/pq", hashlib.sha256(b"pq").digest()), [log.verifier], MemoryWitnessStore()
    )
    with ExitStack() as stack:
        served = [(w, stack.enter_context(serve(witness_app(w)))) for w in (*ed, pq)]
        policy = simple_policy([(w.signer.name, w.signer.verifier, u) for w, u in served], 2, log=log.verifier)
        log.witness_policy = policy
        populate(log, Issuer("acme"), 3)
        assert {o.status for o in WitnessSubmitter(log, list(policy.witnesses.values())).submit_round()} == {"cosigned"}
    http = TestClient(ledger_app(log))
    only_pq_and_one = simple_policy(
        [(pq.signer.name, pq.signer.verifier, None), (ed[0].signer.name, ed[0].signer.verifier, None)], 2
    )
    client = LedgerClient("http://ledger", ledger_key=log.public_key, origin=ORIGIN, policy=only_pq_and_one, http=http)
    assert client.checkpoint().size == 3
    line = next(s for s in log.latest_checkpoint().note.signatures if s.name == "witness.test/pq")
    assert len(line.signature) == 8 + 2420
