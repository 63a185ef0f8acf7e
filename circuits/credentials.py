r"""Wire types shared by issuer, wallet and verifier (the anoncreds-rs ``data_types`` role).

Schema → CredentialDefinition → Credential, and the PresentationRequest a verifier
sends. Each has one canonical JSON form (RFC 8785 via ``rfc8785``) and, where it is
content-addressed (schemas, definitions), an id derived from those bytes, so an id
names exactly one object and anyone can recompute it.

Message layout of a credential (DESIGN §4, physically ordered as the blind BBS draft
requires — signer messages first, then the prover blind, then the committed link
secret; see :mod:`circuits.bbs.blind`)::

    index   0                  1        2 … n+1        n+2           n+3
    what    revocation handle  expiry   attributes     prover blind  link secret
            (hidden)           (hidden) (typed)        (hidden)      (hidden, blind)

The BBS header binds the credential definition id and the schema id.

>>> s = Schema("income", "1.0", (AttributeSpec("income", AttributeType.parse("int")),))
>>> Schema.from_json(s.to_json()) == s and s.id.startswith("schema:")
True
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import rfc8785

from circuits.attributes import AttributeType, AttributeValueError
from circuits.codec import b64d, b64e
from circuits.constants import G1_BYTES, G2_BYTES
from circuits.errors import EncodingError, ParameterError
from circuits.hashing import i2osp

if TYPE_CHECKING:
    from circuits.bbs.suite import Ciphersuite

RESERVED_NAMES = ("link_secret", "revocation_handle", "expiry", "prover_blind")
_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
CREDENTIAL_HEADER_TAG = b"zkcred/credential/v1"
HANDLE_INDEX, EXPIRY_INDEX, FIRST_ATTRIBUTE_INDEX = 0, 1, 2
OPS = (">=", ">", "<=", "<", "between", "!=", "in", "not_in")
LINEAR_OPS = (">=", ">", "<=", "<", "=", "between")
#: A linear predicate has 1–16 terms with integer coefficients 0 < |c| < 2^63 (the bound
#: circuits/notes/linear.md's wrap-around argument uses).
LINEAR_MAX_TERMS, LINEAR_MAX_COEF = 16, 2**63 - 1
_OP_SIGNS = {">=": "≥", ">": ">", "<=": "≤", "<": "<", "=": "="}


def canonical_json(obj: Any) -> bytes:
    """RFC 8785 JSON Canonicalization Scheme bytes."""
    return rfc8785.dumps(obj)


def content_id(prefix: str, obj: Any) -> str:
    return f"{prefix}:{hashlib.sha256(canonical_json(obj)).hexdigest()[:32]}"


def _str_pair(e: Any) -> tuple[str, str]:
    """An equality from JSON: two strings (the request's constructor checks what they name)."""
    items = tuple(map(str, e))
    _require(len(items) == 2, "an equality names two different attributes")
    return items[0], items[1]


def _require(cond: bool, message: str) -> None:
    if not cond:
        raise ParameterError(message)


def _obj(data: Any, keys: set[str], what: str, optional: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise EncodingError(f"{what} must be a JSON object")
    missing, extra = keys - data.keys(), data.keys() - keys - optional
    if missing or extra:
        raise EncodingError(f"{what}: missing {sorted(missing)}, unexpected {sorted(extra)}")
    return data


# Schema -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttributeSpec:
    name: str
    type: AttributeType


@dataclass(frozen=True)
class Schema:
    """Named, versioned list of typed attributes; its id is the hash of its canonical JSON."""

    name: str
    version: str
    attributes: tuple[AttributeSpec, ...]

    def __post_init__(self) -> None:
        _require(isinstance(self.name, str) and 0 < len(self.name) <= 128, "schema name: 1–128 characters")
        _require(isinstance(self.version, str) and 0 < len(self.version) <= 32, "schema version: 1–32 characters")
        _require(0 < len(self.attributes) <= 64, "a schema has 1–64 attributes")
        names = [a.name for a in self.attributes]
        for n in names:
            _require(isinstance(n, str) and bool(_NAME.fullmatch(n)), f"attribute name {n!r}: lowercase a-z, 0-9, _")
            _require(n not in RESERVED_NAMES, f"attribute name {n!r} is reserved")
        _require(len(set(names)) == len(names), "attribute names must be unique")

    @functools.cached_property
    def id(self) -> str:
        return content_id("schema", self.to_json())

    def attribute(self, name: str) -> AttributeSpec:
        for a in self.attributes:
            if a.name == name:
                return a
        raise ParameterError(f"schema {self.name} has no attribute {name!r}")

    def index(self, name: str) -> int:
        """The BBS message index of attribute ``name``."""
        for i, a in enumerate(self.attributes):
            if a.name == name:
                return FIRST_ATTRIBUTE_INDEX + i
        raise ParameterError(f"schema {self.name} has no attribute {name!r}")

    def encode_values(self, values: dict[str, Any]) -> list[int]:
        """The attribute message scalars, in schema order; refuses missing, extra or out-of-range values."""
        names = {a.name for a in self.attributes}
        missing, extra = names - values.keys(), values.keys() - names
        if missing or extra:
            raise AttributeValueError(f"values: missing {sorted(missing)}, unexpected {sorted(extra)}")
        out = []
        for a in self.attributes:
            try:
                out.append(a.type.encode(values[a.name]))
            except AttributeValueError as e:
                raise AttributeValueError(f"{a.name}: {e}") from None
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "attributes": [{"name": a.name, "type": str(a.type)} for a in self.attributes],
        }

    @classmethod
    def from_json(cls, data: Any) -> Schema:
        d = _obj(data, {"name", "version", "attributes"}, "schema")
        if not isinstance(d["attributes"], list):
            raise EncodingError("schema attributes must be a list")
        attrs = tuple(
            AttributeSpec(a["name"], AttributeType.parse(a["type"]))
            for a in (_obj(x, {"name", "type"}, "attribute") for x in d["attributes"])
        )
        return cls(d["name"], d["version"], attrs)


# Credential definition ---------------------------------------------------------------------


@dataclass(frozen=True)
class RevocationRegistry:
    """Public part of a revocation registry (DESIGN §6): id, capacity, Q = α·P2."""

    id: str
    capacity: int
    Q: bytes

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "capacity": self.capacity, "q": b64e(self.Q)}

    @classmethod
    def from_json(cls, data: Any) -> RevocationRegistry:
        d = _obj(data, {"id", "capacity", "q"}, "revocation registry")
        q = b64d(d["q"])
        if len(q) != G2_BYTES or not isinstance(d["capacity"], int) or d["capacity"] < 1:
            raise EncodingError("bad revocation registry")
        return cls(str(d["id"]), d["capacity"], q)


