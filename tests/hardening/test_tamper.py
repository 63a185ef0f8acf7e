"""Tamper suite: every alteration of a valid presentation, credential or ledger entry is refused.

- **Presentations** (made by a wallet through the real services, with range and linear predicates,
  ≠, ∈ and non-revocation): bytes of every proof element (sampled positions per element,
  three masks each), every JSON field (removed or replaced by values of every JSON type),
  every statement dropped / duplicated / reordered, every element swapped in from another
  valid presentation (same holder, fresh randomness; and another holder). Each variant goes
  through the verifier's own decision path (``VerifierService.check_presentation``, the dry
  run of ``submit_presentation``: parse, resolve, verify — the path ``POST
  /requests/{id}/presentation`` takes, without spending the request, so one request serves
  every variant) and a sample through HTTP with a fresh
  request each. A variant must get ``verified: false`` with a reason code, or a 4xx —
  never an acceptance, never a 5xx, and never the verifier's fail-closed catch-all (an
  unexpected exception inside the parser or verifier is a bug even when it rejects).
- **Credentials on receipt**: the wallet refuses an issuance response with any field or
  any (sampled) byte of its signature, handle, witness or accumulator altered.
- **Ledger entries on append**: ``POST /entries`` with any one byte of a valid signed entry
  altered (every position, two masks) is a 4xx and leaves the log unchanged.
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
import logging
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from circuits.codec import b64d, b64e
from verifier.service import REASONS

COUNTS: dict[str, int] = {}
RNG_SEED = 20261123


def _count(kind: str, n: int = 1) -> None:
    COUNTS[kind] = COUNTS.get(kind, 0) + n


# ------------------------------------------------------------------ presentation fixtures


def _tamper_ask(story) -> dict[str, Any]:
    """Hidden attributes only, so every statement kind is in the proof: ranges, ≠, ∈, linear, non-revocation."""
    over_18 = _dt.date.today().replace(year=_dt.date.today().year - 18).isoformat()
    return {
        "disclose": [],
        "predicates": [
            {"attribute": "income", "op": ">=", "value": 50000},
            {"attribute": "birth_date", "op": "<=", "value": over_18},
            {"attribute": "income", "op": "!=", "value": 12345},
            {"attribute": "country", "op": "in", "value": ["DE", "FR", "NL"]},
        ],
        # a linear predicate: one more value in the range proof, on the sum of two commitments
        "linear": [
            {"terms": [{"attr": "income", "coef": 1}, {"attr": "birth_date", "coef": -1}], "op": ">=", "value": 40000}
        ],
    }


@pytest.fixture(scope="module")
def target(story):
    """(request id, valid presentation, same holder fresh, other holder) for one pending request."""
    created = story.new_request(**_tamper_ask(story))
    request_id = created["id"]
    valid = story.present(created, 0)
    again = story.present(created, 0)
    other = story.present(created, 1)
    for p in (valid, again, other):
        assert story.verifier.check_presentation(
            request_id=request_id, unverified_presentation=copy.deepcopy(p)
        ).verified
    assert valid["not_equal"] and valid["sets"] and valid["range_proof"] and valid["credentials"][0]["revocation"]
    return request_id, valid, again, other


@pytest.fixture
def judge(story, target, caplog):
    """judge(variant, what): assert the verifier rejects ``variant`` with a reason, and no internal error."""
    request_id = target[0]
    caplog.set_level(logging.INFO, logger="verifier")

    def check(variant: Any, what: str) -> str:
        verdict = story.verifier.check_presentation(request_id=request_id, unverified_presentation=variant)
        assert not verdict.verified, f"ACCEPTED a tampered presentation: {what}"
        assert verdict.reason in REASONS and verdict.disclosed == {}, (what, verdict)
        bad = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert not bad, f"{what}: the verifier hit its fail-closed catch-all: {bad[0].getMessage()}\n{bad[0].exc_text}"
        _count("presentation")
        return verdict.reason

    return check


# ------------------------------------------------------------------ the elements of a presentation


def _elements(p: dict[str, Any]) -> list[tuple[str, Callable[[dict], bytes], Callable[[dict, bytes], None]]]:
    """(name, get bytes, set bytes) for every binary element of a presentation: points, scalars, blobs."""
    out = []

    def b64_slice(path: tuple, start: int, end: int | None):
        def get(d):
            return b64d(_at(d, path))[start:end]

        def put(d, new):
            raw = bytearray(b64d(_at(d, path)))
            raw[start : start + len(get(d))] = new
            _set_at(d, path, b64e(bytes(raw)))

        return get, put

    cred = p["credentials"][0]
    bbs_len = len(b64d(cred["bbs"]))
    names = ["A_bar", "B_bar", "D"]
    for i, name in enumerate(names):
        out.append((f"bbs.{name}", *b64_slice(("credentials", 0, "bbs"), 48 * i, 48 * (i + 1))))
    scalars = ["e_hat", "r1_hat", "r3_hat"] + [f"m_hat[{j}]" for j in range((bbs_len - 144) // 32 - 3)]
    for j, name in enumerate(scalars):
        out.append((f"bbs.{name}", *b64_slice(("credentials", 0, "bbs"), 144 + 32 * j, 144 + 32 * (j + 1))))
    out.append(("revocation.accumulator", *b64_slice(("credentials", 0, "revocation", "accumulator"), 0, None)))
    mem = len(b64d(cred["revocation"]["proof"]))
    for start in range(0, mem, 48):
        out.append(
            (
                f"revocation.proof[{start}:]",
                *b64_slice(("credentials", 0, "revocation", "proof"), start, min(start + 48, mem)),
            )
        )
    for i in range(len(b64d(p["commitments"])) // 48):
        out.append((f"commitments[{i}]", *b64_slice(("commitments",), 48 * i, 48 * (i + 1))))
    for i in range(len(b64d(p["openings"])) // 32):
        out.append((f"openings[{i}]", *b64_slice(("openings",), 32 * i, 32 * (i + 1))))
    rp = len(b64d(p["range_proof"]))
    for start in range(0, rp, 64):
        out.append((f"range_proof[{start}:]", *b64_slice(("range_proof",), start, min(start + 64, rp))))
    for i, x in enumerate(p["not_equal"]):
        for j in range(len(b64d(x)) // 32):
            out.append((f"not_equal[{i}][{j}]", *b64_slice(("not_equal", i), 32 * j, 32 * (j + 1))))
    for i, x in enumerate(p["sets"]):
        for j in range(len(b64d(x)) // 32):
            out.append((f"sets[{i}][{j}]", *b64_slice(("sets", i), 32 * j, 32 * (j + 1))))

    out.append(("challenge", *b64_slice(("challenge",), 0, None)))
    return out


def _at(d: Any, path: tuple) -> Any:
    for k in path:
        d = d[k]
    return d


def _set_at(d: Any, path: tuple, value: Any) -> None:
    _at(d, path[:-1])[path[-1]] = value


def _byte_variants(length: int, rng: random.Random) -> Iterator[tuple[int, int]]:
    """(position, xor mask): the first, second, middle and last byte and four random ones, three masks each."""
    positions = sorted({0, 1, length // 2, length - 1, *(rng.randrange(length) for _ in range(4))})
    for pos in positions:
        for mask in (0x01, 0x80, rng.randrange(1, 256)):
            yield pos, mask


def test_every_proof_element_with_bytes_altered_is_rejected(target, judge):
    _, valid, _, _ = target
    rng = random.Random(RNG_SEED)
    elements = _elements(valid)
    assert len(elements) > 30
    for name, get, put in elements:
        original = get(valid)
        for pos, mask in _byte_variants(len(original), rng):
            variant = copy.deepcopy(valid)
            new = bytearray(original)
            new[pos] ^= mask
            put(variant, bytes(new))
            judge(variant, f"{name} byte {pos} ^ {mask:#04x}")
        # and the element truncated by one byte, and grown by one
        for new in (original[:-1], original + b"\x00"):
            variant = copy.deepcopy(valid)
            put(variant, new)
            judge(variant, f"{name} resized to {len(new)}")


def _paths(value: Any, prefix: tuple = ()) -> Iterator[tuple]:
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))


REPLACEMENTS: list[Any] = [None, True, 0, -1, 1, 2**64, 1.5, "", "x", "A" * 300, [], [1], {}, {"a": 1}]


def test_every_json_field_removed_or_retyped_is_rejected(target, judge):
    _, valid, _, _ = target
    paths = [p for p in _paths(valid) if p]
    for path in paths:
        if isinstance(path[-1], str):  # remove the field
            variant = copy.deepcopy(valid)
            del _at(variant, path[:-1])[path[-1]]
            judge(variant, f"{path} removed")
        for value in REPLACEMENTS:
            if value == _at(valid, path) and type(value) is type(_at(valid, path)):
                continue
            variant = copy.deepcopy(valid)
            _set_at(variant, path, value)
            judge(variant, f"{path} = {value!r:.30}")
    # an extra field anywhere an object is
    for path in [p for p in _paths(valid) if isinstance(_at(valid, p), dict)]:
        variant = copy.deepcopy(valid)
        _at(variant, path)["extra"] = 1
        judge(variant, f"{path} + extra field")
    # the whole presentation as another JSON type
    for value in REPLACEMENTS:
        judge(copy.deepcopy(value), f"presentation = {value!r:.30}")


def _chunked(raw: bytes, size: int) -> list[bytes]:
    return [raw[i : i + size] for i in range(0, len(raw), size)]


def _statement_lists(p: dict) -> list[tuple[str, Callable[[dict], list], Callable[[dict, list], None]]]:
    """Every list of statements/responses: credentials, commitments, openings, ≠, ∈, the BBS responses."""

    def b64_list(key: str, size: int):
        return (lambda d: _chunked(b64d(d[key]), size), lambda d, xs: d.__setitem__(key, b64e(b"".join(xs))))

    def json_list(key: str):
        return (lambda d: list(d[key]), lambda d, xs: d.__setitem__(key, xs))

    def m_hats():
        def get(d):
            return _chunked(b64d(d["credentials"][0]["bbs"])[240:], 32)

        def put(d, xs):
            raw = b64d(d["credentials"][0]["bbs"])[:240]
            d["credentials"][0]["bbs"] = b64e(raw + b"".join(xs))

        return get, put

    return [
        ("credentials", *json_list("credentials")),
        ("commitments", *b64_list("commitments", 48)),
        ("openings", *b64_list("openings", 32)),
        ("not_equal", *json_list("not_equal")),
        ("sets", *json_list("sets")),
        ("bbs.m_hat", *m_hats()),
    ]


def test_every_statement_dropped_duplicated_or_reordered_is_rejected(target, judge):
    _, valid, _, _ = target
    for name, get, put in _statement_lists(valid):
        items = get(valid)
        assert items, name
        variants = []
        for i in range(len(items)):
            variants.append((f"{name}: drop {i}", items[:i] + items[i + 1 :]))
            variants.append((f"{name}: duplicate {i}", items[: i + 1] + items[i:]))
            if i + 1 < len(items):
                variants.append((f"{name}: swap {i}, {i + 1}", items[:i] + [items[i + 1], items[i]] + items[i + 2 :]))
        variants.append((f"{name}: reversed", items[::-1]))
        variants.append((f"{name}: empty", []))
        for what, new in variants:
            if new == items:
                continue
            variant = copy.deepcopy(valid)
            put(variant, new)
            judge(variant, what)


def test_elements_swapped_in_from_another_valid_presentation_are_rejected(target, judge):
    _, valid, again, other = target
    for source, label in ((again, "same holder, fresh proof"), (other, "another holder")):
        donors = {name: get(source) for name, get, _ in _elements(source)}
        swapped = 0
        for name, get, put in _elements(valid):
            if name not in donors or donors[name] == get(valid) or len(donors[name]) != len(get(valid)):
                continue
            variant = copy.deepcopy(valid)
            put(variant, donors[name])
            judge(variant, f"{name} from {label}")
            swapped += 1
        assert swapped > 30
        # whole fields too
        for key in ("commitments", "openings", "range_proof", "not_equal", "sets"):
            variant = copy.deepcopy(valid)
            variant[key] = copy.deepcopy(source[key])
            judge(variant, f"{key} (whole) from {label}")
        for key in ("bbs", "revocation"):
            variant = copy.deepcopy(valid)
            variant["credentials"][0][key] = copy.deepcopy(source["credentials"][0][key])
            judge(variant, f"credentials[0].{key} (whole) from {label}")


def test_a_sample_through_http_is_rejected_with_a_reason_never_5xx(story):
    """Fresh request, fresh presentation, one alteration, POST: 200 verified=false (or a 4xx), and not spent."""
    rng = random.Random(RNG_SEED + 1)
    ask = _tamper_ask(story)
    for round_ in range(12):
        created = story.new_request(**ask)
        presentation = story.present(created, round_ % 2)
        name, get, put = rng.choice(_elements(presentation))
        raw = bytearray(get(presentation))
        pos = rng.randrange(len(raw))
        raw[pos] ^= rng.randrange(1, 256)
        put(presentation, bytes(raw))
        r = story.submit(created, presentation)
        assert r.status_code < 500, r.text
        if r.status_code == 200:
            assert r.json()["verified"] is False and r.json()["reason"] in REASONS, (name, r.json())
            # A failed presentation does not spend the request: the holder's untampered one verifies.
            honest = story.present(created, round_ % 2)
            assert story.submit(created, honest).json()["verified"] is True
            again = story.submit(created, honest)  # now the nonce is spent
            assert again.status_code == 409 and again.json()["type"].endswith("/replay")
        else:
            assert 400 <= r.status_code < 500
        _count("presentation-http")


# ------------------------------------------------------------------ credentials on receipt


class _Intercept:
    """An HttpRouter wrapper that hands the wallet a mutated issuance response (a replay of a real one)."""

    def __init__(self, router, body: dict[str, Any]) -> None:
        self.router = router
        self.body = body

    def request(self, method: str, url: str, **kw):
        import httpx

        if method == "POST" and url.endswith("/credentials"):
            return httpx.Response(201, json=self.body, request=httpx.Request(method, url))
        return self.router.request(method, url, **kw)


@pytest.fixture(scope="module")
def issuance(story, tmp_path_factory):
    """One real issuance (request, prover blind and response captured) that mutations replay."""
    import wallet.core as wc
    from wallet import HttpRouter, Wallet
    from zkcred.demo import LEDGER_URL

    captured: dict[str, Any] = {}
    real_request = wc.create_credential_request

    def capture_request(*a, **kw):
        captured["request"] = real_request(*a, **kw)
        return captured["request"]

    class Capture(HttpRouter):
        def request(self, method, url, **kw):
            r = super().request(method, url, **kw)
            if method == "POST" and url.endswith("/credentials"):
                captured["response"] = r.json()
            return r

    w = Wallet.create(
        tmp_path_factory.mktemp("recv") / "w.db",
        "pass phrase",
        http=Capture(story.clients),
        ledger_url=LEDGER_URL,
        ledger_key=story.log.public_key,
        backend=story.be,
    )
    offer = story.offer(story.cred_def["id"], {"income": 52000, "birth_date": "1979-01-31", "country": "DE"})
    wc.create_credential_request = capture_request
    try:
        w.accept_offer(offer)
    finally:
        wc.create_credential_request = real_request
    yield w, offer, captured
    w.close()


def _credential_variants(body: dict[str, Any], rng: random.Random) -> Iterator[tuple[str, dict]]:
    c, rev = body["credential"], body["revocation"]
    for path in [p for p in _paths(body) if p]:
        original = _at(body, path)
        if isinstance(path[-1], str):
            v = copy.deepcopy(body)
            del _at(v, path[:-1])[path[-1]]
            yield f"{path} removed", v
        for value in REPLACEMENTS + ["2020-01-01", "0" * 64, c["signature"], rev["witness"]]:
            if value == original and type(value) is type(original):
                continue
            if path == ("credential_id",) and isinstance(value, str) and value:
                continue  # the issuer's name for the credential: nothing the wallet could check it against
            v = copy.deepcopy(body)
            _set_at(v, path, value)
            yield f"{path} = {value!r:.30}", v
    for key in ("income", "birth_date", "country"):  # a plausible lie in each value
        v = copy.deepcopy(body)
        old = v["credential"]["values"][key]
        v["credential"]["values"][key] = (
            old + 1 if isinstance(old, int) else ("1979-02-01" if key == "birth_date" else "NL")
        )
        yield f"values.{key} altered", v
    for path, decode, encode in (
        (("credential", "signature"), b64d, b64e),
        (("revocation", "witness"), b64d, b64e),
        (("revocation", "accumulator"), b64d, b64e),
        (("credential", "revocation_handle"), bytes.fromhex, bytes.hex),
    ):
        raw = decode(_at(body, path))
        for pos, mask in _byte_variants(len(raw), rng):
            new = bytearray(raw)
            new[pos] ^= mask
            v = copy.deepcopy(body)
            _set_at(v, path, encode(bytes(new)))
            yield f"{path} byte {pos} ^ {mask:#04x}", v
    for path in (("credential", "revocation_index"), ("revocation", "index"), ("revocation", "ledger_seq")):
        for delta in (1, -1):
            v = copy.deepcopy(body)
            _set_at(v, path, _at(body, path) + delta)
            yield f"{path} {delta:+d}", v


def test_the_wallet_refuses_every_altered_issuance_response(story, issuance, monkeypatch):
    import wallet.core as wc
    from wallet.core import OfferRejected

    w, offer, captured = issuance
    monkeypatch.setattr(wc, "create_credential_request", lambda *a, **kw: captured["request"])
    router = w._http
    body = captured["response"]
    before = len(w.credentials())
    control = {**copy.deepcopy(body), "credential_id": "cred_control"}
    w._http = _Intercept(router, control)  # control: the real response replayed is accepted
    w.accept_offer(offer)
    assert len(w.credentials()) == before + 1
    rng = random.Random(RNG_SEED + 2)
    try:
        for what, variant in _credential_variants(body, rng):
            w._http = _Intercept(router, variant)
            with pytest.raises(OfferRejected):
                w.accept_offer(offer)
                pytest.fail(f"the wallet ACCEPTED an altered credential: {what}")
            _count("credential")
    finally:
        w._http = router
    assert len(w.credentials()) == before + 1  # nothing altered was stored


# ------------------------------------------------------------------ ledger entries on append


def test_every_byte_of_a_signed_entry_altered_is_refused_on_append(story):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from fastapi.testclient import TestClient

    from ledger.api import create_app
    from ledger.entries import canonical_json, public_key_bytes, sign_entry
    from ledger.log import LedgerLog, now_ms
    from ledger.store import MemoryStore

    log = LedgerLog(MemoryStore(), signing_key=Ed25519PrivateKey.generate())
    key = Ed25519PrivateKey.generate()
    log.append(
        key=key,
        issuer="acme",
        entry_type="issuer_registration",
        payload={"ledger_key": public_key_bytes(key).hex(), "name": "Acme"},
    )
    client = TestClient(create_app(log))
    head = log.head()
    entry = sign_entry(
        key=key,
        seq=head.size,
        time=now_ms(),
        entry_type="revocation",
        issuer="acme",
        payload={"registry_id": "acme/rr", "handles": ["0a" * 32], "values": ["qUu" * 20]},
        prev_hash=head.last_hash,
    )
    body = canonical_json(entry.to_json())
    statuses: dict[int, int] = {}
    for pos in range(len(body)):
        for mask in (0x01, 0x20):
            raw = bytearray(body)
            raw[pos] ^= mask
            r = client.post("/entries", content=bytes(raw), headers={"content-type": "application/json"})
            assert 400 <= r.status_code < 500, f"byte {pos} ^ {mask:#x} ({chr(body[pos])!r}): {r.status_code} {r.text}"
            assert r.headers["content-type"].startswith("application/problem+json")
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            _count("ledger-entry")
    assert log.head().size == head.size  # nothing was appended
    ok = client.post("/entries", content=body, headers={"content-type": "application/json"})
    assert ok.status_code == 201, ok.text  # the original still is
    assert set(statuses) <= {400, 403, 409, 422}


def test_report_counts():
    """Not a check: prints how many variants the suite tried (the figures in the report)."""
    print(f"\ntamper variants: {json.dumps(COUNTS)}")
