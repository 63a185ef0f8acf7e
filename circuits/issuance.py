r"""Issuing a credential with the holder's link secret bound blindly (DESIGN §4, blind BBS).

Roles and steps (anoncreds-rs verbs):

1. Holder, :func:`create_credential_request`: commit to the link secret with a proof of
   knowledge of the opening (blind BBS Commit); keep the prover blind ``s`` secret.
2. Issuer, :func:`create_credential`: check the commitment proof, encode the attribute
   values by the schema (refusing what does not fit), and blind-sign
   ``(revocation handle, expiry, attributes…)`` together with the commitment. The issuer
   never sees the link secret.
3. Holder, :func:`process_credential`: verify the signature over the full message list
   (with its link secret and ``s``) before storing it.

The holder's randomness comes from one ``rng=`` (:mod:`circuits.rng`, default
:func:`secrets.token_bytes`); the issuer's signing is deterministic (BBS ``e`` is hashed).

>>> import datetime, secrets
>>> from circuits import bbs
>>> from circuits.credentials import AttributeSpec, CredentialDefinition, Schema
>>> from circuits.attributes import AttributeType
>>> schema = Schema("id", "1", (AttributeSpec("age", AttributeType.parse("int")),))
>>> sk = bbs.keygen(secrets.token_bytes(32), suite=bbs.SHA256)
>>> d = CredentialDefinition("issuer", schema, "t", bbs.sk_to_pk(sk, suite=bbs.SHA256))
>>> link = create_link_secret()
>>> req, blind_s = create_credential_request(d, link)
>>> sig = create_credential(sk, d, req, {"age": 30}, datetime.date(2030, 1, 1), 0)
>>> process_credential(d, sig, {"age": 30}, datetime.date(2030, 1, 1), 0, None, link, blind_s).values
{'age': 30}
"""

from __future__ import annotations

import datetime as _dt
import secrets
from typing import Any

from circuits.attributes import OFFSET
from circuits.backend import GroupBackend, get_backend
from circuits.bbs import blind, core
from circuits.credentials import Credential, CredentialDefinition
from circuits.errors import EncodingError, ParameterError, VerificationError
from circuits.rng import Rng, random_scalar


def create_link_secret(*, rng: Rng = secrets.token_bytes) -> int:
    """A fresh link secret: a uniform non-zero scalar from ``rng`` (default the OS CSPRNG)."""
    return random_scalar(rng)


def _expiry_scalar(expiry: _dt.date) -> int:
    if not isinstance(expiry, _dt.date) or isinstance(expiry, _dt.datetime):
        raise ParameterError("expiry must be a date")
    return (expiry - _dt.date(1970, 1, 1)).days + OFFSET


def signer_scalars(d: CredentialDefinition, values: dict[str, Any], expiry: _dt.date, handle: int) -> list[int]:
    """(revocation handle, expiry, attributes…) as message scalars, validated by the schema."""
    return [handle, _expiry_scalar(expiry), *d.schema.encode_values(values)]


def create_credential_request(
    d: CredentialDefinition, link_secret: int, *, backend: GroupBackend | None = None, rng: Rng = secrets.token_bytes
) -> tuple[bytes, int]:
    """Holder: (commitment_with_proof bytes, secret prover blind); randomness from ``rng`` (:mod:`circuits.rng`)."""
    be = backend or get_backend()
    cwp, s = blind.core_commit(
        [link_secret], suite=d.bbs_suite(), be=be, random_scalars=lambda n: core.calculate_random_scalars(n, rng)
    )
    return cwp.to_bytes(be), s


def create_credential(
    sk: bytes,
    d: CredentialDefinition,
    request: bytes,
    values: dict[str, Any],
    expiry: _dt.date,
    revocation_handle: int,
    *,
    backend: GroupBackend | None = None,
) -> bytes:
    """Issuer: check the holder's commitment proof, then blind-sign. Returns the 80-byte signature."""
    be = backend or get_backend()
    suite = d.bbs_suite()
    if not request:
        raise EncodingError("the credential request carries no link-secret commitment")
    commitment = blind.deserialize_and_validate_commit(
        request, blind.blind_generators(be, 1, suite=suite), suite=suite, be=be
    )
    scalars = signer_scalars(d, values, expiry, revocation_handle)
    sk_int = core.scalar_from_bytes(sk, nonzero=True)
    return blind.core_blind_sign(sk_int, d.public_key, commitment, 1, d.header, scalars, suite=suite, be=be).to_bytes(
        be
    )


def process_credential(
    d: CredentialDefinition,
    signature: bytes,
    values: dict[str, Any],
    expiry: _dt.date,
    revocation_handle: int,
    revocation_index: int | None,
    link_secret: int,
    prover_blind: int,
    *,
    backend: GroupBackend | None = None,
) -> Credential:
    """Holder: verify what the issuer sent over the full message list; raise VerificationError if it fails."""
    be = backend or get_backend()
    suite = d.bbs_suite()
    sig = core.Signature.from_bytes(be, signature)
    scalars = signer_scalars(d, values, expiry, revocation_handle)
    try:
        blind.core_verify_blind_sign(
            d.public_key, sig, d.header, scalars, [link_secret], prover_blind, suite=suite, be=be
        )
    except VerificationError as e:
        raise VerificationError("the issued credential does not verify") from e
    spec = {a.name: a for a in d.schema.attributes}
    typed = {name: spec[name].type.to_json(v) for name, v in values.items()}
    return Credential(d.id, typed, expiry, revocation_handle, revocation_index, signature, prover_blind)
