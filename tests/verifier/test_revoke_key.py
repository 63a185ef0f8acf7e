"""A revoked API key authenticates no more; revoking by lender revokes all of its keys."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from verifier.errors import VerifierError
from verifier.service import revoke_api_keys
from zkcred.cli import _register, app


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_revoked_key_is_refused(service, client, api_key, auth):
    assert client.get("/requests/nope", headers=auth).status_code == 404  # authenticated: the request is unknown
    other = service.create_api_key(lender="acme-bank")
    assert revoke_api_keys(store=service.store, key=api_key, now=0) == 1
    assert client.get("/requests/nope", headers=auth).status_code == 403
    assert client.get("/requests/nope", headers={"Authorization": f"Bearer {other}"}).status_code == 404
    assert revoke_api_keys(store=service.store, lender="acme-bank", now=0) == 1
    assert client.get("/requests/nope", headers={"Authorization": f"Bearer {other}"}).status_code == 403
    assert revoke_api_keys(store=service.store, key=api_key, now=0) == 0  # already revoked
    with pytest.raises(VerifierError):
        revoke_api_keys(store=service.store, key=api_key, lender="acme-bank", now=0)


def test_cli_revoke_api_key(tmp_path):
    _register()
    url = f"sqlite:///{tmp_path / 'v.db'}"
    from verifier.db import init_db, make_engine

    engine = make_engine(url)
    init_db(engine)  # as the verifier's first start does: admin commands never create a database
    engine.dispose()
    runner = CliRunner()
    created = runner.invoke(app, ["verifier", "create-api-key", "--lender", "L", "--json", "--database-url", url])
    key = json.loads(created.stdout)["api_key"]
    revoked = runner.invoke(
        app, ["verifier", "revoke-api-key", "--json", "--database-url", url], env={"ZKCRED_REVOKE_API_KEY": key}
    )
    assert revoked.exit_code == 0, revoked.output
    assert json.loads(revoked.stdout) == {"revoked": 1}
    both = runner.invoke(app, ["verifier", "revoke-api-key", "--key", key, "--lender", "L", "--database-url", url])
    assert both.exit_code == 1
