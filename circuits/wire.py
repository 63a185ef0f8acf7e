r"""The presentation's wire types, each declared by one field list (DESIGN §1, issue 15 item 4).

:class:`Presentation` (one per request) holds one :class:`CredentialProof` per query, in
query order, then the statements' elements in plan order: the commitments and the batched
opening's response, the aggregated range proof, the :class:`NotEqualProof` and
:class:`SetMembershipProof` lists, and the one challenge.

Each type has one ``FIELDS`` list of :class:`Field` (attribute name, element codec, JSON
key path, optional / left out when empty). Both forms are derived from it:

- **JSON** (``to_json`` / ``from_json``): fields sharing a key are *packed* — their bytes
  concatenated (points 48 bytes, scalars 32, then at most the variable tail) and sent as
  unpadded base64url; ``("revocation", "height")`` nests an object; a type whose fields
  all pack at the root is one base64url string. What a presentation does not have is
  left out, not sent empty, and decoding refuses the empty forms and unknown keys, so each
  presentation has one JSON form.
- **Binary** (``to_bytes`` / ``from_bytes``): the same groups in the same order — a packed
  group as a u32-length blob, text and JSON objects as blobs, heights as u64, lists as a
  u16 count — with one presence byte per type that has optional groups.

Adding a field is one line in ``FIELDS`` (and the dataclass attribute). Decoding is strict:
canonical base64url, points in G1 and not the identity, scalars < r, exact lengths,
and any version but :data:`PRESENTATION_VERSION` is refused with "unknown presentation
version". See circuits/notes/presentation.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from circuits.backend import GroupBackend, get_backend
from circuits.backend.interface import G1
from circuits.bbs.core import g1_from_bytes_nonidentity, scalar_from_bytes, scalar_to_bytes
from circuits.codec import Reader, Writer, b64d, b64e
from circuits.constants import G1_BYTES, SCALAR_BYTES
from circuits.credentials import canonical_json
from circuits.errors import EncodingError

#: 3: one plan (every BBS first message before ρ, ≠ and ∈ tagged), field-list encodings;
#: 2: Bulletproofs+, one batched opening, compact JSON.
PRESENTATION_VERSION = 3


# Element codecs ---------------------------------------------------------------------------------


class _Codec:
    """How one value becomes bytes: ``size`` if fixed, ``item`` for a variable-length tail of fixed items."""

    size: int | None = None
    item: int | None = None
    packed = True  # False: a native JSON value (text, object, integer), never packed

    def empty(self, value: Any) -> bool:
        return not value

    def encode(self, value: Any, be: GroupBackend) -> bytes:
        raise NotImplementedError

    def decode(self, data: bytes, be: GroupBackend) -> Any:
        raise NotImplementedError

    # Native (``packed = False``) codecs: a JSON value of their own and a binary form of their own.
    def to_json(self, value: Any) -> Any:
        raise NotImplementedError

    def from_json(self, data: Any) -> Any:
        raise NotImplementedError

    def write(self, w: Writer, value: Any) -> None:
        raise NotImplementedError

    def read(self, r: Reader) -> Any:
        raise NotImplementedError


class _Point(_Codec):
    size = G1_BYTES

    def encode(self, value: G1, be: GroupBackend) -> bytes:
        return be.g1_to_bytes(value)

    def decode(self, data: bytes, be: GroupBackend) -> G1:
        return g1_from_bytes_nonidentity(be, data)


class _Scalar(_Codec):
    size = SCALAR_BYTES

    def encode(self, value: int, be: GroupBackend) -> bytes:
        return scalar_to_bytes(value)

    def decode(self, data: bytes, be: GroupBackend) -> int:
        return scalar_from_bytes(data)


class _Tail(_Codec):
    """A tuple of points or scalars: the variable end of a packed group."""

    def __init__(self, element: _Codec) -> None:
        if element.size is None:
            raise ValueError("a tail repeats a fixed-size element")
        self.element, self.item = element, element.size
        self._step = element.size

    def encode(self, value: Sequence[Any], be: GroupBackend) -> bytes:
        return b"".join(self.element.encode(x, be) for x in value)

    def decode(self, data: bytes, be: GroupBackend) -> tuple[Any, ...]:
        step = self._step
        return tuple(self.element.decode(data[i : i + step], be) for i in range(0, len(data), step))


class _Raw(_Codec):
    """Exactly ``n`` opaque bytes (an encoding the verifier compares, e.g. the accumulator value)."""

    def __init__(self, n: int) -> None:
        self.size = n

    def encode(self, value: bytes, be: GroupBackend) -> bytes:
        return bytes(value)

    def decode(self, data: bytes, be: GroupBackend) -> bytes:
        return bytes(data)


class _Blob(_Codec):
    """Opaque bytes of any length, alone in their group (parsed strictly by the statement that uses them)."""

    def encode(self, value: bytes, be: GroupBackend) -> bytes:
        return bytes(value)

    def decode(self, data: bytes, be: GroupBackend) -> bytes:
        return bytes(data)


class _Text(_Codec):
    packed = False

    def to_json(self, value: str) -> str:
        return value

    def from_json(self, data: Any) -> str:
        if not isinstance(data, str):
            raise EncodingError("expected a string")
        return data

    def write(self, w: Writer, value: str) -> None:
        w.text(value)

    def read(self, r: Reader) -> str:
        return r.text()


class _Object(_Codec):
    packed = False

    def to_json(self, value: dict[str, Any]) -> dict[str, Any]:
        return value

    def from_json(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise EncodingError("expected an object")
        return data

    def write(self, w: Writer, value: dict[str, Any]) -> None:
        w.blob(canonical_json(value))

    def read(self, r: Reader) -> dict[str, Any]:
        try:
            data = json.loads(r.blob())
        except ValueError as e:
            raise EncodingError("not JSON") from e
        return self.from_json(data)


class _U64(_Codec):
    packed = False

    def to_json(self, value: int) -> int:
        return value

    def from_json(self, data: Any) -> int:
        if type(data) is not int or not 0 <= data < 2**64:  # not True, not 1.0
            raise EncodingError("expected an integer in [0, 2^64)")
        return data

    def write(self, w: Writer, value: int) -> None:
        w.u64(value)

    def read(self, r: Reader) -> int:
        return r.u64()


class _List(_Codec):
    """A list of values of a wire type (a JSON array; binary: u16 count, then each)."""

    packed = False

    def __init__(self, element: Callable[[], type[_Wire]]) -> None:
        self._element = element  # late-bound: the element class is declared below

    @property
    def wire(self) -> WireType:
        return self._element().WIRE

    def to_json_be(self, value: Sequence[Any], be: GroupBackend) -> list[Any]:
        return [self.wire.to_json(x, be) for x in value]

    def from_json_be(self, data: Any, be: GroupBackend) -> tuple[Any, ...]:
        if not isinstance(data, list):
            raise EncodingError("expected an array")
        return tuple(self.wire.from_json(x, be) for x in data)

    def write_be(self, w: Writer, value: Sequence[Any], be: GroupBackend) -> None:
        w.u16(len(value))
        for x in value:
            self.wire.write(w, x, be)

    def read_be(self, r: Reader, be: GroupBackend) -> tuple[Any, ...]:
        return tuple(self.wire.read(r, be) for _ in range(r.u16()))


POINT, SCALAR, POINTS, SCALARS = _Point(), _Scalar(), _Tail(_Point()), _Tail(_Scalar())
BLOB, TEXT, OBJECT, U64 = _Blob(), _Text(), _Object(), _U64()


def RAW(n: int) -> _Codec:  # reads as a codec constant
    return _Raw(n)


def LIST(element: Callable[[], type[_Wire]]) -> _Codec:
    return _List(element)


# Field lists -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One attribute of a wire type: its codec and JSON key path; ``optional`` fields may be None
    (their top-level key is then left out), ``omit_empty`` ones are left out of JSON when empty."""

    name: str
    codec: _Codec
    key: tuple[str, ...]
    optional: bool = False
    omit_empty: bool = False


