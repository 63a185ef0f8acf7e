"""Ledger entries and signed tree heads: typed payloads, canonical bytes, hashes, signatures.

An entry is a JSON object (RFC 8785 canonical form, via ``rfc8785``)::

    {"seq": n, "time": ms, "type": t, "issuer": id, "payload": {...},
     "prev_hash": hex(entry_hash of entry n-1, or 32 zero bytes for n = 0),
     "signature": hex(Ed25519 over ENTRY_SIGNATURE_LABEL || canonical(entry without "signature"))}

- ``time`` is milliseconds since 1970-01-01 UTC, signed by the issuer.
- ``entry_hash = SHA-256(CHAIN_LABEL || canonical(entry))`` links the chain (the next entry's
  ``prev_hash``); ``leaf_hash(canonical(entry))`` (RFC 9162, prefix 0x00) is its Merkle leaf.
  Both cover the signature, so neither the entry nor its signature can change unnoticed.
- The signer is the issuer's *registered* Ed25519 key: an ``issuer_registration`` is signed
  by the key it registers (self-signed, first come first served for the issuer id); a
  ``key_rotation`` is signed by the current key and names the next; every other entry is
  signed by the key current at that point of the log.
- Payloads are validated per type by strict pydantic models (no coercion, no unknown
  fields).  Cryptographic values the ledger does not interpret (BBS keys, accumulator
  values, handles) are opaque base64/base64url/hex strings: the ledger never imports
  ``circuits``.  Values the ledger does interpret (Ed25519 keys, hashes, signatures) are
  lowercase hex.

A signed tree head (STH) is ``{"size", "root", "time"}`` signed by the ledger's own Ed25519
key over ``TREE_HEAD_SIGNATURE_LABEL || canonical(that object)``.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    model_validator,
)

from ledger.constants import (
    CHAIN_LABEL,
    CONTENT_LABEL,
    ENTRY_SIGNATURE_LABEL,
    HASH_SIZE,
    TREE_HEAD_SIGNATURE_LABEL,
    VERIFIER_ID_LABEL,
    VERIFIER_ID_PREFIX,
)
from ledger.errors import EntryRejected, VerificationFailed

MAX_JSON_INT = 2**53 - 1  # I-JSON (RFC 7493): the integers RFC 8785 represents exactly

Hex32 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]

_ED25519_P = 2**255 - 19
#: y of the points of order 8 (the others of small order have y = 1, −1 or 0).
_ED25519_Y8 = int.from_bytes(
    bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"), "little"
)
_ED25519_SMALL_ORDER_Y = {0, 1, _ED25519_P - 1, _ED25519_Y8, _ED25519_P - _ED25519_Y8}


def _strong_ed25519_key(value: str) -> str:
    """Refuse non-canonical encodings (y ≥ p, or x = 0 with the sign bit) and points of small order.

    Ed25519 verification (RFC 8032, as OpenSSL does it) accepts any signature (R = identity,
    S = 0) under the identity key and forged ones under the other small-order keys: an issuer
    registered or rotated to such a key would let anyone append entries in its name.
    """
    raw = bytes.fromhex(value)
    y = int.from_bytes(raw, "little") & ((1 << 255) - 1)
    if y >= _ED25519_P or y in _ED25519_SMALL_ORDER_Y or (y in (1, _ED25519_P - 1) and raw[31] & 0x80):
        raise ValueError("not a usable Ed25519 public key (small order or non-canonical)")
    return value


Ed25519Key = Annotated[Hex32, AfterValidator(_strong_ed25519_key)]
Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{128}$")]
Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/#-]{0,255}$")]
Opaque = Annotated[str, StringConstraints(min_length=1, max_length=65536, pattern=r"^[A-Za-z0-9+/_=-]+$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=256)]
JsonInt = Annotated[int, Field(ge=0, le=MAX_JSON_INT)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# ---------------------------------------------------------------- payloads, one per entry type


class IssuerRegistration(_Strict):
    """An issuer's Ed25519 ledger key (hex) and, opaque, its BBS public keys."""

    ledger_key: Ed25519Key
    bbs_public_keys: list[Opaque] = Field(default_factory=list, max_length=64)
    name: Text | None = None


class Attribute(_Strict):
    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
    type: Annotated[
        str,
        StringConstraints(
            pattern=r"^(int|date|bool|string|decimal\([0-9]{1,2}\)|int\(-?(0|[1-9][0-9]{0,18})\.\.-?(0|[1-9][0-9]{0,18})\))$"
        ),
    ]


