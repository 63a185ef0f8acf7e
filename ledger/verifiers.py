"""Verifier identities on the ledger, and the signed request documents they hand out.

Why here: the verifier signs request documents and the wallet checks them; both import
``ledger`` (never each other), and this is the layer that already holds the registration's
entry type, RFC 8785 canonical JSON and Ed25519 — the same construction as a ledger entry.

**Registration** (``verifier_registration`` entry, ``ledger.entries.VerifierRegistration``):
``{ledger_key, name, origins}``, self-signed, authored by ``verifier_id_of(ledger_key)``;
later ``key_rotation`` entries of that id (signed by the key they replace) rotate the key, and
``verifier_update`` entries (signed by the current key) replace the name and origins.
:func:`resolve_verifier` rebuilds a registration from the ledger through the pinned ledger
key, the witness policy's checkpoint and inclusion proofs (``LedgerClient.verified_entries``).

**Request document** (``GET /requests/{id}/document``): a JSON object whose ``signature``
is Ed25519, by the verifier's current registered key, over
``REQUEST_DOCUMENT_SIGNATURE_LABEL || RFC 8785(the object without "signature")`` — the
pattern of a ledger entry, under its own label, so neither signature can stand for the
other. Fields (:class:`SignedRequestDocument`): ``type`` (``zkcred-request/v1``), ``id``,
``verifier_id``, ``registration_seq``, ``lender``, ``purpose``, ``request`` (the
presentation request: nonce, verifier id, what is disclosed, what is proven, pseudonym
contexts), ``presentation_url``, ``issued_at``, ``expires_at``, ``max_staleness``.

Why not JWS (RFC 7515/8037): a compact JWS hides the document in base64url and brings
``alg`` negotiation (``none``, algorithm confusion) a verifier of one fixed key type does not
need; canonical JSON + Ed25519 is already what every ledger entry is, with the same
libraries (``rfc8785``, ``cryptography``) and the same key, and the document stays readable
JSON whose fields are exactly what is signed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from ledger import merkle
from ledger.constants import MAX_PAGE, REQUEST_DOCUMENT_SIGNATURE_LABEL
from ledger.entries import (
    DisplayText,
    Entry,
    Hex64,
    VerifierRegistration,
    VerifierUpdate,
    canonical_json,
    is_verifier_id,
    public_key_bytes,
    verifier_id_of,
    verify_entry_signature,
)
from ledger.errors import EntryRejected, VerificationFailed

DOCUMENT_TYPE = "zkcred-request/v1"


class VerifierUnknown(VerificationFailed):
    """The ledger holds no registration of this verifier id where the document says it is."""


@dataclass(frozen=True)
class VerifierRecord:
    """A verifier's registration as the ledger holds it, key rotations and updates applied, as of
    the verified checkpoint (``tree_size``, ``root``) it was read in."""

    verifier_id: str
    name: str
    origins: tuple[str, ...]
    key: bytes  # the current Ed25519 key (after any rotation)
    seq: int  # the ledger seq of the verifier_registration entry
    tree_size: int  # the size of the verified checkpoint this was read in
    updated_seq: int = -1  # the seq of the entry that set name and origins (registration or last update)
    root: bytes = b""  # that checkpoint's root: a later read extends it with a consistency proof

    def to_json(self) -> dict[str, Any]:
        return {
            "verifier_id": self.verifier_id,
            "name": self.name,
            "origins": list(self.origins),
            "key": self.key.hex(),
            "seq": self.seq,
            "tree_size": self.tree_size,
            "updated_seq": self.updated_seq,
            "root": self.root.hex(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VerifierRecord:
        return cls(
            str(data["verifier_id"]),
            str(data["name"]),
            tuple(map(str, data["origins"])),
            bytes.fromhex(data["key"]),
            int(data["seq"]),
            int(data["tree_size"]),
            int(data["updated_seq"]),
            bytes.fromhex(data["root"]),
        )


def registration_payload(key: Ed25519PrivateKey | bytes, *, name: str, origins: list[str]) -> dict[str, Any]:
    """The validated ``verifier_registration`` payload (ValueError naming what is wrong)."""
    raw = key if isinstance(key, bytes) else public_key_bytes(key)
    try:
        return VerifierRegistration(ledger_key=raw.hex(), name=name, origins=origins).model_dump()
    except ValidationError as e:
        err = e.errors()[0]
        raise ValueError(f"verifier registration: {'.'.join(map(str, err['loc']))}: {err['msg']}") from None


def replay_registration(entries: list[Entry], verifier_id: str, *, seq: int, tree_size: int) -> VerifierRecord:
    """Rebuild ``verifier_id``'s registration from consecutive verified entries starting at ``seq``.

    The first must be its self-signed ``verifier_registration`` under the id of its key; each
    later ``key_rotation`` or ``verifier_update`` by that id must be signed by the key current
    before it (:func:`replay_after`).
    """
    if not entries or entries[0].seq != seq:
        raise VerifierUnknown(f"no ledger entry {seq} to read verifier {verifier_id} from")
    first = entries[0]
    if first.type != "verifier_registration" or first.issuer != verifier_id:
        raise VerifierUnknown(f"ledger entry {seq} is not the registration of verifier {verifier_id}")
    try:
        payload = VerifierRegistration.model_validate(first.payload)
        key = bytes.fromhex(payload.ledger_key)
        if verifier_id_of(key) != verifier_id or not is_verifier_id(verifier_id):
            raise VerifierUnknown(f"verifier id {verifier_id} is not derived from its registered key")
        verify_entry_signature(first, key)
    except (ValidationError, EntryRejected, KeyError, ValueError) as e:
        raise VerificationFailed(f"verifier {verifier_id}'s ledger entries do not verify: {e}") from None
    start = VerifierRecord(verifier_id, payload.name, tuple(payload.origins), key, seq, seq + 1, seq)
    return replay_after(start, entries[1:], tree_size=tree_size)


def replay_after(record: VerifierRecord, entries: list[Entry], *, tree_size: int, root: bytes = b"") -> VerifierRecord:
    """``record`` with the verifier's entries among ``entries`` (the log after ``record.tree_size``) applied."""
    verifier_id, key = record.verifier_id, record.key
    name, origins, updated = record.name, record.origins, record.updated_seq
    try:
        for entry in entries:
            if entry.issuer != verifier_id:
                continue
            verify_entry_signature(entry, key)
            if entry.type == "key_rotation":
                key = bytes.fromhex(entry.payload["new_ledger_key"])
            elif entry.type == "verifier_update":
                update = VerifierUpdate.model_validate(entry.payload)
                if update.previous != updated:
                    raise VerificationFailed(
                        f"ledger entry {entry.seq}: updates entry {update.previous}, not {updated}"
                    )
                name, origins, updated = update.name, tuple(update.origins), entry.seq
            else:
                raise VerificationFailed(f"ledger entry {entry.seq}: verifier {verifier_id} published a {entry.type}")
    except (ValidationError, EntryRejected, KeyError, ValueError) as e:
        raise VerificationFailed(f"verifier {verifier_id}'s ledger entries do not verify: {e}") from None
    return VerifierRecord(verifier_id, name, origins, key, record.seq, tree_size, updated, root)


