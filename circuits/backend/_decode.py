"""Checks shared by every backend before it parses a compressed point.

The ZCash encoding puts three flags in the top bits of the first byte: compression
(0x80, must be set), infinity (0x40) and the sign of y (0x20). The identity must be
exactly ``c0 00 … 00``; every field element must be < p. Backends parse what passes.
"""

from __future__ import annotations

from circuits.constants import G1_BYTES, G2_BYTES, P
from circuits.errors import EncodingError, NonCanonicalEncodingError

_C, _I, _S = 0x80, 0x40, 0x20


def check_compressed(data: bytes, size: int) -> bool:
    """Validate flags and coordinate ranges; return True if ``data`` encodes the identity."""
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"point encoding must be bytes, not {type(data).__name__}")
    if len(data) != size:
        raise EncodingError(f"a compressed point is {size} bytes, got {len(data)}")
    flags = data[0]
    if not flags & _C:
        raise NonCanonicalEncodingError("compression flag not set")
    if flags & _I:
        if flags & _S or data[0] & 0x1F or any(data[1:]):
            raise NonCanonicalEncodingError("identity must be encoded as c0 00…00")
        return True
    coords = [data[i : i + G1_BYTES] for i in range(0, size, G1_BYTES)]
    first = int.from_bytes(bytes([coords[0][0] & 0x1F]) + coords[0][1:], "big")
    rest = [int.from_bytes(c, "big") for c in coords[1:]]
    if any(x >= P for x in (first, *rest)):
        raise NonCanonicalEncodingError("coordinate is not reduced mod p")
    return False


assert G2_BYTES == 2 * G1_BYTES
