"""The verifier's identity: its Ed25519 key, its ledger registration, its signed request documents.

A deployment is known by ``verifier_id_of(first key)`` (``ledger.entries``): an id no other
deployment can take, because the ledger accepts a ``verifier_registration`` only under the
id of the key that signs it. The key comes from ``ZKCRED_VERIFIER_SIGNING_KEY`` (hex seed)
or the key file (``ZKCRED_VERIFIER_KEY_FILE``, default ``<state dir>/verifier-signing-key``,
created with mode 0600 on first use).

**Registration on first start** (:func:`ensure_registered`, run once by ``zkcred verifier
serve`` before any worker starts): the ``verifier_registration {ledger_key, name,
origins}`` entry is sent straight to the ledger (``LedgerClient.publish``: sign on the
head, ``POST /entries``, re-sign on a chain conflict). No outbox as the issuer has: it is
one entry, the ledger stores each content once (a re-send after a crash is answered with
the seq it already has), and the verifier does not start until it holds the receipt. The
seq is kept in ``verifier_state`` with the id; at every start the registration is read back
from the ledger (checkpoint, witness policy, inclusion) and must name this key; a new name or
public URL is published as a ``verifier_update`` (signed by the current key). A restart with
another key (other id: every lender's pseudonym context would change) is refused.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine
from sqlmodel import Session

from ledger.entries import Entry, VerifierUpdate, canonical_origin, public_key_bytes, verifier_id_of
from ledger.errors import EntryRejected
from ledger.keys import key_from_file, signing_key_from_seed
from ledger.verifiers import (
    VerifierRecord,
    VerifierUnknown,
    find_registration,
    registration_payload,
    replay_registration,
    resolve_verifier,
    sign_request_document,
)
from verifier.config import ConfigError
from verifier.models import StateRow

ENV_KEY = "ZKCRED_VERIFIER_SIGNING_KEY"


@dataclass(frozen=True)
class VerifierIdentity:
    """What the verifier signs with and as: its key, registered name and origins, registration seq."""

    key: Ed25519PrivateKey  # the current key (after any rotation)
    name: str
    origins: tuple[str, ...]
    registration_seq: int
    verifier_id: str  # verifier_id_of(the first key): it stays through rotations

    def __repr__(self) -> str:  # never show the key
        return f"VerifierIdentity({self.verifier_id}, {self.name!r}, seq={self.registration_seq})"

    @property
    def public_key(self) -> bytes:
        return public_key_bytes(self.key)

    def sign_document(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """A request document naming this verifier and its registration, signed by its key."""
        return sign_request_document(
            self.key, {**fields, "verifier_id": self.verifier_id, "registration_seq": self.registration_seq}
        )


def load_key(key_file: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """``ZKCRED_VERIFIER_SIGNING_KEY`` (hex seed) if set, else the key file (created on first use)."""
    from_env = os.environ.get(ENV_KEY)
    if from_env:
        try:
            return signing_key_from_seed(bytes.fromhex(from_env.strip()))
        except ValueError:
            raise ConfigError(f"{ENV_KEY} must be 64 hex digits (a 32-byte Ed25519 seed)") from None
    try:
        return key_from_file(key_file)
    except ValueError as e:
        raise ConfigError(str(e)) from None


#: ``publish(key=, author=, entry_type=, payload=) -> seq``: ``LedgerClient.publish``, or ``in_process(log)``.
Publish = Callable[..., int]
#: ``resolve(verifier_id, registration_seq) -> VerifierRecord``: ``ledger.verifiers.resolve_verifier`` bound
#: to a client, or ``in_process(log)``.
Resolve = Callable[[str, int], VerifierRecord]


#: ``find(verifier_id) -> seq | None``: where the registration is, read from the whole log.
Find = Callable[[str], "int | None"]
Ledger = tuple[Publish, Resolve, Find]


def over_http(client: Any) -> Ledger:
    """Publish, resolve and find through a ``ledger.client.LedgerClient`` that pins the ledger key."""
    return (
        client.publish,
        lambda verifier_id, seq: resolve_verifier(client, verifier_id, registration_seq=seq),
        lambda verifier_id: find_registration(client, verifier_id),
    )


def in_process(log: Any) -> Ledger:
    """Publish into and read from a ``ledger.log.LedgerLog`` in this process (the demo, tests)."""

    def publish(*, key: Ed25519PrivateKey, author: str, entry_type: str, payload: Mapping[str, Any]) -> int:
        return int(log.append(key=key, issuer=author, entry_type=entry_type, payload=payload).seq)

    def resolve(verifier_id: str, seq: int) -> VerifierRecord:
        size = log.head().size
        entries = [Entry.model_validate_json(e.body) for e in log.store.entries(start=seq, limit=max(size - seq, 1))]
        return replay_registration(entries, verifier_id, seq=seq, tree_size=size)

    def find(verifier_id: str) -> int | None:
        entries = (Entry.model_validate_json(e.body) for e in log.store.entries(start=0, limit=log.head().size))
        return next((e.seq for e in entries if e.type == "verifier_registration" and e.issuer == verifier_id), None)

    return publish, resolve, find


def _state(engine: Engine, name: str) -> str | None:
    with Session(engine) as s:
        row = s.get(StateRow, name)
        return None if row is None else row.value


def _remember(engine: Engine, values: Mapping[str, str]) -> None:
    with Session(engine) as s:
        for name, value in values.items():
            s.merge(StateRow(name=name, value=value))
        s.commit()


def _resolved(
    resolve: Resolve, verifier_id: str, seq: int, ready: Callable[[VerifierRecord], bool], wait: float
) -> VerifierRecord:
    """The registration once the ledger's verified view shows it (witnesses cosign a round behind)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            record = resolve(verifier_id, seq)
            if ready(record) or time.monotonic() >= deadline:
                return record
        except VerifierUnknown:
            if time.monotonic() >= deadline:
                raise
        time.sleep(0.1)


