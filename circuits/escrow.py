r"""Escrow: ElGamal in G1 of one signed attribute, to an auditor (issue 16 item 2).

An auditor's key pair is ``x`` (a scalar) and ``PK = x·G`` (``G`` the G1 generator). A
holder escrows the message scalar ``m`` of a hidden attribute as::

    C1 = r·G        C2 = m·H_e + r·PK        H_e = hash_to_curve_g1("H_escrow", ESCROW_GENERATOR_DST)

with a fresh ``r``; the presentation proves it encrypts the *signed* ``m``
(:mod:`circuits.statements.escrow`). The auditor computes ``C2 − x·C1 = m·H_e`` and must
then find ``m``: ElGamal "in the exponent" gives ``m·H_e``, not ``m``. :func:`recover`
does that two ways:

- **a numeric attribute whose type spans at most** :data:`~circuits.constants.ESCROW_MAX_SPAN`
  values (an issuer-assigned ``int(0..4294967295)`` escrow id, a customer number): the
  value by baby-step giant-step, ``2·√span`` group additions (2^17 for 2^32);
- **any attribute, given candidates** (the issuer's records of what it issued — national
  ids, customer numbers): the candidate ``v`` with ``encode(v)·H_e = m·H_e``.

The design this supports (circuits/notes/escrow.md): the escrowed attribute is an
issuer-assigned escrow id, unique per holder; the auditor recovers it alone, and the
issuer's record of who got that id identifies the holder.

>>> from circuits.backend import get_backend
>>> from circuits.attributes import AttributeType
>>> be = get_backend(); x = 5; pk = be.g1_mul(be.g1_generator(), x)
>>> t = AttributeType.parse("int(0..1000)")
>>> ct = encrypt(be, pk, t.encode(417), 11)
>>> recover(be, decrypt(be, x, ct), t)
417
>>> Ciphertext.from_bytes(be, ct.to_bytes(be)).to_bytes(be) == ct.to_bytes(be)
True
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from circuits import constants as k
from circuits.attributes import OFFSET, AttributeType
from circuits.backend import GroupBackend
from circuits.bbs.core import g1_from_bytes_nonidentity
from circuits.codec import b64e
from circuits.errors import EncodingError, ParameterError, ZkCredError
from circuits.hashing import XMD_SHA256
from circuits.rng import Rng, random_scalar

__all__ = [
    "Ciphertext",
    "Escrowed",
    "decrypt",
    "encrypt",
    "escrow_base",
    "new_secret_key",
    "parse_public_key",
    "public_key",
    "recover",
]


_BASES: dict[str, Any] = {}


def escrow_base(be: GroupBackend) -> Any:
    """``H_e``: nobody knows its discrete log to ``G`` (hash_to_curve with its own DST), cached per backend."""
    if be.name not in _BASES:
        _BASES[be.name] = XMD_SHA256.hash_to_g1(be, k.ESCROW_H_LABEL, k.ESCROW_GENERATOR_DST)
    return _BASES[be.name]


def new_secret_key(rng: Rng = secrets.token_bytes) -> int:
    """An auditor's secret ``x`` (uniform, non-zero)."""
    return random_scalar(rng)


def public_key(be: GroupBackend, x: int) -> bytes:
    """``PK = x·G``, compressed (48 bytes): what the auditor registers on the ledger."""
    if not 0 < x < k.R:
        raise ParameterError("an escrow secret key is a non-zero scalar")
    return be.g1_to_bytes(be.g1_mul(be.g1_generator(), x))


def parse_public_key(be: GroupBackend, data: bytes) -> Any:
    """The point of a registered key: in G1, not the identity (strict decoding)."""
    return g1_from_bytes_nonidentity(be, bytes(data))


@dataclass(frozen=True, eq=False)
class Ciphertext:
    """``(C1, C2)``; its bytes are ``C1 ‖ C2`` (96), its :meth:`digest` names it on the ledger."""

    c1: Any
    c2: Any

    def to_bytes(self, be: GroupBackend) -> bytes:
        return be.g1_to_bytes(self.c1) + be.g1_to_bytes(self.c2)

    @classmethod
    def from_bytes(cls, be: GroupBackend, data: bytes) -> Ciphertext:
        if len(data) != 2 * k.G1_BYTES:
            raise EncodingError(f"an escrow ciphertext is {2 * k.G1_BYTES} bytes")
        n = k.G1_BYTES
        return cls(g1_from_bytes_nonidentity(be, data[:n]), g1_from_bytes_nonidentity(be, data[n:]))

    def digest(self, be: GroupBackend) -> str:
        """SHA-256 of the bytes, hex: how a decryption record names what it opened."""
        return hashlib.sha256(self.to_bytes(be)).hexdigest()


def encrypt(be: GroupBackend, pk: Any, m: int, r: int) -> Ciphertext:
    """``(r·G, m·H_e + r·PK)``: two fixed-base multiplications and one two-term MSM."""
    return Ciphertext(be.g1_mul(be.g1_generator(), r), be.g1_msm([escrow_base(be), pk], [m % k.R, r % k.R]))


def decrypt(be: GroupBackend, x: int, ct: Ciphertext) -> Any:
    """``C2 − x·C1 = m·H_e`` (one multiplication)."""
    return be.g1_add(ct.c2, be.g1_neg(be.g1_mul(ct.c1, x)))


def recover(be: GroupBackend, M: Any, attr_type: AttributeType, candidates: Iterable[Any] = ()) -> Any:
    """The value ``v`` of ``attr_type`` with ``encode(v)·H_e = M``, or None if none is found.

    ``candidates`` are tried first (the issuer's records); a numeric type spanning at most
    :data:`~circuits.constants.ESCROW_MAX_SPAN` values is then searched whole.
    """
    H = escrow_base(be)
    for v in candidates:
        try:
            m = attr_type.encode(v)
        except ZkCredError:
            continue
        if be.g1_eq(be.g1_mul(H, m, public=True), M):
            return v
    if not attr_type.numeric:
        return None
    lo, hi = attr_type.value_range
    span = hi - lo + 1
    if span > k.ESCROW_MAX_SPAN:
        return None
    j = _bsgs(be, be.g1_add(M, be.g1_neg(be.g1_mul(H, lo + OFFSET, public=True))), H, span)
    return None if j is None else attr_type.from_int(lo + j)


def _bsgs(be: GroupBackend, target: Any, H: Any, span: int) -> int | None:
    """``j ∈ [0, span)`` with ``target = j·H`` (baby-step giant-step), or None."""
    n = math.isqrt(span - 1) + 1
    table: dict[bytes, int] = {}
    P = be.g1_identity()
    for i in range(n):
        table.setdefault(be.g1_to_bytes(P), i)
        P = be.g1_add(P, H)
    step = be.g1_neg(P)  # −n·H
    Q = target
    for g in range(n + 1):
        baby = table.get(be.g1_to_bytes(Q))
        if baby is not None and g * n + baby < span:
            return g * n + baby
        Q = be.g1_add(Q, step)
    return None


@dataclass(frozen=True)
class Escrowed:
    """What a verified presentation escrowed: the clause it answers and the ciphertext's bytes."""

    auditor: str
    attribute: str
    type: str  # the attribute's type (how the auditor recovers its value)
    label: str
    request_id: str
    ciphertext: bytes  # C1 ‖ C2

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.ciphertext).hexdigest()

    def to_json(self) -> dict[str, str]:
        return {
            "auditor": self.auditor,
            "attribute": self.attribute,
            "type": self.type,
            "label": self.label,
            "request_id": self.request_id,
            "ciphertext": b64e(self.ciphertext),
            "id": self.digest,
        }
