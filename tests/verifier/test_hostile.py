"""Hostile presentations: every malformed body, point or scalar is a 4xx or a rejected verdict —
never a 500, never an acceptance."""

from __future__ import annotations

import copy
import datetime as dt
import json
import secrets

import pytest
from fastapi.testclient import TestClient

from circuits.codec import b64d, b64e
from circuits.constants import R
from circuits.credentials import CredentialQuery, Predicate, PresentationRequest
from tests.verifier.helpers import VERIFIER_ID, Clock, make_service, present, request_body
from verifier.api import create_app

P = 0x1A0111EA397FE69A4B1BA7B6434BACD764774B84F38512BF6730D2A0F6B0F6241EABFFFEB153FFFFB9FEFFFFFFFFAAAB


def _non_subgroup_g1() -> bytes:
    """A compressed point on y² = x³ + 4 that is not in the order-r subgroup (cofactor ≠ 1)."""
    x = 1
    while True:
        rhs = (x**3 + 4) % P
        y = pow(rhs, (P + 1) // 4, P)
        if y * y % P == rhs:
            flags = 0x80 | (0x20 if y > (P - 1) // 2 else 0)
            raw = bytearray(x.to_bytes(48, "big"))
            raw[0] |= flags
            return bytes(raw)  # x = small: overwhelmingly not in the subgroup (checked by the test)
        x += 1


def _off_curve_g1() -> bytes:
    x = 1
    while True:
        rhs = (x**3 + 4) % P
        if pow(rhs, (P - 1) // 2, P) != 1:  # not a square: no point with this x
            raw = bytearray(x.to_bytes(48, "big"))
            raw[0] |= 0x80
            return bytes(raw)
        x += 1


IDENTITY_G1 = bytes([0xC0]) + bytes(47)


@pytest.fixture(scope="module")
def hostile_client(world, tmp_path_factory):
    """One service and database for the whole module (every test makes a request of its own)."""
    svc, engine = make_service(world, f"sqlite:///{tmp_path_factory.mktemp('hostile')}/v.db", Clock())
    key = svc.create_api_key(lender="acme-bank")
    with TestClient(create_app(svc), raise_server_exceptions=False) as c:
        yield c, {"Authorization": f"Bearer {key}"}
    engine.dispose()


@pytest.fixture
def client(hostile_client):
    return hostile_client[0]


@pytest.fixture
def auth(hostile_client):
    return hostile_client[1]


@pytest.fixture(scope="module")
def valid(world) -> dict:
    """A well-formed presentation (for a request of its own, so it never verifies elsewhere)."""
    q = CredentialQuery("credential", (world.definition.id,), ("country",), (Predicate("income", ">=", 50000),))
    request = PresentationRequest(secrets.token_bytes(32), VERIFIER_ID, dt.date.today(), (q,))
    return present(world, world.holders[0], request.to_json())


def _bbs_replace(p: dict, offset: int, data: bytes) -> dict:
    raw = bytearray(b64d(p["credentials"][0]["bbs"]))
    raw[offset : offset + len(data)] = data
    p["credentials"][0]["bbs"] = b64e(bytes(raw))
    return p


def _set(path, value):
    def mutate(p):
        target = p
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return p

    return mutate


MUTATIONS = {
    "empty": lambda p: {},
    "version-2": _set(["version"], 2),
    "extra-field": lambda p: {**p, "extra": 1},
    "credentials-not-list": _set(["credentials"], 7),
    "credential-not-object": _set(["credentials", 0], "x"),
    "bbs-not-base64": _set(["credentials", 0, "bbs"], "***"),
    "bbs-padded-base64": lambda p: _set(["credentials", 0, "bbs"], p["credentials"][0]["bbs"] + "=")(p),
    "bbs-truncated": lambda p: _set(["credentials", 0, "bbs"], p["credentials"][0]["bbs"][:100])(p),
    "A_bar-identity": lambda p: _bbs_replace(p, 0, IDENTITY_G1),
    "A_bar-off-curve": lambda p: _bbs_replace(p, 0, _off_curve_g1()),
    "B_bar-not-in-subgroup": lambda p: _bbs_replace(p, 48, _non_subgroup_g1()),
    "e_hat-equals-r": lambda p: _bbs_replace(p, 144, R.to_bytes(32, "big")),
    "m_hat-all-ones": lambda p: _bbs_replace(p, 240, b"\xff" * 32),
    "challenge-equals-r": _set(["challenge"], b64e(R.to_bytes(32, "big"))),
    "challenge-max": _set(["challenge"], b64e(b"\xff" * 32)),
    "challenge-short": _set(["challenge"], b64e(b"\x00")),
    "challenge-hex": _set(["challenge"], "00" * 32),
    "challenge-int": _set(["challenge"], 5),
    "commitment-identity": _set(["commitments"], b64e(IDENTITY_G1)),
    "commitment-not-in-subgroup": _set(["commitments"], b64e(_non_subgroup_g1())),
    "commitments-ragged": _set(["commitments"], b64e(b"\x80" * 47)),
    "openings-scalar-r": _set(["openings"], b64e(R.to_bytes(32, "big"))),
    "range-proof-garbage": _set(["range_proof"], b64e(b"\x01" * 100)),
    "range-proof-empty": _set(["range_proof"], ""),
    "revocation-missing": lambda p: (p["credentials"][0].pop("revocation"), p)[1],
    "revocation-not-object": _set(["credentials", 0, "revocation"], [1]),
    "height-negative": _set(["credentials", 0, "revocation", "height"], -1),
    "height-huge": _set(["credentials", 0, "revocation", "height"], 2**80),
    "height-text": _set(["credentials", 0, "revocation", "height"], "zero"),
    "height-float": _set(["credentials", 0, "revocation", "height"], 1.5),
    "accumulator-identity": _set(["credentials", 0, "revocation", "accumulator"], b64e(IDENTITY_G1)),
    "accumulator-short": _set(["credentials", 0, "revocation", "accumulator"], b64e(b"\x80")),
    "membership-garbage": _set(["credentials", 0, "revocation", "proof"], b64e(b"\x00" * 7)),
    "disclosed-lie": _set(["credentials", 0, "disclosed"], {"country": "DE"}),
    "disclosed-wrong-type": _set(["credentials", 0, "disclosed"], {"country": ["NL"]}),
    "disclosed-more": _set(["credentials", 0, "disclosed"], {"country": "NL", "income": 64000}),
    "disclosed-nested": _set(["credentials", 0, "disclosed"], {"country": {"a": [[[[1]]]]}}),
    "definition-unknown": _set(["credentials", 0, "definition_id"], "creddef:" + "0" * 32),
    "definition-huge": _set(["credentials", 0, "definition_id"], "x" * 100_000),
    "query-id-added": _set(["credentials", 0, "query_id"], "other"),
    "revocation-null": _set(["credentials", 0, "revocation"], None),
    "not-equal-empty-list": _set(["not_equal"], []),
    "two-credentials": lambda p: _set(["credentials"], p["credentials"] * 2)(p),
    "no-credentials": _set(["credentials"], []),
}


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_hostile_presentation_is_rejected_never_500(client, auth, world, valid, name):
    rid = client.post("/requests", json=request_body(world), headers=auth).json()["id"]
    body = {"presentation": MUTATIONS[name](copy.deepcopy(valid))}
    r = client.post(f"/requests/{rid}/presentation", json=body)
    assert r.status_code < 500, r.text
    if r.status_code == 200:
        verdict = r.json()
        assert verdict["verified"] is False and verdict["disclosed"] == {} and verdict["reason"], verdict
    elif name == "definition-huge":  # a 100 000-byte string: over servicekit's string limit, refused before parsing
        assert r.status_code == 400 and r.json()["type"].endswith("/malformed-json"), r.text
    else:
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    "name",
    [
        "A_bar-identity",
        "A_bar-off-curve",
        "B_bar-not-in-subgroup",
        "e_hat-equals-r",
        "challenge-equals-r",
        "commitment-not-in-subgroup",
        "openings-scalar-r",
        "bbs-padded-base64",
        "height-text",
    ],
)
def test_bad_encodings_are_malformed(client, auth, world, valid, name):
    rid = client.post("/requests", json=request_body(world), headers=auth).json()["id"]
    r = client.post(f"/requests/{rid}/presentation", json={"presentation": MUTATIONS[name](copy.deepcopy(valid))})
    assert r.status_code == 200 and r.json()["reason"] == "malformed"


def test_non_subgroup_point_is_on_the_curve_but_refused(world):
    """The test point really is on the curve and outside G1 (so the check above tests the subgroup check)."""
    from circuits.errors import EncodingError

    with pytest.raises(EncodingError):
        world.be.g1_from_bytes(_non_subgroup_g1())


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"",
        b"[]",
        b'"presentation"',
        b'{"presentation": []}',
        b'{"presentation": "x"}',
        b'{"presentation": null}',
        b'{"presentation": {}, "more": 1}',
        b"{" * 50_000,
        b"[" * 100_000 + b"]" * 100_000,
        b'{"presentation": ' + b'{"a":' * 5_000 + b"1" + b"}" * 5_001,
        '{"presentation": "\ud800"}'.encode("utf-8", "surrogatepass"),
    ],
    ids=lambda b: repr(b[:20]),
)
def test_bad_bodies_are_4xx_and_leave_the_request_open(client, auth, world, valid, raw):
    """Deep nesting is refused before any parser runs (a segfault otherwise: see verifier/api.py)."""
    rid = client.post("/requests", json=request_body(world), headers=auth).json()["id"]
    r = client.post(f"/requests/{rid}/presentation", content=raw, headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    if raw in (b"not json", b"{" * 50_000) or len(raw) > 10_000:
        assert r.status_code == 400 and r.json()["type"].endswith("/malformed-json")
    assert client.get(f"/requests/{rid}", headers=auth).json()["status"] == "pending"


def test_the_valid_presentation_itself_answers_only_its_own_request(client, auth, world, valid):
    rid = client.post("/requests", json=request_body(world), headers=auth).json()["id"]
    r = client.post(
        f"/requests/{rid}/presentation",
        content=json.dumps({"presentation": valid}),
        headers={"content-type": "application/json"},
    )
    assert r.json()["reason"] == "invalid_proof"
