"""A revoked admin token authenticates no more (403), by value or by label, over the API and the CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from issuer.errors import IssuerError
from issuer.service import revoke_admin_tokens
from zkcred.cli import _register, app


def test_revoked_admin_token_is_refused(service, client, admin):
    assert client.get("/admin/schemas", headers=admin).status_code == 200
    token = admin["Authorization"].removeprefix("Bearer ")
    assert revoke_admin_tokens(service.engine, token=token) == 1
    assert client.get("/admin/schemas", headers=admin).status_code == 403
    second = service.create_admin_token("ops")
    third = service.create_admin_token("ops")
    assert revoke_admin_tokens(service.engine, name="ops") == 2
    for t in (second, third):
        assert client.get("/admin/schemas", headers={"Authorization": f"Bearer {t}"}).status_code == 403
    with pytest.raises(IssuerError):
        revoke_admin_tokens(service.engine)


def test_cli_revoke_admin_token(tmp_path):
    _register()
    url = f"sqlite:///{tmp_path / 'i.db'}"
    from issuer import db

    engine = db.make_engine(url)
    db.create_tables(engine)  # as the issuer's first start does: admin commands never create a database
    engine.dispose()
    runner = CliRunner()
    token = json.loads(runner.invoke(app, ["issuer", "create-admin-token", "--json", "--database-url", url]).stdout)[
        "token"
    ]
    out = runner.invoke(
        app, ["issuer", "revoke-admin-token", "--json", "--database-url", url], env={"ZKCRED_REVOKE_ADMIN_TOKEN": token}
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout) == {"revoked": 1}
