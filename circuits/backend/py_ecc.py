"""The reference backend: ``py_ecc.optimized_bls12_381``, pure Python (50–500× slower than blst).

Kept because it is readable and independent of blst: every vector test runs on both,
and a disagreement between them is a bug in one of them.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, cast

# py_ecc raises the interpreter's recursion limit to 100 000 on import, process-wide. With
# that limit a deeply nested JSON body (100 000 "[") overflows the C stack inside the JSON
# decoder and kills a service. Nothing we call in py_ecc recurses deeper than ~260 frames
# (double-and-add on 255-bit scalars), so keep whatever limit was in force before.
_RECURSION_LIMIT = sys.getrecursionlimit()

from py_ecc.bls.hash_to_curve import clear_cofactor_G1, hash_to_G1, map_to_curve_G1
from py_ecc.bls.point_compression import compress_G1, compress_G2, decompress_G1, decompress_G2
from py_ecc.bls.typing import G1Compressed, G1Uncompressed, G2Compressed, G2Uncompressed
from py_ecc.fields import optimized_bls12_381_FQ as FQ
from py_ecc.fields import optimized_bls12_381_FQ12 as FQ12
from py_ecc.optimized_bls12_381 import (
    G1,
    G2,
    Z1,
    Z2,
    add,
    curve_order,
    eq,
    final_exponentiate,
    is_inf,
    multiply,
    neg,
    pairing,
)

sys.setrecursionlimit(_RECURSION_LIMIT)

from circuits.backend._decode import check_compressed
from circuits.constants import G1_BYTES, G2_BYTES
from circuits.errors import NotInSubgroupError, NotOnCurveError

if TYPE_CHECKING:
    from _hashlib import HASH

PointG1 = G1Uncompressed  # projective (x, y, z) over Fp
PointG2 = G2Uncompressed  # over Fp2


class PyEccBackend:
    name = "py_ecc"

    # G1 ---------------------------------------------------------------------------
    def g1_generator(self) -> PointG1:
        return G1

    def g1_identity(self) -> PointG1:
        return Z1

    def g1_add(self, a: PointG1, b: PointG1) -> PointG1:
        return add(a, b)

    def g1_neg(self, a: PointG1) -> PointG1:
        return neg(a)

    def g1_mul(self, a: PointG1, k: int, *, public: bool = False) -> PointG1:
        return multiply(a, k % curve_order)  # py_ecc: variable-time reference (circuits/notes/side-channels.md)

    def g1_msm(self, points: Sequence[PointG1], scalars: Sequence[int], *, public: bool = False) -> PointG1:
        acc = Z1
        for point, k in zip(points, scalars, strict=True):
            acc = add(acc, multiply(point, k % curve_order))
        return acc

    def g1_msm_prepare(self, points: Sequence[PointG1]) -> tuple[PointG1, ...]:
        return tuple(points)

    def g1_msm_prepared(
        self,
        prepared: tuple[PointG1, ...],
        scalars: Sequence[int],
        extra_points: Sequence[PointG1] = (),
        extra_scalars: Sequence[int] = (),
        *,
        public: bool = False,
    ) -> PointG1:
        if len(scalars) > len(prepared) or len(extra_points) != len(extra_scalars):
            raise ValueError("msm needs at most one scalar per prepared base and one per extra point")
        acc = Z1
        for point, k in zip((*prepared[: len(scalars)], *extra_points), (*scalars, *extra_scalars), strict=True):
            k %= curve_order
            if k:
                acc = add(acc, point if k == 1 else multiply(point, k))
        return acc

    def g1_msm_prepared_is_identity(
        self,
        prepared: tuple[PointG1, ...],
        scalars: Sequence[int],
        extra_points: Sequence[PointG1] = (),
        extra_scalars: Sequence[int] = (),
    ) -> bool:
        return is_inf(self.g1_msm_prepared(prepared, scalars, extra_points, extra_scalars, public=True))

    def g1_mark_fixed(self, point: PointG1) -> None:
        """No fixed-base tables in the reference backend."""

    def g1_eq(self, a: PointG1, b: PointG1) -> bool:
        return eq(a, b)

    def g1_is_identity(self, a: PointG1) -> bool:
        return is_inf(a)

    def g1_to_bytes(self, a: PointG1) -> bytes:
        return compress_G1(a).to_bytes(G1_BYTES, "big")

    def g1_from_bytes(self, data: bytes) -> PointG1:
        if check_compressed(data, G1_BYTES):
            return Z1
        if not any(data[1:]) and not data[0] & 0x1F:
            # x = 0: py_ecc's decompress_G1 takes any x = 0 for the point at infinity and
            # refuses it on the flags, but (0, ±2) are on the curve (y² = 0³ + 4) with order 3,
            # outside G1 (draft-irtf-cfrg-sigma-protocols vector A5). Name that failure.
            raise NotInSubgroupError("G1 point (0, ±2) is on the curve but outside the prime-order subgroup")
        try:
            point = decompress_G1(G1Compressed(int.from_bytes(data, "big")))
        except ValueError as e:
            raise NotOnCurveError("not a point on G1") from e
        if not is_inf(multiply(point, curve_order)):
            raise NotInSubgroupError("G1 point outside the prime-order subgroup")
        return point

    # G2 ---------------------------------------------------------------------------

    def g1_from_bytes_msm(self, data: bytes) -> PointG1:
        return self.g1_from_bytes(data)

    def g2_generator(self) -> PointG2:
        return G2

    def g2_identity(self) -> PointG2:
        return Z2

    def g2_add(self, a: PointG2, b: PointG2) -> PointG2:
        return add(a, b)

    def g2_neg(self, a: PointG2) -> PointG2:
        return neg(a)

    def g2_mul(self, a: PointG2, k: int) -> PointG2:
        return multiply(a, k % curve_order)

    def g2_eq(self, a: PointG2, b: PointG2) -> bool:
        return eq(a, b)

    def g2_is_identity(self, a: PointG2) -> bool:
        return is_inf(a)

    def g2_to_bytes(self, a: PointG2) -> bytes:
        z1, z2 = compress_G2(a)
        return z1.to_bytes(G1_BYTES, "big") + z2.to_bytes(G1_BYTES, "big")

    def g2_from_bytes(self, data: bytes) -> PointG2:
        if check_compressed(data, G2_BYTES):
            return Z2
        try:
            x1, x0 = int.from_bytes(data[:G1_BYTES], "big"), int.from_bytes(data[G1_BYTES:], "big")
            point = decompress_G2(G2Compressed((x1, x0)))
        except ValueError as e:
            raise NotOnCurveError("not a point on G2") from e
        if not is_inf(multiply(point, curve_order)):
            raise NotInSubgroupError("G2 point outside the prime-order subgroup")
        return point

    # Hashing and pairing ------------------------------------------------------------
    def hash_to_g1_xmd_sha256(self, msg: bytes, dst: bytes) -> PointG1:
        # py_ecc declares the hash *object* type for what it calls as a constructor: hashlib.sha256 is right.
        return hash_to_G1(msg, dst, cast("HASH", hashlib.sha256))

    def map_to_g1(self, u0: int, u1: int) -> PointG1:
        return clear_cofactor_G1(add(map_to_curve_G1(FQ(u0)), map_to_curve_G1(FQ(u1))))

    def pairing_check(self, pairs: Iterable[tuple[PointG1, PointG2]]) -> bool:
        acc = FQ12.one()
        for p, q in pairs:
            if is_inf(p) or is_inf(q):
                continue
            acc = acc * pairing(q, p, final_exponentiate=False)
        return final_exponentiate(acc) == FQ12.one()
