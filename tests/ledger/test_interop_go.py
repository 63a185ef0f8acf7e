"""zkcred's checkpoints read by an independent implementation: Go's golang.org/x/mod/sumdb/note.

The Go module is the reference signed-note code (the Go checksum database). Debian packages
it (``golang-go``, ``golang-golang-x-mod-dev``); ``python3 dev.py test`` installs both
where apt is available, and where they are absent these tests skip and say so. Both
directions: Go verifies the ledger's checkpoints (key ID, signature, text byte for byte)
and sees the witnesses' cosignature lines as well-formed signatures of other keys (x/mod
predates cosignature/v1, so it does not verify them — zkcred's own tests do, against the
C2SP examples); zkcred verifies a note Go signed with a key Go made.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.checkpoint import Checkpoint, SignedCheckpoint, log_signer, open_checkpoint, sign_checkpoint
from ledger.errors import LedgerError
from ledger.note import CosignatureSigner, NoteSignature, open_note, parse_note, parse_vkey

GOPATH = Path("/usr/share/gocode")
PROGRAM = Path(__file__).with_name("interop") / "note_check.go"


def _missing() -> str | None:
    if shutil.which("go") is None:
        return "Go is not installed (Debian: apt-get install golang-go golang-golang-x-mod-dev)"
    if not (GOPATH / "src/golang.org/x/mod/sumdb/note").is_dir():
        return "golang.org/x/mod is not installed (Debian: apt-get install golang-golang-x-mod-dev)"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=_missing() or "")


@pytest.fixture(scope="module")
def note_check(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("go") / "note_check"
    env = {**os.environ, "GO111MODULE": "off", "GOPATH": str(GOPATH), "GOCACHE": str(out.parent / "cache")}
    subprocess.run(["go", "build", "-o", str(out), str(PROGRAM)], env=env, check=True, timeout=300)
    return out


def _go(binary: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=60)


def test_go_verifies_a_cosigned_checkpoint(note_check: Path, tmp_path: Path) -> None:
    log = log_signer("zkcred.example/interop", Ed25519PrivateKey.generate())
    signed = sign_checkpoint(Checkpoint("zkcred.example/interop", 1234, bytes(range(32))), log)
    witnesses = [CosignatureSigner(f"w{i}.example/witness", Ed25519PrivateKey.generate()) for i in (1, 2)]
    text = signed.checkpoint.text().encode()
    lines = [NoteSignature(w.name, w.key_id, w.sign(text)) for w in witnesses]
    cosigned = signed.with_cosignatures(lines)
    path = tmp_path / "checkpoint"
    path.write_bytes(cosigned.to_bytes())

    run = _go(note_check, "open", log.verifier.vkey(), str(path))
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout.splitlines()
    assert out[0] == f"verified zkcred.example/interop {log.verifier.key_id:08x}"
    assert out[1:3] == [f"unverified {w.name} {w.key_id:08x}" for w in witnesses]
    assert "\n".join(out[3:]) + "\n" == signed.checkpoint.text()

    tampered = cosigned.to_bytes().replace(b"\n1234\n", b"\n1235\n")
    path.write_bytes(tampered)
    refused = _go(note_check, "open", log.verifier.vkey(), str(path))
    assert refused.returncode == 1 and refused.stdout.startswith("open:")


def test_zkcred_verifies_a_note_go_signed(note_check: Path, tmp_path: Path) -> None:
    text = tmp_path / "text"
    text.write_text("zkcred.example/from-go\n7\n" + "A" * 43 + "=\n")
    run = _go(note_check, "sign", "zkcred.example/from-go", str(text))
    assert run.returncode == 0, run.stdout + run.stderr
    vkey, note = run.stdout.split("\n", 1)
    verifier = parse_vkey(vkey)
    opened = open_note(parse_note(note.encode()), [verifier])
    assert opened.signed_by(verifier) is not None
    checkpoint, _ = open_checkpoint(SignedCheckpoint.parse(note.encode()), verifier)  # type: ignore[arg-type]
    assert checkpoint.size == 7
    with pytest.raises(LedgerError):
        open_note(parse_note(note.replace("\n7\n", "\n8\n").encode()), [verifier])
