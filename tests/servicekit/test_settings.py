"""One configuration (servicekit.settings): sources and their order, the state directory, the
config file, and the old variable names; ``zkcred init`` / ``check``; the start-up refusals."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from issuer.config import Settings as IssuerSettings
from ledger.config import Settings as LedgerSettings
from ledger.config import open_checked
from servicekit.settings import DEV_KEY_MARKER, CommonSettings, ConfigError, default_state_dir
from verifier.config import Settings as VerifierSettings
from witness.config import Settings as WitnessSettings
from zkcred.cli import _register, app


@pytest.fixture
def state(tmp_path) -> Path:
    return tmp_path / "state"


def env_for(state: Path, **extra: str) -> dict[str, str]:
    return {"ZKCRED_STATE_DIR": str(state), "HOME": str(state.parent / "home"), **extra}


def run(*args: str, env: dict[str, str]):
    _register()
    # CliRunner's env only adds: blank what the outer environment could contribute
    blank = {k: None for k in os.environ if k.startswith("ZKCRED_") or k == "DATABASE_URL"}
    return CliRunner().invoke(app, list(args), env={**blank, **env})


# ---------------------------------------------------------------- sources


def test_flags_over_environment_over_file_over_defaults(state):
    state.mkdir()
    (state / "zkcred.toml").write_text(
        'issuer_url = "http://file:1"\nverifier_url = "http://file:2"\n'
        'ledger_url = "http://file:3"\n[verifier]\nverifier_id = "from-file"\n'
    )
    env = env_for(state, ZKCRED_VERIFIER_URL="http://env:2/", ZKCRED_LEDGER_URL="http://env:3")
    s = VerifierSettings.load(env, ledger_url="http://flag:3")
    assert (s.issuer_url, s.verifier_url, s.ledger_url) == ("http://file:1", "http://env:2", "http://flag:3")
    assert s.verifier_id == "from-file" and s.public_url == "http://env:2"
    assert s.origin("issuer_url") == str(state / "zkcred.toml")
    assert s.origin("verifier_url") == "environment ZKCRED_VERIFIER_URL"
    assert s.origin("ledger_url") == "command line" and s.origin("log_level") == "default"
    assert s.config_file == state / "zkcred.toml"
    # built directly, settings read nothing but their arguments (tests stay hermetic)
    assert VerifierSettings(verifier_url="http://x").verifier_id is None  # the id comes from the key


def test_old_variable_names_keep_working(state):
    key = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    env = env_for(
        state,
        DATABASE_URL="postgresql://u:p@h/v",
        ZKCRED_LEDGER_PUBLIC_KEY=key.hex(),
        ZKCRED_VERIFIER_ID="lender-x",
        ZKCRED_DEV_MODE="1",
    )
    s = VerifierSettings.load(env)
    assert s.database_url == "postgresql://u:p@h/v" and s.ledger_public_key == key and s.dev_mode
    assert s.verifier_id == "lender-x"
    # a service's own variable wins over the generic one
    assert (
        LedgerSettings.load({**env, "ZKCRED_LEDGER_DATABASE_URL": "sqlite:///l.db"}).database_url
        == f"sqlite:///{state}/l.db"
    )
    i = IssuerSettings.load(
        env_for(
            state,
            ZKCRED_MASTER_KEY="11" * 32,
            ZKCRED_OFFER_TTL="60",
            ZKCRED_ISSUER_ID="acme",
            ZKCRED_ISSUER_NAME="Acme",
        )
    )
    assert (i.master_key, i.offer_ttl_seconds, i.issuer_id, i.issuer_name) == (b"\x11" * 32, 60, "acme", "Acme")


def test_state_dir_is_absolute_and_never_the_current_directory(state, tmp_path, monkeypatch):
    assert default_state_dir({"XDG_STATE_HOME": "/x/state", "HOME": "/h"}) == Path("/x/state/zkcred")
    assert default_state_dir({"XDG_STATE_HOME": "relative", "HOME": "/h"}) == Path("/h/.local/state/zkcred")
    s = CommonSettings.load({"HOME": str(tmp_path / "home")})
    assert s.state_dir == tmp_path / "home" / ".local" / "state" / "zkcred"
    monkeypatch.chdir(tmp_path)
    s = LedgerSettings.load({"ZKCRED_STATE_DIR": "rel", "HOME": "/nowhere"})
    assert s.state_dir == tmp_path / "rel" and s.state_dir.is_absolute()
    assert s.database_url == f"sqlite:///{tmp_path}/rel/ledger.db"
    assert s.ledger_key_file == tmp_path / "rel" / "ledger-signing-key"
    assert s.master_key_file == tmp_path / "rel" / "master.key"
    # in a config file given explicitly, a relative state_dir is relative to the file
    conf = tmp_path / "etc" / "z.toml"
    conf.parent.mkdir()
    conf.write_text('state_dir = "data"\n[ledger]\ndatabase_url = "sqlite:///sub/ledger.db"\n')
    s = LedgerSettings.load({"HOME": "/nowhere"}, config_file=conf)
    assert s.state_dir == tmp_path / "etc" / "data"
    assert s.database_url == f"sqlite:///{tmp_path}/etc/data/sub/ledger.db"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("issuer_urll = 'http://a'\n", "unknown setting 'issuer_urll'"),
        ("[verifier]\nissuer_id = 'x'\n", "unknown setting 'issuer_id' in [verifier]"),
        ("[issuer]\nmaster_key = '" + "11" * 32 + "'\n", "does not belong in a config file"),
        ("issuer_url = \n", "is not valid TOML"),
        ("log_level = 'loud'\n", "invalid setting log_level"),
        ("ledger_url = 'ftp://x'\n", "invalid setting ledger_url"),
    ],
)
def test_a_bad_config_file_is_one_clear_line(state, text, message):
    state.mkdir()
    (state / "zkcred.toml").write_text(text)
    cls = IssuerSettings if "issuer]" in text else VerifierSettings
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")) as e:
        cls.load(env_for(state, ZKCRED_MASTER_KEY="11" * 32))
    assert "\n" not in str(e.value) and str(state / "zkcred.toml") in str(e.value)


def test_invalid_environment_value_names_the_variable(state):
    with pytest.raises(ConfigError, match=r"invalid setting offer_ttl_seconds \(environment ZKCRED_OFFER_TTL\)"):
        IssuerSettings.load(env_for(state, ZKCRED_MASTER_KEY="11" * 32, ZKCRED_OFFER_TTL="soon"))
    with pytest.raises(ConfigError, match="config file .* does not exist"):
        CommonSettings.load(env_for(state, ZKCRED_CONFIG=str(state / "missing.toml")))


def test_master_key_from_the_file_unless_the_environment_sets_one(state):
    with pytest.raises(ConfigError, match="ZKCRED_MASTER_KEY is not set and there is no master key file"):
        IssuerSettings.load(env_for(state))
    state.mkdir()
    (state / "master.key").write_text("# a comment\n" + "22" * 32 + "\n")
    assert IssuerSettings.load(env_for(state)).master_key == b"\x22" * 32
    assert IssuerSettings.load(env_for(state, ZKCRED_MASTER_KEY="33" * 32)).master_key == b"\x33" * 32
    (state / "master.key").write_text("not a key\n")
    with pytest.raises(ConfigError, match="the master key file .* must be 32 bytes"):
        IssuerSettings.load(env_for(state))


# ---------------------------------------------------------------- init and check


def test_init_makes_the_state_dir_and_refuses_to_overwrite(state):
    result = run("init", env=env_for(state, ZKCRED_ISSUER_URL="http://127.0.0.1:9001"))
    assert result.exit_code == 0, result.output
    assert f"created {state}/master.key" in result.output and f"created {state}/zkcred.toml" in result.output
    assert (state / "master.key").stat().st_mode & 0o777 == 0o600
    assert state.stat().st_mode & 0o777 == 0o700
    key = (state / "master.key").read_text()
    s = IssuerSettings.load(env_for(state))
    assert s.issuer_url == "http://127.0.0.1:9001"  # the offers' URL: from the environment at init
    assert (s.verifier_url, s.ledger_url) == ("http://127.0.0.1:8002", "http://127.0.0.1:8003")
    assert DEV_KEY_MARKER not in key and len(s.master_key) == 32
    again = run("init", env=env_for(state))
    assert again.exit_code == 2 and "already initialised" in again.output
    assert len(again.output.strip().splitlines()) == 1 and "Traceback" not in again.output
    assert (state / "master.key").read_text() == key  # untouched


def test_check_reports_what_it_found(state):
    assert run("init", env=env_for(state)).exit_code == 0
    result = run("check", "--json", "--offline", env=env_for(state))
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["ok"] and found["state_dir"] == str(state) and found["issuer_url"] == "http://127.0.0.1:8001"
    assert found["master_key"] == {"source": str(state / "master.key"), "dev": False}
    assert found["services"]["issuer"]["database_url"] == f"sqlite:///{state}/issuer.db"
    # a broken master key file: one finding, exit 1
    (state / "master.key").write_text("short\n")
    result = run("check", "--json", "--offline", env=env_for(state))
    found = json.loads(result.stdout)
    assert result.exit_code == 1 and not found["ok"]
    assert any("master key file" in f["message"] and f["level"] == "error" for f in found["findings"])
    # readable by others is an error too
    (state / "master.key").write_text("44" * 32 + "\n")
    (state / "master.key").chmod(0o644)
    result = run("check", env=env_for(state))
    assert result.exit_code == 1 and "readable by others" in result.output
    result = run("issuer", "serve", env=env_for(state))  # and the issuer will not start on it
    assert result.exit_code == 2 and "readable by others (0o644): chmod 600 it" in result.output


def test_check_finds_a_master_key_that_does_not_open_the_issuer_database(state):
    from issuer.config import Settings
    from issuer.service import IssuerService

    assert run("init", env=env_for(state)).exit_code == 0
    IssuerService.open(
        settings=Settings.load(env_for(state)), publisher=None, register=False, deliver=False
    ).engine.dispose()  # type: ignore[arg-type]
    assert run("check", "--offline", env=env_for(state)).exit_code == 0
    result = run("check", "--offline", env=env_for(state, ZKCRED_MASTER_KEY=secrets.token_hex(32)))
    assert result.exit_code == 1 and "does not open the issuer database" in result.output


def test_dev_state_is_made_once_and_reused(state):
    from zkcred.config_cli import ensure_dev_state

    env = env_for(state)
    old = dict(os.environ)
    os.environ.update(env)
    try:
        ensure_dev_state(None, None)
        key = (state / "master.key").read_text()
        assert key.startswith(DEV_KEY_MARKER) and (state / "master.key").stat().st_mode & 0o777 == 0o600
        ensure_dev_state(None, None)  # the second --dev run: nothing new
        assert (state / "master.key").read_text() == key
    finally:
        os.environ.clear()
        os.environ.update(old)
    s = IssuerSettings.load(env)
    assert s.dev_mode and s.master_key == bytes.fromhex(key.splitlines()[1])
    assert s.read_master_key(env).dev  # type: ignore[union-attr]


# ---------------------------------------------------------------- refusals


def test_admin_commands_use_the_state_dir_and_refuse_a_missing_database(state):
    from issuer import db

    assert run("init", env=env_for(state)).exit_code == 0
    result = run("issuer", "create-admin-token", env=env_for(state))
    assert result.exit_code == 2 and f"no issuer database at {state}/issuer.db" in result.output
    assert "Traceback" not in result.output and not (state / "issuer.db").exists()
    elsewhere = run("issuer", "create-admin-token", "--database-url", "sqlite:///.zkcred/issuer.db", env=env_for(state))
    assert elsewhere.exit_code == 2 and f"{state}/.zkcred/issuer.db (from --database-url)" in elsewhere.output
    engine = db.make_engine(f"sqlite:///{state}/issuer.db")
    db.create_tables(engine)
    engine.dispose()
    result = run("issuer", "create-admin-token", "--json", env=env_for(state))
    assert result.exit_code == 0 and json.loads(result.stdout)["token"].startswith("zka_")
    result = run("verifier", "create-api-key", "--lender", "L", env=env_for(state))
    assert result.exit_code == 1 and f"no verifier database at {state}/verifier.db" in result.output


def test_issuer_refuses_another_master_key_in_one_line(state):
    from issuer.config import Settings
    from issuer.service import IssuerService

    assert run("init", env=env_for(state)).exit_code == 0
    IssuerService.open(
        settings=Settings.load(env_for(state)), publisher=None, register=False, deliver=False
    ).engine.dispose()  # type: ignore[arg-type]
    result = run("issuer", "serve", env=env_for(state, ZKCRED_MASTER_KEY=secrets.token_hex(32)))
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"error: the master key (from ZKCRED_MASTER_KEY) does not open the issuer database "
        f"sqlite:///{state}/issuer.db: it is not the key the database was created with"
    )


def test_a_service_outside_dev_mode_needs_its_public_url(state):
    state.mkdir()
    (state / "master.key").write_text("55" * 32)
    result = run("issuer", "serve", env=env_for(state, ZKCRED_LEDGER_URL="http://127.0.0.1:1"))
    assert result.exit_code == 2 and "issuer_url is not set" in result.output


def _log_with_one_entry(url: str, key: Ed25519PrivateKey) -> None:
    from ledger.log import LedgerLog
    from ledger.sql import SqlStore

    issuer_key = Ed25519PrivateKey.generate()
    store = SqlStore(url)
    LedgerLog(store, signing_key=key).append(
        key=issuer_key,
        issuer="issuer-a",
        entry_type="issuer_registration",
        payload={"ledger_key": issuer_key.public_key().public_bytes_raw().hex(), "bbs_public_keys": []},
    )
    store.close()


def test_ledger_refuses_a_key_that_did_not_sign_its_log(state, monkeypatch):
    monkeypatch.delenv("ZKCRED_LEDGER_SIGNING_KEY", raising=False)
    settings = LedgerSettings.load(env_for(state))
    store, key = open_checked(settings)  # an empty log: its key is made, 0600
    store.close()
    assert settings.ledger_key_file.stat().st_mode & 0o777 == 0o600
    _log_with_one_entry(settings.database_url, key)
    store, again = open_checked(settings)
    store.close()
    assert again.private_bytes_raw() == key.private_bytes_raw()
    settings.ledger_key_file.rename(state / "elsewhere")
    with pytest.raises(ConfigError, match="holds 1 entries signed by .* but the key file .* does not exist"):
        open_checked(settings)
    assert not settings.ledger_key_file.exists()  # no new key was made
    settings.ledger_key_file.write_text(secrets.token_hex(32))
    with pytest.raises(ConfigError, match="the ledger key changed"):
        open_checked(settings)


def test_verifier_refuses_a_changed_pinned_ledger_key(state):
    from verifier.db import check_pinned_ledger_key, init_db, make_engine

    engine = make_engine(f"sqlite:///{state}/v.db")
    init_db(engine)
    first, second = secrets.token_bytes(32), secrets.token_bytes(32)
    check_pinned_ledger_key(engine, first)
    check_pinned_ledger_key(engine, first)  # the same pin at every start
    with pytest.raises(ConfigError, match="the pinned ledger key changed"):
        check_pinned_ledger_key(engine, second)
    engine.dispose()


def test_the_pinned_ledger_key_comes_from_the_state_dir(state):
    settings = LedgerSettings.load(env_for(state))
    store, key = open_checked(settings)
    store.close()
    v = VerifierSettings.load(env_for(state, ZKCRED_LEDGER_URL="http://127.0.0.1:1"))
    assert v.require_ledger() == ("http://127.0.0.1:1", key.public_key().public_bytes_raw())
    other = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    v = VerifierSettings.load(env_for(state, ZKCRED_LEDGER_URL="http://x", ZKCRED_LEDGER_PUBLIC_KEY=other.hex()))
    assert v.require_ledger()[1] == other  # the setting wins


def test_docs_configuration_lists_every_setting():
    """docs/configuration.md is the one table: every field and every variable of every service is in it."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
    for cls in (CommonSettings, IssuerSettings, VerifierSettings, LedgerSettings, WitnessSettings):
        for name in cls.model_fields:
            if name in ("config_file", "master_key"):
                continue  # documented as "config file" and ZKCRED_MASTER_KEY
            assert f"`{name}`" in doc or f"] {name}`" in doc, f"{cls.__module__}.{name} is not in docs/configuration.md"
            for var in cls.env_names(name):
                assert f"`{var}`" in doc, f"{var} is not in docs/configuration.md"
    for var in ("ZKCRED_CONFIG", "ZKCRED_MASTER_KEY", "ZKCRED_LEDGER_SIGNING_KEY"):
        assert f"`{var}`" in doc


