"""Step 4 of issue 17: a ledger that equivocates is caught.

The operator runs one ledger key but two histories: view A (shown to lender 1) carries a
revocation that view B (shown to lender 2) hides, so a revoked credential would still verify
at lender 2.  Three independent witnesses on loopback; consumers hold a 2-of-3 policy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from ledger.api import create_app as ledger_app
from ledger.client import LedgerClient
from ledger.errors import QuorumNotMet
from ledger.log import LedgerLog
from ledger.note import CosignatureSigner
from ledger.policy import Policy, format_policy, simple_policy
from ledger.store import MemoryStore
from ledger.witnessing import WitnessSubmitter
from tests.ledger.conftest import Issuer, populate
from tests.servers import serve
from verifier.resolver import LedgerResolver, LedgerUnavailable
from wallet import Wallet
from wallet.store import WalletError
from witness.api import create_app as witness_app
from witness.core import MemoryWitnessStore, Witness
from zkcred import ledger_cli

ORIGIN = "ledger.test/equivocating"


@dataclass
class Scene:
    a: LedgerLog
    b: LedgerLog
    url_a: str
    url_b: str
    witnesses: list[Witness]
    policy: Policy  # what consumers hold: 2 of the 3 witnesses
    submit_policy: Policy  # what the ledger holds: the same witnesses, with their URLs
    witness_urls: list[str]
    prefix: LedgerLog  # the common prefix (4 entries) under the same key: consistent with both, smaller


def _revoke(log: LedgerLog, issuer: Issuer, handle: str) -> None:
    log.append(
        key=issuer.key,
        issuer=issuer.id,
        entry_type="revocation",
        payload={"registry_id": "acme/rr/1", "handles": [handle], "values": ["d" * 96]},
    )


@pytest.fixture(params=["same-size", "not-an-extension"])
def scene(request: pytest.FixtureRequest) -> Iterator[Scene]:
    key = Ed25519PrivateKey.generate()
    a = LedgerLog(MemoryStore(), signing_key=key, origin=ORIGIN)
    b = LedgerLog(MemoryStore(), signing_key=key, origin=ORIGIN)  # the same operator, the same key
    issuer = Issuer("acme")
    populate(a, issuer, 4)
    prefix = LedgerLog(MemoryStore(), signing_key=key, origin=ORIGIN)
    for stored in a.store.entries(start=0, limit=4):  # a common prefix of 4 entries
        b.submit(json.loads(stored.body))
        prefix.submit(json.loads(stored.body))
    _revoke(a, issuer, "00aa")  # view A: the revocation
    _revoke(b, issuer, "00bb")  # view B: another entry instead (same size) ...
    if request.param == "not-an-extension":
        _revoke(b, issuer, "00cc")  # ... or a longer tree that is not an extension of A's
    witnesses = [
        Witness(
            CosignatureSigner(f"witness.test/w{i}", Ed25519PrivateKey.generate()), [a.verifier], MemoryWitnessStore()
        )
        for i in (1, 2, 3)
    ]
    with ExitStack() as stack:
        urls = [stack.enter_context(serve(witness_app(w))) for w in witnesses]
        listed = [(w.signer.name, w.signer.verifier, u) for w, u in zip(witnesses, urls, strict=True)]
        submit_policy = simple_policy(listed, 2, log=a.verifier)
        policy = simple_policy([(n, v, None) for n, v, _ in listed], 2, log=a.verifier)
        a.witness_policy = b.witness_policy = submit_policy
        url_a = stack.enter_context(serve(ledger_app(a)))
        url_b = stack.enter_context(serve(ledger_app(b)))
        yield Scene(a, b, url_a, url_b, witnesses, policy, submit_policy, urls, prefix)


def test_witnesses_refuse_the_second_branch(scene: Scene) -> None:
    a_out = WitnessSubmitter(scene.a, list(scene.submit_policy.witnesses.values())).submit_round()
    assert [o.status for o in a_out] == ["cosigned"] * 3
    b_out = WitnessSubmitter(scene.b, list(scene.submit_policy.witnesses.values())).submit_round()
    assert [o.status for o in b_out] == ["refused 422"] * 3  # after learning size 5 from a 409
    for w in scene.witnesses:
        assert w.store.get(ORIGIN).root == scene.a.root(5)  # still view A
        (evidence,) = w.evidence
        assert evidence.checkpoint == scene.b.checkpoint().to_bytes()  # B's signed checkpoint, kept
    assert scene.a.latest_checkpoint().size == 5 and len(scene.a.latest_checkpoint().note.signatures) == 4
    assert len(scene.b.latest_checkpoint().note.signatures) == 1  # B has only its own signature

    # consumers with the quorum policy: A is accepted, B refused, naming the witnesses missing
    key = scene.a.public_key
    assert LedgerClient(scene.url_a, ledger_key=key, origin=ORIGIN, policy=scene.policy).checkpoint().size == 5
    with pytest.raises(QuorumNotMet) as e:
        LedgerClient(scene.url_b, ledger_key=key, origin=ORIGIN, policy=scene.policy).checkpoint()
    assert e.value.missing == ["witness.test/w1", "witness.test/w2", "witness.test/w3"]
    resolver = LedgerResolver(LedgerClient(scene.url_b, ledger_key=key, origin=ORIGIN, policy=scene.policy))
    with pytest.raises(LedgerUnavailable) as refused:
        resolver.refresh()
    assert "witness.test/w1" in refused.value.detail and "quorum" in refused.value.detail
    assert (
        LedgerResolver(LedgerClient(scene.url_a, ledger_key=key, origin=ORIGIN, policy=scene.policy)).refresh().size
        == 5
    )
    # without a policy (today's behaviour) view B would be believed
    assert LedgerClient(scene.url_b, ledger_key=key, origin=ORIGIN).checkpoint().root != scene.a.root(5)


def test_a_wallet_with_a_policy_refuses_the_forked_view(scene: Scene, tmp_path) -> None:  # type: ignore[no-untyped-def]
    WitnessSubmitter(scene.a, list(scene.submit_policy.witnesses.values())).submit_round()
    WitnessSubmitter(scene.b, list(scene.submit_policy.witnesses.values())).submit_round()
    wallet = Wallet.create(
        tmp_path / "w.db",
        "correct horse battery",
        ledger_url=scene.url_b,
        ledger_key=scene.a.public_key,
        ledger_policy=scene.policy,
        ledger_origin=ORIGIN,
    )
    with pytest.raises(WalletError) as e:
        wallet.sync()
    assert "witness.test/w2" in str(e.value)
    wallet.ledger_url = scene.url_a
    assert wallet.sync()["height"] == 4


def test_audit_reports_the_fork_with_both_checkpoints(scene: Scene, tmp_path) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    key = scene.a.public_key.hex()
    out = runner.invoke(ledger_cli.app, ["audit", scene.url_a, scene.url_b, "--ledger-key", key, "--json"])
    assert out.exit_code == 3, out.output
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["ok"] is False and report["fork"]["views"] == [scene.url_a, scene.url_b]
    shown = [scene.a.checkpoint().to_bytes().decode(), scene.b.checkpoint().to_bytes().decode()]
    assert report["fork"]["checkpoints"] == shown  # both, signed by the ledger's key: the evidence
    assert "FORK DETECTED" in out.output and "Traceback" not in out.output
    # one view alone audits clean: a fork is only visible by comparing what parties were shown
    assert runner.invoke(ledger_cli.app, ["audit", scene.url_b, "--ledger-key", key]).exit_code == 0
    same = runner.invoke(ledger_cli.app, ["audit", scene.url_a, scene.url_a, "--ledger-key", key])
    assert same.exit_code == 0 and "no fork" in same.output
    # with the consumers' policy, the audit of view B alone fails on the missing quorum
    policy = tmp_path / "policy"
    policy.write_text(format_policy(scene.policy))
    WitnessSubmitter(scene.a, list(scene.submit_policy.witnesses.values())).submit_round()
    assert (
        runner.invoke(ledger_cli.app, ["audit", scene.url_a, "--ledger-key", key, "--policy", str(policy)]).exit_code
        == 0
    )
    lacking = runner.invoke(ledger_cli.app, ["audit", scene.url_b, "--ledger-key", key, "--policy", str(policy)])
    assert lacking.exit_code == 1 and "witness.test/w1" in lacking.output


def test_audit_against_the_witnesses_catches_a_fork_or_a_withheld_view(scene: Scene) -> None:
    WitnessSubmitter(scene.a, list(scene.submit_policy.witnesses.values())).submit_round()  # witnesses saw A (5)
    runner = CliRunner()
    key = scene.a.public_key.hex()
    w1, w2 = scene.witness_urls[:2]
    ok = runner.invoke(ledger_cli.app, ["audit", scene.url_a, "--ledger-key", key, "--witness", w1, "--witness", w2])
    assert ok.exit_code == 0, ok.output
    # lender 2 audits the view it was shown against one witness: the fork shows, with both checkpoints
    fork = runner.invoke(ledger_cli.app, ["audit", scene.url_b, "--ledger-key", key, "--witness", w1, "--json"])
    assert fork.exit_code == 3, fork.output
    evidence = json.loads(fork.stdout.strip().splitlines()[-1])["fork"]
    assert evidence["views"] == [scene.url_b, f"witness {w1}"]
    assert evidence["checkpoints"][1].startswith(f"{ORIGIN}\n5\n")  # what the witness cosigned: view A
    # a view that is consistent but smaller than what the witnesses cosigned: entries withheld
    with ExitStack() as stack:
        url_c = stack.enter_context(serve(ledger_app(scene.prefix)))
        withheld = runner.invoke(ledger_cli.app, ["audit", url_c, "--ledger-key", key, "--witness", w1])
    assert withheld.exit_code == 1 and "withheld" in withheld.output
