"""The three ways cryptography fails (STYLE §2.4), under one root.

Detail lives in attributes (``reason``), not in more classes. ``EncodingError`` has a
few narrow subclasses only because callers (the HTTP layer, the tamper tests) need to
tell an attack on decoding from a proof that merely does not hold.
"""

from __future__ import annotations


class ZkCredError(Exception):
    """Root of every error zkcred's cryptography raises on purpose."""


class EncodingError(ZkCredError, ValueError):
    """Bytes that do not decode to what the protocol expects (length, canonical form, curve, subgroup)."""


class NonCanonicalEncodingError(EncodingError):
    """Well-formed length, but not the one canonical encoding (flag bits, x ≥ p, padding)."""


class NotOnCurveError(EncodingError):
    """The coordinates decode, but the point is not on the curve."""


class NotInSubgroupError(EncodingError):
    """On the curve, but outside the prime-order subgroup."""


class IdentityPointError(EncodingError):
    """The point at infinity where the protocol forbids it."""


class ScalarOutOfRangeError(EncodingError):
    """A scalar encoding whose integer is ≥ r (or zero where zero is forbidden)."""


class ParameterError(ZkCredError, ValueError):
    """Inputs of the wrong shape: message count, indexes, bit sizes, generator counts."""


class VerificationError(ZkCredError):
    """A signature or proof that does not hold."""
