"""C2SP signed notes (c2sp.org/signed-note): parse, format, sign, verify; vkeys and key IDs.

A note is UTF-8 text ending in a newline, a blank line, then one or more signature lines::

    <text, ending in U+000A>
    U+000A
    — <key name> base64(uint32 key ID || signature) U+000A   (one or more)

Key IDs (signed-note §Signatures, the recommended derivation, mandatory for the types here)::

    key ID = SHA-256(key name || 0x0A || signature type || public key)[:4]

Signature types implemented (the spec asks implementations to support few):

- ``0x01`` Ed25519 over the note text — how the ledger signs its checkpoints;
- ``0x04`` timestamped Ed25519 cosignatures (c2sp.org/tlog-cosignature, ``cosignature/v1``):
  ``u64 timestamp || Ed25519(key, "cosignature/v1\\ntime <t>\\n" || note text)`` — what
  witnesses return.  The signed message binds the timestamp, not the cosigner's name.
- ``0x06`` timestamped ML-DSA-44 cosignatures (tlog-cosignature, the post-quantum type the
  spec recommends for new deployments): ``u64 timestamp || ML-DSA-44(key, cosigned_message)``
  with ``cosigned_message = "subtree/v1\\n\\0" || u8 len || cosigner name || u64 timestamp ||
  u8 len || origin || u64 start (0) || u64 end (size) || root`` — it commits to the
  cosigner's name, not to extension lines (``cryptography``'s FIPS 204 ML-DSA, empty context).

Verifier keys (vkeys): ``<name>+<hex key ID>+base64(type || public key)``.

Parsing is strict (``parse_note``), every rule of the spec a test in
``tests/ledger/test_note.py``: valid UTF-8; no control characters but U+000A; the text
ends in a newline and is separated from the signatures by the *last* blank line; each
signature line is exactly ``— name base64`` with a non-empty name free of Unicode spaces
and ``+``, canonical base64 of at least 5 bytes; at most ``MAX_SIGNATURES`` lines (the
spec requires accepting 16) and ``MAX_NOTE_SIZE`` bytes in all.

Verification (``open_note``) follows the spec's rules exactly: signatures whose (name, key
ID) match no known key are ignored; a signature from a known key that fails to verify
rejects the whole note; a note without one verified signature from a known key is
rejected.  Errors: ``MalformedNote`` (syntax) and ``NoteNotVerified`` (signatures), both
``VerificationFailed`` so a client that reads a bad note fails closed.

Each key's ``verify(text, signature)`` answers ``bool`` (the shape of Go's
``note.Verifier``, which callers loop over); the project's "raise, don't return False" rule
holds at the API that matters, ``open_note``.

Departures: none from the text.  Ed25519 public keys of small order or in non-canonical
encoding are refused when a vkey is decoded (as ``ledger.entries`` refuses them for
issuers): under such keys OpenSSL accepts forged signatures.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import time as _time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.constants import ED25519_PUBLIC_KEY_SIZE, ED25519_SIGNATURE_SIZE
from ledger.entries import _strong_ed25519_key  # one definition of a usable Ed25519 key
from ledger.errors import MalformedNote, NoteNotVerified

SIG_ED25519 = 0x01
SIG_COSIGNATURE_V1 = 0x04  # timestamped Ed25519 checkpoint cosignatures (tlog-cosignature)
SIG_MLDSA44_COSIGNATURE = 0x06  # timestamped ML-DSA-44 (sub)tree cosignatures (tlog-cosignature)
MLDSA44_PUBLIC_KEY_SIZE = 1312
MLDSA44_SIGNATURE_SIZE = 2420
SUBTREE_V1_LABEL = b"subtree/v1\n\x00"  # 12 bytes

#: More than the 16 the spec requires us to accept; a witness or client never needs more.
MAX_SIGNATURES = 64
#: 16 post-quantum signatures of ~5 kB base64-encoded fit with room to spare.
MAX_NOTE_SIZE = 256 * 1024

COSIGNATURE_V1_HEADER = b"cosignature/v1\n"
_MAX_TIMESTAMP = 2**63 - 1
_DASH = "\u2014"


# ---------------------------------------------------------------- wire objects


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: ``— name base64(key_id || signature)``."""

    name: str
    key_id: int  # uint32
    signature: bytes  # what follows the key ID

    def line(self) -> str:
        blob = self.key_id.to_bytes(4, "big") + self.signature
        return f"{_DASH} {self.name} {base64.b64encode(blob).decode()}\n"


