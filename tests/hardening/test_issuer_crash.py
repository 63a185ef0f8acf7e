"""Issuer crashes: ``kill -9`` at every step of schema, definition, issuance and revocation.

Real processes: ``zkcred ledger serve`` and ``zkcred issuer serve`` on free loopback ports,
on SQLite and on PostgreSQL. For each crash point the issuer is started with
``ZKCRED_CRASH_AT=<point>`` (``issuer.outbox.crash_point``: the process SIGKILLs itself
there), an admin (or a holder) makes the request that reaches the point, the process dies
mid-request, and the issuer is started again — it delivers what its outbox holds at
start-up — and the client retries as any client would. Points:

- ``<what>:before-commit`` — inside the transaction: nothing was written, the retry creates it;
- ``<what>:committed`` — the record and its outbox entry are committed, nothing published;
- ``<subject>:published`` — the ledger appended the entry, the issuer had not marked it: the
  re-send at start-up is answered by the ledger with the entry it has (200, ``existing``).

After all of them, the issuer's records and the ledger agree and every entry is on the
ledger exactly once: ``zkcred issuer reconcile --dry-run --json`` says so, every record's
``ledger_seq`` names its own entry, no content appears twice, the number of the issuer's
entries is exactly one per record, and ``zkcred ledger audit`` replays the ledger OK.

``test_kill9_at_random_moments_*`` adds timing nobody chose: an admin and holders keep
creating schemas, issuing and revoking (retrying each call until it gets a definitive
answer, as clients do) while the issuer's process group is SIGKILLed from outside three
times at random moments; the same agreement must hold afterwards.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from circuits.codec import b64e
from tests.hardening.conftest import free_ports
from tests.issuer.holder import request_for
from tests.postgres import postgres_schema

SCHEMA = {
    "name": "payslip",
    "version": "1",
    "attributes": [{"name": "income", "type": "int"}, {"name": "country", "type": "string"}],
}
VALUES = {"income": 64000, "country": "NL"}


class Service:
    """A ``zkcred <kind> serve`` process in its own process group."""

    def __init__(self, args: list[str], env: dict[str, str], url: str, probe: str) -> None:
        self.args, self.env, self.url, self.probe = args, env, url, probe
        self.proc: subprocess.Popen | None = None

    def start(self, **extra_env: str) -> None:
        # the log goes to a file: a pipe nobody reads fills up with access lines and blocks the server
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "zkcred", *self.args],
            env={**self.env, **extra_env},
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            start_new_session=True,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(self.url + self.probe, timeout=2).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise AssertionError(f"{self.args[0]} did not start: " + self.log.read().decode()[-2000:])
            time.sleep(0.1)
        raise AssertionError(f"{self.args[0]} did not start in 60 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)

    def died_by_sigkill(self) -> None:
        assert self.proc is not None
        code = self.proc.wait(timeout=15)
        assert code == -signal.SIGKILL, f"expected the crash point to SIGKILL the issuer, it exited with {code}"


class Crash:
    """The issuer under test: restart with or without a crash point, retrying clients."""

    def __init__(self, tmp: Path, ledger_db: str, issuer_db: str) -> None:
        ledger_port, issuer_port = free_ports(2)
        base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "ZKCRED_CRASH_AT")}
        base["ZKCRED_STATE_DIR"] = str(tmp / "state")  # nothing in the working directory
        self.ledger_url, self.issuer_url, self.issuer_db = (
            f"http://127.0.0.1:{ledger_port}",
            f"http://127.0.0.1:{issuer_port}",
            issuer_db,
        )
        self.ledger = Service(
            [
                "ledger",
                "serve",
                "--port",
                str(ledger_port),
                "--key-file",
                str(tmp / "ledger.key"),
                "--database-url",
                ledger_db,
            ],
            base,
            self.ledger_url,
            "/tree-head",
        )
        self.env = {
            **base,
            "ZKCRED_MASTER_KEY": secrets.token_hex(32),
            "ZKCRED_ISSUER_ID": "crash-test-issuer",
            "ZKCRED_ISSUER_URL": self.issuer_url,
        }
        self.issuer = Service(
            [
                "issuer",
                "serve",
                "--port",
                str(issuer_port),
                "--database-url",
                issuer_db,
                "--ledger-url",
                self.ledger_url,
            ],
            self.env,
            self.issuer_url,
            "/admin/schemas",
        )
        self.admin: dict[str, str] = {}
        self.http = httpx.Client(base_url=self.issuer_url, timeout=30)

    def crash_during(self, point: str, method: str, path: str, **kw: Any) -> None:
        """Start the issuer armed at ``point``; the request must kill it; start it again, unarmed."""
        self.issuer.stop()
        self.issuer.start(ZKCRED_CRASH_AT=point)
        with pytest.raises(httpx.TransportError):  # the connection dies with the process
            self.http.request(method, path, **kw)
        self.issuer.died_by_sigkill()
        self.issuer.start()  # delivers what the outbox holds before it serves

    def post(self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
        return self.http.post(path, json=body, headers=self.admin if headers is None else headers)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "zkcred", *args],
            capture_output=True,
            text=True,
            timeout=120,
            env={**self.env, "COLUMNS": "200"},
        )

    def close(self) -> None:
        self.http.close()
        self.issuer.stop()
        self.ledger.stop()


def _created_or_exists(r: httpx.Response) -> str:
    """A retried create: 201 if the crash lost it, 409 naming it if the crash had committed it."""
    assert r.status_code in (201, 409), r.text
    return r.json()["id"] if r.status_code == 201 else r.json()["existing_id"]


def _story(tmp: Path, ledger_db: str, issuer_db: str) -> None:
    c = Crash(tmp, ledger_db, issuer_db)
    try:
        c.ledger.start()
        c.issuer.start()  # creates its database
        token = c.cli("issuer", "create-admin-token", "--json", "--database-url", issuer_db)
        assert token.returncode == 0, token.stderr
        c.admin = {"Authorization": f"Bearer {json.loads(token.stdout)['token']}"}

        # schemas: crash before the commit, after it, and after the ledger appended
        schema_ids = []
        for i, point in enumerate(["schema:before-commit", "schema:committed", "schema:published"]):
            body = {**SCHEMA, "version": str(i + 1)}
            c.crash_during(point, "POST", "/admin/schemas", json=body, headers=c.admin)
            schema_ids.append(_created_or_exists(c.post("/admin/schemas", body)))
        assert c.post("/admin/schemas", {**SCHEMA, "version": "2"}).status_code == 409  # never twice

        # definitions: revocable, so two entries — crash between them as well
        definition_ids = []
        for i, point in enumerate(
            [
                "credential_definition:before-commit",
                "credential_definition:committed",
                "credential_definition:published",
                "revocation_registry:published",
            ]
        ):
            body = {"schema_id": schema_ids[0], "tag": f"t{i}", "revocable": True, "capacity": 8}
            c.crash_during(point, "POST", "/admin/credential-definitions", json=body, headers=c.admin)
            definition_ids.append(_created_or_exists(c.post("/admin/credential-definitions", body)))
        definition_id = definition_ids[0]

        # issuance: crash inside the transaction (the offer stays usable) and after the commit
        credential_ids = []
        for point in ["issuance:before-commit", "issuance:committed"]:
            offer = c.post("/admin/offers", {"credential_definition_id": definition_id, "attributes": VALUES}).json()
            request = {"offer_id": offer["offer_id"], "request": b64e(request_for(offer).request)}
            holder = {"Authorization": f"Bearer {offer['token']}"}
            c.crash_during(point, "POST", "/credentials", json=request, headers=holder)
            r = c.post("/credentials", request, headers=holder)  # the same request again
            assert r.status_code in (200, 201), r.text  # issued now, or the credential issued before the crash
            credential_ids.append(r.json()["credential_id"])
        for _ in range(3):
            offer = c.post("/admin/offers", {"credential_definition_id": definition_id, "attributes": VALUES}).json()
            request = {"offer_id": offer["offer_id"], "request": b64e(request_for(offer).request)}
            r = c.post("/credentials", request, headers={"Authorization": f"Bearer {offer['token']}"})
            assert r.status_code == 201, r.text
            credential_ids.append(r.json()["credential_id"])

        # revocations
        for cred, point in zip(
            credential_ids, ["revocation:before-commit", "revocation:committed", "revocation:published"], strict=False
        ):
            c.crash_during(point, "POST", f"/admin/credentials/{cred}/revoke", headers=c.admin)
            r = c.post(f"/admin/credentials/{cred}/revoke", {})
            assert r.status_code in (200, 409), r.text  # revoked now, or "already revoked" by the crashed one
            assert c.http.get(f"/admin/credentials/{cred}", headers=c.admin).json()["status"] == "revoked"
        # and a holder whose credential was not revoked can still be issued against the latest V
        offer = c.post("/admin/offers", {"credential_definition_id": definition_id, "attributes": VALUES}).json()
        r = c.post(
            "/credentials",
            {"offer_id": offer["offer_id"], "request": b64e(request_for(offer).request)},
            headers={"Authorization": f"Bearer {offer['token']}"},
        )
        assert r.status_code == 201, r.text
        witness_seq = r.json()["revocation"]["ledger_seq"]

        # the records and the ledger agree; nothing is on the ledger twice
        report = c.cli(
            "issuer", "reconcile", "--dry-run", "--json", "--database-url", issuer_db, "--ledger-url", c.ledger_url
        )
        assert report.returncode == 0, report.stdout + report.stderr
        assert json.loads(report.stdout)["ok"] is True
        schemas = c.http.get("/admin/schemas", headers=c.admin).json()["items"]
        definitions = c.http.get("/admin/credential-definitions", headers=c.admin).json()["items"]
        revoked = c.http.get("/admin/credentials", params={"status": "revoked"}, headers=c.admin).json()["items"]
        assert sorted(s["id"] for s in schemas) == sorted(schema_ids)
        assert sorted(d["id"] for d in definitions) == sorted(definition_ids)
        assert len(revoked) == 3
        size = httpx.get(c.ledger_url + "/tree-head").json()["size"]
        docs = httpx.get(c.ledger_url + "/entries", params={"start": 0, "limit": 1000}).json()["entries"]
        assert len(docs) == size
        mine = {d["seq"]: d for d in docs if d["issuer"] == "crash-test-issuer"}
        assert len(mine) == 1 + len(schemas) + 2 * len(definitions) + len(revoked)  # registration + one each
        seen = {json.dumps([d["type"], d["payload"]], sort_keys=True) for d in mine.values()}
        assert len(seen) == len(mine)
        for s in schemas:
            assert s["publication"] == "published" and mine[s["ledger_seq"]]["payload"]["schema_id"] == s["id"]
        for d in definitions:
            assert d["publication"] == "published"
            assert mine[d["ledger_seq"]]["payload"]["cred_def_id"] == d["id"]
            assert mine[d["registry_seq"]]["payload"]["registry_id"] == d["definition"]["revocation"]["id"]
        revocations = [d for d in mine.values() if d["type"] == "revocation"]
        assert len({d["payload"]["handles"][0] for d in revocations}) == 3
        assert witness_seq == max(d["seq"] for d in revocations)  # the witness is against the latest V on the ledger

        ledger_key = httpx.get(c.ledger_url + "/tree-head").json()["key"]
        audit = c.cli("ledger", "audit", c.ledger_url, "--ledger-key", ledger_key)
        assert audit.returncode == 0 and "OK" in audit.stdout + audit.stderr, audit.stdout + audit.stderr
    finally:
        c.close()


def test_kill9_at_every_step_sqlite(tmp_path):
    _story(tmp_path, f"sqlite:///{tmp_path}/ledger.db", f"sqlite:///{tmp_path}/issuer.db")


@pytest.mark.postgres
def test_kill9_at_every_step_postgres(tmp_path):
    with postgres_schema("ledger_crash") as ledger_db, postgres_schema("issuer_crash") as issuer_db:
        _story(tmp_path, ledger_db, issuer_db)


def _until_answered(call, ok: tuple[int, ...], deadline: float) -> httpx.Response:  # type: ignore[no-untyped-def]
    """Retry a request through kills and restarts until it gets one of the definitive answers ``ok``."""
    while time.time() < deadline:
        try:
            r = call()
            if r.status_code in ok:
                return r
            assert r.status_code == 503, r.text  # publication pending: try again
        except httpx.TransportError:
            pass  # killed: it comes back
        time.sleep(0.05)
    raise AssertionError("no answer in time")


def _stream(tmp: Path, ledger_db: str, issuer_db: str) -> None:
    """SIGKILL from outside at random moments while an admin and holders keep working."""
    import random
    import threading

    c = Crash(tmp, ledger_db, issuer_db)
    stop = threading.Event()
    done: dict[str, list[str]] = {"schemas": [], "revoked": []}
    errors: list[str] = []

    def work() -> None:
        try:
            deadline = time.time() + 120
            definition = None
            for i in range(1000):
                if stop.is_set():
                    return
                r = _until_answered(
                    lambda i=i: c.post("/admin/schemas", {**SCHEMA, "version": f"s{i}"}), (201, 202, 409), deadline
                )
                done["schemas"].append(r.json().get("id") or r.json()["existing_id"])
                if definition is None:  # room for every offer the loop can make, lost ones (reserved) included
                    body = {"schema_id": done["schemas"][0], "tag": "stream", "revocable": True, "capacity": 2048}
                    r = _until_answered(
                        lambda body=body: c.post("/admin/credential-definitions", body), (201, 202, 409), deadline
                    )
                    definition = r.json().get("id") or r.json()["existing_id"]
                offer = _until_answered(
                    lambda d=definition: c.post("/admin/offers", {"credential_definition_id": d, "attributes": VALUES}),
                    (201,),
                    deadline,
                ).json()
                request = {"offer_id": offer["offer_id"], "request": b64e(request_for(offer).request)}
                holder = {"Authorization": f"Bearer {offer['token']}"}
                cred = _until_answered(
                    lambda r=request, h=holder: c.post("/credentials", r, headers=h), (201,), deadline
                ).json()
                if i % 2 == 0:
                    path = f"/admin/credentials/{cred['credential_id']}/revoke"
                    _until_answered(lambda path=path: c.post(path, {}), (200, 202, 409), deadline)
                    done["revoked"].append(cred["credential_id"])
        except Exception as e:  # reported by the test thread
            errors.append(repr(e))

    try:
        c.ledger.start()
        c.issuer.start()  # creates its database
        token = c.cli("issuer", "create-admin-token", "--json", "--database-url", issuer_db)
        assert token.returncode == 0, token.stderr
        c.admin = {"Authorization": f"Bearer {json.loads(token.stdout)['token']}"}
        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        for _ in range(3):
            time.sleep(random.uniform(1.0, 3.0))
            assert c.issuer.proc is not None
            os.killpg(c.issuer.proc.pid, signal.SIGKILL)
            c.issuer.died_by_sigkill()
            c.issuer.start()
        time.sleep(1.0)
        stop.set()
        worker.join(timeout=150)
        assert not errors, errors
        assert len(done["schemas"]) >= 3, done

        for _ in range(5):  # the last kill may have left an entry for the restarted issuer's loop
            report = c.cli(
                "issuer", "reconcile", "--dry-run", "--json", "--database-url", issuer_db, "--ledger-url", c.ledger_url
            )
            if report.returncode == 0:
                break
            time.sleep(2)
        assert report.returncode == 0, report.stdout + report.stderr
        docs = httpx.get(c.ledger_url + "/entries", params={"start": 0, "limit": 1000}).json()["entries"]
        mine = [d for d in docs if d["issuer"] == "crash-test-issuer"]
        assert len({json.dumps([d["type"], d["payload"]], sort_keys=True) for d in mine}) == len(mine)
        schemas = c.http.get("/admin/schemas", headers=c.admin).json()["items"]
        assert sorted(s["id"] for s in schemas) == sorted(set(done["schemas"]))
        assert sum(d["type"] == "schema" for d in mine) == len(schemas)
        assert sum(d["type"] == "revocation" for d in mine) == len(set(done["revoked"]))
        ledger_key = httpx.get(c.ledger_url + "/tree-head").json()["key"]
        audit = c.cli("ledger", "audit", c.ledger_url, "--ledger-key", ledger_key)
        assert audit.returncode == 0, audit.stdout + audit.stderr
        print(f"\n{len(schemas)} schemas, {len(set(done['revoked']))} revocations, {len(mine)} entries, 3 kills")
    finally:
        stop.set()
        c.close()


def test_kill9_at_random_moments_sqlite(tmp_path):
    _stream(tmp_path, f"sqlite:///{tmp_path}/ledger.db", f"sqlite:///{tmp_path}/issuer.db")


@pytest.mark.postgres
def test_kill9_at_random_moments_postgres(tmp_path):
    with postgres_schema("ledger_crash") as ledger_db, postgres_schema("issuer_crash") as issuer_db:
        _stream(tmp_path, ledger_db, issuer_db)
