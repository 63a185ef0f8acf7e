"""Every field of a signed request document, tampered with, is refused (``wallet.requests``).

The document is the real one a registered verifier serves over HTTP; the registration is read
from the real ledger service (pinned key, checkpoint, inclusion). Two kinds of cases:

- *tampered*: one field (top level or inside the presentation request) changed, removed or
  added, the signature kept → ``bad-signature`` (or ``malformed`` when the change breaks the
  shape, ``unregistered-verifier`` when it points at another registration);
- *signed by the verifier but wrong*: the verifier's own key signs a document that breaks a
  rule the signature cannot → the rule's own reason (contexts, origins, verifier id, expiry).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ledger.verifiers import sign_request_document
from tests.identity.conftest import Deployment, World
from verifier.service import lender_context
from wallet import RequestRefused, verify_request


@pytest.fixture(scope="module")
def alpha(sqlite_world: World) -> Deployment:
    return sqlite_world.deploy("alpha-doc", display="Alpha")


@pytest.fixture(scope="module")
def genuine(sqlite_world: World, alpha: Deployment) -> tuple[str, dict[str, Any]]:
    created = sqlite_world.ask(
        alpha, alpha.lender("ACME Bank"), purpose="loan 2026-0117", disclose=["country"], pseudonym=True
    )
    url = created["request_url"]
    return url, httpx.get(url).json()


def check(world: World, doc: Any, url: str, now: float | None = None) -> Any:
    return verify_request(doc, url=url, ledger=world.client(), now=time.time() if now is None else now)


def test_the_genuine_document_verifies(sqlite_world, alpha, genuine):
    url, doc = genuine
    checked = check(sqlite_world, doc, url)
    assert (checked.lender, checked.purpose, checked.verifier.name) == ("ACME Bank", "loan 2026-0117", "Alpha")
    assert [s.context for s in checked.pseudonym_scopes] == [lender_context(alpha.identity.verifier_id, "ACME Bank")]


def _changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value[:-1] + ("0" if value[-1:] != "0" else "1")
    if value is None:
        return "x"
    if isinstance(value, list):
        return [*value, value[0]] if value else ["x"]
    if isinstance(value, dict):
        return {**value, "x": 1}
    raise AssertionError(value)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every leaf and container of the document, as a path of keys / indexes."""
    if prefix:
        yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))


def _set(doc: Any, path: tuple[Any, ...], value: Any, *, delete: bool = False) -> Any:
    doc = copy.deepcopy(doc)
    target = doc
    for key in path[:-1]:
        target = target[key]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


REFUSED = {"bad-signature", "malformed", "unregistered-verifier"}


def test_every_field_changed_is_refused(sqlite_world, genuine):
    url, doc = genuine
    paths = [p for p in _paths(doc) if p != ("signature",)]
    assert len(paths) > 20  # the request's nonce, queries, predicates, contexts … are all in
    for path in paths:
        tampered = _set(doc, path, _changed(_get(doc, path)))
        with pytest.raises(RequestRefused) as refused:
            check(sqlite_world, tampered, url)
        assert refused.value.reason in REFUSED, (path, refused.value)


def test_every_field_removed_and_an_added_one_are_refused(sqlite_world, genuine):
    url, doc = genuine
    for path in _paths(doc):
        if isinstance(path[-1], int):
            continue  # list items: changed above
        with pytest.raises(RequestRefused) as refused:
            check(sqlite_world, _set(doc, path, None, delete=True), url)
        assert refused.value.reason in REFUSED, (path, refused.value)
    for extra in ({**doc, "note": "x"}, _set(doc, ("request", "note"), "x")):
        with pytest.raises(RequestRefused) as refused:
            check(sqlite_world, extra, url)
        assert refused.value.reason in REFUSED


def test_a_flipped_signature_bit_and_a_foreign_url_are_refused(sqlite_world, genuine):
    url, doc = genuine
    sig = bytearray(bytes.fromhex(doc["signature"]))
    sig[7] ^= 1
    with pytest.raises(RequestRefused, match="not signed") as refused:
        check(sqlite_world, {**doc, "signature": sig.hex()}, url)
    assert refused.value.reason == "bad-signature"
    with pytest.raises(RequestRefused) as refused:
        check(sqlite_world, doc, url.replace("127.0.0.1", "localhost"))
    assert refused.value.reason == "origin-mismatch"


