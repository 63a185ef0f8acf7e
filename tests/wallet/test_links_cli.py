"""Issue 13: the wallet SDK and CLI take a request's deep link (what its QR code says)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tests.wallet.test_wallet_flow import world  # noqa: F401  (the module-scoped services)
from wallet import WalletError


def test_sdk_submits_through_a_deep_link(world):  # noqa: F811
    carol = world["wallet"]("carol-links")
    carol.accept_offer(world["offer"](64000))
    asked = world["ask"]()
    assert carol.fetch_request(asked["deep_link"]) == carol.fetch_request(asked["request_url"])
    assert carol.submit(carol.prepare(asked["deep_link"]).approve())["verified"] is True
    assert world["status"](asked["id"])["status"] == "verified"
    with pytest.raises(WalletError, match="unknown deep link action"):
        carol.fetch_request(asked["deep_link"].replace("zkcred://present", "zkcred://pay"))


def test_cli_present_takes_a_deep_link_and_refuses_bad_ones(world, monkeypatch, capsys):  # noqa: F811
    import zkcred.wallet_cli as cli
    from zkcred.cli import run

    dave = world["wallet"]("dave-links")
    dave.accept_offer(world["offer"](64000))
    monkeypatch.setattr(cli, "_open", lambda *a, **k: dave)
    runner = CliRunner()
    asked = world["ask"]()
    out = runner.invoke(cli.app, ["present", asked["deep_link"], "--submit", "--json", "--yes"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["verified"] is True

    link = asked["deep_link"]
    for bad, says in [
        ("zkcred://pay?request_uri=x", "unknown deep link action"),
        ("zkcred://present", "needs exactly one request_uri"),
        (link + "&extra=1", "unknown deep link parameter"),
        (link.replace("present", "accept").replace("request_uri", "offer_uri"), "not 'present'"),
    ]:
        capsys.readouterr()
        code = run(["wallet", "present", bad, "--submit"])
        captured = capsys.readouterr()
        text = (captured.err + captured.out).strip()
        assert code == 1, text
        assert says in text and len(text.splitlines()) == 1 and "Traceback" not in text


def test_cli_accept_takes_an_accept_deep_link(world, monkeypatch, tmp_path):  # noqa: F811
    import zkcred.wallet_cli as cli

    erin = world["wallet"]("erin-links")
    monkeypatch.setattr(cli, "_open", lambda *a, **k: erin)
    offer = world["offer"](64000)
    served = {"https://issuer.example/offers/1": offer}
    monkeypatch.setattr(cli, "_load", lambda source: served[source])
    from servicekit import deeplinks

    r = CliRunner().invoke(
        cli.app, ["accept", deeplinks.build("accept", "https://issuer.example/offers/1"), "--json", "--yes"]
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["schema"]