@dataclass(frozen=True)
class CredentialDefinition:
    """An issuer's BBS public key for one schema (and optionally a revocation registry)."""

    issuer_id: str
    schema: Schema
    tag: str
    public_key: bytes
    revocation: RevocationRegistry | None = None
    suite: str = "BLS12-381-SHA-256"

    def __post_init__(self) -> None:
        _require(len(self.public_key) == G2_BYTES, "a BBS public key is 96 bytes")
        _require(self.suite in ("BLS12-381-SHA-256", "BLS12-381-SHAKE-256"), f"unknown suite {self.suite}")

    @functools.cached_property
    def id(self) -> str:
        return content_id("creddef", self.to_json())

    @property
    def schema_id(self) -> str:
        return self.schema.id

    @functools.cached_property
    def header(self) -> bytes:
        """The BBS header: binds the definition id and the schema id."""
        parts = [CREDENTIAL_HEADER_TAG, self.id.encode(), self.schema_id.encode()]
        return b"".join(i2osp(len(p), 8) + p for p in parts)

    @property
    def signer_message_count(self) -> int:
        return FIRST_ATTRIBUTE_INDEX + len(self.schema.attributes)

    @property
    def prover_blind_index(self) -> int:
        return self.signer_message_count

    @property
    def link_secret_index(self) -> int:
        return self.signer_message_count + 1

    @property
    def message_count(self) -> int:
        return self.signer_message_count + 2

    def bbs_suite(self) -> Ciphersuite:
        from circuits import bbs

        return bbs.SHA256 if self.suite == "BLS12-381-SHA-256" else bbs.SHAKE256

    def to_json(self) -> dict[str, Any]:
        return {
            "issuer_id": self.issuer_id,
            "schema": self.schema.to_json(),
            "tag": self.tag,
            "public_key": b64e(self.public_key),
            "revocation": self.revocation.to_json() if self.revocation else None,
            "suite": self.suite,
        }

    @classmethod
    def from_json(cls, data: Any) -> CredentialDefinition:
        d = _obj(data, {"issuer_id", "schema", "tag", "public_key", "revocation", "suite"}, "credential definition")
        rev = RevocationRegistry.from_json(d["revocation"]) if d["revocation"] is not None else None
        return cls(
            str(d["issuer_id"]),
            Schema.from_json(d["schema"]),
            str(d["tag"]),
            b64d(d["public_key"]),
            rev,
            str(d["suite"]),
        )


