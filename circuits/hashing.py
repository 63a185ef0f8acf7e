"""RFC 9380 hashing: expand_message (XMD/SHA-256 and XOF/SHAKE-256), hash_to_field,
hash_to_curve for G1, and the BBS draft's hash_to_scalar.

Two expanders are values of one small type, :class:`Expander`, so every protocol above
is written once and a ciphersuite picks its expander:

>>> XMD_SHA256.expand(b"", b"QUUX-V01-CS02-with-expander-SHA256-128", 32).hex()[:16]
'68a985b87eb6b469'
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from circuits.backend import GroupBackend
from circuits.backend.interface import G1
from circuits.constants import H2F_L, P, R
from circuits.errors import ParameterError

_OVERSIZE_DST = b"H2C-OVERSIZE-DST-"


def i2osp(value: int, length: int) -> bytes:
    """RFC 8017 I2OSP: ``value`` as ``length`` big-endian bytes (ValueError if it does not fit)."""
    return value.to_bytes(length, "big")


def os2ip(data: bytes) -> int:
    return int.from_bytes(data, "big")


def _xor(a: bytes, b: bytes) -> bytes:
    """Bytewise XOR of two equal-length strings (as integers: ~20× faster than byte by byte)."""
    if len(a) != len(b):
        raise ValueError("xor of strings of different lengths")
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")


def expand_message_xmd(msg: bytes, dst: bytes, len_in_bytes: int) -> bytes:
    """RFC 9380 §5.3.1 with SHA-256 (b_in_bytes = 32, s_in_bytes = 64)."""
    if len(dst) > 255:
        dst = hashlib.sha256(_OVERSIZE_DST + dst).digest()
    ell = -(-len_in_bytes // 32)
    if ell > 255 or len_in_bytes > 65535:
        raise ParameterError(f"expand_message_xmd cannot produce {len_in_bytes} bytes")
    dst_prime = dst + i2osp(len(dst), 1)
    msg_prime = bytes(64) + msg + i2osp(len_in_bytes, 2) + b"\x00" + dst_prime
    b0 = hashlib.sha256(msg_prime).digest()
    b = [hashlib.sha256(b0 + b"\x01" + dst_prime).digest()]
    for i in range(2, ell + 1):
        b.append(hashlib.sha256(_xor(b0, b[-1]) + i2osp(i, 1) + dst_prime).digest())
    return b"".join(b)[:len_in_bytes]


def expand_message_xof(msg: bytes, dst: bytes, len_in_bytes: int, k: int = 128) -> bytes:
    """RFC 9380 §5.3.2 with SHAKE-256 at security level ``k`` (128 for every suite here)."""
    if len(dst) > 255:
        dst = hashlib.shake_256(_OVERSIZE_DST + dst).digest(-(-2 * k // 8))
    if len_in_bytes > 65535:
        raise ParameterError(f"expand_message_xof cannot produce {len_in_bytes} bytes")
    dst_prime = dst + i2osp(len(dst), 1)
    return hashlib.shake_256(msg + i2osp(len_in_bytes, 2) + dst_prime).digest(len_in_bytes)


@dataclass(frozen=True)
class Expander:
    """An RFC 9380 expand_message variant, and the G1 hash_to_curve suite built on it."""

    name: str
    h2c_suite: bytes

    def expand(self, msg: bytes, dst: bytes, len_in_bytes: int) -> bytes:
        if self is XMD_SHA256:
            return expand_message_xmd(msg, dst, len_in_bytes)
        return expand_message_xof(msg, dst, len_in_bytes)

    def hash_to_field(self, msg: bytes, dst: bytes, count: int = 2) -> list[int]:
        """RFC 9380 §5.2 for Fp (m = 1, L = 64)."""
        uniform = self.expand(msg, dst, count * H2F_L)
        return [os2ip(uniform[i * H2F_L : (i + 1) * H2F_L]) % P for i in range(count)]

    def hash_to_g1(self, backend: GroupBackend, msg: bytes, dst: bytes) -> G1:
        """RFC 9380 §3 hash_to_curve (random-oracle encoding) into G1."""
        if self is XMD_SHA256:
            return backend.hash_to_g1_xmd_sha256(msg, dst)
        u0, u1 = self.hash_to_field(msg, dst)
        return backend.map_to_g1(u0, u1)

    def hash_to_scalar(self, msg: bytes, dst: bytes, expand_len: int = 48) -> int:
        """BBS draft §4.2.4: OS2IP(expand_message(msg, dst, 48)) mod r."""
        return os2ip(self.expand(msg, dst, expand_len)) % R


XMD_SHA256 = Expander("expand_message_xmd/SHA-256", b"BLS12381G1_XMD:SHA-256_SSWU_RO_")
XOF_SHAKE256 = Expander("expand_message_xof/SHAKE-256", b"BLS12381G1_XOF:SHAKE-256_SSWU_RO_")