class WireType:
    """Bytes and JSON of one dataclass, both derived from its field list."""

    def __init__(
        self,
        cls: type,
        fields: Sequence[Field],
        *,
        split: Callable[[int], tuple[int, int]] | None = None,
        version: int | None = None,
    ) -> None:
        self.cls, self.fields, self.split, self.version = cls, tuple(fields), split, version
        self.groups: list[tuple[tuple[str, ...], list[Field]]] = []
        for f in self.fields:
            if self.groups and self.groups[-1][0] == f.key and f.codec.packed:
                self.groups[-1][1].append(f)
            else:
                self.groups.append((f.key, [f]))
        self.optional_tops = list(dict.fromkeys(g[0][0] for g in self.groups if g[1][0].optional))
        self.tops = list(dict.fromkeys(key[0] for key, _ in self.groups if key))
        self.required_tops = {key[0] for key, fs in self.groups if key and not fs[0].optional and not fs[0].omit_empty}
        if version is not None:
            self.required_tops.add("version")

    # packing -----------------------------------------------------------------------------------
    def _pack(self, fields: list[Field], obj: Any, be: GroupBackend) -> bytes:
        return b"".join(f.codec.encode(getattr(obj, f.name), be) for f in fields)

    def _unpack(self, fields: list[Field], data: bytes, be: GroupBackend) -> dict[str, Any]:
        fixed = sum(f.codec.size for f in fields if f.codec.size is not None)
        tails = [f for f in fields if f.codec.size is None]
        if len(data) < fixed if tails else len(data) != fixed:
            raise EncodingError(f"{'/'.join(fields[0].key) or self.cls.__name__}: bad length {len(data)}")
        out, pos = {}, 0
        for f in fields:
            if f.codec.size is not None:
                out[f.name] = f.codec.decode(data[pos : pos + f.codec.size], be)
                pos += f.codec.size
        rest = data[pos:]
        if len(tails) == 1:
            (f,) = tails
            if f.codec.item and len(rest) % f.codec.item:
                raise EncodingError(f"{'/'.join(f.key) or self.cls.__name__}: bad length {len(data)}")
            out[f.name] = f.codec.decode(rest, be)
        elif tails:  # two tails of one item size: the type says how many items each has
            item = tails[0].codec.item
            if item is None or self.split is None:  # a field list that cannot be decoded: a bug in it
                raise TypeError(f"{self.cls.__name__}: two tails need one item size and a split")
            if len(rest) % item:
                raise EncodingError(f"{self.cls.__name__}: bad length {len(data)}")
            n1, _ = self.split(len(rest) // item)
            out[tails[0].name] = tails[0].codec.decode(rest[: n1 * item], be)
            out[tails[1].name] = tails[1].codec.decode(rest[n1 * item :], be)
        return out

    def _absent(self, fields: list[Field], obj: Any) -> bool:
        f = fields[0]
        value = getattr(obj, f.name)
        return value is None if f.optional else f.omit_empty and f.codec.empty(value)

    # JSON --------------------------------------------------------------------------------------
    def to_json(self, obj: Any, be: GroupBackend) -> Any:
        if len(self.groups) == 1 and not self.groups[0][0]:
            return b64e(self._pack(self.groups[0][1], obj, be))
        out: dict[str, Any] = {} if self.version is None else {"version": self.version}
        for key, fields in self.groups:
            if self._absent(fields, obj):
                continue
            codec = fields[0].codec
            value: Any  # the group's JSON value: base64 text, an array, or the codec's own
            if codec.packed:
                value = b64e(self._pack(fields, obj, be))
            elif isinstance(codec, _List):
                value = codec.to_json_be(getattr(obj, fields[0].name), be)
            else:
                value = codec.to_json(getattr(obj, fields[0].name))
            node = out
            for part in key[:-1]:
                node = node.setdefault(part, {})
            node[key[-1]] = value
        return out

    def from_json(self, data: Any, be: GroupBackend) -> Any:
        if len(self.groups) == 1 and not self.groups[0][0]:
            if not isinstance(data, str):
                raise EncodingError(f"{self.cls.__name__} must be a base64url string")
            return self.cls(**self._unpack(self.groups[0][1], b64d(data), be))
        if not isinstance(data, dict):
            raise EncodingError(f"{self.cls.__name__} must be an object")
        if self.version is not None and (type(data.get("version")) is not int or data["version"] != self.version):
            raise EncodingError("unknown presentation version")  # not True, not 3.0, not a later version
        allowed = set(self.tops) | ({"version"} if self.version is not None else set())
        if not set(data) <= allowed or not self.required_tops <= set(data):
            raise EncodingError(f"unexpected or missing {self.cls.__name__} fields")
        values: dict[str, Any] = {}
        nested: dict[str, set[str]] = {}
        for key, fields in self.groups:
            f = fields[0]
            if key[0] not in data:
                for g in fields:
                    values[g.name] = None if g.optional else _empty_of(g.codec)
                continue
            node = data
            for part in key[:-1]:
                node = node[part]
                if not isinstance(node, dict):
                    raise EncodingError(f"{part} must be an object")
                nested.setdefault(part, set()).add(key[-1])
            raw = node[key[-1]]
            if f.codec.packed:
                values.update(self._unpack(fields, b64d(raw), be))
            elif isinstance(f.codec, _List):
                values[f.name] = f.codec.from_json_be(raw, be)
            else:
                values[f.name] = f.codec.from_json(raw)
            if f.omit_empty and f.codec.empty(values[f.name]):
                raise EncodingError("empty fields are left out, not sent")
        for part, keys in nested.items():
            if set(data[part]) != keys:
                raise EncodingError(f"{part} must be exactly {{{', '.join(sorted(keys))}}}")
        return self.cls(**values)

    # bytes ----------------------------------------------------------------------------------------
    def write(self, w: Writer, obj: Any, be: GroupBackend) -> None:
        if self.version is not None:
            w.u8(self.version)
        if self.optional_tops:
            present = [
                top
                for top in self.optional_tops
                if not any(self._absent(fs, obj) for key, fs in self.groups if key[0] == top)
            ]
            w.u8(sum(1 << i for i, top in enumerate(self.optional_tops) if top in present))
        for _key, fields in self.groups:
            if fields[0].optional and self._absent(fields, obj):
                continue
            codec = fields[0].codec
            if codec.packed:
                w.blob(self._pack(fields, obj, be))
            elif isinstance(codec, _List):
                codec.write_be(w, getattr(obj, fields[0].name), be)
            else:
                codec.write(w, getattr(obj, fields[0].name))

    def read(self, r: Reader, be: GroupBackend) -> Any:
        if self.version is not None and r.u8() != self.version:
            raise EncodingError("unknown presentation version")
        present = set(self.optional_tops)
        if self.optional_tops:
            flags = r.u8()
            if flags >> len(self.optional_tops):
                raise EncodingError(f"unknown {self.cls.__name__} flags")
            present = {top for i, top in enumerate(self.optional_tops) if flags >> i & 1}
        values: dict[str, Any] = {}
        for key, fields in self.groups:
            codec = fields[0].codec
            if fields[0].optional and key[0] not in present:
                values.update({f.name: None for f in fields})
            elif codec.packed:
                values.update(self._unpack(fields, r.blob(), be))
            elif isinstance(codec, _List):
                values[fields[0].name] = codec.read_be(r, be)
            else:
                values[fields[0].name] = codec.read(r)
        return self.cls(**values)


def _empty_of(codec: _Codec) -> Any:
    return b"" if isinstance(codec, (_Blob, _Raw)) else ()


def _guard(fn: Callable[[], Any]) -> Any:
    """Decoding raises :class:`EncodingError` only, whatever a hostile input provokes."""
    try:
        return fn()
    except EncodingError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError) as e:
        raise EncodingError(f"malformed presentation: {e!r:.200}") from None


