"""C2SP checkpoints (c2sp.org/tlog-checkpoint) and the tlog-witness wire format.

A checkpoint is a signed note whose text is::

    <origin>                 the log's identity (here: ZKCRED_LEDGER_ORIGIN, default zkcred.example/ledger)
    <size>                   decimal, no leading zeroes
    <base64 root hash>       the RFC 6962 root of the first <size> entries (``ledger.merkle``)
    [extension lines]        opaque, non-empty; the ledger writes none

The ledger signs it with its Ed25519 key (signature type 0x01) under the key name =
origin, so the ledger's vkey is ``<origin>+<key ID>+base64(0x01 || public key)``.
Ed25519 signatures are deterministic: the checkpoint of a given size is the same bytes
whenever it is signed, so the ledger signs it on demand and stores only cosignatures.

``add-checkpoint`` (c2sp.org/tlog-witness) request body::

    old <size>\\n
    <base64 consistency proof hash>\\n     (0 to 63 lines)
    \\n
    <checkpoint, a signed note>

``format_add_checkpoint``/``parse_add_checkpoint`` write and read it strictly.

Departure: sizes are uint64 in the specs; sizes above 2^63 - 1 are refused as malformed
(they do not fit SQL BIGINT; no log reaches them).
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.constants import HASH_SIZE
from ledger.errors import MalformedNote, NoteNotVerified
from ledger.note import (
    MAX_NOTE_SIZE,
    Ed25519Signer,
    Ed25519Verifier,
    Note,
    NoteSignature,
    OpenedNote,
    Verifier,
    b64decode_strict,
    check_text,
    open_note,
    parse_note,
    sign_note,
)

DEFAULT_ORIGIN = "zkcred.example/ledger"
ENV_ORIGIN = "ZKCRED_LEDGER_ORIGIN"
MAX_CONSISTENCY_PROOF_LINES = 63
SIZE_CONTENT_TYPE = "text/x.tlog.size"
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")
#: Sizes are uint64 in the specs; we refuse those above 2^63 - 1 (SQL BIGINT), which no log reaches.
_MAX_SIZE = 2**63 - 1


def default_origin() -> str:
    """The ledger's origin line: ``ZKCRED_LEDGER_ORIGIN``, else ``zkcred.example/ledger``.

    Read by the ledger (to sign) and by its clients (to verify), so one environment
    configures both; the key pins the ledger, the origin names it to witnesses.
    """
    return os.environ.get(ENV_ORIGIN, "").strip() or DEFAULT_ORIGIN


def parse_size(text: str) -> int:
    """ASCII decimal without leading zeroes (``0`` for zero), at most 2^63 - 1."""
    if not _DECIMAL.fullmatch(text) or int(text) > _MAX_SIZE:
        raise MalformedNote(f"not a tree size: {text[:24]!r}")
    return int(text)


@dataclass(frozen=True)
class Checkpoint:
    """The note text of a checkpoint: origin, tree size, RFC 6962 root hash (and opaque extensions)."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode(), *self.extensions]
        return check_text("".join(line + "\n" for line in lines))

    @classmethod
    def from_text(cls, text: str) -> Checkpoint:
        """Parse a checkpoint's note text (tlog-checkpoint §Note text), strictly."""
        if not text.endswith("\n"):
            raise MalformedNote("checkpoint text must end in a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3 or any(not line for line in lines):
            raise MalformedNote("a checkpoint is at least three non-empty lines")
        origin, size, root, *extensions = lines
        root_bytes = b64decode_strict(root)
        if len(root_bytes) != HASH_SIZE:
            raise MalformedNote("the root hash is 32 bytes")
        return cls(origin, parse_size(size), root_bytes, tuple(extensions))


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint and its note (log signature and any cosignatures), as served."""

    checkpoint: Checkpoint
    note: Note

    @property
    def origin(self) -> str:
        return self.checkpoint.origin

    @property
    def size(self) -> int:
        return self.checkpoint.size

    @property
    def root(self) -> bytes:
        return self.checkpoint.root

    def to_bytes(self) -> bytes:
        return self.note.to_bytes()

    def with_cosignatures(self, lines: Iterable[NoteSignature]) -> SignedCheckpoint:
        return SignedCheckpoint(self.checkpoint, self.note.with_signatures(lines))

    @classmethod
    def parse(cls, data: bytes) -> SignedCheckpoint:
        note = parse_note(data)
        return cls(Checkpoint.from_text(note.text), note)


def log_signer(origin: str, key: Ed25519PrivateKey) -> Ed25519Signer:
    """The ledger's note signer: key name = origin (tlog-checkpoint §Signatures)."""
    return Ed25519Signer(origin, key)


def log_verifier(origin: str, public_key: bytes) -> Ed25519Verifier:
    return Ed25519Verifier(origin, public_key)


def sign_checkpoint(checkpoint: Checkpoint, signer: Ed25519Signer) -> SignedCheckpoint:
    return SignedCheckpoint(checkpoint, sign_note(checkpoint.text(), [signer]))


def open_checkpoint(
    data: bytes | SignedCheckpoint, log: Ed25519Verifier, *, witnesses: Sequence[Verifier] = ()
) -> tuple[SignedCheckpoint, OpenedNote]:
    """Verify a checkpoint: the origin is the log's, the log key signed it, known cosignatures verify.

    Returns the checkpoint and the opened note (which of ``log`` and ``witnesses`` signed).
    Raises ``MalformedNote`` or ``NoteNotVerified`` (also when only witnesses signed).
    """
    if not isinstance(data, SignedCheckpoint | bytes):
        raise TypeError(f"a checkpoint is bytes or a SignedCheckpoint, not {type(data).__name__}")
    signed = data if isinstance(data, SignedCheckpoint) else SignedCheckpoint.parse(data)
    if signed.origin != log.name:
        raise MalformedNote(f"checkpoint of origin {signed.origin!r}, expected {log.name!r}")
    opened = open_note(signed.note, [log, *witnesses])
    if opened.signed_by(log) is None:
        raise NoteNotVerified(f"the checkpoint is not signed by the log key of {log.name}", bad_signature=False)
    return signed, opened


# ---------------------------------------------------------------- tlog-witness add-checkpoint


@dataclass(frozen=True)
class AddCheckpointRequest:
    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: bytes  # the signed note, unparsed: the witness parses it under its own rules


def format_add_checkpoint(old_size: int, proof: Sequence[bytes], checkpoint: bytes) -> bytes:
    if len(proof) > MAX_CONSISTENCY_PROOF_LINES:
        raise ValueError("a consistency proof has at most 63 hashes")
    head = f"old {old_size}\n" + "".join(base64.b64encode(h).decode() + "\n" for h in proof) + "\n"
    return head.encode() + checkpoint


def parse_add_checkpoint(body: bytes) -> AddCheckpointRequest:
    """The request body of ``POST /add-checkpoint``; ``MalformedNote`` (400) for any format error."""
    if len(body) > MAX_NOTE_SIZE + 64 * (MAX_CONSISTENCY_PROOF_LINES + 1):
        raise MalformedNote("request body too large")
    end = body.find(b"\n\n")
    if end < 0:
        raise MalformedNote("no empty line after the old size and the proof")
    try:
        lines = body[:end].decode("ascii").split("\n")
    except UnicodeDecodeError as e:
        raise MalformedNote("the old size and proof lines are ASCII") from e
    first, proof_lines = lines[0], lines[1:]
    if not first.startswith("old "):
        raise MalformedNote("the first line is 'old <size>'")
    old_size = parse_size(first[4:])
    if len(proof_lines) > MAX_CONSISTENCY_PROOF_LINES:
        raise MalformedNote("more than 63 consistency proof lines")
    proof = []
    for line in proof_lines:
        h = b64decode_strict(line)
        if len(h) != HASH_SIZE:
            raise MalformedNote("a consistency proof line is one 32-byte hash")
        proof.append(h)
    return AddCheckpointRequest(old_size, tuple(proof), body[end + 2 :])


def format_size_body(size: int) -> bytes:
    """The body of a 409 from ``add-checkpoint``: the latest cosigned size and a newline."""
    return f"{size}\n".encode()


def parse_size_body(body: bytes) -> int:
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError as e:
        raise MalformedNote("a text/x.tlog.size body is ASCII") from e
    if not text.endswith("\n"):
        raise MalformedNote("a text/x.tlog.size body ends in a newline")
    return parse_size(text[:-1])