class Schema(_Strict):
    schema_id: Identifier
    name: Text
    version: Text
    attributes: list[Attribute] = Field(min_length=1, max_length=256)

    @model_validator(mode="after")
    def _unique_names(self) -> Schema:
        names = [a.name for a in self.attributes]
        if len(set(names)) != len(names):
            raise ValueError("attribute names must be unique")
        return self


class CredentialDefinition(_Strict):
    """``supersedes``: issuer key rotation — the issuer's earlier definition this one replaces."""

    cred_def_id: Identifier
    schema_id: Identifier
    ciphersuite: Text
    bbs_public_key: Opaque
    tag: Text | None = None
    supersedes: Identifier | None = None


class RevocationRegistry(_Strict):
    """DESIGN §6: Q = α·P2 and V0, opaque; capacity N."""

    registry_id: Identifier
    cred_def_id: Identifier
    capacity: Annotated[int, Field(ge=1, le=2**32)]
    q: Opaque
    v0: Opaque


class Revocation(_Strict):
    """Revoked handles y_j in order, and after each the accumulator value V' (DESIGN §6)."""

    registry_id: Identifier
    handles: list[Opaque] = Field(min_length=1, max_length=10_000)
    values: list[Opaque] = Field(min_length=1, max_length=10_000)

    @model_validator(mode="after")
    def _one_value_per_handle(self) -> Revocation:
        if len(self.handles) != len(self.values):
            raise ValueError("one intermediate accumulator value per revoked handle")
        if len(set(self.handles)) != len(self.handles):
            raise ValueError("a handle is revoked at most once per entry")
        return self


def verifier_id_of(ledger_key: bytes) -> str:
    """The id of the verifier whose first Ed25519 key is ``ledger_key``: ``verifier-<32 hex>``.

    128 bits of SHA-256 under its own label: claiming a registered verifier's id takes a key
    hashing to the same 128 bits (a second preimage, ~2^128 work), and the ledger accepts a
    ``verifier_registration`` only under the id of the key it registers. After a
    ``key_rotation`` the id stays (it names the deployment, not the key of the day).
    """
    return VERIFIER_ID_PREFIX + hashlib.sha256(VERIFIER_ID_LABEL + ledger_key).hexdigest()[:32]


_VERIFIER_ID = re.compile(re.escape(VERIFIER_ID_PREFIX) + r"[0-9a-f]{32}")


def is_verifier_id(author: str) -> bool:
    """True for ids of the verifier form (reserved: no issuer may register one)."""
    return _VERIFIER_ID.fullmatch(author) is not None


def canonical_origin(url: str) -> str:
    """The web origin ``scheme://host[:port]`` of an http(s) URL: lowercase, default port dropped.

    ValueError for anything else (another scheme, no host, user info).
    """
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError as e:
        raise ValueError(f"not an http(s) URL: {url!r}") from e
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in ("http", "https") or not host or "@" in parts.netloc:
        raise ValueError(f"not an http(s) URL with a host: {url!r}")
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}[scheme]
    return f"{scheme}://{host}" if port in (None, default) else f"{scheme}://{host}:{port}"


def _origin(value: str) -> str:
    if canonical_origin(value) != value:
        raise ValueError(f"an origin is scheme://host[:port], lowercase, no default port, no path: {value!r}")
    return value


def _display_text(value: str) -> str:
    """Refuse control and format characters (newlines, ANSI escapes, bidi overrides) in a name a
    wallet shows a holder: a name must not be able to rewrite the screen around it."""
    if value != value.strip() or any(unicodedata.category(ch)[0] == "C" for ch in value):
        raise ValueError("a display name has no control or format characters and no surrounding spaces")
    return value


Origin = Annotated[str, StringConstraints(max_length=256), AfterValidator(_origin)]
DisplayText = Annotated[str, StringConstraints(min_length=1, max_length=128), AfterValidator(_display_text)]


class VerifierRegistration(_Strict):
    """A verifier deployment: its Ed25519 key (signs its request documents and its later entries),
    the name wallets show, and the web origins its request documents may be fetched from.

    Self-signed like an issuer's registration; the entry's author id must be
    :func:`verifier_id_of` the key. ``key_rotation`` entries rotate the key as for issuers;
    ``verifier_update`` entries replace the name and origins.
    """

    ledger_key: Ed25519Key
    name: DisplayText
    origins: list[Origin] = Field(min_length=1, max_length=16)

    @model_validator(mode="after")
    def _unique_origins(self) -> VerifierRegistration:
        if len(set(self.origins)) != len(self.origins):
            raise ValueError("origins must be unique")
        return self