@pytest.mark.parametrize(
    "command",
    [
        ["issuer", "create-admin-token"],
        ["verifier", "create-api-key", "--lender", "L"],
        ["ledger", "serve"],
        ["issuer", "serve", "--dev"],
        ["verifier", "serve", "--dev"],
    ],
)
def test_an_unreachable_database_is_one_line_without_its_password(state, command):
    import subprocess
    import sys

    url = "postgresql://zkcred:hunter2@127.0.0.1:1/nothing"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZKCRED_") and k != "DATABASE_URL"}
    env |= env_for(state, ZKCRED_LEDGER_PUBLIC_KEY="ab" * 32, COLUMNS="400")
    # the real command line (its error boundary is zkcred.cli.main), not a test runner
    result = subprocess.run(
        [sys.executable, "-m", "zkcred", *command, "--database-url", url],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = result.stdout + result.stderr
    assert result.returncode in (1, 2), output
    last = output.strip().splitlines()[-1]  # (--dev announces its development state first)
    assert last.startswith("error: cannot ") and "postgresql://zkcred:***@127.0.0.1:1/nothing" in last, output
    assert "hunter2" not in output and "Traceback" not in output


def test_serve_refuses_before_starting_anything(state):
    """`zkcred serve` checks the whole configuration first: one line, nothing started."""
    from issuer.config import Settings
    from issuer.service import IssuerService

    result = run("serve", env=env_for(state))
    assert result.exit_code == 2 and "ledger_url, issuer_url, verifier_url not set: run `zkcred init`" in result.output
    assert run("init", env=env_for(state)).exit_code == 0
    IssuerService.open(
        settings=Settings.load(env_for(state)), publisher=None, register=False, deliver=False
    ).engine.dispose()  # type: ignore[arg-type]
    result = run("serve", env=env_for(state, ZKCRED_MASTER_KEY=secrets.token_hex(32)))
    assert result.exit_code == 2 and "does not open the issuer database" in result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output
    other = Ed25519PrivateKey.generate().public_key().public_bytes_raw().hex()
    result = run("serve", env=env_for(state, ZKCRED_LEDGER_PUBLIC_KEY=other))
    assert result.exit_code == 2 and f"the pinned ledger key {other}" in result.output