class _Wire:
    """``to_bytes``/``from_bytes``/``to_json``/``from_json`` from the class's ``WIRE``."""

    WIRE: ClassVar[WireType]

    def to_json(self, backend: GroupBackend | None = None) -> Any:
        return self.WIRE.to_json(self, backend or get_backend())

    @classmethod
    def from_json(cls, data: Any, backend: GroupBackend | None = None) -> Any:
        return _guard(lambda: cls.WIRE.from_json(data, backend or get_backend()))

    def to_bytes(self, backend: GroupBackend | None = None) -> bytes:
        w = Writer()
        self.WIRE.write(w, self, backend or get_backend())
        return w.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, backend: GroupBackend | None = None) -> Any:
        def read() -> Any:
            r = Reader(data)
            out = cls.WIRE.read(r, backend or get_backend())
            r.finish()
            return out

        return _guard(read)


# The types ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NotEqualProof(_Wire):
    """Responses ``(û, ŵ)`` of one ``a ≠ t`` statement (:mod:`circuits.statements.not_equal`)."""

    u_hat: int
    w_hat: int


NotEqualProof.WIRE = WireType(NotEqualProof, [Field("u_hat", SCALAR, ()), Field("w_hat", SCALAR, ())])


def _cds_split(n: int) -> tuple[int, int]:
    """``k − 1`` branch challenges, then ``k`` responses (``k ≥ 2``)."""
    if n < 3 or n % 2 == 0:
        raise EncodingError("bad set-membership proof length")
    return (n - 1) // 2, (n + 1) // 2