# Credential (the holder's) -----------------------------------------------------------------


@dataclass(frozen=True)
class Credential:
    """A signed credential as the holder keeps it (with its secret prover blind).

    ``revocation_index`` is the handle's index in the registry (None if not revocable);
    the handle scalar itself is signed at :data:`HANDLE_INDEX`.
    """

    definition_id: str
    values: dict[str, Any]
    expiry: _dt.date
    revocation_handle: int
    revocation_index: int | None
    signature: bytes
    prover_blind: int = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "definition_id": self.definition_id,
            "values": dict(self.values),
            "expiry": self.expiry.isoformat(),
            "revocation_handle": f"{self.revocation_handle:064x}",
            "revocation_index": self.revocation_index,
            "signature": b64e(self.signature),
            "prover_blind": f"{self.prover_blind:064x}",
        }

    @classmethod
    def from_json(cls, data: Any) -> Credential:
        d = _obj(
            data,
            {"definition_id", "values", "expiry", "revocation_handle", "revocation_index", "signature", "prover_blind"},
            "credential",
        )
        try:
            return cls(
                str(d["definition_id"]),
                dict(d["values"]),
                _dt.date.fromisoformat(d["expiry"]),
                int(d["revocation_handle"], 16),
                d["revocation_index"],
                b64d(d["signature"]),
                int(d["prover_blind"], 16),
            )
        except (TypeError, ValueError) as e:
            raise EncodingError(f"bad credential: {e}") from e


# Presentation request ----------------------------------------------------------------------


def _json_safe(v: Any) -> Any:
    """Integers outside ±(2^53 − 1) travel as decimal strings (RFC 8785 / I-JSON)."""
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 2**53 - 1:
        return str(v)
    return v


@dataclass(frozen=True)
class Predicate:
    """``attribute op value``; ``between`` takes [low, high], ``in``/``not_in`` a list."""

    attribute: str
    op: str
    value: Any

    def __post_init__(self) -> None:
        _require(self.op in OPS, f"unknown predicate operator {self.op!r}")
        if self.op == "between":
            _require(isinstance(self.value, (list, tuple)) and len(self.value) == 2, "between needs [low, high]")
        if self.op in ("in", "not_in"):
            _require(
                isinstance(self.value, (list, tuple)) and 0 < len(self.value) <= 64, f"{self.op} needs 1–64 values"
            )
            _require(len(set(map(str, self.value))) == len(self.value), f"{self.op} values must be distinct")
        object.__setattr__(self, "value", tuple(self.value) if isinstance(self.value, list) else self.value)

    def describe(self) -> str:
        v = list(self.value) if isinstance(self.value, tuple) else self.value
        return f"{self.attribute} {self.op} {v}"

    def to_json(self) -> dict[str, Any]:
        v = [_json_safe(x) for x in self.value] if isinstance(self.value, tuple) else _json_safe(self.value)
        return {"attribute": self.attribute, "op": self.op, "value": v}

    @classmethod
    def from_json(cls, data: Any) -> Predicate:
        d = _obj(data, {"attribute", "op", "value"}, "predicate")
        return cls(str(d["attribute"]), str(d["op"]), d["value"])


