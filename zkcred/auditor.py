"""An escrow auditor (issue 16): its keys, its ledger registration, and openings that are public first.

- :class:`AuditorKeys` — the auditor's ledger id, its Ed25519 ledger key (it signs the
  auditor's entries) and its ElGamal escrow secret ``x`` (:mod:`circuits.escrow`); kept in a
  JSON file readable by its owner only.
- :func:`register` — ``issuer_registration`` of the id (the ledger's writer registration,
  skipped when already done with this key) then ``auditor_registration`` (escrow key, name).
- :func:`open_escrow` — the only way to decrypt: append the decryption record
  (``escrow_opening``: request id, label, ciphertext id, reason), read the auditor's entries
  back from the ledger and find that record checked (:func:`ledger.escrow.require_opening`:
  signed by the auditor's registered key, naming this ciphertext, request and label); only
  then decrypt and recover the value. A ledger that refuses the record, or does not show it
  back, means nothing is decrypted.

The publisher is :class:`issuer.publisher.HttpPublisher` (a ledger service) or
:class:`~issuer.publisher.InProcessPublisher` (the demo, tests): the same writer protocol the
issuer uses, with chain-conflict retries.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from circuits import escrow
from circuits.attributes import AttributeType
from circuits.backend import GroupBackend, get_backend
from circuits.codec import b64d, b64e
from circuits.errors import ParameterError
from issuer.publisher import LedgerPublisher
from ledger.entries import public_key_bytes
from ledger.escrow import EscrowView, require_opening

__all__ = ["AuditorKeys", "Opened", "open_escrow", "register"]


@dataclass(frozen=True)
class AuditorKeys:
    auditor_id: str
    ledger_key: Ed25519PrivateKey
    escrow_secret: int

    def __repr__(self) -> str:
        return f"AuditorKeys({self.auditor_id!r}, <secret>)"

    @classmethod
    def generate(cls, auditor_id: str) -> AuditorKeys:
        return cls(auditor_id, Ed25519PrivateKey.generate(), escrow.new_secret_key(secrets.token_bytes))

    def escrow_public(self, be: GroupBackend | None = None) -> bytes:
        return escrow.public_key(be or get_backend(), self.escrow_secret)

    def to_json(self) -> dict[str, str]:
        raw = self.ledger_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return {"auditor_id": self.auditor_id, "ledger_key": raw.hex(), "escrow_secret": f"{self.escrow_secret:064x}"}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AuditorKeys:
        try:
            key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(data["ledger_key"]))
            return cls(str(data["auditor_id"]), key, int(data["escrow_secret"], 16))
        except (KeyError, TypeError, ValueError) as e:
            raise ParameterError(f"not an auditor key file ({type(e).__name__})") from None

    def save(self, path: Path) -> None:
        """Write the key file, readable by its owner only; refuse to overwrite one."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(self.to_json(), f)

    @classmethod
    def load(cls, path: Path) -> AuditorKeys:
        try:
            data = json.loads(path.read_text())
        except ValueError:
            raise ParameterError(f"{path}: not an auditor key file (not JSON)") from None
        return cls.from_json(data)


def register(publisher: LedgerPublisher, keys: AuditorKeys, name: str) -> int:
    """Register the auditor on the ledger; return the ``auditor_registration``'s seq."""
    own = public_key_bytes(keys.ledger_key)
    current = publisher.issuer_key(keys.auditor_id)
    if current is None:
        publisher.publish(
            key=keys.ledger_key,
            issuer_id=keys.auditor_id,
            entry_type="issuer_registration",
            payload={"ledger_key": own.hex(), "name": name},
        )
    elif current != own:
        raise ParameterError(f"{keys.auditor_id!r} is registered on the ledger with another key")
    return publisher.publish(
        key=keys.ledger_key,
        issuer_id=keys.auditor_id,
        entry_type="auditor_registration",
        payload={"escrow_key": b64e(keys.escrow_public()), "name": name},
    )


@dataclass(frozen=True)
class Opened:
    """What an opening gives: the recovered value (None if not found), ``m·H_e``, and the public record."""

    value: Any
    point: str  # hex of m·H_e (compressed)
    record_seq: int
    request_id: str
    label: str
    ciphertext: str

    def to_json(self) -> dict[str, Any]:
        value = self.value if self.value is None or isinstance(self.value, (int, str, bool)) else str(self.value)
        return {
            "value": value,
            "point": self.point,
            "record_seq": self.record_seq,
            "request_id": self.request_id,
            "label": self.label,
            "ciphertext": self.ciphertext,
        }


def open_escrow(
    publisher: LedgerPublisher,
    keys: AuditorKeys,
    escrowed: Mapping[str, Any],
    *,
    reason: str,
    candidates: Iterable[Any] = (),
    backend: GroupBackend | None = None,
) -> Opened:
    """Append the decryption record, find it checked on the ledger, then decrypt (module docstring).

    ``escrowed`` is the verifier's ``verdict.escrow`` (auditor, attribute, type, label,
    request_id, ciphertext, id), as the lender reads it.
    """
    be = backend or get_backend()
    try:
        auditor, label, request_id = str(escrowed["auditor"]), str(escrowed["label"]), str(escrowed["request_id"])
        raw = b64d(str(escrowed["ciphertext"]))
        attr_type = AttributeType.parse(str(escrowed["type"]))
    except KeyError as e:
        raise ParameterError(f"the escrow has no {e.args[0]!r}") from None
    if auditor != keys.auditor_id:
        raise ParameterError(f"this escrow is for auditor {auditor!r}, not {keys.auditor_id!r}")
    ct = escrow.Ciphertext.from_bytes(be, raw)
    digest = ct.digest(be)
    if escrowed.get("id", digest) != digest:
        raise ParameterError("the escrow's id is not the SHA-256 of its ciphertext")
    if not reason.strip():
        raise ParameterError("say why the escrow is opened (--reason): the record is public")
    publisher.publish(
        key=keys.ledger_key,
        issuer_id=keys.auditor_id,
        entry_type="escrow_opening",
        payload={"request_id": request_id, "label": label, "ciphertext": digest, "reason": reason},
    )
    view = EscrowView.of(publisher.issuer_entries(keys.auditor_id))  # what the ledger shows, checked
    record = require_opening(view, auditor=auditor, ciphertext=digest, request_id=request_id, label=label)
    M = escrow.decrypt(be, keys.escrow_secret, ct)
    value = escrow.recover(be, M, attr_type, candidates)
    return Opened(value, be.g1_to_bytes(M).hex(), record.seq, request_id, label, digest)