def ensure_registered(
    *,
    engine: Engine,
    key: Ed25519PrivateKey,
    name: str,
    origins: list[str],
    public_url: str,
    ledger: Ledger,
    wait: float = 5.0,
) -> VerifierIdentity:
    """This verifier's registration: published on first start, read back and checked on every start.

    ``ledger``: :func:`over_http` or :func:`in_process`. ``origins`` empty: the public URL's origin.
    """
    publish, resolve, find = ledger
    origin = canonical_origin(public_url)
    origins = [canonical_origin(o) for o in origins] or [origin]
    if origin not in origins:
        raise ConfigError(f"the verifier's origins {origins} must include its public URL's origin {origin}")
    known_id = _state(engine, "verifier_id")  # after a rotation the key no longer derives the id
    verifier_id = known_id or verifier_id_of(public_key_bytes(key))
    seq_text = _state(engine, "registration_seq") if known_id else None
    if seq_text is None:
        try:
            payload = registration_payload(key, name=name, origins=origins)
        except ValueError as e:
            raise ConfigError(str(e)) from None
        try:
            seq = publish(key=key, author=verifier_id, entry_type="verifier_registration", payload=payload)
        except EntryRejected as e:
            # registered before with another name or origins (a lost database, a second deployment
            # of this key): find that registration; an update below brings name and origins to ours
            found = find(verifier_id) if e.reason == "issuer-exists" else None
            if found is None:
                raise
            seq = found
        _remember(engine, {"verifier_id": verifier_id, "registration_seq": str(seq)})
    else:
        seq = int(seq_text)
    record = _resolved(resolve, verifier_id, seq, lambda r: True, wait)
    if record.key == public_key_bytes(key) and (record.name, set(record.origins)) != (name, set(origins)):
        # a new name or public URL: a verifier_update (signed by the current key) replaces them
        update = {"name": name, "origins": origins, "previous": record.updated_seq}
        try:
            VerifierUpdate.model_validate(update)
        except ValueError as e:
            raise ConfigError(f"verifier update: {e}") from None
        at = publish(key=key, author=verifier_id, entry_type="verifier_update", payload=update)
        record = _resolved(resolve, verifier_id, seq, lambda r: r.updated_seq >= at, wait)
    if record.key != public_key_bytes(key):
        raise ConfigError(
            f"this verifier's database belongs to verifier {verifier_id}, whose current key on the ledger "
            f"(entry {seq} and its rotations) is not this signing key: restore the key (ZKCRED_VERIFIER_SIGNING_KEY "
            "or the key file in the state directory, after `zkcred verifier rotate-key` the rotated one); "
            "a new key is a new verifier, with new pseudonym contexts for every lender"
        )
    if origin not in record.origins:
        raise ConfigError(
            f"verifier {verifier_id} is registered (ledger entry {seq}) with origins {list(record.origins)}, "
            f"not its public URL's origin {origin}: wallets would refuse its requests"
        )
    return VerifierIdentity(key, record.name, record.origins, seq, verifier_id)


