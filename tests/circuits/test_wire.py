"""circuits/wire.py: each wire type's binary and JSON forms derive from its one field list.

A toy type shows the derivation (adding a field is one line of FIELDS); the real types
round-trip in both forms, keep their JSON shape, and decode strictly.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
from typing import Any

import pytest

from circuits.backend import get_backend
from circuits.codec import b64d, b64e
from circuits.constants import R
from circuits.errors import EncodingError
from circuits.wire import (
    BLOB,
    POINT,
    PRESENTATION_VERSION,
    SCALAR,
    SCALARS,
    TEXT,
    U64,
    Field,
    NotEqualProof,
    Presentation,
    SetMembershipProof,
    WireType,
    _Wire,
)


@dataclasses.dataclass(frozen=True)
class Toy(_Wire):
    name: str
    P: Any
    s: int
    tail: tuple[int, ...]
    blob: bytes
    height: int | None = None
    extra: Any = None


Toy.WIRE = WireType(
    Toy,
    [
        Field("name", TEXT, ("name",)),
        Field("P", POINT, ("packed",)),
        Field("s", SCALAR, ("packed",)),
        Field("tail", SCALARS, ("packed",)),
        Field("blob", BLOB, ("blob",), omit_empty=True),
        Field("height", U64, ("nested", "height"), optional=True),
        Field("extra", POINT, ("nested", "extra"), optional=True),
    ],
)


def _toy(be, **kw):
    G = be.g1_generator()
    base = dict(name="t", P=be.g1_mul(G, 5), s=7, tail=(1, 2, 3), blob=b"xy", height=9, extra=be.g1_mul(G, 3))
    return Toy(**{**base, **kw})


def test_both_forms_follow_the_field_list():
    be = get_backend()
    toy = _toy(be)
    j = toy.to_json(be)
    assert set(j) == {"name", "packed", "blob", "nested"} and set(j["nested"]) == {"height", "extra"}
    assert len(b64d(j["packed"])) == 48 + 32 + 3 * 32
    assert Toy.from_json(json.loads(json.dumps(j)), be) == toy
    assert Toy.from_bytes(toy.to_bytes(be), be) == toy
    bare = _toy(be, blob=b"", height=None, extra=None)
    assert set(bare.to_json(be)) == {"name", "packed"}  # left out, not sent empty
    assert Toy.from_json(bare.to_json(be), be) == bare == Toy.from_bytes(bare.to_bytes(be), be)


def test_decoding_is_strict():
    be = get_backend()
    j = _toy(be).to_json(be)
    for bad in (
        {**j, "unknown": 1},
        {k: v for k, v in j.items() if k != "name"},
        {**j, "blob": ""},
        {**j, "nested": {**j["nested"], "more": 1}},
        {**j, "nested": {"height": True, "extra": j["nested"]["extra"]}},
        {**j, "packed": j["packed"][:-4]},
        {**j, "name": 5},
        [],
        "x",
    ):
        with pytest.raises(EncodingError):
            Toy.from_json(bad, be)
    raw = _toy(be).to_bytes(be)
    for bad in (raw + b"\0", raw[:-1], bytes([raw[0] | 0x80]) + raw[1:]):
        with pytest.raises(EncodingError):
            Toy.from_bytes(bad, be)


def test_proof_types_are_one_base64url_string():
    be = get_backend()
    ne = NotEqualProof(secrets.randbelow(R), secrets.randbelow(R))
    assert isinstance(ne.to_json(be), str) and NotEqualProof.from_json(ne.to_json(be), be) == ne
    sp = SetMembershipProof((1, 2), (3, 4, 5))
    assert len(b64d(sp.to_json(be))) == 5 * 32 and SetMembershipProof.from_json(sp.to_json(be), be) == sp
    for scalars in (0, 1, 2, 4):  # k − 1 challenges and k ≥ 2 responses: an odd count ≥ 3
        with pytest.raises(EncodingError):
            SetMembershipProof.from_json(b64e(b"\1" * 32 * scalars), be)


def test_a_presentation_names_its_version():
    be = get_backend()
    empty = Presentation((), (), (), b"", (), (), 5)
    j = empty.to_json(be)
    assert j == {"version": PRESENTATION_VERSION, "credentials": [], "challenge": b64e((5).to_bytes(32, "big"))}
    assert Presentation.from_json(j, be) == empty == Presentation.from_bytes(empty.to_bytes(be), be)
    v = PRESENTATION_VERSION
    for version in (v - 1, v + 1, str(v), float(v), True, None):
        with pytest.raises(EncodingError, match="unknown presentation version"):
            Presentation.from_json({**j, "version": version}, be)
    with pytest.raises(EncodingError, match="unknown presentation version"):
        Presentation.from_bytes(bytes([v + 1]) + empty.to_bytes(be)[1:], be)
