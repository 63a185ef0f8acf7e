r"""The issuer's side of the revocation accumulator: handles, setup, witnesses, revocation.

Notation (Nguyen CT-RSA 2005; Vitto–Biryukov CT-RSA 2022): ``P1``, ``P2`` the G1 and
G2 generators; registry secret ``α``; public key ``Q = α·P2``; handles ``y_i``;
accumulator value ``V``; witness ``C`` of ``y`` with ``(y + α)·C = V``, i.e.

    e(C, Q + y·P2) = e(V, P2)

Relation a witness proves (checked in the clear by :func:`circuits.accumulator.witness.verify_witness`,
in zero knowledge by :mod:`circuits.accumulator.proof`)::

    R = { (V, Q; y, C) :  e(C, Q + y·P2) = e(V, P2) }

Issuer steps:

1. :func:`setup_registry` — draw ``α`` (from ``rng``, default :func:`secrets.token_bytes`),
   ``Q = α·P2``, ``V0 = (∏_{i<N} (y_i + α))·P1``: the product is taken over scalars,
   then ONE multiplication. Nothing is published per handle: no tails file.
2. :func:`issue_witness` — ``C_i = (y_i + α)^{-1}·V`` for the current ``V``.
3. :func:`revoke` — ``V' = (y_j + α)^{-1}·V``; the public event is ``(y_j, V')``.
   :func:`revoke_batch` publishes every intermediate value
   ``V_j = (∏_{l≤j} (y_l + α))^{-1}·V`` (one inversion for the batch), so holders update
   one event at a time and every prefix of the batch is a valid state.

Handles (a departure from "hash each handle with the generic code", for speed, not in
the output): ``y_i = hash_to_scalar(registry_id || I2OSP(i, 8), ACCUMULATOR_HANDLE_DST)``
exactly as the BBS draft's hash_to_scalar with RFC 9380 ``expand_message_xmd``/SHA-256
(48 bytes, reduced mod r). :func:`handles` computes the same bytes with the constant
prefix ``Z_pad || registry_id`` absorbed once, so a handle costs three SHA-256
compressions and no Python-level framing; tests compare it with
:meth:`circuits.hashing.Expander.hash_to_scalar`. Setting up N = 10^6 is dominated by
these hashes (see circuits/notes/accumulator.md for the figures).

>>> from circuits.backend import get_backend
>>> be = get_backend()
>>> sk, reg = setup_registry(b"doc-registry", 8, backend=be)
>>> y = handle(b"doc-registry", 3)
>>> C = issue_witness(sk, reg.V0, y, backend=be)
>>> event = revoke(sk, reg.V0, handle(b"doc-registry", 5), backend=be)
>>> RevocationEvent.from_bytes(be, event.to_bytes(be)).to_bytes(be) == event.to_bytes(be)
True

See circuits/notes/accumulator.md.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from circuits import constants as k
from circuits.backend import GroupBackend
from circuits.backend.interface import G1, G2
from circuits.bbs.core import g1_from_bytes_nonidentity, scalar_from_bytes, scalar_to_bytes
from circuits.constants import G1_BYTES, G2_BYTES, SCALAR_BYTES, R
from circuits.errors import EncodingError, IdentityPointError, ParameterError, VerificationError
from circuits.hashing import i2osp, os2ip
from circuits.rng import Rng, random_scalar

#: Largest registry capacity accepted (handles are indexed by 8 bytes; this bounds setup time).
MAX_CAPACITY = 1 << 26


class RevokedError(VerificationError):
    """The handle was removed from the accumulator: its witness can never be valid again.

    A :class:`~circuits.errors.VerificationError` (the credential no longer proves
    membership) that callers can tell apart from a malformed witness or proof; role
    logic maps it to ``CredentialError(kind=REVOKED)``.
    """


def random_nonzero_scalar(rng: Rng = secrets.token_bytes) -> int:
    """A uniform scalar in [1, r) from 48 bytes of ``rng`` (RFC 9380 L = 48: bias ≤ 2^-128).

    See :func:`circuits.rng.random_scalar`.
    """
    return random_scalar(rng)


# Handles ----------------------------------------------------------------------------


def _check_index(index: int) -> None:
    if isinstance(index, bool) or not isinstance(index, int):
        raise TypeError("a handle index is an int")
    if not 0 <= index < 1 << 64:
        raise ParameterError(f"handle index {index} outside [0, 2^64)")


def handles(registry_id: bytes, stop: int, start: int = 0) -> list[int]:
    """``[y_start, …, y_{stop-1}]``: each ``hash_to_scalar(registry_id || I2OSP(i, 8))``.

    Byte-identical to ``XMD_SHA256.hash_to_scalar(msg, ACCUMULATOR_HANDLE_DST)``; the
    RFC 9380 §5.3.1 steps are unrolled for ``len_in_bytes = 48`` (ell = 2).

    >>> from circuits.hashing import XMD_SHA256
    >>> handles(b"r", 2) == [XMD_SHA256.hash_to_scalar(b"r" + i2osp(i, 8), k.ACCUMULATOR_HANDLE_DST) for i in (0, 1)]
    True
    """
    return list(_iter_handles(registry_id, start, stop))


def _iter_handles(registry_id: bytes, start: int, stop: int) -> Iterator[int]:
    if start > stop:
        raise ParameterError("handle range is empty")
    if start < stop:
        _check_index(start)
        _check_index(stop - 1)
    dst = k.ACCUMULATOR_HANDLE_DST
    dst_prime = dst + i2osp(len(dst), 1)
    prefix = hashlib.sha256(bytes(64) + bytes(registry_id))  # Z_pad || msg prefix
    tail0 = i2osp(48, 2) + b"\x00" + dst_prime  # l_i_b_str || I2OSP(0, 1) || DST_prime
    tail1, tail2 = b"\x01" + dst_prime, b"\x02" + dst_prime
    sha256, from_bytes = hashlib.sha256, int.from_bytes
    for i in range(start, stop):
        h0 = prefix.copy()
        h0.update(i.to_bytes(8, "big") + tail0)
        b0 = h0.digest()
        b1 = sha256(b0 + tail1).digest()
        b2 = sha256((from_bytes(b0, "big") ^ from_bytes(b1, "big")).to_bytes(32, "big") + tail2).digest()
        yield from_bytes(b1 + b2[:16], "big") % R


def handle(registry_id: bytes, index: int) -> int:
    """The revocation handle ``y_index`` of a registry (the credential's hidden message)."""
    _check_index(index)
    return next(_iter_handles(registry_id, index, index + 1))


# Registry ---------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class RegistrySecret:
    """The issuer's secret ``α`` of one registry; never serialised by circuits, never ``repr``'d."""

    alpha: int = field(repr=False)

    def __repr__(self) -> str:
        return "RegistrySecret(<secret>)"


@dataclass(frozen=True)
class RegistryPublic:
    """What the ledger publishes for a registry: id, capacity ``N``, ``Q = α·P2``, ``V0``."""

    registry_id: bytes
    capacity: int
    Q: G2
    V0: G1

    def to_bytes(self, be: GroupBackend) -> bytes:
        """``I2OSP(len(id), 2) || id || I2OSP(N, 8) || Q || V0``."""
        rid = self.registry_id
        return i2osp(len(rid), 2) + rid + i2osp(self.capacity, 8) + be.g2_to_bytes(self.Q) + be.g1_to_bytes(self.V0)

    @classmethod
    def from_bytes(cls, be: GroupBackend, data: bytes) -> RegistryPublic:
        """Strict: exact length, ``1 ≤ N ≤ MAX_CAPACITY``, ``Q`` and ``V0`` in their groups and not the identity."""
        data = bytes(data)
        if len(data) < 2:
            raise EncodingError("registry too short")
        n = os2ip(data[:2])
        if len(data) != 2 + n + 8 + G2_BYTES + G1_BYTES:
            raise EncodingError(f"a registry with a {n}-byte id is {2 + n + 8 + G2_BYTES + G1_BYTES} bytes")
        rid, off = data[2 : 2 + n], 2 + n
        capacity = os2ip(data[off : off + 8])
        if not 1 <= capacity <= MAX_CAPACITY:
            raise EncodingError(f"registry capacity {capacity} outside [1, {MAX_CAPACITY}]")
        Q = be.g2_from_bytes(data[off + 8 : off + 8 + G2_BYTES])
        if be.g2_is_identity(Q):
            raise IdentityPointError("registry key Q is the identity")
        V0 = g1_from_bytes_nonidentity(be, data[off + 8 + G2_BYTES :])
        return cls(rid, capacity, Q, V0)


def setup_registry(
    registry_id: bytes, capacity: int, *, backend: GroupBackend, rng: Rng = secrets.token_bytes
) -> tuple[RegistrySecret, RegistryPublic]:
    """Step 1: ``α``, ``Q = α·P2``, ``V0 = (∏_{i<N} (y_i + α))·P1`` (scalar product, one multiplication).

    ``∏ (y_i + α) = 0`` would need ``α = −y_i`` for some i (probability N/r); ``α`` is then drawn again.
    """
    if isinstance(capacity, bool) or not isinstance(capacity, int):
        raise TypeError("capacity is an int")
    if not 1 <= capacity <= MAX_CAPACITY:
        raise ParameterError(f"registry capacity {capacity} outside [1, {MAX_CAPACITY}]")
    registry_id = bytes(registry_id)
    if len(registry_id) > 0xFFFF:
        raise ParameterError("registry id longer than 65535 bytes")
    while True:
        alpha = random_nonzero_scalar(rng)
        acc = 1
        for y in _iter_handles(registry_id, 0, capacity):
            acc = acc * (y + alpha) % R
        if acc:
            break
    Q = backend.g2_mul(backend.g2_generator(), alpha)
    V0 = backend.g1_mul(backend.g1_generator(), acc)
    return RegistrySecret(alpha), RegistryPublic(registry_id, capacity, Q, V0)


def _inverse_shift(secret: RegistrySecret, y: int) -> int:
    s = (y + secret.alpha) % R
    if s == 0:  # y = −α: only someone who knows α could pick it
        raise ParameterError("handle is −α")
    return pow(s, -1, R)


def issue_witness(secret: RegistrySecret, V: G1, y: int, *, backend: GroupBackend) -> G1:
    """Step 2: ``C = (y + α)^{-1}·V`` — the witness of ``y`` against the current value ``V``."""
    return backend.g1_mul(V, _inverse_shift(secret, y))


# Revocation -------------------------------------------------------------------------


@dataclass(frozen=True)
class RevocationEvent:
    """The public record of one revocation: the handle ``y`` removed and the new value ``V``."""

    y: int
    V: G1

    SIZE = SCALAR_BYTES + G1_BYTES

    def to_bytes(self, be: GroupBackend) -> bytes:
        """``y || V`` (32 + 48 bytes)."""
        return scalar_to_bytes(self.y) + be.g1_to_bytes(self.V)

    @classmethod
    def from_bytes(cls, be: GroupBackend, data: bytes) -> RevocationEvent:
        """Strict: 80 bytes, ``y < r``, ``V`` in G1 and not the identity."""
        if len(data) != cls.SIZE:
            raise EncodingError(f"a revocation event is {cls.SIZE} bytes, got {len(data)}")
        return cls(scalar_from_bytes(data[:SCALAR_BYTES]), g1_from_bytes_nonidentity(be, data[SCALAR_BYTES:]))


def revoke(secret: RegistrySecret, V: G1, y: int, *, backend: GroupBackend) -> RevocationEvent:
    """Step 3: ``V' = (y + α)^{-1}·V``; returns the event ``(y, V')`` to publish."""
    return RevocationEvent(y % R, backend.g1_mul(V, _inverse_shift(secret, y)))


def revoke_batch(secret: RegistrySecret, V: G1, ys: Sequence[int], *, backend: GroupBackend) -> list[RevocationEvent]:
    """Step 3 for several handles: one event per handle, each with its intermediate value.

    ``V_j = s_j·V`` with ``s_j = (∏_{l≤j} (y_l + α))^{-1}``: the prefix products are
    inverted with one ``pow`` (``s_{j-1} = s_j·(y_j + α)``), then one multiplication each.
    Equal to calling :func:`revoke` in sequence.
    """
    ys = [y % R for y in ys]
    if len(set(ys)) != len(ys):
        raise ParameterError("a handle appears twice in the batch")
    shifts = [(y + secret.alpha) % R for y in ys]
    if not all(shifts):
        raise ParameterError("handle is −α")
    prefix = 1
    for s in shifts:
        prefix = prefix * s % R
    inv = pow(prefix, -1, R) if ys else 1
    factors = [0] * len(ys)
    for j in range(len(ys) - 1, -1, -1):
        factors[j] = inv
        inv = inv * shifts[j] % R
    return [RevocationEvent(y, backend.g1_mul(V, f)) for y, f in zip(ys, factors, strict=True)]
