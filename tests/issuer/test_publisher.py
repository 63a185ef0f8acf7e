"""Publishing over HTTP (ledger.client.LedgerClient) and what happens when the ledger is away."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from issuer.api import create_app
from issuer.errors import ErrorKind, IssuerError
from issuer.publisher import HttpPublisher
from issuer.service import IssuerService
from ledger.api import create_app as create_ledger_app
from ledger.client import LedgerClient
from ledger.entries import parse_entry
from tests.issuer.conftest import SCHEMA
from tests.issuer.holder import accept

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


class RacingClient(LedgerClient):
    """Before each of the issuer's first ``races`` submissions, another issuer appends an entry."""

    def __init__(self, *args, log, races: int, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kw)
        self.log, self.races, self.submits = log, races, 0
        self.rival = Ed25519PrivateKey.generate()
        from ledger.entries import public_key_bytes

        log.append(
            key=self.rival,
            issuer="rival",
            entry_type="issuer_registration",
            payload={"ledger_key": public_key_bytes(self.rival).hex()},
        )

    def submit(self, entry):  # type: ignore[no-untyped-def]
        self.submits += 1
        if self.races > 0:
            self.races -= 1
            self.log.append(
                key=self.rival,
                issuer="rival",
                entry_type="schema",
                payload={
                    "schema_id": f"rival-{self.submits}",
                    "name": "r",
                    "version": "1",
                    "attributes": [{"name": "a", "type": "int"}],
                },
            )
        return super().submit(entry)


def test_http_publisher_registers_publishes_and_retries_on_conflict(settings, ledger):
    http = TestClient(create_ledger_app(ledger))
    client = RacingClient("http://ledger.test", http=http, log=ledger, races=3)
    service = IssuerService.open(settings=settings, publisher=HttpPublisher(client))
    issuer = TestClient(create_app(service))
    admin = {"Authorization": f"Bearer {service.create_admin_token()}"}
    schema = issuer.post("/admin/schemas", json=SCHEMA, headers=admin).json()
    definition = issuer.post(
        "/admin/credential-definitions",
        headers=admin,
        json={"schema_id": schema["id"], "tag": "t", "revocable": True, "capacity": 4},
    ).json()
    offer = issuer.post(
        "/admin/offers",
        headers=admin,
        json={
            "credential_definition_id": definition["id"],
            "attributes": {
                "income": "1.00",
                "birth_date": "2000-01-01",
                "country": "NL",
                "employees": 1,
                "employed": False,
            },
        },
    ).json()
    _, body, _ = accept(issuer, offer)
    revoked = issuer.post(f"/admin/credentials/{body['credential_id']}/revoke", headers=admin).json()

    mine = [parse_entry(e.body) for e in ledger.entries(start=0) if parse_entry(e.body).issuer == service.issuer_id]
    assert [e.type for e in mine] == [
        "issuer_registration",
        "schema",
        "credential_definition",
        "revocation_registry",
        "revocation",
    ]
    assert [e.seq for e in mine][1:] == [
        schema["ledger_seq"],
        definition["ledger_seq"],
        body["revocation"]["ledger_seq"],
        revoked["ledger_seq"],
    ]
    assert client.submits >= 5 + 3  # three conflicts were retried
    # a restart finds the registration on the ledger (by replaying entries) and does not register again
    size = ledger.head().size
    fresh_db = IssuerService.open(settings=settings, publisher=HttpPublisher(LedgerClient("http://l", http=http)))
    assert ledger.head().size == size and fresh_db.issuer_id == service.issuer_id


