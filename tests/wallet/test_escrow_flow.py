"""Escrow through the product (issue 16 item 2): the real issuer, verifier and ledger apps (in-process HTTP).

An auditor registers on the ledger; a lender's request names it, an attribute and a label;
the wallet escrows and the verifier keeps the ciphertext with the verdict (the lender reads
it and its id); the auditor opens it only after its decryption record is on the ledger, and
the wallet, after a sync, shows "escrowed with <auditor> for <label> — opened on <date>".
A record that is missing, forged, or by a writer that is no auditor is refused by every
reader; requests naming an unknown auditor or attribute are refused at creation.
"""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from circuits.backend import get_backend
from issuer.publisher import InProcessPublisher
from ledger.entries import public_key_bytes, sign_entry
from ledger.errors import EntryRejected
from ledger.escrow import EscrowView, require_opening
from wallet import HttpRouter, Wallet, escrow_notices
from zkcred.auditor import AuditorKeys, open_escrow, register
from zkcred.demo import ISSUER_URL, LEDGER_URL, VERIFIER_URL, _services

ESCROW_ID = 2_718_281_828


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("escrow")
    be = get_backend("blst")
    log, issuer, verifier, clients = _services(tmp, be)
    admin = {"Authorization": f"Bearer {issuer.create_admin_token('t')}"}
    lender = {"Authorization": f"Bearer {verifier.create_api_key(lender='L')}"}
    iss, ver = clients[ISSUER_URL], clients[VERIFIER_URL]
    attributes = [{"name": "escrow_id", "type": "int(0..4294967295)"}, {"name": "income", "type": "int"}]
    schema = iss.post("/admin/schemas", headers=admin, json={"name": "c", "version": "1", "attributes": attributes})
    cred_def = iss.post(
        "/admin/credential-definitions",
        headers=admin,
        json={"schema_id": schema.json()["id"], "tag": "t", "revocable": False, "validity_days": 30},
    ).json()
    offer = iss.post(
        "/admin/offers",
        headers=admin,
        json={"credential_definition_id": cred_def["id"], "attributes": {"escrow_id": ESCROW_ID, "income": 64000}},
    ).json()
    wallet = Wallet.create(
        tmp / "w.db",
        "correct horse battery",
        http=HttpRouter(clients),
        ledger_url=LEDGER_URL,
        ledger_key=log.public_key,
    )
    wallet.accept_offer(offer)
    auditor = AuditorKeys.generate("audit-co")
    publisher = InProcessPublisher(log)
    register(publisher, auditor, "Audit Co")
    return {"log": log, "ver": ver, "lender": lender, "def": cred_def["id"], "wallet": wallet, "auditor": auditor}


def _ask(world, label="loan-42", **escrow):
    body = {
        "credential_definitions": [world["def"]],
        "predicates": [{"attribute": "income", "op": ">=", "value": 50000}],
        "escrow": {"auditor": "audit-co", "attribute": "escrow_id", "label": label, **escrow},
    }
    return world["ver"].post("/requests", headers=world["lender"], json=body)


def _answered(world, label="loan-42"):
    created = _ask(world, label)
    assert created.status_code == 201, created.text
    summary = world["wallet"].prepare(created.json()["request_url"])
    assert summary.escrows == tuple(escrow_notices(created.json()["request"]))  # shown before consent
    verdict = world["wallet"].submit(summary.approve())
    assert verdict["verified"], verdict
    status = world["ver"].get(f"/requests/{created.json()['id']}", headers=world["lender"]).json()
    return created.json(), status


def test_the_auditor_opens_only_after_a_public_record_and_the_wallet_sees_it(world, tmp_path, monkeypatch):
    created, status = _answered(world)
    clause = created["request"]["queries"][0]["escrow"]
    (notice,) = escrow_notices(created["request"])  # what the holder consents to, before proving
    assert notice.startswith("escrow_id — not revealed, but encrypted to auditor audit-co for loan-42")
    assert clause["request_id"] == created["id"] and clause["label"] == "loan-42" and clause["auditor"] == "audit-co"
    escrowed = status["verdict"]["escrow"]
    assert escrowed["request_id"] == created["id"] and len(escrowed["id"]) == 64
    assert "credential: escrow_id escrowed with audit-co for loan-42" in status["verdict"]["predicates"]
    assert "escrow_id" not in json.dumps(status["verdict"]["disclosed"])

    wallet = world["wallet"]
    (record,) = [r for r in wallet.escrows() if r.id == escrowed["id"]]
    assert record.opened is None and record.describe().endswith("— not opened")

    opened = open_escrow(InProcessPublisher(world["log"]), world["auditor"], escrowed, reason="loan 42 defaulted")
    assert opened.value == ESCROW_ID  # the issuer's record of escrow id → holder names her
    entry = json.loads(world["log"].entry(opened.record_seq).body)
    assert entry["type"] == "escrow_opening" and entry["issuer"] == "audit-co"
    assert entry["payload"] == {
        "request_id": created["id"],
        "label": "loan-42",
        "ciphertext": escrowed["id"],
        "reason": "loan 42 defaulted",
    }

    report = wallet.sync()
    assert report["escrows_opened"] == 1
    (record,) = [r for r in wallet.escrows() if r.id == escrowed["id"]]
    assert record.opened["reason"] == "loan 42 defaulted"
    assert f"escrowed with audit-co for loan-42 — opened on {record.opened['date']}" in record.describe()

    # the same through the CLI: `zkcred wallet escrows`
    from zkcred import wallet_cli

    monkeypatch.setattr(wallet_cli, "_open", lambda *a, **k: wallet)
    out = CliRunner().invoke(wallet_cli.app, ["escrows"])
    assert out.exit_code == 0, out.output
    assert "escrowed with audit-co for loan-42 — opened on" in " ".join(out.output.split())