def _linear_number(v: Any) -> Decimal:
    """A linear predicate's threshold: an int or a decimal string / ``Decimal`` (never a float)."""
    if isinstance(v, bool) or isinstance(v, float) or not isinstance(v, (int, str, Decimal)):
        raise ParameterError(f"a linear predicate's value is an integer or a decimal string, not {v!r}")
    try:
        d = Decimal(v)
    except InvalidOperation:
        raise ParameterError(f"not a number: {v!r}") from None
    _require(d.is_finite() and abs(d) < Decimal(2) ** 200, f"not a usable threshold: {v!r}")
    return d


_PARSE_SYMBOLS = str.maketrans({"×": "*", "−": "-", "≥": ">=", "≤": "<="})
_NUMBER = r"-?[0-9]+(?:\.[0-9]+)?"
_LINEAR_TERM = re.compile(
    r"\s*(?P<sign>[+-]?)\s*(?:(?P<coef>[0-9]{1,19})\s*\*\s*)?(?P<ref>[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)?)\s*"
)
_LINEAR_TEXT = re.compile(
    rf"(?P<lhs>.+?)\s*(?:(?P<op>>=|<=|>|<|=)\s*(?P<value>{_NUMBER})|(?P<between_op>between)\s+"
    rf"(?P<low>{_NUMBER})\s+and\s+(?P<high>{_NUMBER}))"
)


def _linear_value(v: Any) -> int | str:
    """One canonical form per threshold, so JSON round-trips compare equal: an int, else its decimal string."""
    d = _linear_number(v)
    return (
        int(d) if d == d.to_integral_value() and not isinstance(v, str) or re.fullmatch(r"-?[0-9]+", str(v)) else str(v)
    )