def resolve_verifier(
    client: Any,
    verifier_id: str,
    *,
    registration_seq: int,
    known: VerifierRecord | None = None,
    page: int = MAX_PAGE,
) -> VerifierRecord:
    """``verifier_id``'s registration (rotations and updates applied) read from a ``ledger.client.LedgerClient``.

    The client must pin the ledger key (and may hold a witness policy): every entry is read
    against its verified checkpoint with an inclusion proof. ``known``: this registration as
    read earlier (a wallet's cache): then only the entries after its checkpoint are read, once
    a consistency proof shows the new checkpoint extends that one. Raises ``VerifierUnknown``
    when the entry at ``registration_seq`` is not that verifier's registration, ``LedgerError``
    for anything that does not verify or cannot be read.
    """
    if not is_verifier_id(verifier_id):
        raise VerifierUnknown(f"{verifier_id!r} is not a verifier id (verifier-<32 hex digits>)")
    checkpoint = client.checkpoint()
    if not 0 <= registration_seq < checkpoint.size:
        raise VerifierUnknown(
            f"the ledger's verified checkpoint (size {checkpoint.size}) has no entry {registration_seq} "
            f"to register verifier {verifier_id}"
        )
    usable = (
        known is not None
        and (known.verifier_id, known.seq) == (verifier_id, registration_seq)
        and len(known.root) == 32
        and known.tree_size <= checkpoint.size
    )
    if known is not None and usable:
        grown = known.tree_size < checkpoint.size
        proof = client.consistency_proof(first=known.tree_size, second=checkpoint.size) if grown else []
        if not merkle.verify_consistency(known.tree_size, checkpoint.size, known.root, checkpoint.root, proof):
            raise VerificationFailed(
                f"the ledger's checkpoint of size {checkpoint.size} does not extend the one of size "
                f"{known.tree_size} verifier {verifier_id} was read in"
            )
        start = known.tree_size
    else:
        start = registration_seq
    entries: list[Entry] = []
    while start + len(entries) < checkpoint.size:
        entries += client.verified_entries(start=start + len(entries), limit=page, tree_head=checkpoint)
    if known is not None and usable:
        return replay_after(known, entries, tree_size=checkpoint.size, root=checkpoint.root)
    record = replay_registration(entries, verifier_id, seq=registration_seq, tree_size=checkpoint.size)
    return replace(record, root=checkpoint.root)