@dataclass(frozen=True)
class Note:
    text: str  # including the final newline
    signatures: tuple[NoteSignature, ...]

    def to_bytes(self) -> bytes:
        return (self.text + "\n" + "".join(s.line() for s in self.signatures)).encode()

    def with_signatures(self, extra: Iterable[NoteSignature]) -> Note:
        """This note with ``extra`` appended, skipping lines it already carries."""
        lines = list(self.signatures)
        for sig in extra:
            if sig not in lines:
                lines.append(sig)
        return Note(self.text, tuple(lines))


# ---------------------------------------------------------------- names, key IDs, base64


def _has_space(name: str) -> bool:
    return any(c.isspace() or unicodedata.category(c) == "Zs" for c in name)


def check_key_name(name: str) -> str:
    """Key names are non-empty and contain no Unicode spaces and no ``+`` (nor control characters)."""
    if not name or _has_space(name) or "+" in name or any(ord(c) < 0x20 for c in name):
        raise MalformedNote(f"invalid key name {name!r}")
    return name


def key_id(name: str, sig_type: int, public_key: bytes) -> int:
    """SHA-256(key name || 0x0A || signature type || public key)[:4], as a big-endian uint32."""
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape") + b"\n" + bytes([sig_type]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def b64decode_strict(text: str) -> bytes:
    """Standard base64 (RFC 4648 §4), padded and canonical: re-encoding gives the same text."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as e:
        raise MalformedNote(f"not base64: {text[:40]!r}") from e
    if base64.b64encode(raw).decode() != text:
        raise MalformedNote(f"not canonical base64: {text[:40]!r}")
    return raw


# ---------------------------------------------------------------- parsing and formatting


_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")


def parse_note(data: bytes) -> Note:
    """Split a signed note into text and signature lines, checking every format rule (no crypto)."""
    if len(data) > MAX_NOTE_SIZE:
        raise MalformedNote(f"note larger than {MAX_NOTE_SIZE} bytes")
    try:
        s = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise MalformedNote("note is not valid UTF-8") from e
    if _CONTROL.search(s):
        raise MalformedNote("note contains a control character other than newline")
    split = s.rfind("\n\n")
    if split < 0:
        raise MalformedNote("no blank line separates the text from the signatures")
    text, sig_block = s[: split + 1], s[split + 2 :]
    if not sig_block or not sig_block.endswith("\n"):
        raise MalformedNote("signature lines must follow the blank line, each ending in a newline")
    lines = sig_block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNote(f"more than {MAX_SIGNATURES} signatures")
    return Note(text, tuple(parse_signature_line(line) for line in lines))


def parse_signature_line(line: str) -> NoteSignature:
    """``— name base64(key ID || signature)`` (without its newline)."""
    parts = line.split(" ")
    if len(parts) != 3 or parts[0] != _DASH:
        raise MalformedNote(f"malformed signature line {line[:60]!r}")
    name, blob = check_key_name(parts[1]), b64decode_strict(parts[2])
    if len(blob) < 5:
        raise MalformedNote("a signature is a 4-byte key ID and at least one byte")
    return NoteSignature(name, int.from_bytes(blob[:4], "big"), blob[4:])


def parse_signature_lines(data: bytes) -> list[NoteSignature]:
    """A block of signature lines, each ending in a newline (a witness's add-checkpoint response)."""
    try:
        s = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise MalformedNote("signature lines are not valid UTF-8") from e
    if not s.endswith("\n") or _CONTROL.search(s) or len(data) > MAX_NOTE_SIZE:
        raise MalformedNote("signature lines must each end in a newline, without control characters")
    lines = s[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNote(f"more than {MAX_SIGNATURES} signatures")
    return [parse_signature_line(line) for line in lines]


def check_text(text: str) -> str:
    """Note text as a signer may produce it: ends in a newline, no other control characters."""
    if not text.endswith("\n") or _CONTROL.search(text):
        raise ValueError("note text must end in a newline and contain no control characters but newlines")
    return text


# ---------------------------------------------------------------- keys


class NoteVerifier(Protocol):
    name: str
    key_id: int

    def verify(self, text: bytes, signature: bytes) -> bool: ...


class NoteSigner(Protocol):
    name: str
    key_id: int

    def sign(self, text: bytes) -> bytes: ...


def _usable_ed25519(public_key: bytes) -> Ed25519PublicKey:
    if len(public_key) != ED25519_PUBLIC_KEY_SIZE:
        raise MalformedNote("an Ed25519 public key is 32 bytes")
    try:
        _strong_ed25519_key(public_key.hex())
    except ValueError as e:
        raise MalformedNote(str(e)) from e
    return Ed25519PublicKey.from_public_bytes(public_key)


def _raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes_raw()


@dataclass(frozen=True)
class Ed25519Verifier:
    """Signature type 0x01: Ed25519 over the note text."""

    name: str
    public_key: bytes
    sig_type = SIG_ED25519

    def __post_init__(self) -> None:
        check_key_name(self.name)
        _usable_ed25519(self.public_key)

    @property
    def key_id(self) -> int:
        return key_id(self.name, self.sig_type, self.public_key)

    def verify(self, text: bytes, signature: bytes) -> bool:
        if len(signature) != ED25519_SIGNATURE_SIZE:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, text)
        except InvalidSignature:
            return False
        return True

    def vkey(self) -> str:
        return format_vkey(self.name, self.sig_type, self.public_key)


class Ed25519Signer:
    def __init__(self, name: str, key: Ed25519PrivateKey) -> None:
        self.name = check_key_name(name)
        self._key = key
        self.verifier = Ed25519Verifier(name, _raw(key))
        self.key_id = self.verifier.key_id

    def __repr__(self) -> str:  # never the private key
        return f"Ed25519Signer({self.verifier.vkey()!r})"

    def sign(self, text: bytes) -> bytes:
        return self._key.sign(text)


def cosignature_v1_message(text: bytes, timestamp: int) -> bytes:
    """tlog-cosignature §Ed25519 signed message: header line, time line, the checkpoint body."""
    return COSIGNATURE_V1_HEADER + b"time %d\n" % timestamp + text


def cosignature_timestamp(signature: bytes) -> int:
    """The ``timestamp`` of a ``timestamped_signature`` (the first 8 bytes, big-endian)."""
    if len(signature) not in (8 + ED25519_SIGNATURE_SIZE, 8 + MLDSA44_SIGNATURE_SIZE):
        raise MalformedNote("a timestamped cosignature is 8 + 64 (Ed25519) or 8 + 2420 (ML-DSA-44) bytes")
    return int.from_bytes(signature[:8], "big")


def subtree_v1_message(cosigner: str, timestamp: int, origin: str, start: int, end: int, root: bytes) -> bytes:
    """tlog-cosignature §ML-DSA-44 signed message: the ``cosigned_message`` structure (RFC 8446 encoding)."""
    name, log = cosigner.encode(), origin.encode()
    if not (1 <= len(name) <= 255 and 1 <= len(log) <= 255 and len(root) == 32):
        raise ValueError("cosigner name and origin are 1 to 255 bytes, the hash 32")
    return (
        SUBTREE_V1_LABEL
        + bytes([len(name)])
        + name
        + timestamp.to_bytes(8, "big")
        + bytes([len(log)])
        + log
        + start.to_bytes(8, "big")
        + end.to_bytes(8, "big")
        + root
    )


def _checkpoint_head(text: bytes) -> tuple[str, int, bytes] | None:
    """Origin, size and root of a checkpoint note text (None if it is not one): what ML-DSA-44 signs."""
    lines = text.split(b"\n")
    if len(lines) < 4 or not re.fullmatch(rb"0|[1-9][0-9]{0,18}", lines[1]) or not lines[0]:
        return None
    try:
        root = b64decode_strict(lines[2].decode("ascii"))
        origin = lines[0].decode()
    except (MalformedNote, UnicodeDecodeError):
        return None
    return (origin, int(lines[1]), root) if len(root) == 32 else None


def _mldsa():  # type: ignore[no-untyped-def]
    try:
        from cryptography.hazmat.primitives.asymmetric import mldsa
    except ImportError as e:  # cryptography < 46
        raise MalformedNote("ML-DSA-44 cosignatures need a cryptography release with ML-DSA") from e
    return mldsa


@dataclass(frozen=True)
class MLDSACosignatureVerifier:
    """Signature type 0x06: a witness's timestamped ML-DSA-44 checkpoint cosignature (start 0, end = size)."""

    name: str
    public_key: bytes
    sig_type = SIG_MLDSA44_COSIGNATURE

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if len(self.public_key) != MLDSA44_PUBLIC_KEY_SIZE:
            raise MalformedNote("an ML-DSA-44 public key is 1312 bytes")
        try:
            _mldsa().MLDSA44PublicKey.from_public_bytes(self.public_key)
        except ValueError as e:
            raise MalformedNote("not an ML-DSA-44 public key") from e

    @property
    def key_id(self) -> int:
        return key_id(self.name, self.sig_type, self.public_key)

    def verify(self, text: bytes, signature: bytes) -> bool:
        head = _checkpoint_head(text)
        if len(signature) != 8 + MLDSA44_SIGNATURE_SIZE or head is None:
            return False
        timestamp = int.from_bytes(signature[:8], "big")
        if timestamp > _MAX_TIMESTAMP:
            return False
        origin, size, root = head
        try:
            message = subtree_v1_message(self.name, timestamp, origin, 0, size, root)
            _mldsa().MLDSA44PublicKey.from_public_bytes(self.public_key).verify(signature[8:], message)
        except (InvalidSignature, ValueError):
            return False
        return True

    def vkey(self) -> str:
        return format_vkey(self.name, self.sig_type, self.public_key)


class MLDSACosignatureSigner:
    """A witness's ML-DSA-44 cosigning key (from a 32-byte seed); signs checkpoint note texts."""

    def __init__(self, name: str, seed: bytes, *, clock: Callable[[], float] = _time.time) -> None:
        self.name = check_key_name(name)
        self._key = _mldsa().MLDSA44PrivateKey.from_seed_bytes(seed)
        self._clock = clock
        self.verifier = MLDSACosignatureVerifier(name, self._key.public_key().public_bytes_raw())
        self.key_id = self.verifier.key_id

    def __repr__(self) -> str:
        return f"MLDSACosignatureSigner({self.name!r}, key ID {self.key_id:08x})"

    def sign(self, text: bytes, *, timestamp: int | None = None) -> bytes:
        t = int(self._clock()) if timestamp is None else timestamp
        if not 0 < t <= _MAX_TIMESTAMP:
            raise ValueError("a cosignature timestamp is in (0, 2^63 - 1]")
        head = _checkpoint_head(text)
        if head is None:
            raise ValueError("ML-DSA-44 cosignatures sign checkpoints")
        origin, size, root = head
        return t.to_bytes(8, "big") + self._key.sign(subtree_v1_message(self.name, t, origin, 0, size, root))


@dataclass(frozen=True)
class CosignatureVerifier:
    """Signature type 0x04: a witness's timestamped Ed25519 cosignature (``cosignature/v1``)."""

    name: str
    public_key: bytes
    sig_type = SIG_COSIGNATURE_V1

    def __post_init__(self) -> None:
        check_key_name(self.name)
        _usable_ed25519(self.public_key)

    @property
    def key_id(self) -> int:
        return key_id(self.name, self.sig_type, self.public_key)

    def verify(self, text: bytes, signature: bytes) -> bool:
        if len(signature) != 8 + ED25519_SIGNATURE_SIZE:
            return False
        timestamp = int.from_bytes(signature[:8], "big")
        if timestamp > _MAX_TIMESTAMP:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(
                signature[8:], cosignature_v1_message(text, timestamp)
            )
        except InvalidSignature:
            return False
        return True

    def vkey(self) -> str:
        return format_vkey(self.name, self.sig_type, self.public_key)


class CosignatureSigner:
    """A witness's cosigning key; ``clock`` gives POSIX seconds (injected in tests)."""

    def __init__(self, name: str, key: Ed25519PrivateKey, *, clock: Callable[[], float] = _time.time) -> None:
        self.name = check_key_name(name)
        self._key = key
        self._clock = clock
        self.verifier = CosignatureVerifier(name, _raw(key))
        self.key_id = self.verifier.key_id

    def __repr__(self) -> str:
        return f"CosignatureSigner({self.verifier.vkey()!r})"

    def sign(self, text: bytes, *, timestamp: int | None = None) -> bytes:
        t = int(self._clock()) if timestamp is None else timestamp
        if not 0 < t <= _MAX_TIMESTAMP:  # tlog-witness: the timestamp MUST NOT be zero
            raise ValueError("a cosignature timestamp is in (0, 2^63 - 1]")
        return t.to_bytes(8, "big") + self._key.sign(cosignature_v1_message(text, t))


def format_vkey(name: str, sig_type: int, public_key: bytes) -> str:
    blob = base64.b64encode(bytes([sig_type]) + public_key).decode()
    return f"{check_key_name(name)}+{key_id(name, sig_type, public_key):08x}+{blob}"


Verifier = Ed25519Verifier | CosignatureVerifier | MLDSACosignatureVerifier
COSIGNATURE_TYPES = (SIG_COSIGNATURE_V1, SIG_MLDSA44_COSIGNATURE)
_VERIFIERS: dict[int, type] = {
    SIG_ED25519: Ed25519Verifier,
    SIG_COSIGNATURE_V1: CosignatureVerifier,
    SIG_MLDSA44_COSIGNATURE: MLDSACosignatureVerifier,
}


def parse_vkey(vkey: str, *, allowed: Sequence[int] = (SIG_ED25519, *COSIGNATURE_TYPES)) -> Verifier:
    """``name+hex(key ID)+base64(type || key)`` → a verifier; the key ID must be the derived one."""
    parts = vkey.strip().split("+", 2)  # the name has no "+", the ID is hex; base64 may contain "+"
    if len(parts) != 3:
        raise MalformedNote("a vkey is name+keyid+base64(type || key)")
    name, hex_id, blob = parts
    check_key_name(name)
    if not re.fullmatch(r"[0-9a-f]{8}", hex_id):
        raise MalformedNote("a vkey's key ID is 8 lowercase hex digits")
    raw = b64decode_strict(blob)
    if not raw or raw[0] not in allowed:
        raise MalformedNote(f"unsupported vkey signature type {raw[:1].hex() or 'none'}")
    verifier = _VERIFIERS[raw[0]](name, raw[1:])
    if verifier.key_id != int(hex_id, 16):
        raise MalformedNote("the vkey's key ID is not the hash of its name, type and key")
    return verifier


# ---------------------------------------------------------------- signing and verifying


def sign_note(text: str, signers: Sequence[NoteSigner]) -> Note:
    if not signers:
        raise ValueError("a signed note has at least one signature")
    raw = check_text(text).encode()
    return Note(text, tuple(NoteSignature(s.name, s.key_id, s.sign(raw)) for s in signers))


@dataclass(frozen=True)
class OpenedNote:
    note: Note
    verified: tuple[tuple[Verifier, NoteSignature], ...]  # each known key that signed, with its line

    def signed_by(self, verifier: Verifier) -> NoteSignature | None:
        for v, sig in self.verified:
            if v == verifier:
                return sig
        return None


def open_note(data: bytes | Note, verifiers: Iterable[Verifier]) -> OpenedNote:
    """Parse and verify: known keys must verify, unknown ones are ignored, at least one must sign.

    A known key is one whose (name, key ID) pair matches; a line that shares only the name
    or only the ID with a known key is ignored (signed-note §Signatures).
    """
    note = data if isinstance(data, Note) else parse_note(data)
    known: dict[tuple[str, int], list[Verifier]] = {}
    for v in verifiers:
        known.setdefault((v.name, v.key_id), []).append(v)
    text = note.text.encode()
    verified: list[tuple[Verifier, NoteSignature]] = []
    for sig in note.signatures:
        for v in known.get((sig.name, sig.key_id), ()):
            if not v.verify(text, sig.signature):
                raise NoteNotVerified(f"the signature of known key {sig.name} does not verify", bad_signature=True)
            if all(w != v for w, _ in verified):
                verified.append((v, sig))
    if not verified:
        raise NoteNotVerified("no signature from a known key", bad_signature=False)
    return OpenedNote(note, tuple(verified))