@dataclass(frozen=True)
class LinearPredicate:
    """``Σ coef·query.attribute op value`` over hidden ``int``/``decimal``/``date`` attributes.

    ``terms`` are ``("query.attribute", coef)`` pairs (integer coefficients, each
    attribute once); ``op`` one of :data:`LINEAR_OPS`; ``value`` a number in the
    attributes' units (decimals at their value, dates in days since 1970-01-01), ``[low,
    high]`` for ``between``. Proven as one range statement on the homomorphic combination
    of the attributes' commitments (:mod:`circuits.statements.linear_predicate`).

    >>> p = LinearPredicate((("tax.income", 40), ("bank.monthly_debt", -100)), ">=", 0)
    >>> p.describe()
    '40 × tax.income − 100 × bank.monthly_debt ≥ 0'
    >>> LinearPredicate.from_json(p.to_json()) == p
    True
    """

    terms: tuple[tuple[str, int], ...]
    op: str
    value: Any

    def __post_init__(self) -> None:
        _require(self.op in LINEAR_OPS, f"unknown linear operator {self.op!r} (one of {', '.join(LINEAR_OPS)})")
        terms = tuple((ref, coef) for ref, coef in self.terms)
        _require(0 < len(terms) <= LINEAR_MAX_TERMS, f"a linear predicate has 1–{LINEAR_MAX_TERMS} terms")
        for ref, coef in terms:
            q, _, a = ref.partition(".") if isinstance(ref, str) else ("", "", "")
            _require(bool(_NAME.fullmatch(q)) and bool(_NAME.fullmatch(a)), f"a term names query.attribute: {ref!r}")
            _require(
                isinstance(coef, int) and not isinstance(coef, bool) and 0 < abs(coef) <= LINEAR_MAX_COEF,
                f"{ref}: a coefficient is a non-zero integer of at most 2^63 − 1 in magnitude",
            )
        _require(len({ref for ref, _ in terms}) == len(terms), "a linear predicate names each attribute once")
        if self.op == "between":
            _require(isinstance(self.value, (list, tuple)) and len(self.value) == 2, "between needs [low, high]")
            value: Any = tuple(_linear_value(v) for v in self.value)
            _require(_linear_number(value[0]) <= _linear_number(value[1]), "between needs low ≤ high")
        else:
            value = _linear_value(self.value)
        object.__setattr__(self, "terms", terms)
        object.__setattr__(self, "value", value)

    @classmethod
    def parse(cls, text: str, default_query: str | None = None) -> LinearPredicate:
        """``40*tax.income - 100*bank.monthly_debt >= 0``, ``a.x + a.y between 1 and 2`` — also
        :meth:`describe`'s form (``×``, ``−``, ``≥``, ``≤``). An attribute without a query takes
        ``default_query``.

        >>> LinearPredicate.parse("40*income - 100*debt >= 0", "credential").describe()
        '40 × credential.income − 100 × credential.debt ≥ 0'
        """
        if not isinstance(text, str) or len(text) > 4096:
            raise ParameterError("a linear predicate is a string of at most 4096 characters")
        norm = text.translate(_PARSE_SYMBOLS).strip()
        m = _LINEAR_TEXT.fullmatch(norm)
        if not m:
            raise ParameterError(f"not a linear predicate: {text!r} (e.g. 40*tax.income - 100*bank.debt >= 0)")
        lhs, op = m.group("lhs"), m.group("op") or "between"
        terms = []
        for i, t in enumerate(_LINEAR_TERM.finditer(lhs)):
            _require(i == 0 or bool(t.group("sign")), f"terms are joined by + or -: {lhs!r}")
            sign = -1 if t.group("sign") == "-" else 1
            ref = t.group("ref")
            if "." not in ref:
                _require(default_query is not None, f"{ref}: name its query (query.{ref})")
                ref = f"{default_query}.{ref}"
            terms.append((ref, sign * int(t.group("coef") or 1)))
        _require("".join(t.group(0) for t in _LINEAR_TERM.finditer(lhs)) == lhs, f"not a sum of terms: {lhs!r}")
        value: Any = (m.group("low"), m.group("high")) if op == "between" else m.group("value")
        return cls(tuple(terms), op, value)

    @property
    def bounds(self) -> list[tuple[str, Decimal]]:
        """The one-sided comparisons it means: ``between`` is ``>= low`` and ``<= high``; ``=`` is ``= t``."""
        if self.op == "between":
            return [(">=", _linear_number(self.value[0])), ("<=", _linear_number(self.value[1]))]
        return [(self.op, _linear_number(self.value))]

    def attribute_names(self) -> dict[str, str]:
        """Each reference by its attribute name alone, unless two terms share that name (then in full) —
        for a holder's sentence: ``40 × income − 100 × monthly_debt ≥ 0``.

        >>> p = LinearPredicate((("a.income", 1), ("b.income", 1), ("b.debt", -1)), ">=", 0)
        >>> p.describe(p.attribute_names())
        'a.income + b.income − debt ≥ 0'
        """
        short = [ref.partition(".")[2] for ref, _ in self.terms]
        return {ref: name if short.count(name) == 1 else ref for (ref, _), name in zip(self.terms, short, strict=True)}

    def describe(self, names: dict[str, str] | None = None) -> str:
        """``40 × tax.income − 100 × bank.monthly_debt ≥ 0`` (``names`` renames the references)."""
        names = names or {}
        parts = []
        for i, (ref, coef) in enumerate(self.terms):
            sign = ("− " if i else "−") if coef < 0 else ("+ " if i else "")
            factor = "" if abs(coef) == 1 else f"{abs(coef)} × "
            parts.append(f"{sign}{factor}{names.get(ref, ref)}")
        lhs = " ".join(parts)
        if self.op == "between":
            return f"{lhs} between {self.value[0]} and {self.value[1]}"
        return f"{lhs} {_OP_SIGNS[self.op]} {self.value}"

    def to_json(self) -> dict[str, Any]:
        value = [_json_safe(v) for v in self.value] if self.op == "between" else _json_safe(self.value)
        return {"terms": [{"attr": ref, "coef": _json_safe(c)} for ref, c in self.terms], "op": self.op, "value": value}

    @classmethod
    def from_json(cls, data: Any) -> LinearPredicate:
        d = _obj(data, {"terms", "op", "value"}, "linear predicate")
        if not isinstance(d["terms"], list):
            raise EncodingError("linear predicate terms must be a list")
        terms = []
        for t in d["terms"]:
            term = _obj(t, {"attr", "coef"}, "linear term")
            coef = term["coef"]
            if isinstance(coef, str) and re.fullmatch(r"-?[1-9][0-9]{0,18}", coef):
                coef = int(coef)  # beyond ±(2^53 − 1) a coefficient travels as a string
            terms.append((str(term["attr"]), coef))
        value = d["value"]
        return cls(tuple(terms), str(d["op"]), tuple(value) if isinstance(value, list) else value)


