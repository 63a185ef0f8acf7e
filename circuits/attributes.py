r"""Typed attributes and their encoding as BBS message scalars (DESIGN §4).

Numeric types (``int``, ``date``, ``decimal(scale)``, ``bool``) become the integer
``v + 2^63``, so order is kept and every encoded value lies in [0, 2^64) — a range
proof on a difference of two encodings then proves an inequality of the values.
Strings are hashed to a scalar (disclosure sends the string; the verifier re-hashes).

===============  =====================================  ==============================
type             value given as                          integer v
===============  =====================================  ==============================
``int``          int in [−2^63, 2^63)                    the int
``int(a..b)``    int in [a, b] (declared bounds)          the int
``date``         ``datetime.date`` or ISO ``YYYY-MM-DD``  days since 1970-01-01
``decimal(s)``   ``Decimal``/str/int, at most s places   value · 10^s (exact, refused otherwise)
``bool``         bool                                    0 or 1
``string``       str                                     — (hashed, not ordered)
===============  =====================================  ==============================

Declared bounds (``int(0..1000000000)``) are enforced at issuance and size the range
proofs: a predicate on a value known to lie in ``[a, b]`` needs ``bit_length(b − a)``
bits, not 64 (:meth:`AttributeType.value_range`; dates need at most 22 bits, since a
``datetime.date`` spans years 1–9999).

An issuer never rounds a person's data: a decimal with more places than its scale is
refused. Predicate *thresholds* are rounded in the direction that keeps the predicate's
meaning (``income ≥ 50 000.005`` at scale 2 becomes ``≥ 50 000.01``): :func:`threshold`.

>>> t = AttributeType.parse("decimal(2)")
>>> t.encode("12.50") - 2**63
1250
>>> t.decode(t.encode("12.50"))
Decimal('12.50')
>>> AttributeType.parse("date").decode(AttributeType.parse("date").encode("1969-12-31"))
datetime.date(1969, 12, 31)
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation

from circuits import constants as k
from circuits.errors import ParameterError
from circuits.hashing import XMD_SHA256

OFFSET = 2**63
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
EPOCH = _dt.date(1970, 1, 1)
#: What a numeric attribute value is once decoded (``from_int``): int, bool, date or decimal.
NumericValue = int | bool | _dt.date | Decimal
_DECIMAL = re.compile(r"decimal\((\d{1,2})\)")
_BOUNDED_INT = re.compile(r"int\((-?(?:0|[1-9][0-9]{0,18}))\.\.(-?(?:0|[1-9][0-9]{0,18}))\)")
DATE_MIN, DATE_MAX = (_dt.date.min - EPOCH).days, (_dt.date.max - EPOCH).days
NUMERIC = ("int", "date", "decimal", "bool")


class AttributeValueError(ParameterError):
    """A value that its attribute type cannot hold (out of range, wrong kind, too precise)."""


@dataclass(frozen=True)
class AttributeType:
    """``int`` (optionally with declared ``bounds``), ``date``, ``decimal`` (with ``scale``), ``bool`` or ``string``."""

    kind: str
    scale: int = 0
    bounds: tuple[int, int] | None = None  #: ``int(a..b)``: the declared [a, b]

    @classmethod
    def parse(cls, text: str) -> AttributeType:
        if text in ("int", "date", "bool", "string"):
            return cls(text)
        match = _DECIMAL.fullmatch(text)
        if match and int(match.group(1)) <= 18:
            return cls("decimal", int(match.group(1)))
        match = _BOUNDED_INT.fullmatch(text)
        if match:
            lo, hi = int(match.group(1)), int(match.group(2))
            if not INT_MIN <= lo <= hi <= INT_MAX:
                raise ParameterError(f"{text!r}: int bounds need −2^63 ≤ a ≤ b < 2^63")
            return cls("int", bounds=(lo, hi))
        raise ParameterError(f"unknown attribute type {text!r} (int, int(a..b), date, decimal(0..18), bool, string)")

    def __str__(self) -> str:
        if self.kind == "decimal":
            return f"decimal({self.scale})"
        if self.bounds is not None:
            return f"int({self.bounds[0]}..{self.bounds[1]})"
        return self.kind

    @property
    def value_range(self) -> tuple[int, int]:
        """The integers ``v`` a value of this (numeric) type can stand for, as ``(min, max)``."""
        if self.kind == "bool":
            return 0, 1
        if self.kind == "date":
            return DATE_MIN, DATE_MAX
        if self.bounds is not None:
            return self.bounds
        return INT_MIN, INT_MAX

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC

    # value <-> integer -----------------------------------------------------------------
    def to_int(self, value: object) -> int:
        """The integer v this value stands for (numeric types only); refuses what does not fit."""
        kind = self.kind
        if kind == "int":
            v = _as_int(value)
        elif kind == "bool":
            if not isinstance(value, bool):
                raise AttributeValueError(f"expected a boolean, got {type(value).__name__}")
            v = int(value)
        elif kind == "date":
            v = (_as_date(value) - EPOCH).days
        elif kind == "decimal":
            d = _as_decimal(value)
            scaled = d.scaleb(self.scale)
            if scaled != scaled.to_integral_value():
                raise AttributeValueError(f"{value} has more than {self.scale} decimal places")
            v = int(scaled)
        else:
            raise AttributeValueError("string attributes have no numeric value")
        if not INT_MIN <= v <= INT_MAX:
            raise AttributeValueError(f"{value} is outside the signed 64-bit range")
        if self.bounds is not None and not self.bounds[0] <= v <= self.bounds[1]:
            raise AttributeValueError(f"{value} is outside the declared [{self.bounds[0]}, {self.bounds[1]}]")
        return v

    def from_int(self, v: int) -> NumericValue:
        if self.kind == "int":
            return v
        if self.kind == "bool":
            return bool(v)
        if self.kind == "date":
            return EPOCH + _dt.timedelta(days=v)
        if self.kind == "decimal":
            return Decimal(v).scaleb(-self.scale)
        raise AttributeValueError("string attributes have no numeric value")

    # value <-> scalar ------------------------------------------------------------------
    def encode(self, value: object) -> int:
        """The BBS message scalar for ``value``."""
        if self.kind == "string":
            if not isinstance(value, str):
                raise AttributeValueError(f"expected a string, got {type(value).__name__}")
            return hash_string(value)
        return self.to_int(value) + OFFSET

    def decode(self, scalar: int) -> NumericValue:
        """Inverse of :meth:`encode` for numeric types (strings cannot be decoded)."""
        if not 0 <= scalar < 2**64:
            raise AttributeValueError("not an encoded numeric attribute")
        return self.from_int(scalar - OFFSET)

    def to_json(self, value: object) -> object:
        """JSON-friendly form of a value of this type."""
        if self.kind == "date":
            return _as_date(value).isoformat()
        if self.kind == "decimal":
            return str(self.from_int(self.to_int(value)))
        return value


def hash_string(value: str) -> int:
    return XMD_SHA256.hash_to_scalar(value.encode("utf-8"), k.ATTRIBUTE_STRING_DST)


def threshold(attr_type: AttributeType, value: object, op: str) -> int:
    """The encoded integer bound that makes ``a op value`` an integer comparison.

    Returns the encoded ``t`` such that ``a op value`` ⇔ ``enc(a) op' t`` where ``op'`` is
    ``>=`` for ``>=``/``>`` and ``<=`` for ``<=``/``<`` (strict inequalities shift by one
    unit, inexact decimals round towards the predicate's meaning). May fall outside
    [0, 2^64): the caller decides (a predicate that no value can meet).
    """
    if not attr_type.numeric:
        raise ParameterError(f"{op} needs a numeric attribute, not {attr_type}")
    if attr_type.kind == "decimal":
        scaled = _as_decimal(value).scaleb(attr_type.scale)
        if op in (">=", ">"):
            v = int(scaled.to_integral_value(ROUND_CEILING))
            if op == ">" and v == scaled:
                v += 1
        else:
            v = int(scaled.to_integral_value(ROUND_FLOOR))
            if op == "<" and v == scaled:
                v -= 1
        return v + OFFSET
    v = attr_type.to_int(value) if attr_type.kind != "int" else _as_int(value)
    v += {">=": 0, ">": 1, "<=": 0, "<": -1}[op]
    return v + OFFSET


def _as_int(value: object) -> int:
    """An int, or its decimal string (JSON carries integers beyond ±2^53 as strings)."""
    if isinstance(value, str) and re.fullmatch(r"-?(0|[1-9][0-9]{0,19})", value):
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise AttributeValueError(f"expected an integer, got {type(value).__name__}")
    return value


def _as_date(value: object) -> _dt.date:
    if isinstance(value, _dt.datetime):
        raise AttributeValueError("expected a date, got a datetime")
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, str):
        try:
            return _dt.date.fromisoformat(value)
        except ValueError as e:
            raise AttributeValueError(f"not an ISO date: {value!r}") from e
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return EPOCH + _dt.timedelta(days=value)
        except OverflowError:
            raise AttributeValueError("a date as days since 1970-01-01 must lie in years 1–9999") from None
    raise AttributeValueError(f"expected a date, got {type(value).__name__}")


def _as_decimal(value: object) -> Decimal:
    if isinstance(value, bool) or isinstance(value, float):
        raise AttributeValueError("decimals are given as str, int or Decimal (never float)")
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, (str, int)):
        try:
            d = Decimal(value)
        except (InvalidOperation, ValueError) as e:
            raise AttributeValueError(f"not a decimal: {value!r}") from e
    else:
        raise AttributeValueError(f"not a decimal: {value!r}")
    if not d.is_finite():
        raise AttributeValueError("decimals must be finite")
    return d