class VerifierUpdate(_Strict):
    """A verifier's new display name and origins, signed by its current key. ``previous`` is the seq
    of the registration or update it replaces: an update back to earlier values is new content
    (the log stores each content once), and a replay checks the updates form one chain."""

    name: DisplayText
    origins: list[Origin] = Field(min_length=1, max_length=16)
    previous: JsonInt

    @model_validator(mode="after")
    def _unique_origins(self) -> VerifierUpdate:
        if len(set(self.origins)) != len(self.origins):
            raise ValueError("origins must be unique")
        return self


class KeyRotation(_Strict):
    """Signed by the current ledger key; from the next entry on, ``new_ledger_key`` signs."""

    new_ledger_key: Ed25519Key


class AuditorRegistration(_Strict):
    """An escrow auditor (issue 16): its ElGamal public key (opaque: a compressed G1 point,
    base64url) and display name. Signed by the auditor's ledger key, registered first with
    an ``issuer_registration`` of the same id; the latest registration of an id is current."""

    escrow_key: Opaque
    name: Text


class EscrowOpening(_Strict):
    """An auditor's decryption record, appended *before* it decrypts: which ciphertext
    (SHA-256 of ``C1 ‖ C2``, hex), for which verifier request and lender label, and why."""

    request_id: Text
    label: Text
    ciphertext: Hex32
    reason: Text


PAYLOAD_MODELS: dict[str, type[_Strict]] = {
    "issuer_registration": IssuerRegistration,
    "schema": Schema,
    "credential_definition": CredentialDefinition,
    "revocation_registry": RevocationRegistry,
    "revocation": Revocation,
    "key_rotation": KeyRotation,
    "verifier_registration": VerifierRegistration,
    "verifier_update": VerifierUpdate,
    "auditor_registration": AuditorRegistration,
    "escrow_opening": EscrowOpening,
}
ENTRY_TYPES = frozenset(PAYLOAD_MODELS)
#: The only entry types an author of the verifier form may publish.
VERIFIER_ENTRY_TYPES = frozenset({"verifier_registration", "verifier_update", "key_rotation"})


# ---------------------------------------------------------------- the envelope


class Entry(_Strict):
    """A signed ledger entry as it travels and as it is stored (canonical JSON)."""

    seq: JsonInt
    time: JsonInt
    type: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    issuer: Identifier
    payload: dict[str, Any]
    prev_hash: Hex32
    signature: Hex64
    _canonical: dict[str, bytes] = PrivateAttr(default_factory=dict)  # memo: RFC 8785 is pure Python

    def to_json(self) -> dict[str, Any]:
        return self.model_dump()

    def signed_part(self) -> dict[str, Any]:
        data = self.model_dump()
        del data["signature"]
        return data

    def canonical(self) -> bytes:
        """RFC 8785 bytes of the whole entry: what is stored, chained and hashed into the tree."""
        if "entry" not in self._canonical:
            self._canonical["entry"] = canonical_json(self.to_json())
        return self._canonical["entry"]

    def signing_bytes(self) -> bytes:
        """What the issuer signs (``signing_bytes`` of the entry without its signature)."""
        if "signed" not in self._canonical:
            self._canonical["signed"] = signing_bytes(self.signed_part())
        return self._canonical["signed"]

    @property
    def prev_hash_bytes(self) -> bytes:
        return bytes.fromhex(self.prev_hash)

    def content_id(self) -> bytes:
        """What this entry publishes, independent of seq, time, chain link and signature."""
        if "content" not in self._canonical:
            self._canonical["content"] = content_id(self.issuer, self.type, self.payload)
        return self._canonical["content"]


def canonical_json(value: Any) -> bytes:
    """RFC 8785 canonical bytes."""
    return rfc8785.dumps(value)


def signing_bytes(signed_part: Mapping[str, Any]) -> bytes:
    """What the issuer signs: the label, then the canonical entry without its signature."""
    return ENTRY_SIGNATURE_LABEL + canonical_json(dict(signed_part))


def content_id(issuer: str, entry_type: str, payload: Mapping[str, Any]) -> bytes:
    """SHA-256(CONTENT_LABEL || RFC 8785 {"issuer", "type", "payload"}): an entry's content id.

    A writer that re-sends an entry after losing the receipt (a crash, a timeout) re-signs it
    on a newer head, so seq, time, prev_hash and signature change; the content id does not.
    The log accepts each content id once and answers a repeat with the entry it already has.
    """
    return hashlib.sha256(
        CONTENT_LABEL + canonical_json({"issuer": issuer, "type": entry_type, "payload": dict(payload)})
    ).digest()


