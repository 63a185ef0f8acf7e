"""``zkcred serve --dev`` works every time: the first run makes a development state directory
(a master key marked as such), the second reuses it — and offers carry the port in use."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.e2e.test_cli_story import _free_ports, _zkcred


def _serve_dev(env: dict, ports: list[int], log: Path) -> subprocess.Popen:
    ledger, issuer, verifier = ports
    with log.open("w") as out:  # a file, not a pipe: a pipe nobody reads fills with access lines and blocks
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "zkcred",
                "serve",
                "--dev",
                "--ledger-port",
                str(ledger),
                "--issuer-port",
                str(issuer),
                "--verifier-port",
                str(verifier),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )


def _wait(proc: subprocess.Popen, urls: list[str], log: Path) -> None:
    deadline = time.time() + 90
    while True:
        try:
            if all(httpx.get(u + "/openapi.json", timeout=2).status_code == 200 for u in urls):
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError("zkcred serve --dev did not start:\n" + log.read_text()[-4000:])
        time.sleep(0.5)


def _stop(proc: subprocess.Popen, log: Path) -> str:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)
    return log.read_text()


def test_serve_dev_twice_on_the_same_state(tmp_path):
    state = tmp_path / "state"
    env = {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith("ZKCRED_") or k == "DATABASE_URL") or k == "ZKCRED_BACKEND"
    }
    env |= {"ZKCRED_STATE_DIR": str(state), "COLUMNS": "200"}
    schemas = []
    for run in range(2):
        ports = _free_ports(3)
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        log = tmp_path / f"serve-{run}.log"
        proc = _serve_dev(env, ports, log)
        try:
            _wait(proc, urls, log)
            token = _zkcred("issuer", "create-admin-token", "--json", env=env).stdout
            admin = {"Authorization": f"Bearer {json.loads(token)['token']}"}
            schema = httpx.post(
                urls[1] + "/admin/schemas",
                headers=admin,
                timeout=60,
                json={"name": "payslip", "version": str(run), "attributes": [{"name": "income", "type": "int"}]},
            )
            assert schema.status_code == 201, schema.text
            schemas.append(schema.json()["id"])
            definition = httpx.post(
                urls[1] + "/admin/credential-definitions",
                headers=admin,
                timeout=60,
                json={"schema_id": schema.json()["id"], "tag": "t"},
            )
            assert definition.status_code == 201, definition.text
            offer = httpx.post(
                urls[1] + "/admin/offers",
                headers=admin,
                timeout=60,
                json={"credential_definition_id": definition.json()["id"], "attributes": {"income": 1}},
            )
            assert offer.status_code == 201, offer.text
            assert offer.json()["issuer_url"] == urls[1]  # the port actually used, not 8001
            # the keys made in the first run still open: the same issuer database, the same dev key
            listed = httpx.get(urls[1] + "/admin/schemas", headers=admin, timeout=60).json()["items"]
            assert sorted(s["id"] for s in listed) == sorted(schemas)
        finally:
            out = _stop(proc, log)
        assert "DEVELOPMENT master key" in out, out
        if run == 0:
            assert "a DEVELOPMENT state directory was created" in out
            key = (state / "master.key").read_text()
        else:
            assert "state directory was created" not in out and (state / "master.key").read_text() == key
