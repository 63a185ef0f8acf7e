"""Who is asking, checked before anything is proven (issue 12, items 1-3 and 5), over real HTTP.

| scenario | the wallet says | sent |
|---|---|---|
| a registered verifier's request | ``VerifiedRequest`` (name, origins, seq; lender; purpose) | a presentation |
| a second deployment copying the first's id, with its own key | ``bad-signature`` | nothing |
| the same, key-less (no valid signature) | ``bad-signature`` | nothing |
| a registered deployment proving under another's id and contexts | ``verifier-mismatch`` | nothing |
| the first's genuine document relayed from another origin (phishing) | ``origin-mismatch`` | nothing |
| the first's document altered in transit (same URL) | ``bad-signature`` | nothing |
| two deployments, one lender name ("ACME Bank") | different pseudonyms for one holder | |

Each runs on SQLite and on PostgreSQL (the ledger's and each verifier's database).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI, Response
from fastapi.testclient import TestClient

from ledger.entries import public_key_bytes
from tests.identity.conftest import ISSUER_URL, Deployment, World, counting
from tests.servers import reserve, serve
from verifier.api import create_app as verifier_app
from verifier.config import ConfigError
from verifier.db import SqlRequestStore, init_db, make_engine
from verifier.identity import VerifierIdentity, ensure_registered, load_key, over_http, rotate_key
from verifier.resolver import LedgerResolver
from verifier.service import VerifierService, lender_context
from wallet import HttpRouter, RequestRefused, Wallet


@dataclasses.dataclass(frozen=True, repr=False)
class Impostor(VerifierIdentity):
    """A deployment that names another verifier's id and registration in its documents."""

    keyless: bool = False  # no key of the claimed verifier at all: the signature is garbage

    def sign_document(self, fields: Any) -> dict[str, Any]:
        doc = super().sign_document(fields)  # signed by its own key, naming the other's id
        return {**doc, "signature": "00" * 64} if self.keyless else doc


def rogue(world: World, name: str, identity_of: Any) -> Deployment:
    """A deployment that is not registered as what it claims (``identity_of(url)`` says what it claims)."""
    engine = make_engine(world.database(name))
    init_db(engine)
    sock, url = reserve()
    service = VerifierService(
        store=SqlRequestStore(engine), resolver=LedgerResolver(world.client()), identity=identity_of(url)
    )
    posts: list[str] = []
    app = counting(verifier_app(service, public_url=url), posts)
    world.stack.enter_context(serve(app, sock))
    return Deployment(url, service, engine, app, posts)


@pytest.fixture(scope="module")
def alpha(world: World) -> Deployment:
    return world.deploy("alpha", display="Alpha Lending Verifier")


@pytest.fixture(scope="module")
def holder(world: World):  # type: ignore[no-untyped-def]
    w = world.wallet("holder")
    w.accept_offer(world.offer(64000))
    return w


def untouched(deployment: Deployment, created: dict[str, Any]) -> None:
    """Nothing reached the deployment: no POST, the request still pending with no attempt counted."""
    assert deployment.posts == []
    row = deployment.service.store.get_request(request_id=created["id"])
    assert row is not None and row["status"] == "pending" and row["attempts"] == 0


def test_a_registered_verifiers_request_is_checked_named_and_answered(world, alpha, holder):
    lender = alpha.lender("ACME Bank")
    created = world.ask(alpha, lender, purpose="loan application 2026-0117")
    checked = holder.fetch_request(created["request_url"])
    registered = alpha.identity
    assert checked.verifier.verifier_id == registered.verifier_id == checked.request.verifier_id
    assert checked.verifier.verifier_id.startswith("verifier-")
    assert (checked.verifier.name, checked.verifier.origins) == ("Alpha Lending Verifier", (alpha.url,))
    assert checked.verifier.registration_seq == registered.registration_seq
    assert checked.verifier.key == public_key_bytes(registered.key).hex()
    assert (checked.lender, checked.purpose, checked.origin) == ("ACME Bank", "loan application 2026-0117", alpha.url)
    assert checked.presentation_url == created["presentation_url"]
    assert checked.expires_at.isoformat().startswith(created["expires_at"][:19])
    assert holder.submit_detailed(holder.prepare(checked).approve()).verdict["verified"]
    assert alpha.posts == [f"/requests/{created['id']}/presentation"]
    alpha.posts.clear()


@pytest.mark.parametrize("keyless", [False, True], ids=["own-key", "key-less"])
def test_a_deployment_copying_a_registered_id_is_refused_and_sent_nothing(world, alpha, holder, keyless):
    copy = rogue(
        world,
        f"copy{int(keyless)}",
        lambda url: Impostor(
            Ed25519PrivateKey.generate(),
            "Alpha Lending Verifier",
            (url,),
            alpha.identity.registration_seq,
            alpha.identity.verifier_id,
            keyless=keyless,
        ),
    )
    created = world.ask(copy, copy.lender("ACME Bank"), pseudonym=True)
    assert created["request"]["verifier_id"] == alpha.identity.verifier_id  # it claims alpha's id and context
    with pytest.raises(RequestRefused, match="not signed by the registered key") as refused:
        holder.fetch_request(created["request_url"])
    assert refused.value.reason == "bad-signature"
    with pytest.raises(RequestRefused):
        holder.submit(holder.prepare(created["request_url"]).approve())
    untouched(copy, created)


