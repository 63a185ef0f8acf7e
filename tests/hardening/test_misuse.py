"""Protocol misuse through the real services: each is refused, each with its own reason code.

| misuse | answer |
|---|---|
| the same presentation (or any second one) for a request already answered | 409 ``replay`` |
| a presentation after the request expired | 200, ``expired`` (and the request is spent) |
| a proof made for another request (other nonce) | ``invalid_proof`` |
| a proof made for another verifier (other ``verifier_id``) | ``invalid_proof`` |
| a credential of a definition the request does not accept | ``definition_not_accepted`` |
| a revoked credential (old witness against the current accumulator) | ``revocation`` |
| an accumulator value superseded longer ago than ``max_staleness`` | ``stale`` |
"""

from __future__ import annotations

import copy
import time

import pytest

from circuits.codec import b64d
from circuits.credentials import PresentationRequest
from circuits.presentation import RevocationWitness, create_presentation


@pytest.fixture
def fresh(tmp_path):
    from tests.hardening.conftest import build_story

    story = build_story(tmp_path)
    yield story
    story.close()


def _reason(response) -> str:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["verified"] is False and body["disclosed"] == {} and body["predicates"] == [], body
    return body["reason"]


def test_replay_is_409(story):
    created = story.new_request()
    presentation = story.present(created)
    assert story.submit(created, presentation).json()["verified"] is True
    for again in (presentation, story.present(created)):
        r = story.submit(created, again)
        assert r.status_code == 409 and r.json()["type"].endswith("/replay"), r.text
    status = story.ver.get(f"/requests/{created['id']}", headers=story.lender).json()
    assert status["status"] == "verified"


def test_expired_request(story, monkeypatch):
    created = story.new_request(expires_in=1)
    presentation = story.present(created)
    monkeypatch.setattr(story.verifier, "clock", lambda: time.time() + 2)
    assert _reason(story.submit(created, presentation)) == "expired"
    assert story.ver.get(f"/requests/{created['id']}", headers=story.lender).json()["status"] == "expired"
    assert story.submit(created, presentation).status_code == 409


def test_proof_for_another_request_or_verifier(story):
    a, b = story.new_request(), story.new_request()
    assert _reason(story.submit(b, story.present(a))) == "invalid_proof"
    c = story.new_request()
    for field, value in (("verifier_id", "another-lender"), ("nonce", b["request"]["nonce"])):
        forged = {**copy.deepcopy(c["request"]), field: value}
        presentation, _ = story.wallets[0].present(story.wallets[0].prepare(forged).approve())
        d = story.new_request()
        assert _reason(story.submit(d, presentation)) == "invalid_proof", field
    # the same predicates with a weaker threshold than asked
    weaker = copy.deepcopy(c["request"])
    weaker["queries"][0]["predicates"][0]["value"] = 10
    presentation, _ = story.wallets[0].present(story.wallets[0].prepare(weaker).approve())
    assert _reason(story.submit(c, presentation)) == "invalid_proof"


def test_definition_not_accepted(story):
    created = story.new_request(credential_definitions=[story.other_def["id"]])
    mine = copy.deepcopy(created["request"])
    mine["queries"][0]["credential_definitions"] = [story.cred_def["id"]]
    presentation, _ = story.wallets[0].present(story.wallets[0].prepare(mine).approve())
    assert _reason(story.submit(created, presentation)) == "definition_not_accepted"


def _forced_presentation(story, wallet, request_json, height: int, accumulator: bytes, witness: bytes) -> dict:
    """What a dishonest holder sends: its credential with the witness and accumulator it chooses."""
    request = PresentationRequest.from_json(request_json)
    _, rec, d, cred = next(iter(wallet._candidates()))
    rw = RevocationWitness(height, accumulator, witness)
    return create_presentation(
        request, [d], [cred], wallet._link_secret, revocation={"credential": rw}, backend=story.be
    ).to_json(story.be)


def test_revoked_credential_and_stale_accumulator(fresh):
    story = fresh
    ada, bob = story.wallets
    _, ada_rec, _, _ = next(iter(ada._candidates()))
    old = ada_rec["revocation"]
    r = story.iss.post(f"/admin/credentials/{story.credential_ids[0]}/revoke", headers=story.admin)
    assert r.status_code == 200, r.text
    new_height = r.json()["ledger_seq"]
    new_v = b64d(story.led.get(f"/entries/{new_height}").json()["payload"]["values"][-1])

    # revoked: the old witness against the current accumulator value
    created = story.new_request(max_staleness=0)
    forced = _forced_presentation(story, ada, created["request"], new_height, new_v, b64d(old["witness"]))
    assert _reason(story.submit(created, forced)) == "revocation"
    # revoked: the old witness, the old value, but claiming the new height
    created = story.new_request(max_staleness=3600)
    forced = _forced_presentation(
        story, ada, created["request"], new_height, b64d(old["accumulator"]), b64d(old["witness"])
    )
    assert _reason(story.submit(created, forced)) == "revocation"

    # stale: Bob (not revoked) has not synced; the value he uses was superseded; max_staleness 0
    created = story.new_request(max_staleness=0)
    assert _reason(story.submit(created, story.present(created, 1))) == "stale"
    # within the bound the superseded value is still accepted (the documented window)…
    created = story.new_request(max_staleness=3600)
    assert story.submit(created, story.present(created, 1)).json()["verified"] is True
    # …and after a sync, the latest is accepted with any bound
    assert bob.sync()["updated"] == 1
    created = story.new_request(max_staleness=0)
    assert story.submit(created, story.present(created, 1)).json()["verified"] is True
    # the revoked holder's wallet refuses to answer at all once it has synced
    assert ada.sync()["revoked"] == 1
    from wallet import NoMatchingCredential

    with pytest.raises(NoMatchingCredential):
        ada.present(ada.prepare(story.new_request()["request"]).approve())
