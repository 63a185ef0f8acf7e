"""The three services run separately (`zkcred serve`, real uvicorn on loopback ports) and the
wallet CLI completes the lending story against them. The state directory is made by
`zkcred init` with the public URLs on free ports; `zkcred serve` listens on those ports and
the admin commands find the databases through the state directory alone."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from typing import Any

import httpx
import pexpect
import pytest

from wallet import HttpRouter, Wallet


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
    env["ZKCRED_VERIFIER_MAX_ATTEMPTS"] = "3"  # the attempt limit, shown below through the real service
    env["ZKCRED_ISSUER_NAME"] = "Payroll Story BV"  # the names the two register on the ledger,
    env["ZKCRED_VERIFIER_NAME"] = "Story Lending"  # which the holder is shown
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


class _CountingRouter(HttpRouter):
    """Real HTTP; counts the presentations the wallet posts."""

    def __init__(self) -> None:
        super().__init__()
        self.posts: list[str] = []

    def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        if method == "POST" and url.endswith("/presentation"):
            self.posts.append(url)
        return super().request(method, url, **kw)


def _answer(args: list[str], env: dict, answer: str) -> tuple[str, str, int]:
    """Run ``zkcred *args`` on a pseudo-terminal, answer its y/N question; (shown before, after, exit code)."""
    child = pexpect.spawn(
        sys.executable, ["-m", "zkcred", *args], env=env, encoding="utf-8", timeout=120, dimensions=(60, 200)
    )
    try:
        child.expect(r"\[y/N\]")
        shown = child.before + child.after
        child.sendline(answer)
        child.expect(pexpect.EOF)
        rest = child.before
    finally:
        child.close()
    return shown, rest, child.exitstatus


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

    def new_offer(income: int) -> dict:
        r = http.post(
            urls["issuer"] + "/admin/offers",
            headers=admin,
            json={
                "credential_definition_id": cred_def.json()["id"],
                "attributes": {"income": income, "birth_date": "1990-12-10", "country": "NL"},
            },
        )
        assert r.status_code == 201, r.text
        return r.json()

    ledger_key = json.loads(_zkcred("check", "--json", "--offline", env=env).stdout)["ledger_public_key"]
    wenv = {
        **env,
        "ZKCRED_WALLET": str(tmp_path / "wallet.db"),
        "ZKCRED_WALLET_PASSPHRASE": "correct horse battery",
        "ZKCRED_LEDGER_URL": urls["ledger"],
        "ZKCRED_LEDGER_PUBLIC_KEY": ledger_key,  # the wallet checks verifiers against the ledger it pins
    }
    _zkcred("wallet", "init", env=wenv)
    accepted = json.loads(_zkcred("wallet", "accept", str(offer_file), "--yes", "--json", env=wenv).stdout)
    listed = json.loads(_zkcred("wallet", "list", "--json", env=wenv).stdout)
    assert [c["id"] for c in listed] == [accepted["id"]] and listed[0]["status"] == "active"
    assert listed[0]["issuer_name"] is None or isinstance(listed[0]["issuer_name"], str)
    # Two more holders, both of whom will fall behind the ledger: one on the CLI, one on the SDK
    # whose clock stands still (it believes its view fresh, so only the verifier can tell it).
    carol = {**wenv, "ZKCRED_WALLET": str(tmp_path / "carol.db")}
    _zkcred("wallet", "init", env=carol)
    (tmp_path / "carol-offer.json").write_text(json.dumps(new_offer(70000)))
    _zkcred("wallet", "accept", str(tmp_path / "carol-offer.json"), "--yes", env=carol)
    frozen = time.time()
    router = _CountingRouter()
    bob = Wallet.create(
        tmp_path / "bob.db",
        "correct horse battery",
        http=router,
        ledger_url=urls["ledger"],
        ledger_key=bytes.fromhex(ledger_key),
        clock=lambda: frozen,
    )
    bob.accept_offer(new_offer(80000))

    def ask(**extra):
        r = http.post(
            urls["verifier"] + "/requests",
            headers=lender,
            json={
                "disclose": ["country"],
                "credential_definitions": [cred_def.json()["id"]],
                "expires_in": 300,
                "max_staleness": 0,
                "predicates": [{"attribute": "income", "op": ">=", "value": 50000}],
                "purpose": "loan application 2026-0117",
                **extra,
            },
        )
        assert r.status_code == 201, r.text
        return r.json()

    def status(request: dict) -> str:
        return http.get(urls["verifier"] + f"/requests/{request['id']}", headers=lender).json()["status"]

    # Consent, interactively (a pseudo-terminal): the holder reads the panel and says no — nothing is sent.
    request = ask()
    shown, rest, code = _answer(["wallet", "present", request["request_url"], "--submit"], wenv, "n")
    said = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", shown).split())  # without colours, unwrapped
    for seen in (
        "Lender A asks for a presentation",
        "'Lender A' at verifier 'Story Lending' (verifier-",  # who: the registered name and id
        "issued by 'Payroll Story BV', registered at ledger seq",  # the issuer's registered name
        "loan application 2026-0117",  # why
        "country = NL",  # the disclosed value itself
        "income is at least 50 000 (value not revealed)",
        "registered at ledger seq",
        "Send this to Lender A? [y/N]",
    ):
        assert seen in said, shown
    assert code == 1 and "declined: nothing was sent to Lender A" in rest, rest
    assert status(request) == "pending"

    # A stranger who saw the URL posts garbage and a valid proof for another request: each gets its
    # reason, and the request stays pending for its holder.
    other = ask()
    forged = json.loads(_zkcred("wallet", "present", other["request_url"], "--yes", "--json", env=wenv).stdout)
    for body, reason in (
        ({"presentation": {}}, "malformed"),
        ({"presentation": forged["presentation"]}, "invalid_proof"),
    ):
        r = httpx.post(request["presentation_url"], json=body, timeout=60)  # no credentials needed: anyone can
        assert r.status_code == 200 and r.json()["verified"] is False and r.json()["reason"] == reason, r.text
        assert status(request) == "pending"

    # The holder asks again and says yes: verified.
    shown, rest, code = _answer(["wallet", "present", request["request_url"], "--submit"], wenv, "y")
    assert code == 0 and "✔ verified" in rest, shown + rest
    assert status(request) == "verified"

    # Scripts: --yes; --json carries the summary as data, and the verdict.
    verdict = json.loads(
        _zkcred("wallet", "present", ask()["request_url"], "--submit", "--yes", "--json", env=wenv).stdout
    )
    assert verdict["verified"] is True and verdict["disclosed"] == {"country": "NL"} and verdict["sent"] is True
    assert verdict["consent"]["requester"]["lender"] == "Lender A"
    assert verdict["consent"]["disclosed"] == [{"query_id": "credential", "attribute": "country", "value": "NL"}]

    # The attempt limit (ZKCRED_VERIFIER_MAX_ATTEMPTS=3 here): the third failure rejects the request.
    limited = ask()
    reasons = [httpx.post(limited["presentation_url"], json={"presentation": {}}).json()["reason"] for _ in range(3)]
    assert reasons == ["malformed", "malformed", "too-many-attempts"] and status(limited) == "rejected"
    late = _zkcred("wallet", "present", limited["request_url"], "--submit", "--yes", env=wenv, check=False)
    assert late.returncode == 1 and len(late.stderr.strip().splitlines()) == 1 and "409" in late.stderr, late.stderr

    revoked = http.post(urls["issuer"] + f"/admin/credentials/{accepted['id']}/revoke", headers=admin)
    assert revoked.status_code == 200, revoked.text
    report = json.loads(_zkcred("wallet", "sync", "--json", env=wenv).stdout)
    assert report["revoked"] == 1
    refused = _zkcred("wallet", "present", ask()["request_url"], "--submit", "--yes", env=wenv, check=False)
    assert refused.returncode == 1 and "revoked" in refused.stderr

    # Holders behind the ledger. Carol's view is older than max_staleness (0): her wallet syncs
    # before proving, and one request is verified.
    behind = ask()
    out = _zkcred("wallet", "present", behind["request_url"], "--submit", "--yes", env=carol)
    assert "✔ verified" in out.stdout and status(behind) == "verified"
    # Bob's clock says his view is fresh; the verifier finds it stale: his wallet syncs and presents
    # again, to the same request — stale, then verified.
    behind = ask()
    assert bob.submit(bob.prepare(behind["request_url"]).approve())["verified"] is True
    assert router.posts == [behind["presentation_url"]] * 2 and status(behind) == "verified"

    audit = _zkcred("ledger", "audit", urls["ledger"], "--json", env=env, check=False)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert json.loads(audit.stdout)["ok"] is True