@dataclass(frozen=True)
class EscrowClause:
    """Encrypt hidden ``attribute`` to ``auditor`` (its ledger id and G1 escrow key), for the
    verifier's request ``request_id`` and the lender's ``label`` (a loan number).

    The verifier fills in ``auditor_key`` from the auditor's ledger registration and
    ``request_id`` with its own request's id; the presentation binds all four
    (:mod:`circuits.statements.escrow`).
    """

    auditor: str
    auditor_key: bytes  # compressed G1 point (48 bytes)
    attribute: str
    label: str
    request_id: str

    def __post_init__(self) -> None:
        for what, text in (("auditor", self.auditor), ("label", self.label), ("request id", self.request_id)):
            _require(isinstance(text, str) and 0 < len(text.encode()) <= 256, f"escrow {what}: 1–256 bytes of UTF-8")
        _require(isinstance(self.attribute, str) and bool(_NAME.fullmatch(self.attribute)), "escrow attribute name")
        _require(isinstance(self.auditor_key, bytes) and len(self.auditor_key) == G1_BYTES, "escrow key: 48 bytes")

    def describe(self) -> str:
        return f"{self.attribute} escrowed with {self.auditor} for {self.label}"

    def to_json(self) -> dict[str, str]:
        return {
            "auditor": self.auditor,
            "auditor_key": b64e(self.auditor_key),
            "attribute": self.attribute,
            "label": self.label,
            "request_id": self.request_id,
        }

    @classmethod
    def from_json(cls, data: Any) -> EscrowClause:
        d = _obj(data, {"auditor", "auditor_key", "attribute", "label", "request_id"}, "escrow")
        if not all(isinstance(d[key], str) for key in d):
            raise EncodingError("escrow fields are strings")
        return cls(d["auditor"], b64d(d["auditor_key"]), d["attribute"], d["label"], d["request_id"])


@dataclass(frozen=True)
class CredentialQuery:
    """What one credential must show: accepted definitions, disclosures, predicates.

    ``pseudonym_context`` asks for the holder's pseudonym for that context (a lender's
    identity, a campaign id): constant per holder and context, unlinkable across
    contexts (:mod:`circuits.bbs.pseudonym`). ``None`` asks for none; the JSON form then
    omits the key, so requests without pseudonyms keep their bytes and digest.
    """

    id: str
    credential_definitions: tuple[str, ...]
    disclose: tuple[str, ...] = ()
    predicates: tuple[Predicate, ...] = ()
    non_revoked: bool = True
    pseudonym_context: str | None = None
    escrow: EscrowClause | None = None  # left out of the JSON when None, like pseudonym_context

    def __post_init__(self) -> None:
        _require(bool(_NAME.fullmatch(self.id)), f"query id {self.id!r}: lowercase a-z, 0-9, _")
        _require(len(self.credential_definitions) > 0, "a query accepts at least one credential definition")
        _require(len(set(self.disclose)) == len(self.disclose), "disclose lists an attribute twice")
        _require(
            self.escrow is None or self.escrow.attribute not in self.disclose,
            "an escrowed attribute stays hidden: do not also disclose it",
        )
        _require(
            self.pseudonym_context is None
            or (isinstance(self.pseudonym_context, str) and 0 < len(self.pseudonym_context.encode()) <= 256),
            "pseudonym context: 1–256 bytes of UTF-8, or None",
        )
        object.__setattr__(self, "credential_definitions", tuple(self.credential_definitions))
        object.__setattr__(self, "disclose", tuple(self.disclose))
        object.__setattr__(self, "predicates", tuple(self.predicates))

    def to_json(self) -> dict[str, Any]:
        out = {
            "id": self.id,
            "credential_definitions": list(self.credential_definitions),
            "disclose": list(self.disclose),
            "predicates": [p.to_json() for p in self.predicates],
            "non_revoked": self.non_revoked,
        }
        if self.pseudonym_context is not None:
            out["pseudonym_context"] = self.pseudonym_context
        if self.escrow is not None:
            out["escrow"] = self.escrow.to_json()
        return out

    @classmethod
    def from_json(cls, data: Any) -> CredentialQuery:
        d = _obj(
            data,
            {"id", "credential_definitions", "disclose", "predicates", "non_revoked"},
            "query",
            {"pseudonym_context", "escrow"},
        )
        ctx = d.get("pseudonym_context")
        if ctx is not None and not isinstance(ctx, str):
            raise EncodingError("pseudonym_context must be a string")
        return cls(
            str(d["id"]),
            tuple(map(str, d["credential_definitions"])),
            tuple(map(str, d["disclose"])),
            tuple(Predicate.from_json(p) for p in d["predicates"]),
            bool(d["non_revoked"]),
            ctx,
            None if d.get("escrow") is None else EscrowClause.from_json(d["escrow"]),
        )


