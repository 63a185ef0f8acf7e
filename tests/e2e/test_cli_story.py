"""The three services run separately (`zkcred serve`, real uvicorn on loopback ports) and the
wallet CLI completes the lending story against them. The state directory is made by
`zkcred init` with the public URLs on free ports; `zkcred serve` listens on those ports and
the admin commands find the databases through the state directory alone."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _zkcred(*args: str, env: dict, check: bool = True) -> subprocess.CompletedProcess:
    out = subprocess.run([sys.executable, "-m", "zkcred", *args], env=env, capture_output=True, text=True, timeout=120)
    if check and out.returncode != 0:
        raise AssertionError(f"zkcred {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return out


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stack")
    ledger_port, issuer_port, verifier_port = _free_ports(3)
    urls = {
        name: f"http://127.0.0.1:{port}"
        for name, port in (("ledger", ledger_port), ("issuer", issuer_port), ("verifier", verifier_port))
    }
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "ZKCRED_MASTER_KEY", "ZKCRED_STATE_DIR")}
    env["COLUMNS"] = "200"
    _zkcred(
        "init",
        "--state-dir",
        str(tmp),
        "--issuer-url",
        urls["issuer"],
        "--verifier-url",
        urls["verifier"],
        "--ledger-url",
        urls["ledger"],
        env=env,
    )
    assert oct((tmp / "master.key").stat().st_mode & 0o777) == "0o600"
    env["ZKCRED_STATE_DIR"] = str(tmp)  # from here on, every command finds the state through it
    log = tmp / "serve.log"  # a file, not a pipe: a pipe nobody reads fills with access lines and blocks the services
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "zkcred", "serve"], env=env, stdout=out, stderr=subprocess.STDOUT, text=True
        )
    deadline = time.time() + 90
    while True:
        try:
            if all(httpx.get(u + "/openapi.json", timeout=2).status_code == 200 for u in urls.values()):
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            raise AssertionError("services did not start:\n" + log.read_text()[-4000:])
        time.sleep(0.5)
    yield tmp, urls, env
    proc.terminate()  # `zkcred serve` stops its three children on SIGTERM
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    deadline = time.time() + 15
    while any(_listening(u) for u in urls.values()):
        assert time.time() < deadline, "a service outlived `zkcred serve`"
        time.sleep(0.5)


def _listening(url: str) -> bool:
    try:
        httpx.get(url + "/openapi.json", timeout=1)
    except httpx.HTTPError:
        return False
    return True


def test_wallet_cli_completes_the_story(stack, tmp_path):
    tmp, urls, env = stack
    admin_token = json.loads(_zkcred("issuer", "create-admin-token", "--json", env=env).stdout)["token"]
    api_key = json.loads(_zkcred("verifier", "create-api-key", "--lender", "Lender A", "--json", env=env).stdout)[
        "api_key"
    ]
    admin = {"Authorization": f"Bearer {admin_token}"}
    lender = {"Authorization": f"Bearer {api_key}"}
    http = httpx.Client(timeout=60)

    schema = http.post(
        urls["issuer"] + "/admin/schemas",
        headers=admin,
        json={
            "name": "payslip",
            "version": "1",
            "attributes": [
                {"name": "income", "type": "int"},
                {"name": "birth_date", "type": "date"},
                {"name": "country", "type": "string"},
            ],
        },
    )
    assert schema.status_code == 201, schema.text
    cred_def = http.post(
        urls["issuer"] + "/admin/credential-definitions",
        headers=admin,
        json={"schema_id": schema.json()["id"], "tag": "t", "revocable": True, "capacity": 100, "validity_days": 30},
    )
    assert cred_def.status_code == 201, cred_def.text
    offer = http.post(
        urls["issuer"] + "/admin/offers",
        headers=admin,
        json={
            "credential_definition_id": cred_def.json()["id"],
            "attributes": {"income": 64000, "birth_date": "1990-12-10", "country": "NL"},
        },
    )
    assert offer.status_code == 201, offer.text
    assert offer.json()["issuer_url"] == urls["issuer"]  # the configured public URL, not a default port
    offer_file = tmp_path / "offer.json"
    offer_file.write_text(json.dumps(offer.json()))

    wenv = {
        **env,
        "ZKCRED_WALLET": str(tmp_path / "wallet.db"),
        "ZKCRED_WALLET_PASSPHRASE": "correct horse battery",
        "ZKCRED_LEDGER_URL": urls["ledger"],
        # the trust anchor the wallet checks verifiers' registrations against (as the README does)
        "ZKCRED_LEDGER_PUBLIC_KEY": json.loads(_zkcred("check", "--json", "--offline", env=env).stdout)[
            "ledger_public_key"
        ],
    }
    _zkcred("wallet", "init", env=wenv)
    accepted = json.loads(_zkcred("wallet", "accept", str(offer_file), "--json", env=wenv).stdout)
    listed = json.loads(_zkcred("wallet", "list", "--json", env=wenv).stdout)
    assert [c["id"] for c in listed] == [accepted["id"]] and listed[0]["status"] == "active"

    def ask():
        r = http.post(
            urls["verifier"] + "/requests",
            headers=lender,
            json={
                "disclose": ["country"],
                "credential_definitions": [cred_def.json()["id"]],
                "expires_in": 300,
                "max_staleness": 0,
                "predicates": [{"attribute": "income", "op": ">=", "value": 50000}],
            },
        )
        assert r.status_code == 201, r.text
        return r.json()

    request = ask()
    verdict = json.loads(_zkcred("wallet", "present", request["request_url"], "--submit", "--json", env=wenv).stdout)
    assert verdict["verified"] is True and verdict["disclosed"] == {"country": "NL"}
    status = http.get(urls["verifier"] + f"/requests/{request['id']}", headers=lender).json()
    assert status["status"] == "verified"

    revoked = http.post(urls["issuer"] + f"/admin/credentials/{accepted['id']}/revoke", headers=admin)
    assert revoked.status_code == 200, revoked.text
    report = json.loads(_zkcred("wallet", "sync", "--json", env=wenv).stdout)
    assert report["revoked"] == 1
    refused = _zkcred("wallet", "present", ask()["request_url"], "--submit", env=wenv, check=False)
    assert refused.returncode == 1 and "revoked" in refused.stderr

    audit = _zkcred("ledger", "audit", urls["ledger"], "--json", env=env, check=False)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert json.loads(audit.stdout)["ok"] is True