def test_unreachable_ledger_is_202_pending_and_registration_waits(settings):
    down = HttpPublisher(LedgerClient("http://127.0.0.1:9", timeout=0.5))
    service = IssuerService.open(settings=settings, publisher=down)  # starts anyway
    issuer = TestClient(create_app(service))
    admin = {"Authorization": f"Bearer {service.create_admin_token()}"}
    r = issuer.post("/admin/schemas", json=SCHEMA, headers=admin)
    assert r.status_code == 202, r.text  # recorded; its publication waits for the ledger
    assert r.json()["ledger_seq"] is None and r.json()["publication"] == "pending"
    assert issuer.get("/admin/schemas", headers=admin).json()["items"] == [r.json()]
    [pending] = service.outbox.pending()
    assert pending.entry_type == "schema" and pending.attempts >= 1 and "unreachable" in (pending.last_error or "")


def test_someone_elses_issuer_id_is_refused(settings, ledger):
    from issuer.errors import IssuerError
    from issuer.publisher import InProcessPublisher
    from ledger.entries import public_key_bytes

    squatter = Ed25519PrivateKey.generate()
    ledger.append(
        key=squatter,
        issuer="acme-bank",
        entry_type="issuer_registration",
        payload={"ledger_key": public_key_bytes(squatter).hex()},
    )
    with pytest.raises(IssuerError) as info:
        IssuerService.open(
            settings=settings.model_copy(update={"issuer_id": "acme-bank"}), publisher=InProcessPublisher(ledger)
        )
    assert info.value.slug == "issuer-id-taken"


def test_http_publisher_reads_its_key_from_the_verified_checkpoint(settings, ledger):
    """With the ledger's key pinned (and a witness policy), the issuer replays its registration only
    from entries proven against a checkpoint that satisfies both; a view that does not is refused."""
    from ledger.note import CosignatureSigner
    from ledger.policy import simple_policy

    http = TestClient(create_ledger_app(ledger))
    pinned = LedgerClient("http://ledger.test", http=http, ledger_key=ledger.public_key, origin=ledger.origin)
    service = IssuerService.open(settings=settings, publisher=HttpPublisher(pinned))
    assert HttpPublisher(pinned).issuer_key(service.issuer_id) == service.ledger_public_key
    witness = CosignatureSigner("witness.test/w1", Ed25519PrivateKey.generate())
    strict = LedgerClient(
        "http://ledger.test",
        http=http,
        ledger_key=ledger.public_key,
        origin=ledger.origin,
        policy=simple_policy([(witness.name, witness.verifier, None)], 1),
    )
    with pytest.raises(IssuerError) as e:  # no witness cosigned this ledger's checkpoint
        HttpPublisher(strict).issuer_key(service.issuer_id)
    assert e.value.kind == ErrorKind.LEDGER_UNAVAILABLE and "witness.test/w1" in str(e.value)
    foreign = LedgerClient(
        "http://ledger.test",
        http=http,
        ledger_key=Ed25519PrivateKey.generate().public_key().public_bytes_raw(),
        origin=ledger.origin,
    )
    with pytest.raises(IssuerError):
        HttpPublisher(foreign).issuer_key(service.issuer_id)


def test_http_publisher_waits_for_the_witnesses_to_cover_its_registration(settings, ledger):
    """Cosignatures come a round after an append: the issuer's verified read waits for them."""
    import threading

    from ledger.note import CosignatureSigner, NoteSignature
    from ledger.policy import simple_policy

    witness = CosignatureSigner("witness.test/w1", Ed25519PrivateKey.generate())
    ledger.witness_policy = simple_policy([(witness.name, witness.verifier, None)], 1)
    http = TestClient(create_ledger_app(ledger))
    service = IssuerService.open(
        settings=settings, publisher=HttpPublisher(LedgerClient("http://ledger.test", http=http))
    )  # registers (unverified path)
    size = ledger.head().size

    def cosign_later() -> None:
        import time

        time.sleep(0.3)
        cp = ledger.checkpoint(size)
        ledger.store.add_cosignatures(
            size, [NoteSignature(witness.name, witness.key_id, witness.sign(cp.checkpoint.text().encode()))]
        )

    threading.Thread(target=cosign_later).start()
    pinned = LedgerClient(
        "http://ledger.test",
        http=http,
        ledger_key=ledger.public_key,
        origin=ledger.origin,
        policy=simple_policy([(witness.name, witness.verifier, None)], 1),
    )
    assert HttpPublisher(pinned).issuer_key(service.issuer_id) == service.ledger_public_key


