"""The default backend: blst through ``pyblst`` (a G1 multiplication ~0.1 ms, a pairing check ~1 ms).

Facts about pyblst 0.3.15 this module relies on (each held by a test in
``tests/circuits/test_backend.py``):

- ``BlstP1Element()`` is the identity; there is no binary minus (``a + (-b)``) and no
  generator constructor, so the generators are uncompressed from their standard bytes.
- ``scalar_mul(k)`` reduces ``k`` mod r.
- ``uncompress`` rejects points off the curve and outside the prime-order subgroup
  (it raises ``BlstError``; we re-raise our own typed errors after our own flag checks).
- ``miller_loop(P, Q)`` returns an Fp12 value that multiplies; ``final_verify(a, b)`` is
  ``FinalExp(a) == FinalExp(b)``.
- ``hash_to_group`` is RFC 9380's SHA-256 suite only; the SHAKE-256 suite maps
  through py_ecc's SSWU pieces and converts (only generator creation needs it, and
  generators are cached).
"""

from __future__ import annotations

from collections.abc import Sequence

import pyblst
from pyblst import BlstP1Element, BlstP2Element

from circuits.backend._decode import check_compressed
from circuits.constants import G1_BYTES, G1_GENERATOR, G2_BYTES, G2_GENERATOR
from circuits.errors import NotInSubgroupError

_G1 = BlstP1Element().uncompress(G1_GENERATOR)
_G2 = BlstP2Element().uncompress(G2_GENERATOR)
_Z1 = BlstP1Element()
_Z2 = BlstP2Element()


def _classify(decode, data: bytes, what: str):
    """pyblst raises one error for every failure; say which one it was."""
    try:
        return decode(data)
    except Exception as e:  # pyblst's BlstError is not importable as a class
        from circuits.backend.py_ecc import PyEccBackend

        # Re-decode with the reference to name the failure (off-curve vs subgroup);
        # only bad input pays for this.
        ref = PyEccBackend()
        (ref.g1_from_bytes if what == "G1" else ref.g2_from_bytes)(data)
        raise NotInSubgroupError(f"{what} point rejected by blst") from e


class BlstBackend:
    name = "blst"

    # G1 ---------------------------------------------------------------------------
    def g1_generator(self):
        return _G1

    def g1_identity(self):
        return _Z1

    def g1_add(self, a, b):
        return a + b

    def g1_neg(self, a):
        return -a

    def g1_mul(self, a, k: int):
        return a.scalar_mul(k)

    def g1_msm(self, points: Sequence, scalars: Sequence[int]):
        if len(points) != len(scalars):
            raise ValueError("msm needs as many scalars as points")
        acc = _Z1
        for point, k in zip(points, scalars):
            acc = acc + point.scalar_mul(k)
        return acc

    def g1_eq(self, a, b) -> bool:
        return a == b

    def g1_is_identity(self, a) -> bool:
        return a == _Z1

    def g1_to_bytes(self, a) -> bytes:
        return a.compress()

    def g1_from_bytes(self, data: bytes):
        if check_compressed(data, G1_BYTES):
            return _Z1
        return _classify(BlstP1Element().uncompress, bytes(data), "G1")

    # G2 ---------------------------------------------------------------------------
    def g2_generator(self):
        return _G2

    def g2_identity(self):
        return _Z2

    def g2_add(self, a, b):
        return a + b

    def g2_neg(self, a):
        return -a

    def g2_mul(self, a, k: int):
        return a.scalar_mul(k)

    def g2_eq(self, a, b) -> bool:
        return a == b

    def g2_is_identity(self, a) -> bool:
        return a == _Z2

    def g2_to_bytes(self, a) -> bytes:
        return a.compress()

    def g2_from_bytes(self, data: bytes):
        if check_compressed(data, G2_BYTES):
            return _Z2
        return _classify(BlstP2Element().uncompress, bytes(data), "G2")

    # Hashing and pairing ------------------------------------------------------------
    def hash_to_g1_xmd_sha256(self, msg: bytes, dst: bytes):
        return BlstP1Element().hash_to_group(msg, dst)

    def map_to_g1(self, u0: int, u1: int):
        from circuits.backend.py_ecc import PyEccBackend

        ref = PyEccBackend()
        return BlstP1Element().uncompress(ref.g1_to_bytes(ref.map_to_g1(u0, u1)))

    def pairing_check(self, pairs) -> bool:
        pairs = [(p, q) for p, q in pairs if p != _Z1 and q != _Z2]
        if not pairs:
            return True
        *head, (p_last, q_last) = pairs
        if not head:
            return p_last == _Z1  # e(P, Q) = 1 with Q ≠ 1 only for P = 1 (prime order)
        acc = pyblst.miller_loop(*head[0])
        for p, q in head[1:]:
            acc = acc * pyblst.miller_loop(p, q)
        return pyblst.final_verify(acc, pyblst.miller_loop(-p_last, q_last))
