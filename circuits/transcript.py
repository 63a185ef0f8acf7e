"""Fiat–Shamir transcripts: labelled, length-prefixed appends; challenges as scalars.

Rules (merlin, STYLE §2.5):

- The **caller** creates ``Transcript(app_label)`` (the verifier's request handler, the
  wallet); proof code only appends and draws challenges.
- Every append is ``I2OSP(len(label), 8) || label || I2OSP(len(data), 8) || data``, so no
  two different sequences of appends hash alike.
- Each sub-protocol first calls ``domain_sep(tag, *params)``.
- Points go through :meth:`Transcript.append_point`, which refuses the identity unless
  the protocol says it may occur.
- :meth:`challenge_scalar` hashes everything appended so far (48 bytes of
  expand_message_xmd, reduced mod r: RFC 9380's L = 48 for a 255-bit field) and then
  appends the challenge itself, so later challenges depend on earlier ones.

>>> t = Transcript(b"doc")
>>> t.append(b"nonce", b"\\x01" * 16)
>>> c1 = t.challenge_scalar(b"c")
>>> t2 = Transcript(b"doc"); t2.append(b"nonce", b"\\x02" * 16)
>>> c1 != t2.challenge_scalar(b"c")
True
"""

from __future__ import annotations

import hashlib

from circuits import constants as k
from circuits.backend import GroupBackend
from circuits.backend.interface import G1
from circuits.errors import IdentityPointError
from circuits.hashing import expand_message_xmd, i2osp, os2ip


def _frame(label: bytes, data: bytes) -> bytes:
    return i2osp(len(label), 8) + label + i2osp(len(data), 8) + data


class Transcript:
    """A running SHA-256 over framed appends; cheap to copy with :meth:`fork`."""

    __slots__ = ("_h",)

    def __init__(self, app_label: bytes) -> None:
        self._h = hashlib.sha256()
        self._h.update(_frame(k.TRANSCRIPT_PROTOCOL, app_label))

    def fork(self) -> Transcript:
        other = Transcript.__new__(Transcript)
        other._h = self._h.copy()
        return other

    def append(self, label: bytes, data: bytes) -> None:
        self._h.update(_frame(label, bytes(data)))

    def append_u64(self, label: bytes, value: int) -> None:
        self.append(label, i2osp(value, 8))

    def append_scalar(self, label: bytes, value: int) -> None:
        self.append(label, i2osp(value % k.R, k.SCALAR_BYTES))

    def append_point(self, label: bytes, point: G1, backend: GroupBackend, *, allow_identity: bool = False) -> None:
        if not allow_identity and backend.g1_is_identity(point):
            raise IdentityPointError(f"identity point appended as {label!r}")
        self.append(label, backend.g1_to_bytes(point))

    def append_point_bytes(self, label: bytes, data: bytes) -> None:
        """Append an already-encoded point (the caller decoded and checked it)."""
        self.append(label, data)

    def domain_sep(self, tag: bytes, *params: int) -> None:
        self.append(k.DOMSEP_LABEL, tag + b"".join(i2osp(p, 8) for p in params))

    def challenge_bytes(self, label: bytes, n: int) -> bytes:
        self.append(k.TRANSCRIPT_CHALLENGE_REQUEST, label)
        out = expand_message_xmd(self._h.copy().digest(), k.TRANSCRIPT_CHALLENGE_DST + label, n)
        self.append(label, out)
        return out

    def challenge_scalar(self, label: bytes) -> int:
        return os2ip(self.challenge_bytes(label, 48)) % k.R
