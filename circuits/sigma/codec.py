r"""Codecs and NARG-string (de)serialization of draft-irtf-cfrg-fiat-shamir, and the BLS12-381 pins.

Two kinds of maps (§"Codec and serialization"):

- *Serialization* writes prover messages into the NARG string; *deserialization* reads
  them back and **rejects** anything non-canonical: short input, integers ``≥ M``, bad
  points. Every ``deserialize_*`` returns ``(value, rest)``: the unread remainder is the
  input of the next read, and the caller checks that nothing remains (§"Deserialization").
- *Decoding* turns squeezed bytes into a verifier message. It is infallible and only
  needs to preserve the uniform distribution: ``DecodeUint`` reads ``Ns + 16`` bytes
  **little-endian** and reduces mod ``M`` (§"Unsigned integers" under "Decoding").

The generic functions (``LE``, ``SerializeUint``, ``DeserializeField``, …) take any
modulus, so the draft's codec vectors (P-256's order, ``2^256 − 189``, Mersenne31) run
against them. The sigma-protocols ciphersuite ``sigma-proofs_Shake128_BLS12381`` pins the
standard's own serializations in place of the default (§"Field elements" allows it):

- scalars: ``I2OSP(s, 32)``, big-endian; deserialization fails unless ``s < r``;
- G1 elements: the 48-byte compressed encoding (ZCash / pairing-friendly-curves App. C),
  full validation by the backend (flags, ``x < p``, on curve, in the subgroup), and the
  point at infinity is rejected on both sides.

The challenge is ``DecodeField(Squeeze(Ns + 16), r, 1)`` = ``LE2IP(48 bytes) mod r``
(sigma draft §"Ciphersuites"); note the little-endian read against the big-endian
scalar serialization. Random scalars use the same map over ``rng(48)`` (§"Scalars":
RECOMMENDED; no rejection sampling).

>>> le(0xdeadbeef, 4).hex(), le2ip(bytes.fromhex("efbeadde"))
('efbeadde', 3735928559)
>>> deserialize_uint(bytes.fromhex("05"), 5)
Traceback (most recent call last):
...
circuits.errors.ScalarOutOfRangeError: integer 5 is not below the modulus 5
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from typing import Literal

from circuits.backend import GroupBackend
from circuits.backend.interface import G1
from circuits.constants import G1_BYTES, SCALAR_BYTES, R
from circuits.errors import EncodingError, IdentityPointError, ScalarOutOfRangeError

Rng = Callable[[int], bytes]

__all__ = [
    "NE",
    "NS",
    "Rng",
    "le",
    "le2ip",
    "byte_length",
    "serialize_bytes",
    "deserialize_bytes",
    "serialize_varlen_string",
    "deserialize_varlen_string",
    "serialize_uint",
    "deserialize_uint",
    "serialize_field",
    "deserialize_field",
    "decode_bytes",
    "decode_uint",
    "decode_field",
    "scalar_to_bytes",
    "serialize_scalars",
    "deserialize_scalars",
    "serialize_elements",
    "deserialize_elements",
    "decode_challenge",
    "random_scalar",
]

#: Group element and scalar byte lengths of sigma-proofs_Shake128_BLS12381.
NE = G1_BYTES
NS = SCALAR_BYTES


# Integers ---------------------------------------------------------------------------------


def le(n: int, w: int) -> bytes:
    """``LE(n, w)``: ``n`` as ``w`` little-endian bytes; fails if ``n`` is negative or ``≥ 256^w``."""
    if n < 0 or n >= 1 << (8 * w):
        raise ValueError(f"{n} does not fit in {w} bytes")
    return n.to_bytes(w, "little")


def le2ip(x: bytes) -> int:
    """``LE2IP(x)``: a byte string read as a little-endian non-negative integer."""
    return int.from_bytes(x, "little")


def byte_length(modulus: int) -> int:
    """``Ns``: the smallest integer with ``256^Ns ≥ modulus``."""
    if modulus < 2:
        raise ValueError("a modulus is at least 2")
    return ((modulus - 1).bit_length() + 7) // 8


# Serialization (prover messages) ----------------------------------------------------------


def serialize_bytes(s: bytes) -> bytes:
    """``SerializeBytes``: the identity; only for a length both sides fix in advance."""
    return bytes(s)


def deserialize_bytes(data: bytes, n: int) -> tuple[bytes, bytes]:
    """``DeserializeBytes(input, N)``: the first ``N`` bytes and the rest; fails if fewer remain."""
    if n < 0:
        raise ValueError("negative length")
    if len(data) < n:
        raise EncodingError(f"need {n} bytes, {len(data)} remain")
    return bytes(data[:n]), bytes(data[n:])


def serialize_varlen_string(s: bytes) -> bytes:
    """``SerializeVarLenString``: ``LE(len(s), 4) || s`` (prefix-free)."""
    return le(len(s), 4) + bytes(s)


def deserialize_varlen_string(data: bytes) -> tuple[bytes, bytes]:
    """``DeserializeVarLenString``: a 4-byte little-endian length ``N``, then ``N`` bytes.

    The length is attacker-controlled (up to ``2^32 − 1``): it is compared with what
    remains before anything is allocated (§"Implementation guidance").
    """
    if len(data) < 4:
        raise EncodingError("a variable-length string needs a 4-byte length")
    n = le2ip(data[:4])
    if len(data) - 4 < n:
        raise EncodingError(f"length prefix {n} exceeds the {len(data) - 4} bytes that follow")
    return bytes(data[4 : 4 + n]), bytes(data[4 + n :])


def serialize_uint(x: int, modulus: int, byte_order: str = "little") -> bytes:
    """``SerializeUint(x, M)``: the representative in ``[0, M)`` on ``Ns`` bytes.

    ``byte_order="big"`` is the pinned ``I2OSP`` variant (P-256, BLS12-381 scalars).
    """
    if not 0 <= x < modulus:
        raise ValueError(f"{x} is not in [0, {modulus})")
    return x.to_bytes(byte_length(modulus), _order(byte_order))


def deserialize_uint(data: bytes, modulus: int, byte_order: str = "little") -> tuple[int, bytes]:
    """``DeserializeUint(input, M)``: read ``Ns`` bytes; fail if fewer remain or the value is ``≥ M``."""
    ns = byte_length(modulus)
    if len(data) < ns:
        raise EncodingError(f"need {ns} bytes for an integer mod M, {len(data)} remain")
    x = int.from_bytes(data[:ns], _order(byte_order))
    if x >= modulus:
        raise ScalarOutOfRangeError(f"integer {x} is not below the modulus {modulus}")
    return x, bytes(data[ns:])


def serialize_field(coords: Sequence[int], p: int, byte_order: str = "little") -> bytes:
    """``SerializeField(a, p, m)``: each of the ``m = len(coords)`` coordinates via ``SerializeUint``."""
    return b"".join(serialize_uint(a, p, byte_order) for a in coords)


def deserialize_field(data: bytes, p: int, m: int, byte_order: str = "little") -> tuple[tuple[int, ...], bytes]:
    """``DeserializeField(input, p, m)``: ``m`` coordinates, every one of them checked ``< p``."""
    coords = []
    for _ in range(m):
        a, data = deserialize_uint(data, p, byte_order)
        coords.append(a)
    return tuple(coords), data


def _order(byte_order: str) -> Literal["little", "big"]:
    if byte_order == "little":
        return "little"
    if byte_order == "big":
        return "big"
    raise ValueError("byte_order is 'little' or 'big'")


# Decoding (verifier messages) -------------------------------------------------------------


def decode_bytes(buf: bytes, n: int) -> bytes:
    """``DecodeBytes(buf, N)``: the identity on ``N`` bytes."""
    if len(buf) != n:
        raise ValueError(f"DecodeBytes expects {n} bytes")
    return bytes(buf)


def decode_uint(buf: bytes, modulus: int) -> int:
    """``DecodeUint(buf, M)``: ``LE2IP(buf) mod M`` over exactly ``Ns + 16`` bytes (bias ≤ 2^-128)."""
    if len(buf) != byte_length(modulus) + 16:
        raise ValueError(f"DecodeUint expects {byte_length(modulus) + 16} bytes")
    return le2ip(buf) % modulus


def decode_field(buf: bytes, p: int, m: int = 1) -> tuple[int, ...]:
    """``DecodeField(buf, p, m)``: ``m`` chunks of ``Ns + 16`` bytes, each through ``DecodeUint``."""
    width = byte_length(p) + 16
    if len(buf) != m * width:
        raise ValueError(f"DecodeField expects {m * width} bytes")
    return tuple(decode_uint(buf[i * width : (i + 1) * width], p) for i in range(m))


# The BLS12-381 pins -----------------------------------------------------------------------


def scalar_to_bytes(s: int) -> bytes:
    """``Scalar.serialize([s])``: ``I2OSP(s, 32)``; ``s`` must already be in ``[0, r)``."""
    return serialize_uint(s, R, "big")


def serialize_scalars(scalars: Sequence[int]) -> bytes:
    """``Scalar.serialize(scalars)``: ``32·N`` bytes."""
    return b"".join(scalar_to_bytes(s) for s in scalars)


def deserialize_scalars(data: bytes, count: int) -> tuple[list[int], bytes]:
    """``Scalar.deserialize``: ``count`` canonical scalars (each ``< r``) and the rest."""
    out = []
    for _ in range(count):
        s, data = deserialize_uint(data, R, "big")
        out.append(s)
    return out, data


def serialize_elements(be: GroupBackend, points: Sequence[G1]) -> bytes:
    """``Group.serialize(elements)``: compressed G1 points; **fails on the identity** (§"Group elements")."""
    out = []
    for point in points:
        if be.g1_is_identity(point):
            raise IdentityPointError("the identity has no serialization in this ciphersuite")
        out.append(be.g1_to_bytes(point))
    return b"".join(out)


def deserialize_elements(be: GroupBackend, data: bytes, count: int) -> tuple[list[G1], bytes]:
    """``Group.deserialize``: ``count`` fully validated G1 points, none the identity, and the rest.

    The backend's strict decoding rejects the uncompressed form (compression flag clear),
    bad flag bits, ``x ≥ p``, points off the curve and points outside the subgroup, each
    with its own :class:`~circuits.errors.EncodingError`; the identity ``c0 00…00``
    decodes there and is refused here with :class:`~circuits.errors.IdentityPointError`.
    """
    out = []
    for _ in range(count):
        chunk, data = deserialize_bytes(data, NE)
        point = be.g1_from_bytes(chunk)
        if be.g1_is_identity(point):
            raise IdentityPointError("the identity is not a valid group element here")
        out.append(point)
    return out, data


def decode_challenge(buf: bytes) -> int:
    """The challenge: ``DecodeField(buf, r, 1)`` over ``Ns + 16 = 48`` squeezed bytes."""
    return decode_field(buf, R, 1)[0]


def random_scalar(rng: Rng = secrets.token_bytes) -> int:
    """``Group.random_scalar(rng)``: ``DecodeField(rng(48), r, 1)`` — straight-line, bias ≤ 2^-128.

    ``rng(n)`` returns ``n`` bytes: :func:`secrets.token_bytes` by default; the draft's
    seeded test PRNG is a duplex sponge squeezed the same way.
    """
    buf = rng(NS + 16)
    if len(buf) != NS + 16:
        raise ValueError("rng returned the wrong number of bytes")
    return decode_challenge(buf)