def test_a_registered_deployment_cannot_prove_under_another_id(world, alpha, holder):
    """Registered with its own key, it asks for proofs (and pseudonyms) bound to alpha's id."""
    other = world.deploy("mallory", display="Mallory")
    other.service.verifier_id = alpha.identity.verifier_id  # requests (transcript, contexts) under alpha's id
    created = world.ask(other, other.lender("ACME Bank"), pseudonym=True)
    assert created["request"]["queries"][0]["pseudonym_context"] == lender_context(
        alpha.identity.verifier_id, "ACME Bank"
    )
    with pytest.raises(RequestRefused, match="names verifier") as refused:
        holder.submit(holder.prepare(created["request_url"]).approve())
    assert refused.value.reason == "verifier-mismatch"
    untouched(other, created)


def test_a_relayed_document_from_another_origin_is_refused(world, alpha, holder):
    """A phishing site serves alpha's genuine, correctly signed document from its own origin."""
    created = world.ask(alpha, alpha.lender("ACME Bank"))
    proxy = FastAPI()

    @proxy.get("/r/{request_id}")
    def relay(request_id: str) -> Response:
        real = httpx.get(f"{alpha.url}/requests/{request_id}/document")
        return Response(real.content, media_type="application/json")

    with serve(proxy) as phishing:
        with pytest.raises(RequestRefused, match="not on an origin") as refused:
            holder.submit(holder.prepare(f"{phishing}/r/{created['id']}").approve())
    assert refused.value.reason == "origin-mismatch"
    untouched(alpha, created)


class Tampering(httpx.Client):
    """A network attacker between the wallet and the verifier: rewrites the document in flight."""

    def __init__(self, change: Any) -> None:
        super().__init__()
        self.change = change

    def request(self, method: str, url: Any, **kw: Any) -> httpx.Response:  # type: ignore[override]
        response = super().request(method, url, **kw)
        if method == "GET" and str(url).endswith("/document"):
            return httpx.Response(200, json=self.change(response.json()), request=response.request)
        return response


@pytest.mark.parametrize(
    "change",
    [
        lambda d: {**d, "lender": "Trusted Bank"},
        lambda d: {**d, "purpose": "a harmless survey"},
        lambda d: {
            **d,
            "request": {**d["request"], "queries": [{**d["request"]["queries"][0], "disclose": ["income"]}]},
        },
    ],
    ids=["lender", "purpose", "disclose"],
)
def test_a_document_altered_in_transit_is_refused(world, alpha, change):
    created = world.ask(alpha, alpha.lender("ACME Bank"), purpose="loan application 2026-0117")
    victim = world.wallet("victim", http=HttpRouter({alpha.url: Tampering(change), ISSUER_URL: world.issuer}))
    victim.accept_offer(world.offer(70000))
    with pytest.raises(RequestRefused) as refused:
        victim.submit(victim.prepare(created["request_url"]).approve())
    assert refused.value.reason == "bad-signature"
    untouched(alpha, created)


def test_two_deployments_with_one_lender_name_get_different_pseudonyms(world, alpha, holder):
    beta = world.deploy("beta", display="Beta Lending Verifier")
    seen = {}
    for deployment in (alpha, beta):
        lender = deployment.lender("ACME Bank")
        created = world.ask(deployment, lender, pseudonym=True)
        result = holder.submit_detailed(holder.prepare(created["request_url"]).approve())
        assert result.verdict["verified"], result.verdict
        [scope] = result.pseudonyms
        assert scope.context == lender_context(deployment.identity.verifier_id, "ACME Bank")
        status = TestClient(deployment.app).get(f"/requests/{created['id']}", headers=lender).json()
        seen[deployment.url] = (status["pseudonym_context"], status["pseudonym"])
        deployment.posts.clear()
    (context_a, nym_a), (context_b, nym_b) = seen.values()
    assert context_a != context_b and nym_a and nym_b and nym_a != nym_b