@dataclass(frozen=True)
class PresentationRequest:
    """A verifier's request: nonce, its identity, its "today", and one query per credential.

    ``equalities`` are pairs ``("query.attribute", "query.attribute")`` of hidden
    attributes that must be equal (across credentials too). The same link secret in
    every credential is always proven. ``linear`` are :class:`LinearPredicate` over hidden
    attributes of one or several queries; the JSON form omits the key when there are none,
    so requests without them keep their bytes and digest.
    """

    nonce: bytes
    verifier_id: str
    today: _dt.date
    queries: tuple[CredentialQuery, ...]
    equalities: tuple[tuple[str, str], ...] = ()
    linear: tuple[LinearPredicate, ...] = ()

    def __post_init__(self) -> None:
        _require(16 <= len(self.nonce) <= 64, "a nonce is 16–64 bytes")
        _require(0 < len(self.verifier_id) <= 256, "verifier id: 1–256 characters")
        _require(0 < len(self.queries) <= 16, "a request has 1–16 queries")
        ids = [q.id for q in self.queries]
        _require(len(set(ids)) == len(ids), "query ids must be unique")
        object.__setattr__(self, "queries", tuple(self.queries))
        object.__setattr__(self, "equalities", tuple(tuple(e) for e in self.equalities))
        for pair in self.equalities:
            _require(len(pair) == 2 and pair[0] != pair[1], "an equality names two different attributes")
            for ref in pair:
                q, _, a = ref.partition(".")
                _require(q in ids and bool(a), f"equality refers to unknown {ref!r}")
        object.__setattr__(self, "linear", tuple(self.linear))
        _require(len(self.linear) <= 16, "a request has at most 16 linear predicates")
        for lp in self.linear:
            _require(isinstance(lp, LinearPredicate), "linear predicates are LinearPredicate")
            for ref, _ in lp.terms:
                _require(ref.partition(".")[0] in ids, f"linear predicate refers to unknown query in {ref!r}")

    def query(self, query_id: str) -> CredentialQuery:
        for q in self.queries:
            if q.id == query_id:
                return q
        raise ParameterError(f"no query {query_id!r}")

    def to_json(self) -> dict[str, Any]:
        return {
            "nonce": b64e(self.nonce),
            "verifier_id": self.verifier_id,
            "today": self.today.isoformat(),
            "queries": [q.to_json() for q in self.queries],
            "equalities": [list(e) for e in self.equalities],
            **({"linear": [lp.to_json() for lp in self.linear]} if self.linear else {}),
        }

    @classmethod
    def from_json(cls, data: Any) -> PresentationRequest:
        d = _obj(data, {"nonce", "verifier_id", "today", "queries", "equalities"}, "presentation request", {"linear"})
        if not isinstance(d.get("linear", []), list):
            raise EncodingError("linear must be a list")
        try:
            today = _dt.date.fromisoformat(d["today"])
        except (TypeError, ValueError) as e:
            raise EncodingError("today must be an ISO date") from e
        return cls(
            b64d(d["nonce"]),
            str(d["verifier_id"]),
            today,
            tuple(CredentialQuery.from_json(q) for q in d["queries"]),
            tuple(_str_pair(e) for e in d["equalities"]),
            tuple(LinearPredicate.from_json(lp) for lp in d.get("linear", [])),
        )

    def to_bytes(self) -> bytes:
        return canonical_json(self.to_json())

    @functools.cached_property
    def digest(self) -> bytes:
        return hashlib.sha256(self.to_bytes()).digest()
