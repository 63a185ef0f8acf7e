"""Issue 12 items 4 and 6 through real services over HTTP, on SQLite and PostgreSQL.

The ledger and a registered verifier deployment are served by uvicorn on loopback ports
(``tests.identity.conftest``); the holder's wallet reaches them over real HTTP. A stranger who
saw a request URL posts garbage and a valid proof for another request: each gets its reason
and the request stays pending; the holder is shown the request, approves, and is verified.
The attempt limit then rejects a request after N failures, and the holder is refused in one
line.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest

from tests.identity.conftest import Deployment, World, make_world
from wallet import Wallet, WalletError


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with ExitStack() as stack:
        world = make_world(request.param, tmp_path_factory.mktemp(f"consent-{request.param}"), stack)
        deployment = world.deploy("consent", display="Consent Lending")
        deployment.service.max_attempts = 4
        holder = world.wallet("holder")
        holder.accept_offer(world.offer(64000))
        yield {"world": world, "deployment": deployment, "holder": holder, "lender": deployment.lender("ACME Bank")}


def _status(deployment: Deployment, lender: dict[str, str], request: dict[str, Any]) -> str:
    r = httpx.get(f"{deployment.url}/requests/{request['id']}", headers=lender, timeout=30)
    assert r.status_code == 200, r.text
    return str(r.json()["status"])


def _ask(served: dict[str, Any]) -> dict[str, Any]:
    world: World = served["world"]
    return world.ask(served["deployment"], served["lender"], disclose=["country"], purpose="loan 2026-0117")


def test_a_strangers_posts_leave_the_request_to_its_holder(served):
    deployment, lender = served["deployment"], served["lender"]
    holder_: Wallet = served["holder"]
    request, other = _ask(served), _ask(served)
    forged = holder_.present(holder_.prepare(other["request_url"]).approve())[0]  # valid, for another request
    for body, reason in (
        ({"presentation": {}}, "malformed"),
        ({"presentation": {"version": 3, "credentials": "x"}}, "malformed"),
        ({"presentation": forged}, "invalid_proof"),
    ):
        r = httpx.post(request["presentation_url"], json=body, timeout=60)  # anyone may post: no credentials
        assert r.status_code == 200 and r.json()["verified"] is False and r.json()["reason"] == reason, r.text
        assert _status(deployment, lender, request) == "pending"

    summary = holder_.prepare(request["request_url"])
    who = summary.requester
    assert (who.verifier_name, who.lender, who.purpose, who.origin) == (
        "Consent Lending",
        "ACME Bank",
        "loan 2026-0117",
        deployment.url,
    )
    assert [(d.attribute, d.value) for d in summary.disclosed] == [("country", "NL")]
    assert summary.credentials[0].issuer_name == "Payroll Identity BV"
    verdict = holder_.submit(summary.approve())
    assert verdict["verified"] is True and verdict["disclosed"] == {"country": "NL"}, verdict
    assert _status(deployment, lender, request) == "verified"


def test_the_attempt_limit_rejects_after_n_and_the_holder_is_told(served):
    deployment, lender, holder = served["deployment"], served["lender"], served["holder"]
    request = _ask(served)
    summary = holder.prepare(request["request_url"])  # shown to the holder while a stranger burns it
    reasons = [
        httpx.post(request["presentation_url"], json={"presentation": {}}, timeout=60).json()["reason"]
        for _ in range(4)
    ]
    assert reasons == ["malformed"] * 3 + ["too-many-attempts"]
    assert _status(deployment, lender, request) == "rejected"
    with pytest.raises(WalletError, match="409"):
        holder.submit(summary.approve())
    assert _status(deployment, lender, request) == "rejected"