class LyingClient(LedgerClient):
    """A ledger that answers a submission with a receipt it cannot back (``lie`` makes it from the real one)."""

    def __init__(self, *args, lie, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kw)
        self.lie = lie

    def submit(self, entry):  # type: ignore[no-untyped-def]
        receipt = super().submit(entry)
        return self.lie(entry, receipt) if entry.type != "issuer_registration" else receipt


def _service_on(settings, ledger, lie, *, pinned: bool = True):  # type: ignore[no-untyped-def]
    http = TestClient(create_ledger_app(ledger))
    client = LyingClient("http://ledger.test", http=http, lie=lie, ledger_key=ledger.public_key if pinned else None)
    return IssuerService.open(settings=settings, publisher=HttpPublisher(client))


def test_an_honest_receipt_is_checked_against_the_pinned_ledger_key(settings, ledger):
    service = _service_on(settings, ledger, lambda entry, receipt: receipt)
    seq = service.publisher.publish(
        key=service._key, issuer_id=service.issuer_id, entry_type="schema", payload=_schema("honest")
    )
    assert parse_entry(ledger.entry(seq).body).payload["schema_id"] == "honest"
    # the same content again: the ledger answers "existing" with the first entry, which the check finds there
    again = service.publisher.publish(
        key=service._key, issuer_id=service.issuer_id, entry_type="schema", payload=_schema("honest")
    )
    assert again == seq


def _schema(schema_id: str) -> dict:
    return {"schema_id": schema_id, "name": "s", "version": "1", "attributes": [{"name": "a", "type": "int"}]}


@pytest.mark.parametrize(
    "lie",
    [
        "tree head signed by another key",
        "tree head without the entry",
        "another entry's hash",
        "existing, but another content",
        "inclusion under another root",
    ],
)
def test_a_receipt_the_ledger_cannot_back_is_refused(settings, ledger, lie):
    from ledger.entries import SignedTreeHead, sign_tree_head

    def forge(entry, receipt):  # type: ignore[no-untyped-def]
        sth = SignedTreeHead.from_json(receipt["tree_head"])
        if lie == "tree head signed by another key":
            sth = sign_tree_head(key=Ed25519PrivateKey.generate(), size=sth.size, root=sth.root, time=sth.time)
        elif lie == "tree head without the entry":
            sth = sign_tree_head(key=ledger._signing_key, size=receipt["seq"], root=sth.root, time=sth.time)
        elif lie == "inclusion under another root":
            sth = sign_tree_head(key=ledger._signing_key, size=sth.size, root=bytes(32), time=sth.time)
        elif lie == "another entry's hash":
            receipt = {**receipt, "entry_hash": "00" * 32}
        elif lie == "existing, but another content":
            receipt = {**receipt, "seq": 0, "existing": True}
        return {**receipt, "tree_head": sth.to_json()}

    service = _service_on(settings, ledger, forge)
    with pytest.raises(IssuerError) as e:
        service.publisher.publish(
            key=service._key, issuer_id=service.issuer_id, entry_type="schema", payload=_schema("lied")
        )
    assert e.value.kind == ErrorKind.LEDGER_REFUSED and "receipt" in str(e.value)


def test_without_a_pinned_key_the_receipt_must_still_name_the_entry(settings, ledger):
    service = _service_on(settings, ledger, lambda entry, receipt: {**receipt, "entry_hash": "00" * 32}, pinned=False)
    with pytest.raises(IssuerError) as e:
        service.publisher.publish(
            key=service._key, issuer_id=service.issuer_id, entry_type="schema", payload=_schema("x")
        )
    assert e.value.kind == ErrorKind.LEDGER_REFUSED
