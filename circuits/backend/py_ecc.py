"""The reference backend: ``py_ecc.optimized_bls12_381``, pure Python (50–500× slower than blst).

Kept because it is readable and independent of blst: every vector test runs on both,
and a disagreement between them is a bug in one of them.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence

# py_ecc raises the interpreter's recursion limit to 100 000 on import, process-wide. With
# that limit a deeply nested JSON body (100 000 "[") overflows the C stack inside the JSON
# decoder and kills a service. Nothing we call in py_ecc recurses deeper than ~260 frames
# (double-and-add on 255-bit scalars), so keep whatever limit was in force before.
_RECURSION_LIMIT = sys.getrecursionlimit()

from py_ecc.bls.hash_to_curve import clear_cofactor_G1, hash_to_G1, map_to_curve_G1
from py_ecc.bls.point_compression import compress_G1, compress_G2, decompress_G1, decompress_G2
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


class PyEccBackend:
    name = "py_ecc"

    # G1 ---------------------------------------------------------------------------
    def g1_generator(self):
        return G1

    def g1_identity(self):
        return Z1

    def g1_add(self, a, b):
        return add(a, b)

    def g1_neg(self, a):
        return neg(a)

    def g1_mul(self, a, k: int, *, public: bool = False):
        return multiply(a, k % curve_order)  # py_ecc: variable-time reference (circuits/notes/side-channels.md)

    def g1_msm(self, points: Sequence, scalars: Sequence[int], *, public: bool = False):
        acc = Z1
        for point, k in zip(points, scalars, strict=True):
            acc = add(acc, multiply(point, k % curve_order))
        return acc

    def g1_msm_prepare(self, points: Sequence):
        return tuple(points)

    def g1_msm_prepared(
        self,
        prepared,
        scalars: Sequence[int],
        extra_points: Sequence = (),
        extra_scalars: Sequence[int] = (),
        *,
        public: bool = False,
    ):
        if len(scalars) > len(prepared) or len(extra_points) != len(extra_scalars):
            raise ValueError("msm needs at most one scalar per prepared base and one per extra point")
        acc = Z1
        for point, k in zip((*prepared[: len(scalars)], *extra_points), (*scalars, *extra_scalars), strict=True):
            k %= curve_order
            if k:
                acc = add(acc, point if k == 1 else multiply(point, k))
        return acc

    def g1_msm_prepared_is_identity(self, prepared, scalars, extra_points=(), extra_scalars=()) -> bool:
        return is_inf(self.g1_msm_prepared(prepared, scalars, extra_points, extra_scalars, public=True))

    def g1_mark_fixed(self, point) -> None:
        """No fixed-base tables in the reference backend."""

    def g1_eq(self, a, b) -> bool:
        return eq(a, b)

    def g1_is_identity(self, a) -> bool:
        return is_inf(a)

    def g1_to_bytes(self, a) -> bytes:
        return compress_G1(a).to_bytes(G1_BYTES, "big")

    def g1_from_bytes(self, data: bytes):
        if check_compressed(data, G1_BYTES):
            return Z1
        if not any(data[1:]) and not data[0] & 0x1F:
            # x = 0: py_ecc's decompress_G1 takes any x = 0 for the point at infinity and
            # refuses it on the flags, but (0, ±2) are on the curve (y² = 0³ + 4) with order 3,
            # outside G1 (draft-irtf-cfrg-sigma-protocols vector A5). Name that failure.
            raise NotInSubgroupError("G1 point (0, ±2) is on the curve but outside the prime-order subgroup")
        try:
            point = decompress_G1(int.from_bytes(data, "big"))
        except ValueError as e:
            raise NotOnCurveError("not a point on G1") from e
        if not is_inf(multiply(point, curve_order)):
            raise NotInSubgroupError("G1 point outside the prime-order subgroup")
        return point

    # G2 ---------------------------------------------------------------------------
    def g2_generator(self):
        return G2

    def g2_identity(self):
        return Z2

    def g2_add(self, a, b):
        return add(a, b)

    def g2_neg(self, a):
        return neg(a)

    def g2_mul(self, a, k: int):
        return multiply(a, k % curve_order)

    def g2_eq(self, a, b) -> bool:
        return eq(a, b)

    def g2_is_identity(self, a) -> bool:
        return is_inf(a)

    def g2_to_bytes(self, a) -> bytes:
        z1, z2 = compress_G2(a)
        return z1.to_bytes(G1_BYTES, "big") + z2.to_bytes(G1_BYTES, "big")

    def g2_from_bytes(self, data: bytes):
        if check_compressed(data, G2_BYTES):
            return Z2
        try:
            point = decompress_G2((int.from_bytes(data[:G1_BYTES], "big"), int.from_bytes(data[G1_BYTES:], "big")))
        except ValueError as e:
            raise NotOnCurveError("not a point on G2") from e
        if not is_inf(multiply(point, curve_order)):
            raise NotInSubgroupError("G2 point outside the prime-order subgroup")
        return point

    # Hashing and pairing ------------------------------------------------------------
    def hash_to_g1_xmd_sha256(self, msg: bytes, dst: bytes):
        return hash_to_G1(msg, dst, hashlib.sha256)

    def map_to_g1(self, u0: int, u1: int):
        return clear_cofactor_G1(add(map_to_curve_G1(FQ(u0)), map_to_curve_G1(FQ(u1))))

    def pairing_check(self, pairs) -> bool:
        acc = FQ12.one()
        for p, q in pairs:
            if is_inf(p) or is_inf(q):
                continue
            acc = acc * pairing(q, p, final_exponentiate=False)
        return final_exponentiate(acc) == FQ12.one()