def _resigned(alpha: Deployment, doc: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The verifier's own key signs a changed document (what a buggy or dishonest verifier could send)."""
    fields = {k: v for k, v in doc.items() if k != "signature"}
    return sign_request_document(alpha.identity.key, {**fields, **changes})


def _with_context(doc: dict[str, Any], context: str) -> dict[str, Any]:
    request = copy.deepcopy(doc["request"])
    request["queries"][0]["pseudonym_context"] = context
    return request


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("context under another verifier", "unknown-lender"),
        ("context of another lender", "unknown-lender"),
        ("context with an extra part", "unknown-lender"),
        ("lender renamed, contexts kept", "unknown-lender"),
        ("request for another verifier id", "verifier-mismatch"),
        ("presentation URL on another origin", "origin-mismatch"),
        ("expired", "expired"),
        ("not a time", "malformed"),
    ],
)
def test_what_the_signature_cannot_vouch_for_is_checked_too(sqlite_world, alpha, genuine, case, reason):
    url, doc = genuine
    vid = alpha.identity.verifier_id
    other = "verifier-" + "0" * 32
    changes = {
        "context under another verifier": {"request": _with_context(doc, lender_context(other, "ACME Bank"))},
        "context of another lender": {"request": _with_context(doc, lender_context(vid, "Other Bank"))},
        "context with an extra part": {"request": _with_context(doc, lender_context(vid, "ACME Bank") + "/a/b")},
        "lender renamed, contexts kept": {"lender": "Trusted Bank"},
        "request for another verifier id": {"request": {**doc["request"], "verifier_id": other}},
        "presentation URL on another origin": {"presentation_url": "https://collector.example/p"},
        "expired": {"expires_at": "2020-01-01T00:00:00Z"},
        "not a time": {"expires_at": "tomorrow"},
    }[case]
    with pytest.raises(RequestRefused) as refused:
        check(sqlite_world, _resigned(alpha, doc, **changes), url)
    assert refused.value.reason == reason, refused.value
    # … and the untouched document, re-signed the same way, is accepted: the check is the rule, not the key
    check(sqlite_world, _resigned(alpha, doc), url)


def test_a_campaign_context_of_the_signed_lender_is_accepted(sqlite_world, alpha, genuine):
    url, doc = genuine
    context = lender_context(alpha.identity.verifier_id, "ACME Bank", "spring/2026")
    checked = check(sqlite_world, _resigned(alpha, doc, request=_with_context(doc, context)), url)
    assert [(s.lender, s.campaign) for s in checked.pseudonym_scopes] == [("ACME Bank", "spring/2026")]


def test_a_wallet_without_a_pinned_ledger_refuses(genuine):
    url, doc = genuine
    with pytest.raises(RequestRefused, match="no ledger with a pinned key") as refused:
        verify_request(doc, url=url, ledger=None, now=time.time())
    assert refused.value.reason == "unregistered-verifier"


def test_a_rotated_key_signs_and_the_old_one_no_longer_does(sqlite_world, genuine):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ledger.entries import public_key_bytes

    rotating = sqlite_world.deploy("rotating", display="Rotating")
    created = sqlite_world.ask(rotating, rotating.lender("ACME Bank"))
    url = created["request_url"]
    old_doc = httpx.get(url).json()
    check(sqlite_world, old_doc, url)
    new_key = Ed25519PrivateKey.generate()
    sqlite_world.client().publish(
        key=rotating.identity.key,
        author=rotating.identity.verifier_id,
        entry_type="key_rotation",
        payload={"new_ledger_key": public_key_bytes(new_key).hex()},
    )
    with pytest.raises(RequestRefused) as refused:
        check(sqlite_world, old_doc, url)
    assert refused.value.reason == "bad-signature"
    fields = {k: v for k, v in old_doc.items() if k != "signature"}
    assert (
        check(sqlite_world, sign_request_document(new_key, fields), url).verifier.key == public_key_bytes(new_key).hex()
    )


def test_a_known_registration_is_read_on_from_its_checkpoint(sqlite_world, alpha, genuine):
    """The wallet keeps verified registrations: the next check reads only the entries after that
    checkpoint (a consistency proof first), and a record whose checkpoint the ledger does not
    extend is refused."""
    import dataclasses

    from ledger.client import LedgerClient

    url, doc = genuine
    read: list[int] = []

    class Counting(LedgerClient):
        def verified_entries(self, *, start, limit, tree_head):  # type: ignore[no-untyped-def]
            run = super().verified_entries(start=start, limit=limit, tree_head=tree_head)
            read.extend(e.seq for e in run)
            return run

    def counting() -> LedgerClient:
        return Counting(sqlite_world.ledger_url, ledger_key=sqlite_world.log.public_key)

    known: dict = {}
    verify_request(doc, url=url, ledger=counting(), now=time.time(), registrations=known)
    first = known[doc["verifier_id"]]
    assert read[0] == doc["registration_seq"] and first.tree_size == sqlite_world.log.head().size
    sqlite_world.deploy("alpha-doc-neighbour")  # the log grows: a registration of someone else
    read.clear()
    checked = verify_request(doc, url=url, ledger=counting(), now=time.time(), registrations=known)
    assert read == list(range(first.tree_size, sqlite_world.log.head().size))
    assert checked.verifier.name == "Alpha" and known[doc["verifier_id"]].tree_size == sqlite_world.log.head().size
    forged = {doc["verifier_id"]: dataclasses.replace(first, root=bytes(32))}
    with pytest.raises(RequestRefused, match="does not extend") as refused:
        verify_request(doc, url=url, ledger=counting(), now=time.time(), registrations=forged)
    assert refused.value.reason == "unregistered-verifier"
