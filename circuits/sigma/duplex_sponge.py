r"""The SHAKE128 XOF duplex sponge of draft-irtf-cfrg-fiat-shamir (§"Duplex sponge").

Interface (§"Interface"): ``Init(session_id)``, ``state.Absorb(x)``, ``state.Squeeze(n)``.

- ``Init`` absorbs ``session_id || zeros(R − 32)`` with ``R = 168`` (SHAKE128's rate), so
  the instance starts on a fresh rate block (§"Init").
- ``Absorb(x)`` updates the XOF; a non-empty ``x`` ends the current squeeze stream.
  Absorbs concatenate with no separator: ``Absorb(x); Absorb(y) == Absorb(x || y)``.
- ``Squeeze(n)`` finalizes a *copy* of the absorbing context on the first squeeze after
  an absorb and reads the next ``n`` bytes of that output stream; consecutive squeezes
  continue one stream (§"Squeeze").

Why hashlib: the draft defines the duplex sponge over any XOF with ``New``, ``Update``,
``Copy``, ``Finalize`` and a streaming ``Read``, not over the Keccak permutation, so
``hashlib.shake_128`` is the XOF as written. hashlib has no streaming reader, so
``Read`` is ``digest(offset + n)[offset:]`` over the finalized copy (a prefix of the one
output stream, by definition of SHAKE), with the stream read so far cached. That is
quadratic only in the number of bytes squeezed from one stream, which here is a
48-byte challenge or ``16·K`` bytes of batching randomness.

:func:`derive_session_id` is ``DeriveSessionID`` (§"Session identifiers").

>>> s = DuplexSponge(bytes(range(32)))
>>> s.absorb(b"ab"); s.absorb(b"c")
>>> s.squeeze(16) + s.squeeze(16) == DuplexSponge(bytes(range(32))).absorb_then_squeeze(b"abc", 32)
True
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from circuits.constants import FS_SESSION_ID_DOMAIN, FS_SHAKE128_RATE

if TYPE_CHECKING:
    from _hashlib import HASHXOF

__all__ = ["RATE", "SESSION_ID_BYTES", "SESSION_ID_DOMAIN", "DuplexSponge", "derive_session_id"]

#: SHAKE128's rate R in bytes (§"SHAKE128": 168-byte rate, 32-byte capacity).
RATE = FS_SHAKE128_RATE
#: Length of a session identifier (§"Proof systems terminology").
SESSION_ID_BYTES = 32
#: The 32-byte domain separator of ``DeriveSessionID``.
SESSION_ID_DOMAIN = FS_SESSION_ID_DOMAIN

assert len(SESSION_ID_DOMAIN) == SESSION_ID_BYTES


class DuplexSponge:
    """A SHAKE128 duplex sponge state: ``DuplexSponge(session_id)`` is ``Init(session_id)``."""

    __slots__ = ("_ctx", "_stream", "_read")

    def __init__(self, session_id: bytes) -> None:
        if not isinstance(session_id, (bytes, bytearray)):
            raise TypeError("session_id must be bytes")
        if len(session_id) != SESSION_ID_BYTES:
            raise ValueError(f"session_id must be {SESSION_ID_BYTES} bytes, got {len(session_id)}")
        self._ctx = hashlib.shake_128(bytes(session_id) + bytes(RATE - SESSION_ID_BYTES))
        self._stream: HASHXOF | None = None  # the finalized copy (reader), or None
        self._read = b""  # the reader's output so far

    def copy(self) -> DuplexSponge:
        """An independent copy of this state (precompute ``Init`` + instance, §"Efficiency")."""
        out = object.__new__(DuplexSponge)
        out._ctx = self._ctx.copy()
        out._stream = None if self._stream is None else self._stream.copy()
        out._read = self._read
        return out

    def absorb(self, data: bytes) -> None:
        """``Absorb(x)``: feed ``x``; an empty ``x`` leaves the state (and the stream) unchanged."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("absorb takes bytes")
        if len(data):
            self._ctx.update(data)
            self._stream, self._read = None, b""

    def squeeze(self, n: int) -> bytes:
        """``Squeeze(n)``: the next ``n`` bytes of the output stream over everything absorbed."""
        if n < 0:
            raise ValueError("cannot squeeze a negative number of bytes")
        if self._stream is None:
            self._stream, self._read = self._ctx.copy(), b""
        start = len(self._read)
        if n:
            self._read = self._stream.digest(start + n)
        return self._read[start : start + n]

    def absorb_then_squeeze(self, data: bytes, n: int) -> bytes:
        """``Absorb(data)`` followed by ``Squeeze(n)`` (a convenience for one-round protocols)."""
        self.absorb(data)
        return self.squeeze(n)

    def __call__(self, n: int) -> bytes:
        """Use the sponge as a byte source ``rng(n)`` (the draft's seeded test PRNG does)."""
        return self.squeeze(n)


def derive_session_id(tag: bytes) -> bytes:
    """``DeriveSessionID(tag)``: squeeze 32 bytes after absorbing ``tag`` under a fixed domain.

    >>> derive_session_id(b"interop-test-v00").hex()[:16]
    'b508aca89eecac56'
    """
    if not isinstance(tag, (bytes, bytearray)):
        raise TypeError("tag must be bytes")
    sponge = DuplexSponge(SESSION_ID_DOMAIN)
    sponge.absorb(tag)
    return sponge.squeeze(SESSION_ID_BYTES)