def find_registration(client: Any, verifier_id: str, *, page: int = MAX_PAGE) -> int | None:
    """The seq of ``verifier_id``'s registration, by reading the whole verified log (None: not on it).

    For a verifier that lost its database but kept its key (its own ``verifier_state`` names the
    seq otherwise); wallets are told the seq by the signed document.
    """
    checkpoint = client.checkpoint()
    start = 0
    while start < checkpoint.size:
        run = client.verified_entries(start=start, limit=page, tree_head=checkpoint)
        for entry in run:
            if entry.type == "verifier_registration" and entry.issuer == verifier_id:
                return int(entry.seq)
        start += len(run)
    return None


# ---------------------------------------------------------------- signed request documents

Printable = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class SignedRequestDocument(BaseModel):
    """The request document's fields, all signed (module docstring); strict, no unknown fields."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    type: Literal["zkcred-request/v1"]
    id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    verifier_id: Annotated[str, StringConstraints(pattern=r"^verifier-[0-9a-f]{32}$")]
    registration_seq: Annotated[int, Field(ge=0, le=2**53 - 1)]
    lender: DisplayText
    purpose: Annotated[DisplayText, StringConstraints(max_length=200)] | None
    request: dict[str, Any]
    presentation_url: Annotated[str, StringConstraints(min_length=1, max_length=2048)]
    issued_at: Printable
    expires_at: Printable
    max_staleness: Annotated[int, Field(ge=0, le=2**53 - 1)]
    signature: Hex64


def document_signing_bytes(fields: Mapping[str, Any]) -> bytes:
    """What the verifier signs: the label, then the RFC 8785 document without ``signature``."""
    return REQUEST_DOCUMENT_SIGNATURE_LABEL + canonical_json({k: v for k, v in fields.items() if k != "signature"})


def sign_request_document(key: Ed25519PrivateKey, fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` (everything but the signature) with ``signature`` added; validated first."""
    unsigned = {"type": DOCUMENT_TYPE, **{k: v for k, v in fields.items() if k != "signature"}}
    document = {**unsigned, "signature": key.sign(document_signing_bytes(unsigned)).hex()}
    SignedRequestDocument.model_validate(document)
    return document


def parse_request_document(unverified: Any) -> SignedRequestDocument:
    """The document's fields, strictly typed (ValueError naming the first bad field); not yet verified."""
    try:
        return SignedRequestDocument.model_validate(unverified)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "document"
        raise ValueError(f"{where}: {err['msg']}") from None


def verify_request_document(unverified: Mapping[str, Any], public_key: bytes) -> None:
    """Raise ``VerificationFailed`` unless ``public_key`` signed exactly this document."""
    try:
        signature = bytes.fromhex(str(unverified["signature"]))
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, document_signing_bytes(unverified))
    except (InvalidSignature, KeyError, ValueError, TypeError) as e:
        raise VerificationFailed("the request document is not signed by the verifier's registered key") from e
