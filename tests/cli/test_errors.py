"""Issue 14 item 6: a user's mistake is one line naming what it is about, a non-zero exit,
never a traceback — the cases the issue lists, through the same boundary as the script."""

from __future__ import annotations

import importlib.metadata
import json
import os
import signal
import socket
import subprocess
import sys

import httpx
import pytest
import typer

from tests.cli.conftest import free_port
from wallet import Wallet

PASSPHRASE = "correct horse battery"


@pytest.fixture
def wallet_file(tmp_path, clean_env):
    path = tmp_path / "wallet.db"
    Wallet.create(path, PASSPHRASE).close()
    clean_env.setenv("ZKCRED_WALLET", str(path))
    clean_env.setenv("ZKCRED_WALLET_PASSPHRASE", PASSPHRASE)
    return path


# -- services: the URL is in the line -----------------------------------------------------------


def test_sync_with_nothing_listening_names_the_url(zkcred, wallet_file):
    url = f"http://127.0.0.1:{free_port()}"
    line = zkcred("wallet", "sync", "--ledger", url).error_line("cannot connect to", url, "is the service running")
    assert "[Errno" not in line
    zkcred("wallet", "sync", "--ledger", url, "--json").json_error("cannot connect to", url)


def test_sync_pointed_at_the_issuer_says_so(zkcred, wallet_file, stub_http):
    url, routes = stub_http  # answers like the issuer: its OpenAPI title, 404 for the ledger's paths
    routes["/openapi.json"] = (200, {"openapi": "3.1.0", "info": {"title": "zkcred issuer", "version": "1"}})
    zkcred("wallet", "sync", "--ledger", url).error_line(
        f"{url} is not a zkcred ledger (it is the zkcred issuer)", "--ledger", "ZKCRED_LEDGER_URL"
    )


def test_sync_at_something_else_still_one_line(zkcred, wallet_file, stub_http):
    url, _ = stub_http  # no OpenAPI document either
    zkcred("wallet", "sync", "--ledger", url).error_line(f"{url} is not a zkcred ledger", "/tree-head")
    zkcred("wallet", "sync", "--ledger", "127.0.0.1:8003").error_line("'127.0.0.1:8003' is not an http(s):// URL")


def test_problem_json_answer_is_title_detail_status_url(zkcred, wallet_file, stub_http):
    url, routes = stub_http
    routes["/offers/7"] = (
        410,
        {
            "type": "https://zkcred.dev/problems/offer-expired",
            "title": "Offer expired",
            "status": 410,
            "detail": "the offer expired at 2026-01-01T00:00:00Z",
        },
    )
    zkcred("wallet", "accept", f"{url}/offers/7").error_line(
        f"Offer expired: the offer expired at 2026-01-01T00:00:00Z (410, {url}/offers/7)"
    )


def test_request_url_of_the_wrong_service(zkcred, wallet_file, stub_http):
    url, _ = stub_http
    zkcred("wallet", "present", f"{url}/requests/r1", "--submit").error_line(f"(404, {url}/requests/r1)")
    zkcred("wallet", "present", "request.json", "--submit").error_line("--submit needs the request's http(s) URL")


def test_http_failures_described_with_their_url():
    from zkcred.errors import describe

    request = httpx.Request("GET", "http://10.0.0.9:8003/tree-head")
    assert describe(httpx.ReadTimeout("timed out", request=request)) == (
        "http://10.0.0.9:8003/tree-head did not answer in time; is the service up and is this its URL?",
        1,
    )
    bad_gateway = httpx.Response(502, text="<html>bad gateway</html>", request=request)
    line, code = describe(httpx.HTTPStatusError("502", request=request, response=bad_gateway))
    assert line == "http://10.0.0.9:8003/tree-head answered 502 Bad Gateway" and code == 1
    line, _ = describe(httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request))
    assert "did not answer like an HTTP service" in line and "10.0.0.9:8003" in line