@dataclass(frozen=True)
class SetMembershipProof(_Wire):
    """Branch challenges c_1..c_{k−1} (c_k = c − Σ) and responses z_1..z_k.

    See :mod:`circuits.statements.set_membership`.
    """

    challenges: tuple[int, ...]
    responses: tuple[int, ...]


SetMembershipProof.WIRE = WireType(
    SetMembershipProof, [Field("challenges", SCALARS, ()), Field("responses", SCALARS, ())], split=_cds_split
)


@dataclass(frozen=True)
class CredentialProof(_Wire):
    """One credential's part: its definition, what it discloses, its BBS responses, and the
    elements of its per-credential statements (non-revocation, pseudonym).

    A presentation lists these in the order of the request's queries (the i-th answers the
    i-th query), so no query id travels: the request, bound into the transcript, names them.
    """

    definition_id: str
    disclosed: dict[str, Any]  # attribute name -> JSON value
    A_bar: Any
    B_bar: Any
    D: Any
    e_hat: int
    r1_hat: int
    r3_hat: int
    m_hat: tuple[int, ...]
    revocation_height: int | None = None
    accumulator: bytes | None = None
    membership: bytes | None = None
    pseudonym: Any = None  # G1 point, when the query asks for one
    escrow_c1: Any = None  # escrow (circuits.statements.escrow): C1, C2, r̂, when the query asks for one
    escrow_c2: Any = None
    escrow_r_hat: int | None = None


