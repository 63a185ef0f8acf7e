"""`zkcred serve --witnesses 3`: the whole stack with three witness processes on loopback — the ledger
submits, the issuer registers through a witnessed view, and the audit with the majority policy passes."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
from typer.testing import CliRunner

from ledger.checkpoint import SignedCheckpoint
from ledger.policy import load_policy
from tests.e2e.test_cli_story import _free_ports
from witness.core import origin_hash
from zkcred import ledger_cli


def test_serve_with_three_witnesses(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ports = _free_ports(6)
    ledger, issuer, verifier, *witnesses = ports
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "DATABASE_URL",
            "ZKCRED_MASTER_KEY",
            "ZKCRED_STATE_DIR",
            "ZKCRED_LEDGER_POLICY",
            "ZKCRED_LEDGER_WITNESSES",
            "ZKCRED_LEDGER_ORIGIN",
        )
    }
    env["COLUMNS"] = "200"
    url = f"http://127.0.0.1:{ledger}"
    init = subprocess.run(
        [
            sys.executable,
            "-m",
            "zkcred",
            "init",
            "--state-dir",
            str(tmp_path),
            "--issuer-url",
            f"http://127.0.0.1:{issuer}",
            "--verifier-url",
            f"http://127.0.0.1:{verifier}",
            "--ledger-url",
            url,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert init.returncode == 0, init.stdout + init.stderr
    env["ZKCRED_STATE_DIR"] = str(tmp_path)
    args = [sys.executable, "-m", "zkcred", "serve", "--witnesses", "3"]
    for p in witnesses:
        args += ["--witness-port", str(p)]
    log_out = (tmp_path / "serve.log").open("w")  # a file, not a pipe nobody reads
    proc = subprocess.Popen(args, env=env, stdout=log_out, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 180  # five processes starting on a loaded 2-core machine
        while True:  # issuer and verifier up, and the issuer's registration cosigned by a majority
            try:
                up = all(
                    httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=2).status_code == 200
                    for port in (issuer, verifier)
                )
                served = SignedCheckpoint.parse(httpx.get(f"{url}/checkpoint", timeout=2).content)
                if up and served.size >= 1 and len(served.note.signatures) >= 3:
                    break
            except (httpx.HTTPError, ValueError):
                pass
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                raise AssertionError(
                    "stack did not come up witnessed:\n" + (tmp_path / "serve.log").read_text()[-4000:]
                )
            time.sleep(0.5)
        policy_file = tmp_path / "witnesses.policy"
        policy = load_policy(str(policy_file))
        assert policy is not None and policy.describe().startswith("2 of (")
        key = httpx.get(f"{url}/tree-head").json()["key"]
        out = CliRunner().invoke(ledger_cli.app, ["audit", url, "--ledger-key", key, "--policy", str(policy_file)])
        assert out.exit_code == 0, out.output
        assert "cosigned by w" in out.output
        # the verifier (started with the majority policy) is ready: its resolver accepted a witnessed checkpoint
        ready = httpx.get(f"http://127.0.0.1:{verifier}/health/ready", timeout=10)
        assert ready.status_code == 200, ready.text
        # each witness's monitoring endpoint shows the checkpoint it cosigned
        monitored = httpx.get(f"http://127.0.0.1:{witnesses[0]}/{origin_hash(served.origin)}/checkpoint")
        assert monitored.status_code == 200 and SignedCheckpoint.parse(monitored.content).size >= 1
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log_out.close()
