"""``zkcred auditor init | register | decrypt`` (issue 16 item 2) against a real ledger app (in-process HTTP).

``decrypt`` prints the value only after its decryption record is on the ledger; a ledger that
refuses the record means nothing is decrypted; mistakes are one line.
"""

from __future__ import annotations

import json
import stat

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from circuits import escrow
from circuits.attributes import AttributeType
from circuits.backend import get_backend
from circuits.codec import b64e
from issuer.publisher import HttpPublisher
from ledger.api import create_app
from ledger.client import LedgerClient
from ledger.log import LedgerLog
from ledger.store import MemoryStore
from zkcred import auditor_cli
from zkcred.auditor import AuditorKeys

ESCROW_TYPE = "int(0..4294967295)"


@pytest.fixture
def ledger(monkeypatch):
    log = LedgerLog(MemoryStore(), signing_key=Ed25519PrivateKey.generate())
    client = TestClient(create_app(log), base_url="http://ledger.test")
    monkeypatch.setattr(auditor_cli, "_publisher", lambda url: HttpPublisher(LedgerClient(url, http=client)))
    return log


def _escrowed(pk: bytes, value: int, request_id="req-1", label="loan-42") -> dict:
    be = get_backend()
    ct = escrow.encrypt(be, escrow.parse_public_key(be, pk), AttributeType.parse(ESCROW_TYPE).encode(value), 12345)
    return {
        "auditor": "audit-co",
        "attribute": "escrow_id",
        "type": ESCROW_TYPE,
        "label": label,
        "request_id": request_id,
        "ciphertext": b64e(ct.to_bytes(be)),
        "id": ct.digest(be),
    }


def test_init_register_decrypt(zkcred, ledger, tmp_path):
    keys = tmp_path / "auditor.json"
    out = zkcred("auditor", "init", "--id", "audit-co", "--keys", str(keys), "--json")
    assert out.code == 0, out.err
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600
    pk = bytes.fromhex(json.loads(out.out)["escrow_key"])
    zkcred("auditor", "init", "--id", "audit-co", "--keys", str(keys)).error_line("already exist", str(keys))

    out = zkcred("auditor", "register", "--name", "Audit Co", "--keys", str(keys), "--json")
    assert out.code == 0, out.err
    assert json.loads(ledger.entry(json.loads(out.out)["seq"]).body)["type"] == "auditor_registration"

    escrow_file = tmp_path / "escrow.json"
    escrow_file.write_text(json.dumps({"verdict": {"escrow": _escrowed(pk, 4_211_337)}}))  # a lender's status view
    size = ledger.head().size
    out = zkcred("auditor", "decrypt", str(escrow_file), "--reason", "loan 42 defaulted", "--keys", str(keys), "--json")
    assert out.code == 0, out.err
    result = json.loads(out.out)
    assert result["value"] == 4_211_337
    record = json.loads(ledger.entry(result["record_seq"]).body)
    assert result["record_seq"] == size and record["type"] == "escrow_opening"
    assert record["payload"]["reason"] == "loan 42 defaulted" and record["payload"]["label"] == "loan-42"


def test_a_ledger_that_refuses_the_record_means_nothing_is_decrypted(zkcred, ledger, tmp_path):
    keys = tmp_path / "auditor.json"
    AuditorKeys.generate("audit-co").save(keys)  # never registered: the ledger refuses its entries
    escrow_file = tmp_path / "escrow.json"
    pk = AuditorKeys.load(keys).escrow_public()
    escrow_file.write_text(json.dumps(_escrowed(pk, 7)))
    out = zkcred("auditor", "decrypt", str(escrow_file), "--reason", "default", "--keys", str(keys))
    out.error_line("not registered")
    assert "value" not in out.out and ledger.head().size == 0


def test_mistakes_are_one_line(zkcred, ledger, tmp_path):
    keys = tmp_path / "auditor.json"
    zkcred("auditor", "register", "--name", "X", "--keys", str(keys)).error_line("no auditor keys", str(keys))
    AuditorKeys.generate("audit-co").save(keys)
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    zkcred("auditor", "decrypt", str(bad), "--reason", "r", "--keys", str(keys)).error_line("is not JSON")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**_escrowed(AuditorKeys.load(keys).escrow_public(), 1), "auditor": "someone"}))
    zkcred("auditor", "decrypt", str(other), "--reason", "r", "--keys", str(keys)).error_line("for auditor 'someone'")
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps({**_escrowed(AuditorKeys.load(keys).escrow_public(), 1), "id": "0" * 64}))
    zkcred("auditor", "decrypt", str(tampered), "--reason", "r", "--keys", str(keys)).error_line("SHA-256")
    assert ledger.head().size == 0  # nothing published for any of them
