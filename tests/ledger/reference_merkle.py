"""A literal, recursive transcription of RFC 9162 §2.1 — slow, obviously right, for cross-checks.

Written from the RFC's text with no shared code with ``ledger.merkle`` (STYLE §1.8): the
fast module must agree with it on every size.  Inputs are the leaves' *data* ``D[n]``.
"""

from __future__ import annotations

import hashlib


def HASH(data: bytes) -> bytes:  # the RFC's name
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def MTH(D: list[bytes]) -> bytes:
    """§2.1.1."""
    n = len(D)
    if n == 0:
        return HASH(b"")
    if n == 1:
        return HASH(b"\x00" + D[0])
    k = _k(n)
    return HASH(b"\x01" + MTH(D[0:k]) + MTH(D[k:n]))


def PATH(m: int, D: list[bytes]) -> list[bytes]:
    """§2.1.3.1: the inclusion proof of leaf m."""
    n = len(D)
    if n == 1 and m == 0:
        return []
    k = _k(n)
    if m < k:
        return PATH(m, D[0:k]) + [MTH(D[k:n])]
    return PATH(m - k, D[k:n]) + [MTH(D[0:k])]


def SUBPROOF(m: int, D: list[bytes], b: bool) -> list[bytes]:
    """§2.1.4.1."""
    n = len(D)
    if m == n:
        return [] if b else [MTH(D)]
    k = _k(n)
    if m <= k:
        return SUBPROOF(m, D[0:k], b) + [MTH(D[k:n])]
    return SUBPROOF(m - k, D[k:n], False) + [MTH(D[0:k])]


def PROOF(m: int, D: list[bytes]) -> list[bytes]:
    """§2.1.4.1: the consistency proof from the first m leaves to all of D (0 < m < n)."""
    return SUBPROOF(m, D, True)
