"""Revocation: V' = (y + α)^-1·V published with the handle; a second revoke is 409; holders update."""

from __future__ import annotations

from circuits import accumulator
from circuits.accumulator import RevocationEvent, RevokedError
from circuits.backend import get_backend
from circuits.codec import b64d
from ledger.entries import parse_entry
from tests.issuer.conftest import assert_problem
from tests.issuer.holder import accept


def test_revoke_publishes_and_a_second_revoke_is_409(api, client, ledger):
    be = get_backend()
    definition = api.definition(api.schema()["id"], capacity=8)
    alice_req, alice, alice_cred = accept(client, api.offer(definition["id"]))
    bob_req, bob, bob_cred = accept(client, api.offer(definition["id"]))
    Q = be.g2_from_bytes(alice_req.definition.revocation.Q)

    size = ledger.head().size
    r = client.post(f"/admin/credentials/{alice['credential_id']}/revoke", headers=api.admin)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "id": alice["credential_id"],
        "status": "revoked",
        "ledger_seq": size,
        "publication": "published",
    }
    entry = parse_entry(ledger.entry(size).body)
    assert entry.type == "revocation"
    assert entry.payload == {
        "registry_id": bob["revocation"]["registry_id"],
        "handles": [alice["credential"]["revocation_handle"]],
        "values": [entry.payload["values"][0]],
    }
    event = RevocationEvent(int(entry.payload["handles"][0], 16), be.g1_from_bytes(b64d(entry.payload["values"][0])))

    # bob updates his witness from the public event alone; alice cannot
    C_bob = be.g1_from_bytes(b64d(bob["revocation"]["witness"]))
    C_bob = accumulator.update_witness(C_bob, bob_cred.revocation_handle, [event], backend=be)
    accumulator.verify_witness(C_bob, bob_cred.revocation_handle, event.V, Q, backend=be)
    C_alice = be.g1_from_bytes(b64d(alice["revocation"]["witness"]))
    try:
        accumulator.update_witness(C_alice, alice_cred.revocation_handle, [event], backend=be)
        raise AssertionError("a revoked handle updated its witness")
    except RevokedError:
        pass

    r = client.post(f"/admin/credentials/{alice['credential_id']}/revoke", headers=api.admin)
    assert_problem(r, 409, "already-revoked")
    assert ledger.head().size == size + 1  # nothing more published
    status = client.get(f"/admin/credentials/{alice['credential_id']}", headers=api.admin).json()
    assert status["status"] == "revoked" and status["revoked_at"] is not None
    assert client.get(f"/admin/credentials/{bob['credential_id']}", headers=api.admin).json()["status"] == "issued"

    # a credential issued after the revocation is witnessed against the new value, at its ledger seq
    _, carol, carol_cred = accept(client, api.offer(definition["id"]))
    assert carol["revocation"]["ledger_seq"] == size
    assert carol["revocation"]["accumulator"] == entry.payload["values"][0]
    accumulator.verify_witness(
        be.g1_from_bytes(b64d(carol["revocation"]["witness"])), carol_cred.revocation_handle, event.V, Q, backend=be
    )

    # a second revocation chains on the first value
    r = client.post(f"/admin/credentials/{bob['credential_id']}/revoke", headers=api.admin)
    assert r.status_code == 200
    second = parse_entry(ledger.entry(r.json()["ledger_seq"]).body)
    event2 = RevocationEvent(int(second.payload["handles"][0], 16), be.g1_from_bytes(b64d(second.payload["values"][0])))
    C_carol = accumulator.update_witness(
        be.g1_from_bytes(b64d(carol["revocation"]["witness"])), carol_cred.revocation_handle, [event2], backend=be
    )
    accumulator.verify_witness(C_carol, carol_cred.revocation_handle, event2.V, Q, backend=be)


def test_concurrent_revokes_publish_once(api, client, ledger):
    from concurrent.futures import ThreadPoolExecutor

    definition = api.definition(api.schema()["id"], capacity=4)
    _, body, _ = accept(client, api.offer(definition["id"]))
    size = ledger.head().size
    url = f"/admin/credentials/{body['credential_id']}/revoke"
    with ThreadPoolExecutor(4) as pool:
        codes = sorted(r.status_code for r in pool.map(lambda _: client.post(url, headers=api.admin), range(4)))
    assert codes == [200, 409, 409, 409]
    assert ledger.head().size == size + 1
