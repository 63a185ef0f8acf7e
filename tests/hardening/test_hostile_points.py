"""Hostile points and scalars in every input that carries them → a 4xx or a rejected verdict, never a 5xx.

- **Presentations**: each G1 point (A_bar, B_bar, D, every commitment, the membership
  proof's points, the accumulator) replaced by an off-curve point, a point on the curve
  outside the prime-order subgroup, the identity, and non-canonical encodings (x ≥ p,
  bad flag bits); each scalar by r, r + 1, 2^256 − 1 and 0 → verdict ``malformed`` for
  what the parser decodes (the accumulator bytes are only compared with the ledger's:
  ``revocation``).
- **Credential requests** (``POST /credentials``): the commitment and each scalar of its
  proof likewise → 422 ``invalid-credential-request``, and the offer stays usable.
- **Ledger entries**: Ed25519 keys of small order or non-canonical in a registration or a
  rotation → 422 (the identity key accepts a forged signature for every message: found
  here, fixed in ``ledger.entries``); signatures with S ≥ L or R of small order → 403;
  BLS points an issuer publishes (BBS key, Q, V0) that are hostile → the ledger keeps them
  (opaque by design) but the verifier refuses a request naming that definition with a 4xx.
"""

from __future__ import annotations

import copy

import pytest

from circuits.codec import b64d, b64e
from circuits.constants import P, R
from tests.circuits.test_backend import _first_g1, _first_g2

IDENTITY_G1 = bytes([0xC0]) + bytes(47)
G1_GENERATOR_X_PLUS_P = None  # built below (x ≥ p: non-canonical)


def _hostile_g1() -> dict[str, bytes]:
    off = _first_g1(on_curve=False)
    non_sub = _first_g1(on_curve=True)
    x_ge_p = bytearray((P + 1).to_bytes(48, "big"))
    x_ge_p[0] |= 0x80
    return {
        "off-curve": off,
        "not-in-subgroup": non_sub,
        "identity": IDENTITY_G1,
        "identity-with-bits": bytes([0xC0]) + bytes(46) + b"\x01",
        "x>=p": bytes(x_ge_p),
        "uncompressed-flag": bytes([non_sub[0] & 0x7F]) + non_sub[1:],
        "all-ff": b"\xff" * 48,
        "zero": bytes(48),
    }


HOSTILE_SCALARS = {
    "r": R.to_bytes(32, "big"),
    "r+1": (R + 1).to_bytes(32, "big"),
    "2^256-1": b"\xff" * 32,
    "zero": bytes(32),
}


@pytest.fixture(scope="module")
def target(story):
    created = story.new_request()
    return created["id"], story.present(created)


def _replace(p: dict, path: tuple, start: int, new: bytes) -> dict:
    v = copy.deepcopy(p)
    holder = v
    for k in path[:-1]:
        holder = holder[k]
    raw = bytearray(b64d(holder[path[-1]]))
    raw[start : start + len(new)] = new
    holder[path[-1]] = b64e(bytes(raw))
    return v