def entry_hash(body: bytes) -> bytes:
    """The chain hash of an entry's canonical bytes."""
    return hashlib.sha256(CHAIN_LABEL + body).digest()


def parse_entry(unverified: Entry | Mapping[str, Any] | bytes, *, seq: int | None = None) -> Entry:
    """Parse the envelope and validate the payload for its type; raise ``EntryRejected``."""
    if isinstance(unverified, Entry):
        entry = unverified
    else:
        try:
            data = json.loads(unverified) if isinstance(unverified, bytes) else unverified
            entry = Entry.model_validate(data)
        except (ValidationError, ValueError, TypeError) as e:
            raise EntryRejected("malformed-entry", _first_error(e), seq=seq) from e
    model = PAYLOAD_MODELS.get(entry.type)
    if model is None:
        raise EntryRejected("unknown-type", f"unknown entry type {entry.type!r}; known: {sorted(ENTRY_TYPES)}", seq=seq)
    try:
        model.model_validate(entry.payload)
    except ValidationError as e:
        raise EntryRejected("invalid-payload", f"{entry.type}: {_first_error(e)}", seq=seq) from e
    return entry


def payload_model(entry: Entry) -> _Strict:
    """The typed payload of an entry already accepted by ``parse_entry``."""
    return PAYLOAD_MODELS[entry.type].model_validate(entry.payload)


def _first_error(e: Exception) -> str:
    if isinstance(e, ValidationError):
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "entry"
        return f"{where}: {err['msg']}"
    return f"not a JSON object: {e}"


def sign_entry(
    *,
    key: Ed25519PrivateKey,
    seq: int,
    time: int,
    entry_type: str,
    issuer: str,
    payload: Mapping[str, Any],
    prev_hash: bytes,
) -> Entry:
    """Build and sign an entry (the issuer side of ``POST /entries``)."""
    signed_part = {
        "seq": seq,
        "time": time,
        "type": entry_type,
        "issuer": issuer,
        "payload": dict(payload),
        "prev_hash": prev_hash.hex(),
    }
    signature = key.sign(signing_bytes(signed_part))
    return Entry.model_validate({**signed_part, "signature": signature.hex()})


def verify_entry_signature(entry: Entry, public_key: bytes) -> None:
    """Raise ``EntryRejected("bad-signature")`` unless ``public_key`` signed ``entry``."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(bytes.fromhex(entry.signature), entry.signing_bytes())
    except (InvalidSignature, ValueError) as e:
        raise EntryRejected(
            "bad-signature", f"entry is not signed by the registered key of {entry.issuer!r}", seq=entry.seq
        ) from e


def public_key_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


# ---------------------------------------------------------------- signed tree heads


@dataclass(frozen=True)
class SignedTreeHead:
    """(size, root, time) signed by the ledger's key; ``key`` names that key (not signed)."""

    size: int
    root: bytes
    time: int
    signature: bytes
    key: bytes

    def signed_bytes(self) -> bytes:
        return tree_head_signing_bytes(self.size, self.root, self.time)

    def to_json(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "root": self.root.hex(),
            "time": self.time,
            "signature": self.signature.hex(),
            "key": self.key.hex(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SignedTreeHead:
        try:
            sth = cls(
                size=int(data["size"]),
                root=bytes.fromhex(data["root"]),
                time=int(data["time"]),
                signature=bytes.fromhex(data["signature"]),
                key=bytes.fromhex(data["key"]),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise VerificationFailed(f"malformed signed tree head: {e!r}") from e
        if len(sth.root) != HASH_SIZE or sth.size < 0:
            raise VerificationFailed("malformed signed tree head")
        return sth


def tree_head_signing_bytes(size: int, root: bytes, time: int) -> bytes:
    return TREE_HEAD_SIGNATURE_LABEL + canonical_json({"root": root.hex(), "size": size, "time": time})


def sign_tree_head(*, key: Ed25519PrivateKey, size: int, root: bytes, time: int) -> SignedTreeHead:
    return SignedTreeHead(
        size=size,
        root=root,
        time=time,
        signature=key.sign(tree_head_signing_bytes(size, root, time)),
        key=public_key_bytes(key),
    )


def verify_tree_head(sth: SignedTreeHead, public_key: bytes) -> None:
    """Raise ``VerificationFailed`` unless ``public_key`` signed this tree head."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(sth.signature, sth.signed_bytes())
    except (InvalidSignature, ValueError) as e:
        raise VerificationFailed(f"tree head of size {sth.size} is not signed by the ledger key") from e
