"""``zkcred issuer reconcile``: the issuer's records against a real ledger process, reported and repaired."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from issuer.publisher import HttpPublisher
from issuer.service import IssuerService
from ledger.client import LedgerClient
from tests.hardening.conftest import free_ports
from tests.hardening.test_issuer_crash import Service
from zkcred.cli import _register, app

ATTRS = [{"name": "a", "type": "int"}]


@pytest.fixture(scope="module")
def ledger_url(tmp_path_factory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    tmp: Path = tmp_path_factory.mktemp("reconcile-ledger")
    port = free_ports(1)[0]
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    ledger = Service(
        [
            "ledger",
            "serve",
            "--port",
            str(port),
            "--key-file",
            str(tmp / "key"),
            "--database-url",
            f"sqlite:///{tmp}/ledger.db",
        ],
        env,
        f"http://127.0.0.1:{port}",
        "/tree-head",
    )
    ledger.start()
    yield ledger.url
    ledger.stop()


def _cli(*args: str, env: dict[str, str] | None = None, state_dir: Path | None = None):  # type: ignore[no-untyped-def]
    _register()
    isolated = ["--state-dir", str(state_dir)] if state_dir is not None else []
    return CliRunner().invoke(app, ["issuer", "reconcile", *isolated, *args], env=env or {}, catch_exceptions=False)


def test_reconcile_reports_then_repairs(settings, ledger_url, tmp_path):
    up = HttpPublisher(LedgerClient(ledger_url))
    service = IssuerService.open(settings=settings, publisher=up)
    service.create_schema(name="a", version="1", attributes=ATTRS)
    # the ledger away: two schemas stay pending; one of them then reaches the ledger behind our back
    down = IssuerService.open(
        settings=settings,
        publisher=HttpPublisher(LedgerClient("http://127.0.0.1:9", timeout=0.5)),
        register=False,
        deliver=False,
    )
    marked = down.create_schema(name="b", version="1", attributes=ATTRS)
    missing = down.create_schema(name="c", version="1", attributes=ATTRS)
    assert marked.ledger_seq is None and missing.ledger_seq is None
    [b_row, _] = down.outbox.pending()
    up.publish(key=service._key, issuer_id=service.issuer_id, entry_type="schema", payload=json.loads(b_row.payload))
    # and an entry of ours the records do not know (what a crash before the outbox could leave)
    ghost = up.publish(
        key=service._key,
        issuer_id=service.issuer_id,
        entry_type="schema",
        payload={"schema_id": "ghost", "name": "ghost", "version": "1", "attributes": ATTRS},
    )
    args = ["--database-url", settings.database_url, "--ledger-url", ledger_url, "--json"]

    dry = _cli(*args, "--dry-run", state_dir=tmp_path)  # no master key needed
    assert dry.exit_code == 1, dry.output
    report = json.loads(dry.stdout)
    assert report["ok"] is False and report["dry_run"] is True and report["ledger_entries"] == 4
    assert [m["subject_id"] for m in report["marked"]] == [marked.id]
    assert [p["subject_id"] for p in report["pending"]] == [missing.id]
    assert report["unrecorded"] == [{"seq": ghost, "type": "schema", "id": "ghost"}]
    assert report["published"] == [] and report["mismatched"] == []
    assert service.get_schema(marked.id).ledger_seq is None  # a dry run changes nothing

    repair = _cli(*args, env={"ZKCRED_MASTER_KEY": settings.master_key.hex()}, state_dir=tmp_path)
    report = json.loads(repair.stdout)
    assert repair.exit_code == 1 and report["dry_run"] is False  # the ghost remains: the operator decides
    assert [m["subject_id"] for m in report["marked"]] == [marked.id]
    assert [p["subject_id"] for p in report["published"]] == [missing.id] and report["pending"] == []
    assert service.get_schema(marked.id).ledger_seq == report["marked"][0]["seq"]
    assert service.get_schema(missing.id).ledger_seq == report["published"][0]["seq"]

    again = _cli(*args[:-1], "--dry-run", state_dir=tmp_path)  # human output
    assert again.exit_code == 1
    assert "on the ledger, unknown to the issuer: schema ghost" in again.stdout
    assert "marked" not in again.stdout and "pending" not in again.stdout


def test_reconcile_errors_are_one_line(settings, ledger_url, tmp_path):
    IssuerService.open(settings=settings, publisher=HttpPublisher(LedgerClient(ledger_url)))
    for args, env, needle in [
        (["--database-url", f"sqlite:///{tmp_path}/nowhere.db", "--dry-run"], {}, "no issuer database at"),
        (
            ["--database-url", settings.database_url, "--ledger-url", "http://127.0.0.1:9", "--dry-run"],
            {},
            "http://127.0.0.1:9",
        ),
        (
            ["--database-url", settings.database_url, "--ledger-url", ledger_url],
            {"ZKCRED_MASTER_KEY": ""},
            "ZKCRED_MASTER_KEY is not set",
        ),
        (
            ["--database-url", settings.database_url, "--ledger-url", ledger_url],
            {"ZKCRED_MASTER_KEY": "00" * 32},
            "does not open",
        ),
    ]:
        result = _cli(*args, env=env, state_dir=tmp_path)
        assert result.exit_code == 2, result.output
        assert needle in result.output and len(result.output.strip().splitlines()) == 1, result.output
        assert "Traceback" not in result.output