def test_ctrl_c_is_one_line_and_exit_130(tmp_path):
    """A real process, interrupted while it waits for a service that accepted but never answers."""
    path = tmp_path / "wallet.db"
    Wallet.create(path, PASSPHRASE).close()
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ZKCRED_", "DATABASE_URL"))}
        env.update(ZKCRED_WALLET=str(path), ZKCRED_WALLET_PASSPHRASE=PASSPHRASE)
        proc = subprocess.Popen(
            [sys.executable, "-m", "zkcred", "wallet", "sync", "--ledger", url],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            silent.settimeout(120)
            conn, _ = silent.accept()  # the CLI is inside its HTTP request now
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
            conn.close()
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert [line for line in err.splitlines() if line.strip()] == ["error: interrupted"]


# -- databases: the URL is in the line, the password is not --------------------------------------


@pytest.mark.parametrize(
    "url, needle",
    [
        ("postgres://zk:hunter2@127.0.0.1:{port}/zk", "postgres://zk:***@127.0.0.1:{port}/zk"),
        ("mysql://zk:hunter2@127.0.0.1:{port}/zk", "driver"),
        ("zk:hunter2 at localhost", "not a database URL"),
    ],
)
def test_create_admin_token_with_a_bad_database_url(zkcred, url, needle):
    port = free_port()
    result = zkcred("issuer", "create-admin-token", "--database-url", url.format(port=port))
    result.error_line(needle.format(port=port), "--database-url")
    assert "hunter2" not in result.out + result.err


def test_revoking_what_does_not_exist_exits_1(zkcred, tmp_path):
    from issuer import db as issuer_tables
    from verifier import db as verifier_tables

    issuer_db, verifier_db = f"sqlite:///{tmp_path}/issuer.db", f"sqlite:///{tmp_path}/verifier.db"
    for make, create, url in (
        (issuer_tables.make_engine, issuer_tables.create_tables, issuer_db),
        (verifier_tables.make_engine, verifier_tables.init_db, verifier_db),
    ):
        engine = make(url)  # the admin commands use the services' databases; they never create one
        create(engine)
        engine.dispose()
    zkcred("issuer", "revoke-admin-token", "--name", "Nobody", "--database-url", issuer_db).error_line(
        "no active admin token named 'Nobody'", "nothing was revoked"
    )
    zkcred("verifier", "revoke-api-key", "--lender", "Nobody", "--database-url", verifier_db).error_line(
        "no active API key of lender 'Nobody'", "nothing was revoked"
    )
    zkcred("verifier", "revoke-api-key", "--lender", "Nobody", "--json", "--database-url", verifier_db).json_error(
        "'Nobody'"
    )
    zkcred("issuer", "revoke-admin-token", "--database-url", issuer_db).error_line("--name NAME", "--token TOKEN")
    zkcred("verifier", "revoke-api-key", "--database-url", verifier_db).error_line("--lender NAME", "--key KEY")
    # and a real one still works, exit 0
    created = zkcred("verifier", "create-api-key", "--lender", "Somebody", "--database-url", verifier_db)
    assert created.code == 0, created.err
    revoked = zkcred("verifier", "revoke-api-key", "--lender", "Somebody", "--database-url", verifier_db)
    assert revoked.code == 0 and "1 API key(s) revoked" in revoked.err


# -- files, values, usage ---------------------------------------------------------------------------


def test_files_are_named(zkcred, wallet_file, tmp_path):
    missing = tmp_path / "offer.json"
    zkcred("wallet", "accept", str(missing)).error_line(f"{missing}: No such file or directory")
    zkcred("wallet", "accept", str(missing), "--json").json_error(str(missing))
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    zkcred("wallet", "accept", str(text)).error_line(f"{text} is not a JSON document")
    zkcred("wallet", "list", "--wallet", str(text)).error_line(f"{text} is not a zkcred wallet", "--wallet")
    zkcred("wallet", "list", "--wallet", str(tmp_path / "none.db")).error_line("no wallet at", "zkcred wallet init")


def test_wrong_passphrase_names_the_wallet(zkcred, wallet_file, clean_env):
    clean_env.setenv("ZKCRED_WALLET_PASSPHRASE", "not the passphrase")
    line = zkcred("wallet", "list").error_line(f"wrong passphrase for the wallet at {wallet_file}")
    assert "not the passphrase" not in line


def test_demo_unknown_backend_lists_the_valid_ones(zkcred, clean_env):
    zkcred("demo", "--backend", "nope").error_line("--backend", "'nope'", "blst", "py_ecc")
    clean_env.setenv("ZKCRED_BACKEND", "nope")
    zkcred("demo").error_line("ZKCRED_BACKEND", "'nope'", "blst", "py_ecc")


def test_usage_errors_are_one_line_with_the_help_hint(zkcred):
    zkcred("demo", "--bogus").error_line("No such option: --bogus", "zkcred demo --help", code=2)
    zkcred("wallet", "present").error_line("Missing argument", "zkcred wallet present --help", code=2)
    zkcred("serve", "--ledger-port", "many").error_line("Invalid value for '--ledger-port'", "integer", code=2)
    zkcred("demo", "--bogus", "--json").json_error("No such option: --bogus")


def test_version_comes_from_the_package_metadata(zkcred):
    result = zkcred("--version")
    assert result.code == 0 and result.out == f"zkcred {importlib.metadata.version('zkcred')}\n"


# -- wallet init: the passphrase ----------------------------------------------------------------------


class Prompts:
    """Stands in for ``typer.prompt``: scripted answers, and the questions asked, in order."""

    def __init__(self, *answers: str) -> None:
        self.answers, self.asked = list(answers), []

    def __call__(self, text: str, **_: object) -> str:
        self.asked.append(text)
        if not self.answers:
            raise typer.Abort()  # what click does at end of input
        return self.answers.pop(0)


def test_passphrase_minimum_is_checked_right_after_the_first_prompt(zkcred, tmp_path, clean_env):
    prompts = Prompts("short", "long enough passphrase", "long enough passphrase")
    clean_env.setattr(typer, "prompt", prompts)
    result = zkcred("wallet", "init", "--wallet", str(tmp_path / "w.db"))
    assert result.code == 0, result.err
    # "short" is refused before any "repeat" prompt
    assert prompts.asked == ["new wallet passphrase", "new wallet passphrase", "repeat the passphrase"]
    assert "at least 8 characters" in result.err
    Wallet.open(tmp_path / "w.db", "long enough passphrase").close()


def test_passphrase_refused_three_times_is_one_error(zkcred, tmp_path, clean_env):
    clean_env.setattr(typer, "prompt", Prompts("a", "b", "c"))
    result = zkcred("wallet", "init", "--wallet", str(tmp_path / "w.db"))
    assert result.code == 1 and "Traceback" not in result.err
    assert result.err.strip().splitlines()[-1] == (
        "error: no passphrase set after 3 attempts (at least 8 characters, entered twice the same)"
    )
    assert not (tmp_path / "w.db").exists()


def test_init_over_an_existing_wallet_asks_nothing(zkcred, wallet_file, clean_env):
    clean_env.delenv("ZKCRED_WALLET_PASSPHRASE")
    prompts = Prompts()
    clean_env.setattr(typer, "prompt", prompts)
    zkcred("wallet", "init").error_line(f"a wallet already exists at {wallet_file}", "--wallet")
    assert prompts.asked == []


def test_no_answer_at_a_prompt_is_one_line(zkcred, wallet_file, clean_env):
    clean_env.delenv("ZKCRED_WALLET_PASSPHRASE")
    clean_env.setattr(typer, "prompt", Prompts())
    zkcred("wallet", "list").error_line("aborted")


# -- ledger audit -------------------------------------------------------------------------------------


def test_audit_success_is_on_stdout(zkcred, tmp_path):
    from ledger.sql import SqlStore

    url = f"sqlite:///{tmp_path}/ledger.db"
    SqlStore(url).close()
    result = zkcred("ledger", "audit", url)
    assert result.code == 0 and result.err == ""
    assert result.out.startswith("OK 0 entries, 0 issuers")


def test_audit_of_nothing_names_it(zkcred, tmp_path):
    result = zkcred("ledger", "audit", f"sqlite:///{tmp_path}/none.db")
    assert result.code == 2 and "Traceback" not in result.err
    assert [line for line in result.err.splitlines() if line.strip()] == [
        f"AUDIT FAILED: cannot read the ledger database sqlite:///{tmp_path}/none.db: "
        f"no ledger database at {tmp_path}/none.db"
    ]


# -- bugs -----------------------------------------------------------------------------------------------


def test_a_bug_is_one_line_pointing_at_zkcred_debug(zkcred, wallet_file, clean_env):
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("internal detail that may hold anything")

    clean_env.setattr("zkcred.wallet_cli._open", broken)
    result = zkcred("wallet", "list")
    line = result.error_line("unexpected RuntimeError at", "this is a bug in zkcred", "ZKCRED_DEBUG=1", code=70)
    assert "internal detail" not in line  # an unknown message may hold anything: shown only with ZKCRED_DEBUG

    clean_env.setenv("ZKCRED_DEBUG", "1")
    debug = zkcred("wallet", "list")
    assert debug.code == 70
    assert "Traceback" in debug.err and "internal detail that may hold anything" in debug.err
    assert debug.err.strip().splitlines()[-1].endswith("the traceback is above and please report it")


def test_errors_in_a_pipe_carry_no_colour_codes(zkcred):
    result = zkcred("demo", "--backend", "nope")
    assert "\x1b[" not in result.err and result.err.startswith("error: ")


def test_configuration_errors_name_the_setting_never_its_value():
    from pydantic import BaseModel, ValidationError

    from zkcred.errors import describe

    class Settings(BaseModel):
        master_key: int

    with pytest.raises(ValidationError) as invalid:
        Settings(master_key="hunter2-secret")
    line, code = describe(invalid.value)
    assert code == 1 and line.startswith("invalid Settings: master_key: ") and "hunter2" not in line


def test_os_and_sqlite_errors_are_lines():
    import sqlite3

    from zkcred.errors import describe

    assert describe(PermissionError(13, "Permission denied", "/etc/zkcred/key")) == (
        "/etc/zkcred/key: Permission denied",
        1,
    )
    assert describe(sqlite3.OperationalError("database is locked")) == ("database error: database is locked", 1)
    assert describe(RuntimeError("anything")) is None  # a bug: the boundary says so, with ZKCRED_DEBUG


def test_use_options_that_cannot_apply_are_one_line(zkcred, wallet_file, tmp_path):
    """``wallet present --use QUERY=ID`` (issue 13 item 1): malformed, repeated, or naming no query of the request."""
    import datetime as dt

    from circuits.credentials import CredentialQuery, PresentationRequest

    request = PresentationRequest(
        b"n" * 32,
        "v",
        dt.date(2026, 1, 1),
        (CredentialQuery("tax", ("creddef:a",)), CredentialQuery("bank", ("creddef:b",))),
        (("tax.company_id", "bank.company_id"),),
    )
    path = tmp_path / "request.json"
    path.write_text(json.dumps({"request": request.to_json()}))
    zkcred("wallet", "present", str(path), "--use", "tax").error_line("--use 'tax'", "QUERY=CREDENTIAL_ID")
    zkcred("wallet", "present", str(path), "--use", "tax=a", "--use", "tax=b").error_line("names query 'tax' twice")
    zkcred("wallet", "present", str(path), "--use", "vat=cred_1").error_line("the request has no query 'vat'")
    zkcred("wallet", "present", str(path), "--use", "tax=cred_1").error_line("tax: no credential cred_1")


def test_a_ledger_failure_is_one_line_naming_the_ledger_and_what_was_being_done():
    from ledger.errors import LedgerError
    from zkcred.errors import CliError, ledger_call

    url = "http://127.0.0.1:9"
    with pytest.raises(CliError) as refused, ledger_call(url, "cannot rotate the key"):
        raise LedgerError("entry 7 does not verify")
    assert str(refused.value.message) == (
        f"cannot rotate the key: the ledger {url} refused it or could not be read: entry 7 does not verify"
    )
    with pytest.raises(CliError) as down, ledger_call(url, "cannot register the verifier"):
        httpx.get(url, timeout=2)
    assert str(down.value.message) == f"cannot register the verifier: the ledger {url} is unreachable (ConnectError)"
    with pytest.raises(KeyError), ledger_call(url, "anything"):  # not a ledger failure: left to the boundary
        raise KeyError("x")
