"""C2SP tlog-witness: every status of add-checkpoint, cosignatures, durable compare-and-swap state."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from ledger import merkle
from ledger.checkpoint import Checkpoint, SignedCheckpoint, format_add_checkpoint, log_signer, sign_checkpoint
from ledger.log import LedgerLog
from ledger.note import CosignatureSigner, NoteSignature, open_note, parse_signature_lines
from ledger.store import MemoryStore
from tests.ledger.conftest import Issuer, populate
from tests.postgres import postgres_schema
from witness.api import create_app
from witness.core import LogRecord, MemoryWitnessStore, Witness, WitnessError, origin_hash
from witness.sql import SqlWitnessStore

ORIGIN = "ledger.test/witnessed"


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str | None]:  # type: ignore[no-untyped-def]
    if request.param == "memory":
        yield None
    elif request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/witness.db"
    else:
        with postgres_schema() as url:
            yield url


def _store(url: str | None):  # type: ignore[no-untyped-def]
    return MemoryWitnessStore() if url is None else SqlWitnessStore(url)


@pytest.fixture
def log() -> LedgerLog:
    return LedgerLog(MemoryStore(), signing_key=Ed25519PrivateKey.generate(), origin=ORIGIN)


@pytest.fixture
def witness(log: LedgerLog, store_url: str | None) -> Witness:
    signer = CosignatureSigner("witness.test/w1", Ed25519PrivateKey.generate())
    return Witness(signer, [log.verifier], _store(store_url))


def _body(
    log: LedgerLog,
    old: int,
    size: int | None = None,
    *,
    proof: list[bytes] | None = None,
    checkpoint: bytes | None = None,
) -> bytes:
    size = log.head().size if size is None else size
    if proof is None:
        proof = log.consistency_proof(first=old, second=size) if old else []
    return format_add_checkpoint(old, proof, checkpoint if checkpoint is not None else log.checkpoint(size).to_bytes())


def test_cosigns_a_consistent_history(log: LedgerLog, witness: Witness) -> None:
    http = TestClient(create_app(witness))
    issuer = Issuer("acme")
    populate(log, issuer, 3)
    r = http.post("/add-checkpoint", content=_body(log, 0))
    assert r.status_code == 200 and r.headers["content-type"] == "text/plain; charset=utf-8"
    (line,) = parse_signature_lines(r.content)
    assert (line.name, line.key_id) == ("witness.test/w1", witness.signer.key_id)
    text = log.checkpoint(3).checkpoint.text().encode()
    assert witness.signer.verifier.verify(text, line.signature)
    # the client may concatenate the response to the checkpoint and open it with the witness key
    opened = open_note(log.checkpoint(3).to_bytes() + r.content, [log.verifier, witness.signer.verifier])
    assert opened.signed_by(witness.signer.verifier) == line
    for _ in range(4):  # grow and cosign again from the recorded size, with consistency proofs
        old = log.head().size
        populate_more(log, issuer)
        assert http.post("/add-checkpoint", content=_body(log, old)).status_code == 200
    assert witness.store.get(ORIGIN).size == log.head().size
    # the same size again (a retry): same root, empty proof: cosigned again
    assert http.post("/add-checkpoint", content=_body(log, log.head().size)).status_code == 200
    # monitoring: the latest checkpoint with the log's signature and this witness's cosignature
    # (and nothing else: a signature line of an unknown key that came with the request is not kept)
    stranger = CosignatureSigner("stranger.test", Ed25519PrivateKey.generate())
    cp = log.checkpoint()
    extra = cp.with_cosignatures([NoteSignature(stranger.name, stranger.key_id, stranger.sign(cp.note.text.encode()))])
    size = log.head().size
    assert http.post("/add-checkpoint", content=format_add_checkpoint(size, [], extra.to_bytes())).status_code == 200
    m = http.get(f"/{origin_hash(ORIGIN)}/checkpoint")
    assert m.status_code == 200
    cosigned = open_note(m.content, [log.verifier, witness.signer.verifier])
    assert len(cosigned.verified) == 2 and SignedCheckpoint.parse(m.content).size == log.head().size
    assert [s.name for s in SignedCheckpoint.parse(m.content).note.signatures] == [ORIGIN, "witness.test/w1"]
    assert http.get(f"/{origin_hash('nope')}/checkpoint").status_code == 404
    assert http.get("/vkey").text == witness.vkey + "\n"
    assert http.get("/health/live").json()["status"] == "ok" and http.get("/health/ready").status_code == 200


def populate_more(log: LedgerLog, issuer: Issuer, n: int = 2) -> None:
    for i in range(n):
        size = log.head().size
        log.append(
            key=issuer.key,
            issuer=issuer.id,
            entry_type="revocation",
            payload={"registry_id": "r", "handles": [f"{size:04x}"], "values": [f"{i:096x}"]},
        )


def _problem(r, status: int) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json" and r.json()["status"] == status


def test_every_refusal_has_the_specs_status_and_changes_nothing(log: LedgerLog, witness: Witness) -> None:
    http = TestClient(create_app(witness), raise_server_exceptions=False)
    issuer = Issuer("acme")
    populate(log, issuer, 4)
    assert http.post("/add-checkpoint", content=_body(log, 0, 2)).status_code == 200
    before = witness.store.get(ORIGIN)

    # 409: the old size is not the recorded one; the body is the recorded size
    r = http.post("/add-checkpoint", content=_body(log, 0))
    assert r.status_code == 409 and r.headers["content-type"] == "text/x.tlog.size" and r.content == b"2\n"
    r = http.post("/add-checkpoint", content=_body(log, 3))
    assert r.status_code == 409 and r.content == b"2\n"
    # 404: an origin the witness does not witness
    other = LedgerLog(MemoryStore(), signing_key=Ed25519PrivateKey.generate(), origin="ledger.test/other")
    _problem(http.post("/add-checkpoint", content=_body(other, 0, 0)), 404)
    # 403: signed by another key under the right origin; a known key whose signature fails
    impostor = log_signer(ORIGIN, Ed25519PrivateKey.generate())
    forged = sign_checkpoint(Checkpoint(ORIGIN, 4, log.root(4)), impostor).to_bytes()
    _problem(http.post("/add-checkpoint", content=_body(log, 2, 4, checkpoint=forged)), 403)
    good = log.checkpoint(4)
    broken = good.to_bytes().replace(b"\n4\n", b"\n5\n")  # the text changed under the log's signature
    _problem(http.post("/add-checkpoint", content=_body(log, 2, 4, checkpoint=broken)), 403)
    # 400: old size above the checkpoint's; malformed bodies
    _problem(http.post("/add-checkpoint", content=format_add_checkpoint(3, [], log.checkpoint(2).to_bytes())), 400)
    for junk in (
        b"",
        b"old 2\n",
        b"old 02\n\n" + good.to_bytes(),
        b"old 2\n\nnot a note\n",
        b"\xff" * 10,
        b"old 2\n\n" + good.to_bytes().replace("—".encode(), b"-"),
    ):
        _problem(http.post("/add-checkpoint", content=junk), 400)
    # 422: a proof that does not verify; a checkpoint the log signed that forks from the recorded one
    proof = log.consistency_proof(first=2, second=4)
    _problem(http.post("/add-checkpoint", content=_body(log, 2, 4, proof=[bytes(32)] * len(proof))), 422)
    _problem(http.post("/add-checkpoint", content=_body(log, 2, 4, proof=[])), 422)
    signer = log_signer(ORIGIN, log._signing_key)
    fork = sign_checkpoint(Checkpoint(ORIGIN, 2, bytes(32)), signer).to_bytes()  # same size, other root
    _problem(http.post("/add-checkpoint", content=_body(log, 2, 2, proof=[], checkpoint=fork)), 422)
    assert witness.evidence[-1].checkpoint == fork and witness.evidence[-1].recorded == before
    kept = http.get(f"/{origin_hash(ORIGIN)}/evidence").json()["evidence"]
    assert kept[0]["checkpoint"] == fork.decode() and kept[0]["recorded"] == before.checkpoint.decode()
    assert http.get(f"/{origin_hash('nope')}/evidence").status_code == 404
    assert http.get("/no-such-route").status_code == 404
    assert witness.store.get(ORIGIN) == before  # nothing moved
    # and the honest next checkpoint still goes through
    assert http.post("/add-checkpoint", content=_body(log, 2, 4)).status_code == 200


def test_empty_tree_rules(log: LedgerLog, witness: Witness) -> None:
    signer = log_signer(ORIGIN, log._signing_key)
    not_empty = sign_checkpoint(Checkpoint(ORIGIN, 0, bytes(32)), signer).to_bytes()
    with pytest.raises(WitnessError) as e:
        witness.add_checkpoint(format_add_checkpoint(0, [], not_empty))
    assert e.value.status == 422
    populate(log, Issuer("acme"), 2)
    with pytest.raises(WitnessError) as e:  # from size 0 the proof is empty
        witness.add_checkpoint(format_add_checkpoint(0, [bytes(32)], log.checkpoint(2).to_bytes()))
    assert e.value.status == 422
    witness.add_checkpoint(format_add_checkpoint(0, [], log.checkpoint(0).to_bytes()))  # the empty tree itself
    assert witness.store.get(ORIGIN).root == merkle.EMPTY_ROOT
    witness.add_checkpoint(_body(log, 0, 2))


def test_timestamps_are_the_clock_and_never_zero(log: LedgerLog, store_url: str | None) -> None:
    signer = CosignatureSigner("witness.test/w1", Ed25519PrivateKey.generate(), clock=lambda: 1_800_000_000.5)
    w = Witness(signer, [log.verifier], _store(store_url))
    (line,) = parse_signature_lines(w.add_checkpoint(_body(log, 0, 0)))
    assert int.from_bytes(line.signature[:8], "big") == 1_800_000_000


def test_concurrent_submissions_never_roll_back(log: LedgerLog, store_url: str | None) -> None:
    """Many requests built on the same recorded size, against two witness processes sharing one database."""
    populate(log, Issuer("acme"), 12)
    key = Ed25519PrivateKey.generate()
    witnesses = [
        Witness(CosignatureSigner("witness.test/w1", key), [log.verifier], store)
        for store in ([_store(store_url)] * 2 if store_url is None else [_store(store_url), _store(store_url)])
    ]
    witnesses[0].add_checkpoint(_body(log, 0, 2))
    results: list[tuple[int, int | bytes]] = []
    barrier = threading.Barrier(10)

    def submit(i: int) -> None:
        size = 3 + i  # sizes 3..12, all from the recorded size 2
        barrier.wait()
        try:
            results.append((size, witnesses[i % 2].add_checkpoint(_body(log, 2, size))))
        except WitnessError as e:
            results.append((size, e.status))

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [size for size, outcome in results if isinstance(outcome, bytes)]
    assert len(won) == 1 and all(o == 409 for _, o in results if not isinstance(o, bytes))
    assert witnesses[0].store.get(ORIGIN).size == witnesses[1].store.get(ORIGIN).size == won[0]


class CrashingStore(MemoryWitnessStore):
    """The process dies inside the swap: nothing is recorded, and nothing may be released."""

    def compare_and_swap(self, old: LogRecord | None, new: LogRecord) -> bool:
        raise SystemExit("crash")


def test_a_crash_before_the_commit_releases_no_cosignature(log: LedgerLog, tmp_path) -> None:  # type: ignore[no-untyped-def]
    populate(log, Issuer("acme"), 3)
    key = Ed25519PrivateKey.generate()
    w = Witness(CosignatureSigner("witness.test/w1", key), [log.verifier], CrashingStore())
    with pytest.raises(SystemExit):
        w.add_checkpoint(_body(log, 0))
    assert w.store.get(ORIGIN) is None
    # durable: a restarted witness over the same database keeps the cosigned size
    url = f"sqlite:///{tmp_path}/w.db"
    Witness(CosignatureSigner("witness.test/w1", key), [log.verifier], SqlWitnessStore(url)).add_checkpoint(
        _body(log, 0)
    )
    restarted = Witness(CosignatureSigner("witness.test/w1", key), [log.verifier], SqlWitnessStore(url))
    with pytest.raises(WitnessError) as e:
        restarted.add_checkpoint(_body(log, 0))
    assert e.value.status == 409 and e.value.size == 3


def test_mutated_requests_get_a_4xx_never_a_500_and_change_nothing(log: LedgerLog) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    w = Witness(
        CosignatureSigner("witness.test/w1", Ed25519PrivateKey.generate()), [log.verifier], MemoryWitnessStore()
    )
    http = TestClient(create_app(w), raise_server_exceptions=False)
    populate(log, Issuer("acme"), 6)
    assert http.post("/add-checkpoint", content=_body(log, 0, 3)).status_code == 200
    before = w.store.get(ORIGIN)
    valid = _body(log, 3, 6)

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def fuzz(data: st.DataObject) -> None:
        body = bytearray(valid)
        for _ in range(data.draw(st.integers(1, 4))):
            kind = data.draw(st.sampled_from(["flip", "cut", "insert"]))
            pos = data.draw(st.integers(0, len(body) - 1))
            if kind == "flip":
                body[pos] ^= data.draw(st.integers(1, 255))
            elif kind == "cut":
                del body[pos : pos + data.draw(st.integers(1, 40))]
            else:
                body[pos:pos] = data.draw(st.binary(min_size=1, max_size=8))
            if not body:
                break
        r = http.post("/add-checkpoint", content=bytes(body))
        if r.status_code == 200:  # a mutation that kept it valid (e.g. in a proof-irrelevant spot): must be real
            assert bytes(body) == valid or SignedCheckpoint.parse(parse_add(bytes(body))).size == 6
            w.store._records[ORIGIN] = before  # back to the state under test
        else:
            assert r.status_code in (400, 403, 404, 409, 413, 422), (r.status_code, r.text)
            assert w.store.get(ORIGIN) == before

    fuzz()
    assert http.post("/add-checkpoint", content=valid).status_code == 200


def parse_add(body: bytes) -> bytes:
    from ledger.checkpoint import parse_add_checkpoint

    return parse_add_checkpoint(body).checkpoint


def test_not_ready_when_the_state_store_is_away(log: LedgerLog) -> None:
    class Away(MemoryWitnessStore):
        def get(self, origin: str) -> LogRecord | None:
            raise OSError("database unreachable")

    w = Witness(CosignatureSigner("witness.test/w1", Ed25519PrivateKey.generate()), [log.verifier], Away())
    r = TestClient(create_app(w), raise_server_exceptions=False).get("/health/ready")
    assert r.status_code == 503 and r.json()["type"].endswith("/not-ready")