def register_from_settings(settings: Any, engine: Engine, client: Any) -> VerifierIdentity:
    """``ensure_registered`` with the key, name and origins of ``verifier.config.Settings``, over HTTP.

    ``ConfigError`` for what the operator must fix, ``ledger.errors.LedgerError`` for a ledger
    that refuses or cannot be read.
    """
    if not settings.public_url:
        raise ConfigError("verifier_url is not set: the verifier registers the origin of its public URL")
    key = load_key(settings.key_file)
    verifier_id = _state(engine, "verifier_id") or verifier_id_of(public_key_bytes(key))
    if settings.verifier_id is not None and settings.verifier_id != verifier_id:
        raise ConfigError(
            f"ZKCRED_VERIFIER_ID says this deployment is {settings.verifier_id}, but its signing key "
            f"({settings.key_file} or ZKCRED_VERIFIER_SIGNING_KEY) and database make it {verifier_id}"
        )
    return ensure_registered(
        engine=engine,
        key=key,
        name=settings.display_name(),
        origins=list(settings.origins),
        public_url=settings.public_url,
        ledger=over_http(client),
    )


def rotate_key(*, engine: Engine, key_file: Path, ledger: Ledger) -> tuple[str, bytes]:
    """Rotate the verifier's key: a ``key_rotation`` on the ledger, signed by the current key; returns
    (verifier id, new public key). The id, the registration and every pseudonym context stay.

    Crash-safe in three steps: the new key is written to ``<key file>.next`` (mode 0600) first,
    then the rotation is published, then the file replaces the key file. Run again after a
    crash, it finishes what is left (the ledger names the next key already: only the rename).
    """
    if os.environ.get(ENV_KEY):
        raise ConfigError(f"{ENV_KEY} holds the key: rotate it where it is kept (a key file can be rotated here)")
    publish, resolve, _ = ledger
    known_id, seq_text = _state(engine, "verifier_id"), _state(engine, "registration_seq")
    if known_id is None or seq_text is None:
        raise ConfigError("this verifier has not registered yet: start it once (`zkcred verifier serve`)")
    current = load_key(key_file)
    pending = Path(f"{key_file}.next")
    following = load_key(pending)  # made on first use, kept if a rotation was interrupted
    record = resolve(known_id, int(seq_text))
    if record.key == public_key_bytes(current):
        publish(
            key=current,
            author=known_id,
            entry_type="key_rotation",
            payload={"new_ledger_key": public_key_bytes(following).hex()},
        )
    elif record.key != public_key_bytes(following):
        raise ConfigError(f"the ledger's current key for {known_id} is neither {key_file}'s nor {pending}'s")
    os.replace(pending, key_file)
    return known_id, public_key_bytes(following)