def test_hostile_points_and_scalars_in_a_presentation(story, target):
    request_id, valid = target
    bbs = ("credentials", 0, "bbs")
    points = {"A_bar": (bbs, 0), "B_bar": (bbs, 48), "D": (bbs, 96)}
    for i in range(len(b64d(valid["commitments"])) // 48):
        points[f"commitments[{i}]"] = (("commitments",), 48 * i)
    points["membership C_bar"] = (("credentials", 0, "revocation", "proof"), 1)
    n_scalars = (len(b64d(valid["credentials"][0]["bbs"])) - 144) // 32
    scalars = {f"bbs scalar {j}": (bbs, 144 + 32 * j) for j in range(n_scalars)}
    for i in range(len(b64d(valid["openings"])) // 32):
        scalars[f"openings[{i}]"] = (("openings",), 32 * i)
    tried = 0
    for name, (path, start) in points.items():
        for kind, enc in _hostile_g1().items():
            v = story.verifier.check_presentation(
                request_id=request_id, unverified_presentation=_replace(valid, path, start, enc)
            )
            assert not v.verified and v.reason in ("malformed", "invalid_proof", "revocation"), (name, kind, v)
            if path[0] != "credentials" or path[-1] == "bbs":
                assert v.reason == "malformed", (name, kind, v)  # the parser refuses it, before any maths
            tried += 1
    for name, (path, start) in scalars.items():
        for kind, enc in HOSTILE_SCALARS.items():
            v = story.verifier.check_presentation(
                request_id=request_id, unverified_presentation=_replace(valid, path, start, enc)
            )
            assert not v.verified, (name, kind)
            if kind != "zero":
                assert v.reason == "malformed", (name, kind, v)
            tried += 1
    for kind, enc in _hostile_g1().items():  # the accumulator: compared with the ledger's V, never trusted
        v = story.verifier.check_presentation(
            request_id=request_id,
            unverified_presentation=_replace(valid, ("credentials", 0, "revocation", "accumulator"), 0, enc),
        )
        assert not v.verified and v.reason in ("revocation", "malformed", "invalid_proof"), (kind, v)
    for _kind, enc in HOSTILE_SCALARS.items():
        v = copy.deepcopy(valid)
        v["challenge"] = b64e(enc)
        assert story.verifier.check_presentation(request_id=request_id, unverified_presentation=v).reason in (
            "malformed",
            "invalid_proof",
        )
    # and one over HTTP: a 200 verdict, never a 5xx
    created = story.new_request()
    r = story.submit(created, _replace(story.present(created), bbs, 0, _hostile_g1()["not-in-subgroup"]))
    assert r.status_code == 200 and r.json() == {
        "verified": False,
        "disclosed": {},
        "predicates": [],
        "reason": "malformed",
    }
    print(f"\nhostile presentation encodings: {tried}")


def test_hostile_points_and_scalars_in_a_credential_request(story):
    from circuits.credentials import CredentialDefinition
    from circuits.issuance import create_credential_request, create_link_secret

    offer = story.offer(story.cred_def["id"], {"income": 1, "birth_date": "2000-01-01", "country": "NL"})
    d = CredentialDefinition.from_json(offer["definition"])
    request, _ = create_credential_request(d, create_link_secret(), backend=story.be)
    headers = {"Authorization": f"Bearer {offer['token']}"}
    variants = {f"C {k}": enc + request[48:] for k, enc in _hostile_g1().items()}
    for j in range((len(request) - 48) // 32):
        for k, enc in HOSTILE_SCALARS.items():
            variants[f"scalar {j} = {k}"] = request[: 48 + 32 * j] + enc + request[48 + 32 * (j + 1) :]
    variants["truncated"] = request[:-1]
    variants["extended"] = request + b"\x00"
    variants["empty"] = b""
    for name, raw in variants.items():
        r = story.iss.post("/credentials", headers=headers, json={"offer_id": offer["offer_id"], "request": b64e(raw)})
        assert r.status_code == 422, (name, r.status_code, r.text)
        assert r.json()["type"].endswith(("/invalid-credential-request", "/invalid-request")), (name, r.json())
    ok = story.iss.post("/credentials", headers=headers, json={"offer_id": offer["offer_id"], "request": b64e(request)})
    assert ok.status_code == 201, ok.text  # the offer stayed usable
    print(f"\nhostile credential requests: {len(variants)}")


# ------------------------------------------------------------------ ledger entries

_L = 2**252 + 27742317777372353535851937790883648493
SMALL_ORDER_ED25519 = {
    "identity": "01" + "00" * 31,
    "identity-signed-x": "01" + "00" * 30 + "80",
    "order-2": "ec" + "ff" * 30 + "7f",
    "order-4": "00" * 32,
    "order-8": "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "order-8-neg": "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "y=p (non-canonical 0)": "ed" + "ff" * 30 + "7f",
    "y=p+1 (non-canonical 1)": "ee" + "ff" * 30 + "7f",
}


@pytest.fixture
def ledger():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from fastapi.testclient import TestClient

    from ledger.api import create_app
    from ledger.entries import public_key_bytes
    from ledger.log import LedgerLog
    from ledger.store import MemoryStore

    log = LedgerLog(MemoryStore(), signing_key=Ed25519PrivateKey.generate())
    key = Ed25519PrivateKey.generate()
    log.append(
        key=key, issuer="acme", entry_type="issuer_registration", payload={"ledger_key": public_key_bytes(key).hex()}
    )
    return log, key, TestClient(create_app(log), raise_server_exceptions=False)


def _forged(log, entry_type: str, issuer: str, payload: dict, signature: bytes) -> dict:
    from ledger.log import now_ms

    head = log.head()
    return {
        "seq": head.size,
        "time": now_ms(),
        "type": entry_type,
        "issuer": issuer,
        "payload": payload,
        "prev_hash": head.last_hash.hex(),
        "signature": signature.hex(),
    }


def test_small_order_and_non_canonical_ed25519_keys_are_refused(ledger):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ledger.entries import sign_entry
    from ledger.log import now_ms

    log, key, client = ledger
    forged_sig = bytes.fromhex("01" + "00" * 31) + bytes(32)  # R = identity, S = 0: "valid" under the identity key
    for name, weak in SMALL_ORDER_ED25519.items():
        r = client.post(
            "/entries",
            json=_forged(log, "issuer_registration", f"mallory-{len(name)}", {"ledger_key": weak}, forged_sig),
        )
        assert r.status_code == 422 and r.json()["type"].endswith("/invalid-payload"), (name, r.text)
        head = log.head()  # a rotation to a weak key, properly signed by the current key
        rot = sign_entry(
            key=key,
            seq=head.size,
            time=now_ms(),
            entry_type="key_rotation",
            issuer="acme",
            payload={"new_ledger_key": weak},
            prev_hash=head.last_hash,
        )
        r = client.post("/entries", json=rot.to_json())
        assert r.status_code == 422 and r.json()["type"].endswith("/invalid-payload"), (name, r.text)
    assert log.head().size == 1
    # signatures: S ≥ L, S + L (malleated), R of small order, all zero
    head = log.head()
    good = sign_entry(
        key=key,
        seq=head.size,
        time=now_ms(),
        entry_type="schema",
        issuer="acme",
        payload={"schema_id": "acme/s", "name": "s", "version": "1", "attributes": [{"name": "a", "type": "int"}]},
        prev_hash=head.last_hash,
    )
    sig = bytes.fromhex(good.signature)
    s = int.from_bytes(sig[32:], "little")
    bad = {
        "S+L": sig[:32] + (s + _L).to_bytes(32, "little"),
        "S=L": sig[:32] + _L.to_bytes(32, "little"),
        "S=2^256-1": sig[:32] + b"\xff" * 32,
        "R small order": bytes.fromhex(SMALL_ORDER_ED25519["order-8"]) + sig[32:],
        "zero": bytes(64),
        "forged-identity": forged_sig,
    }
    for name, raw in bad.items():
        r = client.post("/entries", json={**good.to_json(), "signature": raw.hex()})
        assert r.status_code == 403 and r.json()["type"].endswith("/bad-signature"), (name, r.text)
    assert client.post("/entries", json=good.to_json()).status_code == 201
    del Ed25519PrivateKey


def test_hostile_bls_points_published_on_the_ledger_are_refused_by_the_verifier(tmp_path):
    """The ledger stores BLS values opaquely; the verifier refuses them when it rebuilds a definition.

    Each hostile definition is published under its true content id (so only the point is wrong):
    a request naming it is a 422 — before this suite, the verifier resolved it and opened the request.
    """
    from circuits.credentials import CredentialDefinition, RevocationRegistry
    from tests.hardening.conftest import build_story

    story = build_story(tmp_path, holders=())
    try:
        key, issuer_id = story.issuer._ledger_key, story.issuer.issuer_id
        good = CredentialDefinition.from_json(story.cred_def["definition"])
        g2 = {
            "off-curve": _first_g2(on_curve=False),
            "not-in-G2": _first_g2(on_curve=True),
            "identity": bytes([0xC0]) + bytes(95),
            "zero": bytes(96),
            "all-ff": b"\xff" * 96,
        }
        tried = 0
        for name, bad in g2.items():
            for where in ("bbs_public_key", "q"):
                tag = f"hostile-{where}-{name}"
                pk = bad if where == "bbs_public_key" else good.public_key
                reg = RevocationRegistry(f"revreg:{tag}", 4, bad if where == "q" else good.revocation.Q)
                d = CredentialDefinition(issuer_id, good.schema, tag, pk, reg, good.suite)
                story.log.append(
                    key=key,
                    issuer=issuer_id,
                    entry_type="credential_definition",
                    payload={
                        "cred_def_id": d.id,
                        "schema_id": good.schema_id,
                        "ciphersuite": d.suite,
                        "bbs_public_key": b64e(pk),
                        "tag": tag,
                    },
                )
                story.log.append(
                    key=key,
                    issuer=issuer_id,
                    entry_type="revocation_registry",
                    payload={
                        "registry_id": reg.id,
                        "cred_def_id": d.id,
                        "capacity": 4,
                        "q": b64e(reg.Q),
                        "v0": story.cred_def["definition"]["revocation"]["q"][:64],
                    },
                )
                r = story.ver.post(
                    "/requests", headers=story.lender, json={**story.ask(), "credential_definitions": [d.id]}
                )
                assert r.status_code == 422, (name, where, r.status_code, r.text)
                tried += 1
        r = story.ver.post("/requests", headers=story.lender, json=story.ask())
        assert r.status_code == 201, r.text  # the honest definition still resolves
        print(f"\nhostile published values: {tried}")
    finally:
        story.close()