def test_a_restart_keeps_the_registration_and_refuses_another_key(world):
    database = world.database("restart")
    first = world.deploy("restart", display="Restart Verifier", database=database)
    size = world.log.head().size
    engine = make_engine(database)
    again = ensure_registered(
        engine=engine,
        key=first.identity.key,
        name="Restart Verifier",
        origins=[],
        public_url=first.url,
        ledger=over_http(world.client()),
    )
    assert (again.verifier_id, again.registration_seq) == (first.identity.verifier_id, first.identity.registration_seq)
    assert world.log.head().size == size  # nothing published twice
    with pytest.raises(ConfigError, match="belongs to verifier .* not this signing key"):
        ensure_registered(
            engine=engine,
            key=Ed25519PrivateKey.generate(),
            name="Restart Verifier",
            origins=[],
            public_url=first.url,
            ledger=over_http(world.client()),
        )
    moved = ensure_registered(  # a new public URL: a verifier_update, signed by the current key
        engine=engine,
        key=first.identity.key,
        name="Restart Verifier (moved)",
        origins=["https://elsewhere.example"],
        public_url="https://elsewhere.example",
        ledger=over_http(world.client()),
    )
    assert (moved.verifier_id, moved.registration_seq) == (first.identity.verifier_id, first.identity.registration_seq)
    assert (moved.name, moved.origins) == ("Restart Verifier (moved)", ("https://elsewhere.example",))
    assert world.log.head().size == size + 1
    created = world.ask(first, first.lender("ACME Bank"))  # still served at the old URL: no longer registered
    with pytest.raises(RequestRefused) as refused:
        world.wallet("mover").fetch_request(created["request_url"])
    assert refused.value.reason == "origin-mismatch"
    engine.dispose()


def test_a_rotated_key_keeps_the_id_and_the_old_key_signs_no_more(world, holder):
    key_file = world.tmp / f"rotating-{world.storage}.key"
    database = world.database("rotating")
    first = world.deploy("rotating", key=load_key(key_file), display="Rotating", database=database)
    lender = first.lender("ACME Bank")
    before = world.ask(first, lender, pseudonym=True)
    old_document = httpx.get(before["request_url"]).json()
    engine = make_engine(database)
    verifier_id, new_key = rotate_key(engine=engine, key_file=key_file, ledger=over_http(world.client()))
    assert verifier_id == first.identity.verifier_id and new_key == public_key_bytes(load_key(key_file))
    assert not (world.tmp / f"rotating-{world.storage}.key.next").exists()
    # the running deployment still signs with the old key: its documents are refused from now on
    with pytest.raises(RequestRefused) as refused:
        holder.fetch_request(before["request_url"])
    assert refused.value.reason == "bad-signature" and old_document["verifier_id"] == verifier_id
    # restarted with the rotated key file: same id, same registration, same contexts
    restarted = ensure_registered(
        engine=engine,
        key=load_key(key_file),
        name="Rotating",
        origins=[],
        public_url=first.url,
        ledger=over_http(world.client()),
    )
    assert (restarted.verifier_id, restarted.registration_seq) == (verifier_id, first.identity.registration_seq)
    first.service.identity = restarted
    after = world.ask(first, lender, pseudonym=True)
    checked = holder.fetch_request(after["request_url"])
    assert checked.verifier.key == new_key.hex()
    assert checked.pseudonym_scopes[0].context == lender_context(verifier_id, "ACME Bank")
    assert holder.submit_detailed(holder.prepare(checked).approve()).verdict["verified"]
    first.posts.clear()
    engine.dispose()


def test_the_cli_refuses_in_one_line_and_sends_nothing(world, alpha, monkeypatch, capsys):
    """``zkcred wallet present URL --submit`` against a deployment copying alpha's id: one error line."""
    from tests.cli.conftest import Outcome
    from zkcred.cli import run

    copy = rogue(
        world,
        "copy-cli",
        lambda url: Impostor(
            Ed25519PrivateKey.generate(),
            "Alpha Lending Verifier",
            (url,),
            alpha.identity.registration_seq,
            alpha.identity.verifier_id,
        ),
    )
    created = world.ask(copy, copy.lender("ACME Bank"))
    path = world.tmp / f"cli-wallet-{world.storage}.db"
    Wallet.create(path, "correct horse battery").close()
    for name, value in {
        "ZKCRED_WALLET": str(path),
        "ZKCRED_WALLET_PASSPHRASE": "correct horse battery",
        "ZKCRED_LEDGER_URL": world.ledger_url,
        "ZKCRED_LEDGER_PUBLIC_KEY": world.log.public_key.hex(),
    }.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    code = run(["wallet", "present", created["request_url"], "--submit"])
    captured = capsys.readouterr()
    Outcome(code, captured.out, captured.err).error_line("refused (bad-signature)", alpha.identity.verifier_id)
    untouched(copy, created)


def test_a_kept_key_with_a_lost_database_finds_its_registration(world):
    """The key survives, the database does not (or a second deployment of one key): the verifier finds
    its registration on the ledger and, on another URL, publishes an update — same id, same seq."""
    key = Ed25519PrivateKey.generate()
    first = world.deploy("kept-1", key=key, display="Kept")
    second = world.deploy("kept-2", key=key, display="Kept")  # a fresh database, another port
    assert (second.identity.verifier_id, second.identity.registration_seq) == (
        first.identity.verifier_id,
        first.identity.registration_seq,
    )
    assert second.identity.origins == (second.url,)
