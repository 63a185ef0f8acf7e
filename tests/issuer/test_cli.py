"""``zkcred issuer``: create-admin-token prints a token once and stores its hash; serve needs the master key."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from typer.testing import CliRunner

from issuer import db
from issuer.models import AdminToken
from zkcred.cli import _register, app


def test_create_admin_token_and_serve_without_master_key(tmp_path, monkeypatch):
    _register()
    url = f"sqlite:///{tmp_path}/issuer.db"
    result = CliRunner().invoke(app, ["issuer", "create-admin-token", "--name", "ops", "--database-url", url])
    assert (
        result.exit_code == 2 and f"no issuer database at {tmp_path}/issuer.db (from --database-url)" in result.output
    )
    assert not (tmp_path / "issuer.db").exists()  # refused, not silently created
    engine = db.make_engine(url)
    db.create_tables(engine)  # as the issuer's first start does
    engine.dispose()
    result = CliRunner().invoke(app, ["issuer", "create-admin-token", "--name", "ops", "--database-url", url])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("zka_") and len(token) > 40
    engine = db.make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(AdminToken.__table__)).all()
    engine.dispose()
    assert [(r.name, r.token_hash) for r in rows] == [("ops", hashlib.sha256(token.encode()).hexdigest())]

    monkeypatch.delenv("ZKCRED_MASTER_KEY", raising=False)
    monkeypatch.delenv("ZKCRED_DEV_MODE", raising=False)
    result = CliRunner().invoke(app, ["issuer", "serve", "--database-url", url])
    assert result.exit_code == 2
    assert "ZKCRED_MASTER_KEY is not set" in result.output
