"""Step 1 of issue 17: the ledger serves C2SP checkpoints and every trust path verifies them."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ledger import merkle
from ledger.api import create_app
from ledger.audit import audit_remote
from ledger.checkpoint import Checkpoint, SignedCheckpoint, log_signer, sign_checkpoint
from ledger.client import LedgerClient
from ledger.errors import MalformedNote, NoteNotVerified, VerificationFailed
from ledger.log import LedgerLog
from ledger.note import open_note
from ledger.store import MemoryStore
from tests.ledger.conftest import Issuer, populate


class LyingLog(LedgerLog):
    """Serves whatever checkpoint a test sets, as a compromised ledger front end would."""

    lie: SignedCheckpoint | None = None

    def latest_checkpoint(self) -> SignedCheckpoint:
        return self.lie if self.lie is not None else super().latest_checkpoint()


@pytest.fixture
def lying() -> LyingLog:
    log = LyingLog(MemoryStore(), signing_key=Ed25519PrivateKey.generate(), origin="ledger.test/a")
    populate(log, Issuer("acme"), 5)
    return log


def _client(log: LedgerLog, **kw) -> LedgerClient:  # type: ignore[no-untyped-def]
    http = TestClient(create_app(log), raise_server_exceptions=False)
    kw.setdefault("origin", log.origin)
    return LedgerClient("http://ledger", ledger_key=log.public_key, http=http, **kw)


def test_get_checkpoint_is_a_signed_note_of_the_head(log: LedgerLog) -> None:
    http = TestClient(create_app(log))
    empty = http.get("/checkpoint")
    assert empty.status_code == 200 and empty.headers["content-type"] == "text/plain; charset=utf-8"
    assert empty.content.startswith(f"{log.origin}\n0\n{base64.b64encode(merkle.EMPTY_ROOT).decode()}\n\n— ".encode())
    populate(log, Issuer("acme"), 7)
    body = http.get("/checkpoint").content
    signed = SignedCheckpoint.parse(body)
    sth = http.get("/tree-head").json()
    assert (signed.origin, signed.size, signed.root.hex()) == (log.origin, 7, sth["root"])
    (line,) = signed.note.signatures
    assert line.name == log.origin and line.key_id == log.verifier.key_id
    assert open_note(body, [log.verifier]).signed_by(log.verifier) == line
    assert http.get("/checkpoint").content == body  # deterministic: the same size gives the same bytes
    assert log.checkpoint(3).root == log.root(3)
    name, kid, blob = log.verifier.vkey().split("+", 2)
    assert (name, kid, base64.b64decode(blob)) == (log.origin, f"{log.verifier.key_id:08x}", b"\x01" + log.public_key)


def test_origin_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZKCRED_LEDGER_ORIGIN", "lender-consortium.example/ledger")
    log = LedgerLog(MemoryStore(), signing_key=Ed25519PrivateKey.generate())
    assert log.origin == "lender-consortium.example/ledger"
    assert LedgerClient("http://x").origin == "lender-consortium.example/ledger"
    monkeypatch.delenv("ZKCRED_LEDGER_ORIGIN")
    assert LedgerLog(MemoryStore(), signing_key=Ed25519PrivateKey.generate()).origin == "zkcred.example/ledger"


def test_client_verifies_the_checkpoint(lying: LyingLog) -> None:
    client = _client(lying)
    assert client.checkpoint().size == 5
    with pytest.raises(MalformedNote):  # another origin
        _client(lying, origin="ledger.test/b").checkpoint()
    other = LedgerClient(
        "http://ledger",
        ledger_key=Ed25519PrivateKey.generate().public_key().public_bytes_raw(),
        origin=lying.origin,
        http=client._http,
    )
    with pytest.raises(NoteNotVerified):  # not the pinned key
        other.checkpoint()
    honest = lying.latest_checkpoint()
    tampered = honest.to_bytes().replace(base64.b64encode(honest.root), base64.b64encode(bytes(32)))
    lying.lie = SignedCheckpoint.parse(tampered)
    with pytest.raises(NoteNotVerified) as e:  # the root changed under the ledger's signature
        client.checkpoint()
    assert e.value.bad_signature


def test_verified_reads_check_entries_against_the_checkpoint(lying: LyingLog) -> None:
    client = _client(lying)
    cp = client.checkpoint()
    assert [e.seq for e in client.verified_entries(start=0, limit=10, tree_head=cp)] == [0, 1, 2, 3, 4]
    # a checkpoint the ledger signed for another tree (a fork): entries do not verify against it
    forked = sign_checkpoint(Checkpoint(lying.origin, 5, bytes(32)), log_signer(lying.origin, lying._signing_key))
    with pytest.raises(VerificationFailed):
        client.verified_entries(start=0, limit=10, tree_head=forked)
    lying.lie = forked
    with pytest.raises(VerificationFailed):
        client.verify_growth(cp, client.checkpoint())  # consistent sizes, different roots


def test_audit_checks_the_checkpoint(lying: LyingLog) -> None:
    client = _client(lying)
    report = audit_remote(client, ledger_key=lying.public_key)
    assert report.checkpoint is not None and report.checkpoint.size == 5 and report.cosigners == ()
    lying.lie = sign_checkpoint(Checkpoint(lying.origin, 5, bytes(32)), log_signer(lying.origin, lying._signing_key))
    with pytest.raises(VerificationFailed) as e:
        audit_remote(client, ledger_key=lying.public_key)
    assert e.value.seq is None and e.value.detail.startswith("checkpoint:")
    lying.lie = sign_checkpoint(
        Checkpoint(lying.origin, 5, lying.root(5)), log_signer(lying.origin, Ed25519PrivateKey.generate())
    )
    with pytest.raises(VerificationFailed):  # signed by a key other than the tree head's
        audit_remote(client)
    lying.lie = lying.checkpoint(3)  # an older checkpoint (a lagging cosigned one) audits fine
    assert audit_remote(client, ledger_key=lying.public_key).checkpoint.size == 3


def test_audit_cli_reports_the_checkpoint(lying: LyingLog, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from zkcred import ledger_cli

    http = TestClient(create_app(lying))
    monkeypatch.setattr("ledger.client.httpx.Client", lambda **kw: http)
    runner = CliRunner()
    ok = runner.invoke(ledger_cli.app, ["audit", "http://ledger", "--ledger-key", lying.public_key.hex(), "--json"])
    assert ok.exit_code == 0, ok.output
    assert '"checkpoint": "ledger.test/a\\n5\\n' in ok.output
    bad = tmp_path / "policy"
    bad.write_text("quorum nobody\n")
    refused = runner.invoke(ledger_cli.app, ["audit", "http://ledger", "--policy", str(bad)])
    assert refused.exit_code == 2 and "Traceback" not in refused.output
