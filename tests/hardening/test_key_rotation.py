"""Issuer key rotation: a new credential definition that supersedes the old one, announced on the ledger.

Decisions under test (docs/api.md, "Key rotation"): the successor is a new definition (new
BBS key, new registry) whose ``credential_definition`` entry names the old one in
``supersedes``; the old definition takes no new offers and issues no more (409
``definition-superseded`` with ``successor_id``); credentials already issued under it keep
verifying for every lender whose request lists the old definition, until revoked; wallets
(``sync``, ``zkcred wallet list``) and verifiers (``LedgerResolver.successor``) learn the
successor from the ledger.
"""

from __future__ import annotations

import json

from ledger.entries import parse_entry
from tests.hardening.conftest import ADA, build_story


def test_rotation_supersedes_and_old_credentials_keep_verifying(tmp_path, monkeypatch):
    story = build_story(tmp_path, holders=(ADA,))
    try:
        old = story.cred_def["id"]
        r = story.iss.post(f"/admin/credential-definitions/{old}/rotate", headers=story.admin)
        assert r.status_code == 201, r.text
        new = r.json()
        assert new["supersedes"] == old and new["tag"] == "2026#r2" and new["publication"] == "published"
        assert new["schema_id"] == story.cred_def["schema_id"] and new["capacity"] == story.cred_def["capacity"]
        assert new["definition"]["public_key"] != story.cred_def["definition"]["public_key"]
        got = story.iss.get(f"/admin/credential-definitions/{old}", headers=story.admin).json()
        assert got["superseded_by"] == new["id"] and got["supersedes"] is None

        entry = parse_entry(story.log.entry(new["ledger_seq"]).body)
        assert entry.type == "credential_definition" and entry.payload["supersedes"] == old
        assert story.verifier.resolver.successor(old) == new["id"]
        assert story.verifier.resolver.successor(new["id"]) is None

        # the old definition: no new offers, no second successor
        for path, body in (
            (f"/admin/credential-definitions/{old}/rotate", None),
            ("/admin/offers", {"credential_definition_id": old, "attributes": ADA}),
        ):
            r = story.iss.post(path, headers=story.admin, json=body)
            assert r.status_code == 409 and r.json()["type"].endswith("/definition-superseded"), r.text
            assert r.json()["successor_id"] == new["id"]

        # the holder learns it; the old credential still verifies where the lender lists the old definition
        wallet = story.wallets[0]
        wallet.sync()
        [held] = wallet.credentials()
        assert held.superseded_by == new["id"] and held.status == "active"
        from typer.testing import CliRunner

        from zkcred import wallet_cli
        from zkcred.cli import _register, app

        _register()
        monkeypatch.setattr(wallet_cli, "_open", lambda *a, **kw: wallet)
        listed = CliRunner().invoke(app, ["wallet", "list"], env={"COLUMNS": "400"})
        assert listed.exit_code == 0, listed.output
        assert "superseded" in listed.output  # the table's width depends on the terminal: the id may be cut
        listed = CliRunner().invoke(app, ["wallet", "list", "--json"], env={"COLUMNS": "400"})
        assert f'"superseded_by": "{new["id"]}"' in listed.output
        created = story.new_request(credential_definitions=[old, new["id"]])
        assert story.submit(created, story.present(created)).json()["verified"] is True

        # new credentials come from the successor, and a lender may accept only those
        summary = wallet.accept_offer(story.offer(new["id"], ADA))
        assert summary.definition_id == new["id"] and summary.superseded_by is None
        created = story.new_request(credential_definitions=[new["id"]])
        presentation, used = wallet.present(wallet.prepare(created["request"]).approve())
        assert used == [summary.id]
        assert story.submit(created, presentation).json()["verified"] is True

        # rotating again continues the tag
        again = story.iss.post(
            f"/admin/credential-definitions/{new['id']}/rotate", headers=story.admin, json={"validity_days": 30}
        ).json()
        assert again["tag"] == "2026#r3" and again["validity_days"] == 30 and again["supersedes"] == new["id"]
        assert json.loads(json.dumps(again))["superseded_by"] is None
    finally:
        story.close()
