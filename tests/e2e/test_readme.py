"""The README's walkthrough runs verbatim: every ```sh block between ``<!-- walkthrough`` and
``<!-- /walkthrough -->`` in README.md, in order, as one bash script (``-euo pipefail``) in a
fresh directory, with the virtualenv's ``zkcred`` on PATH — so the README cannot drift.

Ports: the README uses the public URLs ``zkcred init`` writes; it takes them from
``ZKCRED_ISSUER_URL``/``ZKCRED_VERIFIER_URL``/``ZKCRED_LEDGER_URL`` when set, so this test sets
those to free loopback ports (the README text itself is unchanged; a reader who sets nothing
gets 8001-8003). Everything else runs exactly as written. Needs ``curl`` and ``jq``
(skipped, with the reason, where either is missing).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
START, END = "<!-- walkthrough", "<!-- /walkthrough -->"


def walkthrough(text: str) -> list[str]:
    """The ```sh blocks between the walkthrough markers, in order."""
    start = text.index(START)
    end = text.index(END, start)
    return re.findall(r"^```sh\n(.*?)^```$", text[start:end], flags=re.S | re.M)


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def test_walkthrough_is_marked_and_complete():
    blocks = walkthrough(README.read_text())
    script = "\n".join(blocks)
    assert len(blocks) >= 6
    for step in (
        "zkcred init",
        "zkcred serve",
        "create-admin-token",
        "create-api-key",
        "Content-Type: application/json",
        "zkcred wallet init",
        "zkcred wallet accept",
        "--submit",
        "equalities",
        "/revoke",
        "zkcred wallet sync",
        "zkcred ledger audit",
        "kill $SERVE_PID",
    ):
        assert step in script, f"the walkthrough lost its step {step!r}"
    assert ". .venv/bin/activate" in README.read_text()


@pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("jq")), reason="the README walkthrough needs curl and jq"
)
def test_readme_walkthrough_runs_verbatim(tmp_path):
    script = "\n".join(walkthrough(README.read_text()))
    issuer, verifier, ledger = (f"http://127.0.0.1:{port}" for port in _free_ports(3))
    keep = ("LANG", "LC_ALL", "TZ", "ZKCRED_BACKEND", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env |= {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(tmp_path / "home"),  # nothing of the real user's state or config
        "VIRTUAL_ENV": str(Path(sys.executable).parent.parent),
        "COLUMNS": "200",
        "ZKCRED_ISSUER_URL": issuer,
        "ZKCRED_VERIFIER_URL": verifier,
        "ZKCRED_LEDGER_URL": ledger,
    }
    work = tmp_path / "fresh"
    work.mkdir()
    proc = subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=work,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail("the walkthrough did not finish in 300 s:\n" + out)
    finally:
        try:  # anything the script left running (it stops `zkcred serve` itself when it succeeds)
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    log = work / "serve.log"
    context = out + ("\n--- serve.log ---\n" + log.read_text()[-4000:] if log.exists() else "")
    assert proc.returncode == 0, context
    assert (work / "zkcred-state" / "master.key").stat().st_mode & 0o777 == 0o600
    assert "configuration OK" in out, context
    assert "✔ verified" in out and "\nverified\n" in out, context  # the wallet, then the lender's status
    said = " ".join(out.split())  # the consent panel came first: who, why, what leaves, which credential
    for shown in (
        "Lender A asks for a presentation",
        "'Lender A' at verifier 'Example Lending'",
        "loan application 2026-0117",
        "country = NL",
        "income is at least 50 000 (value not revealed)",
        "issued by 'Example Payroll'",
        "Example Payroll offers a credential",
    ):
        assert shown in said, context
    assert said.index("Lender A asks for a presentation") < said.index("✔ verified"), context
    lines = out.splitlines()
    refused = lines.index("refused: the credential is revoked")  # the second presentation failed …
    assert "revoked" in lines[refused - 1] and "error" in lines[refused - 1], context  # … because of the revocation
    assert "OK " in out and "tree head signed by" in out, context  # the audit
    assert issuer in (work / "offer.json").read_text()  # offers carry the configured public URL
