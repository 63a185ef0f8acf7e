"""``zkcred verifier create-api-key`` prints a key once and stores only its hash; ``serve`` refuses
to start without the ledger settings, in one clear line."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from verifier.db import SqlRequestStore, init_db, make_engine
from verifier.service import hash_api_key
from zkcred.verifier_cli import app


def _database(url: str) -> str:
    """The verifier's database, as its first start makes it (admin commands never create one)."""
    engine = make_engine(url)
    init_db(engine)
    engine.dispose()
    return url


def test_create_api_key_prints_once_and_stores_the_hash(tmp_path):
    url = f"sqlite:///{tmp_path}/v.db"
    result = CliRunner().invoke(app, ["create-api-key", "--lender", "acme-bank"], env={"DATABASE_URL": url})
    assert result.exit_code == 1 and f"no verifier database at {tmp_path}/v.db" in result.output
    assert not (tmp_path / "v.db").exists()
    _database(url)
    result = CliRunner().invoke(app, ["create-api-key", "--lender", "acme-bank", "--json"], env={"DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    key = out["api_key"]
    assert out["lender"] == "acme-bank" and key.startswith("zkv_") and len(key) > 40
    engine = make_engine(url)
    store = SqlRequestStore(engine)
    assert store.lender_for_key(key_hash=hash_api_key(key)) == "acme-bank"
    with engine.connect() as conn:
        dump = "".join(str(row) for row in conn.exec_driver_sql("SELECT * FROM verifier_api_keys"))
    assert key not in dump  # only the hash is stored
    engine.dispose()


def test_serve_needs_the_ledger_settings(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/v.db", "ZKCRED_LEDGER_URL": "", "ZKCRED_LEDGER_PUBLIC_KEY": ""}
    result = CliRunner().invoke(app, ["serve"], env=env)
    assert result.exit_code == 1 and "ZKCRED_LEDGER_URL" in result.output
    env |= {"ZKCRED_LEDGER_URL": "http://127.0.0.1:1", "ZKCRED_LEDGER_PUBLIC_KEY": "zz"}
    result = CliRunner().invoke(app, ["serve"], env=env)
    assert result.exit_code == 1 and "ZKCRED_LEDGER_PUBLIC_KEY" in result.output


def test_registered_under_zkcred():
    from zkcred.cli import _register
    from zkcred.cli import app as root

    _register()
    result = CliRunner().invoke(root, ["verifier", "--help"])
    assert result.exit_code == 0 and "create-api-key" in result.output


def test_create_api_key_refuses_an_empty_lender(tmp_path):
    result = CliRunner().invoke(
        app, ["create-api-key", "--lender", "  "], env={"DATABASE_URL": _database(f"sqlite:///{tmp_path}/v.db")}
    )
    assert result.exit_code == 1 and "lender" in result.output


def test_serve_refuses_a_bad_witness_policy_in_one_line(tmp_path):
    policy = tmp_path / "policy"
    policy.write_text("witness w1 not-a-vkey\nquorum w1\n")
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path}/v.db",
        "ZKCRED_LEDGER_URL": "http://127.0.0.1:1",
        "ZKCRED_LEDGER_PUBLIC_KEY": "ab" * 32,
        "ZKCRED_LEDGER_POLICY": str(policy),
        "ZKCRED_VERIFIER_URL": "http://127.0.0.1:8002",
        "ZKCRED_STATE_DIR": str(tmp_path),
    }
    result = CliRunner().invoke(app, ["serve"], env=env)
    assert result.exit_code == 1 and "ZKCRED_LEDGER_POLICY" in result.output and "line 1" in result.output
    assert "Traceback" not in result.output


def test_serve_refuses_a_policy_that_names_another_ledger(tmp_path):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ledger.checkpoint import log_signer
    from ledger.note import CosignatureSigner
    from ledger.policy import format_policy, simple_policy

    other = log_signer("zkcred.example/ledger", Ed25519PrivateKey.generate()).verifier
    w = CosignatureSigner("w.test", Ed25519PrivateKey.generate())
    policy = tmp_path / "policy"
    policy.write_text(format_policy(simple_policy([("w1", w.verifier, None)], 1, log=other)))
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path}/v.db",
        "ZKCRED_LEDGER_URL": "http://127.0.0.1:1",
        "ZKCRED_LEDGER_PUBLIC_KEY": "ab" * 32,
        "ZKCRED_LEDGER_POLICY": str(policy),
        "ZKCRED_LEDGER_ORIGIN": "",
        "ZKCRED_VERIFIER_URL": "http://127.0.0.1:8002",
        "ZKCRED_STATE_DIR": str(tmp_path),
    }
    result = CliRunner().invoke(app, ["serve"], env=env)
    assert result.exit_code == 1 and "does not list the ledger" in result.output