CredentialProof.WIRE = WireType(
    CredentialProof,
    [
        Field("definition_id", TEXT, ("definition_id",)),
        Field("disclosed", OBJECT, ("disclosed",)),
        Field("A_bar", POINT, ("bbs",)),
        Field("B_bar", POINT, ("bbs",)),
        Field("D", POINT, ("bbs",)),
        Field("e_hat", SCALAR, ("bbs",)),
        Field("r1_hat", SCALAR, ("bbs",)),
        Field("r3_hat", SCALAR, ("bbs",)),
        Field("m_hat", SCALARS, ("bbs",)),
        Field("revocation_height", U64, ("revocation", "height"), optional=True),
        Field("accumulator", RAW(G1_BYTES), ("revocation", "accumulator"), optional=True),
        Field("membership", BLOB, ("revocation", "proof"), optional=True),
        Field("pseudonym", POINT, ("pseudonym",), optional=True),
        Field("escrow_c1", POINT, ("escrow",), optional=True),
        Field("escrow_c2", POINT, ("escrow",), optional=True),
        Field("escrow_r_hat", SCALAR, ("escrow",), optional=True),
    ],
)


@dataclass(frozen=True)
class Presentation(_Wire):
    """A whole presentation; ``challenge`` is the one Fiat–Shamir challenge every response answers."""

    credentials: tuple[CredentialProof, ...]
    commitments: tuple[Any, ...]
    openings: tuple[int, ...]
    range_proof: bytes
    not_equal: tuple[NotEqualProof, ...]
    sets: tuple[SetMembershipProof, ...]
    challenge: int


Presentation.WIRE = WireType(
    Presentation,
    [
        Field("credentials", LIST(lambda: CredentialProof), ("credentials",)),
        Field("commitments", POINTS, ("commitments",), omit_empty=True),
        Field("openings", SCALARS, ("openings",), omit_empty=True),
        Field("range_proof", BLOB, ("range_proof",), omit_empty=True),
        Field("not_equal", LIST(lambda: NotEqualProof), ("not_equal",), omit_empty=True),
        Field("sets", LIST(lambda: SetMembershipProof), ("sets",), omit_empty=True),
        Field("challenge", SCALAR, ("challenge",)),
    ],
    version=PRESENTATION_VERSION,
)