def test_a_missing_record_means_nothing_is_decrypted(world):
    _, status = _answered(world, "loan-43")

    class Dropping(InProcessPublisher):  # a ledger that acknowledges the record but never shows it
        def publish(self, *, key, issuer_id, entry_type, payload):  # type: ignore[no-untyped-def]
            return (
                10**6
                if entry_type == "escrow_opening"
                else super().publish(key=key, issuer_id=issuer_id, entry_type=entry_type, payload=payload)
            )

    with pytest.raises(EntryRejected, match="no decryption record"):
        open_escrow(Dropping(world["log"]), world["auditor"], status["verdict"]["escrow"], reason="default")


def test_a_forged_or_foreign_record_is_refused(world):
    _, status = _answered(world, "loan-44")
    escrowed = status["verdict"]["escrow"]
    log = world["log"]
    # a writer that is no auditor publishes an "opening" of this ciphertext: on the log, refused by readers
    mallory = Ed25519PrivateKey.generate()
    pub = InProcessPublisher(log)
    pub.publish(
        key=mallory,
        issuer_id="mallory",
        entry_type="issuer_registration",
        payload={"ledger_key": public_key_bytes(mallory).hex()},
    )
    payload = {"request_id": escrowed["request_id"], "label": "loan-44", "ciphertext": escrowed["id"], "reason": "x"}
    seq = pub.publish(key=mallory, issuer_id="mallory", entry_type="escrow_opening", payload=payload)
    docs = [json.loads(e.body) for e in log.entries(start=0, limit=1000)]
    with pytest.raises(EntryRejected, match="no registered auditor"):
        EscrowView.of(docs)
    view = EscrowView.of(d for d in docs if d["seq"] != seq)
    with pytest.raises(EntryRejected, match="no decryption record"):
        require_opening(
            view, auditor="audit-co", ciphertext=escrowed["id"], request_id=escrowed["request_id"], label="loan-44"
        )
    # a record in the auditor's name signed by another key: refused by the ledger and by a reader
    head = log.head()
    forged = sign_entry(
        key=mallory,
        seq=head.size,
        time=docs[-1]["time"],
        entry_type="escrow_opening",
        issuer="audit-co",
        payload=payload,
        prev_hash=head.last_hash,
    )
    with pytest.raises(EntryRejected, match="not signed"):
        log.submit(forged)
    with pytest.raises(EntryRejected, match="not signed"):
        EscrowView.of([*(d for d in docs if d["seq"] != seq), forged.to_json()])
    # the wallet refuses it too: nothing shows as opened
    world["wallet"].sync()
    (record,) = [r for r in world["wallet"].escrows() if r.id == escrowed["id"]]
    assert record.opened is None


def test_a_record_for_another_request_or_label_is_refused(world):
    _, status = _answered(world, "loan-45")
    escrowed = status["verdict"]["escrow"]
    pub = InProcessPublisher(world["log"])
    auditor = world["auditor"]
    payload = {"request_id": escrowed["request_id"], "label": "loan-99", "ciphertext": escrowed["id"], "reason": "x"}
    pub.publish(key=auditor.ledger_key, issuer_id="audit-co", entry_type="escrow_opening", payload=payload)
    view = EscrowView.of(pub.issuer_entries("audit-co"))
    with pytest.raises(EntryRejected, match="names request"):
        require_opening(
            view, auditor="audit-co", ciphertext=escrowed["id"], request_id=escrowed["request_id"], label="loan-45"
        )


def test_requests_naming_an_unknown_auditor_or_attribute_are_refused(world):
    r = _ask(world, auditor="nobody")
    assert r.status_code == 422 and r.json()["type"].endswith("/unknown-auditor"), r.text
    r = _ask(world, attribute="no_such")
    assert r.status_code == 422, r.text
    r = world["ver"].post(
        "/requests",
        headers=world["lender"],
        json={"credential_definitions": [world["def"]], "escrow": {"auditor": "audit-co", "attribute": "income"}},
    )
    assert r.status_code == 422, r.text  # no label


def test_an_escrow_for_another_auditor_is_not_opened(world):
    _, status = _answered(world, "loan-46")
    other = AuditorKeys.generate("other-auditor")
    with pytest.raises(Exception, match="for auditor 'audit-co'"):
        open_escrow(InProcessPublisher(world["log"]), other, status["verdict"]["escrow"], reason="x")
