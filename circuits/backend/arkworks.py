"""Optional bridge to ``py_arkworks_bls12381``'s native multi-scalar multiplication (the ``fast`` extra).

This is not a third :class:`~circuits.backend.interface.GroupBackend`: arkworks' single
multiplication (~0.27 ms) is 2–3× slower than blst's (~0.11 ms) and its pairing check is
slower too, so a whole backend on it would lose everywhere except in one place — the
multi-scalar multiplications of range proofs. The blst backend therefore *mixes*: it
keeps blst points everywhere and hands large MSMs to this module (see
``circuits/backend/blst.py`` for the crossover and ``circuits/notes/range-proof.md``
for the numbers).

Facts about py_arkworks_bls12381 0.5.0 this module relies on (held by
``tests/circuits/test_msm.py``):

- ``G1Point.to_compressed_bytes`` is the ZCash encoding, byte-identical to blst's
  ``compress`` (identity ``c0 00…00`` included), so points cross over as 48 bytes.
- ``from_compressed_bytes_unchecked`` skips the subgroup check (~38 µs instead of
  ~90 µs). Only points that blst already holds — decoded strictly or computed — are
  converted this way; results come back through blst's strict ``uncompress``.
- ``Scalar.from_le_bytes`` takes 32 little-endian bytes < r (~0.3 µs; ``Scalar(int)`` is
  ~7 µs, so scalars are converted through bytes).
- ``multiexp_unchecked`` is Pippenger over rayon threads; its cost falls with the bit
  length of the scalars, and zero scalars are filtered out here before the call.
"""

from __future__ import annotations

from collections.abc import Sequence

from circuits.constants import R

try:  # the ``fast`` extra
    from py_arkworks_bls12381 import G1Point, Scalar

    AVAILABLE = True
except ImportError:  # pragma: no cover - exercised on installs without the extra
    AVAILABLE = False


def from_compressed(data: bytes) -> G1Point:
    """An arkworks point from the compressed bytes of a point already known to be in G1."""
    return G1Point.from_compressed_bytes_unchecked(bytes(data))


def from_compressed_checked(data: bytes) -> G1Point:
    """A point from compressed bytes that already passed the ZCash flag and range checks
    (:func:`circuits.backend._decode.check_compressed`): arkworks decodes x, refuses it if
    it is not on the curve, and refuses a point outside the prime-order subgroup
    (``from_compressed_bytes`` is its checked decoder). Raises ValueError on either."""
    return G1Point.from_compressed_bytes(bytes(data))


def to_compressed(point: G1Point) -> bytes:
    return bytes(point.to_compressed_bytes())


def identity() -> G1Point:
    return G1Point.identity()


def terms(points: Sequence[G1Point], scalars: Sequence[int]) -> tuple[list[G1Point], list[Scalar]]:
    """The non-zero terms of ``Σ scalars[i]·points[i]``, scalars (any ints, reduced mod r) converted."""
    pts, ks = [], []
    for point, k in zip(points, scalars, strict=True):
        k %= R
        if k:
            pts.append(point)
            ks.append(Scalar.from_le_bytes(k.to_bytes(32, "little")))
    return pts, ks


def multiexp_terms(points: list[G1Point], scalars: list[Scalar]) -> G1Point:
    """Σ scalars[i]·points[i] over converted terms (:func:`terms`); releases the GIL while it runs."""
    return G1Point.multiexp_unchecked(points, scalars) if points else G1Point.identity()


def multiexp(points: Sequence[G1Point], scalars: Sequence[int]) -> G1Point:
    """Σ scalars[i]·points[i] over arkworks points; scalars are any ints (reduced mod r)."""
    return multiexp_terms(*terms(points, scalars))
