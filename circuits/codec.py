"""A small, strict binary codec for zkcred's wire objects.

Big-endian length prefixes, points in compressed form, scalars as 32 bytes. The reader
is strict: every read checks bounds, points are decoded by the backend (curve and
subgroup checks), scalars must be < r, and :meth:`Reader.finish` refuses trailing bytes —
so each object has exactly one encoding, and decoding it back gives the same bytes.

>>> w = Writer(); w.u8(7); w.blob(b"hi"); r = Reader(w.getvalue()); (r.u8(), r.blob()); r.finish()
(7, b'hi')
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

from circuits.backend import GroupBackend
from circuits.backend.interface import G1
from circuits.constants import G1_BYTES, SCALAR_BYTES, R
from circuits.errors import EncodingError, IdentityPointError, ScalarOutOfRangeError


class Writer:
    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def raw(self, data: bytes) -> None:
        self._parts.append(bytes(data))

    def u8(self, v: int) -> None:
        self._parts.append(v.to_bytes(1, "big"))

    def u16(self, v: int) -> None:
        self._parts.append(v.to_bytes(2, "big"))

    def u32(self, v: int) -> None:
        self._parts.append(v.to_bytes(4, "big"))

    def u64(self, v: int) -> None:
        self._parts.append(v.to_bytes(8, "big"))

    def blob(self, data: bytes) -> None:
        self.u32(len(data))
        self._parts.append(bytes(data))

    def text(self, s: str) -> None:
        self.blob(s.encode("utf-8"))

    def scalar(self, s: int) -> None:
        self._parts.append((s % R).to_bytes(SCALAR_BYTES, "big"))

    def scalars(self, xs: Iterable[int]) -> None:
        xs = list(xs)
        self.u16(len(xs))
        for x in xs:
            self.scalar(x)

    def point(self, be: GroupBackend, p: G1) -> None:
        self._parts.append(be.g1_to_bytes(p))

    def points(self, be: GroupBackend, ps: Iterable[G1]) -> None:
        ps = list(ps)
        self.u16(len(ps))
        for p in ps:
            self.point(be, p)

    def getvalue(self) -> bytes:
        return b"".join(self._parts)


class Reader:
    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError("expected bytes")
        self._data, self._pos = bytes(data), 0

    def _take(self, n: int) -> bytes:
        if n < 0 or self._pos + n > len(self._data):
            raise EncodingError("truncated encoding")
        out = self._data[self._pos : self._pos + n]
        self._pos += n
        return out

    def raw(self, n: int) -> bytes:
        return self._take(n)

    def u8(self) -> int:
        return self._take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self._take(2), "big")

    def u32(self) -> int:
        return int.from_bytes(self._take(4), "big")

    def u64(self) -> int:
        return int.from_bytes(self._take(8), "big")

    def blob(self, max_len: int = 1 << 20) -> bytes:
        n = self.u32()
        if n > max_len:
            raise EncodingError("field too long")
        return self._take(n)

    def text(self, max_len: int = 4096) -> str:
        try:
            return self.blob(max_len).decode("utf-8")
        except UnicodeDecodeError as e:
            raise EncodingError("invalid UTF-8") from e

    def scalar(self) -> int:
        s = int.from_bytes(self._take(SCALAR_BYTES), "big")
        if s >= R:
            raise ScalarOutOfRangeError("scalar ≥ r")
        return s

    def scalars(self, max_count: int = 4096) -> list[int]:
        n = self.u16()
        if n > max_count:
            raise EncodingError("too many scalars")
        return [self.scalar() for _ in range(n)]

    def point(self, be: GroupBackend, *, allow_identity: bool = False) -> G1:
        p = be.g1_from_bytes(self._take(G1_BYTES))
        if not allow_identity and be.g1_is_identity(p):
            raise IdentityPointError("identity point in encoding")
        return p

    def points(self, be: GroupBackend, max_count: int = 4096) -> list[G1]:
        n = self.u16()
        if n > max_count:
            raise EncodingError("too many points")
        return [self.point(be) for _ in range(n)]

    def finish(self) -> None:
        if self._pos != len(self._data):
            raise EncodingError(f"{len(self._data) - self._pos} trailing bytes")


def b64e(data: bytes) -> str:
    """URL-safe base64 without padding (RFC 4648 §5), the JSON form of binary fields."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64d(text: str) -> bytes:
    """Strict inverse of :func:`b64e`: no padding, URL-safe alphabet, canonical."""
    if not isinstance(text, str) or "=" in text:
        raise EncodingError("expected unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as e:
        raise EncodingError("invalid base64url") from e
    if b64e(data) != text:
        raise EncodingError("non-canonical base64url")
    return data
