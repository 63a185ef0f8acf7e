"""``zkcred serve`` supervises its services: busy ports refused up front, a dead service
restarted while the others keep serving, Ctrl-C and SIGTERM stop everything without traces."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.cli.conftest import free_port, zkcred_process
from wallet import Wallet
from zkcred.errors import CliError
from zkcred.supervisor import Service, Supervisor, answers

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZKCRED_", "DATABASE_URL"))}
    return {**env, "COLUMNS": "200", **extra}


def _children(pid: int) -> dict[int, str]:
    """pid → command line of ``pid``'s child processes."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue
    return found


def _wait(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)


# -- busy ports ----------------------------------------------------------------------------------


def test_busy_port_is_one_line_naming_port_and_option(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        state = tmp_path / "state"
        assert zkcred_process("init", "--state-dir", str(state), env=_env()).code == 0
        result = zkcred_process(
            "serve",
            "--state-dir",
            str(state),
            "--ledger-port",
            str(free_port()),
            "--issuer-port",
            str(port),
            "--verifier-port",
            str(free_port()),
            env=_env(),
        )
        result.error_line(f"port {port} on 127.0.0.1 is already in use", "the issuer", "--issuer-port")
        assert sorted(p.name for p in state.iterdir()) == ["master.key", "zkcred.toml"]  # nothing started or made
        single = zkcred_process(
            "ledger", "serve", "--port", str(port), "--database-url", f"sqlite:///{tmp_path}/l.db", env=_env()
        )
        single.error_line(f"port {port} on 127.0.0.1 is already in use", "--port")


def test_the_same_port_twice_is_refused(zkcred, tmp_path):
    port = str(free_port())
    assert zkcred("init", "--state-dir", str(tmp_path / "state")).code == 0
    zkcred("serve", "--state-dir", str(tmp_path / "state"), "--ledger-port", port, "--verifier-port", port).error_line(
        f"--verifier-port {port} is also the ledger's port"
    )


# -- the real thing ------------------------------------------------------------------------------


@linux_only
def test_serve_restarts_a_killed_service_and_stops_cleanly_on_ctrl_c(tmp_path):
    ports = {"ledger": free_port(), "issuer": free_port(), "verifier": free_port()}
    state = tmp_path / "state"
    init = zkcred_process(
        "init",
        "--state-dir",
        str(state),
        *(a for name, port in ports.items() for a in (f"--{name}-url", f"http://127.0.0.1:{port}")),
        env=_env(),
    )
    assert init.code == 0, init.err
    err_file = (tmp_path / "serve.err").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "zkcred", "serve", "--json", "--state-dir", str(state)],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=err_file,
        text=True,
    )
    try:
        # --json: one object on stdout once all three answer
        ready, _, _ = select.select([proc.stdout], [], [], 180)
        assert ready, "serve --json printed nothing within 180 s"
        urls = json.loads(proc.stdout.readline())
        assert {k: urls[k] for k in ports} == {k: f"http://127.0.0.1:{p}" for k, p in ports.items()}
        assert len(bytes.fromhex(urls["ledger_public_key"])) == 32
        assert all(answers(u) for u in (urls["ledger"], urls["issuer"], urls["verifier"]))

        # the first complaint, against the real issuer: one line saying what it is
        wallet = tmp_path / "wallet.db"
        Wallet.create(wallet, "correct horse battery").close()
        wrong = zkcred_process(
            "wallet",
            "sync",
            "--ledger",
            urls["issuer"],
            env=_env(ZKCRED_WALLET=str(wallet), ZKCRED_WALLET_PASSPHRASE="correct horse battery"),
        )
        wrong.error_line(f"{urls['issuer']} is not a zkcred ledger (it is the zkcred issuer)")
        audit = zkcred_process("ledger", "audit", urls["verifier"], env=_env())
        assert audit.code == 2 and "(it is the zkcred verifier)" in audit.err and "Traceback" not in audit.err

        # kill the verifier: the others keep serving, and it comes back
        children = _children(proc.pid)
        assert len(children) == 3, children
        (victim,) = [pid for pid, cmd in children.items() if "verifier serve" in cmd]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 120
        while not answers(urls["verifier"]) or victim in _children(proc.pid):
            assert proc.poll() is None, "serve stopped when one service died"
            assert answers(urls["ledger"]) and answers(urls["issuer"]), "another service stopped meanwhile"
            assert time.monotonic() < deadline, "the verifier did not come back"
            time.sleep(0.5)
        assert httpx.get(urls["verifier"] + "/openapi.json", timeout=10).status_code == 200
        assert len(_children(proc.pid)) == 3
        _wait(
            lambda: f"verifier is back at {urls['verifier']}" in (tmp_path / "serve.err").read_text(),
            30,
            "serve to notice the verifier is back",
        )  # its probe runs every 0.5 s

        # Ctrl-C: everything stops, exit 0, no traces
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err_file.seek(0)
    log = err_file.read()
    assert "verifier exited (killed by SIGKILL); restarting it in 0.5 s" in log
    assert "Traceback" not in log and "KeyboardInterrupt" not in log
    assert proc.stdout.read() == ""  # the JSON object was all of stdout
    _wait(
        lambda: not any(answers(u) for u in (urls["ledger"], urls["issuer"], urls["verifier"])),
        15,
        "the services to stop with serve",
    )


# -- the supervisor alone, with small stand-in services ------------------------------------------------

_HTTP_CHILD = """
import http.server, os, sys, threading
server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), http.server.BaseHTTPRequestHandler)
if len(sys.argv) > 2:
    threading.Timer(float(sys.argv[2]), lambda: os._exit(3)).start()
server.serve_forever()
"""


def _stand_in(name: str, port: int, *die_after: str) -> Service:
    return Service(
        name, [sys.executable, "-c", _HTTP_CHILD, str(port), *die_after], dict(os.environ), f"http://127.0.0.1:{port}"
    )


def test_a_service_dying_again_and_again_stops_all_with_one_line():
    steady, flaky = _stand_in("steady", free_port()), _stand_in("flaky", free_port(), "2")
    said: list[str] = []
    supervisor = Supervisor([steady, flaky], say=said.append, max_restarts=2, first_backoff=0.05)
    with pytest.raises(CliError) as failed:
        supervisor.run(lambda: None)
    assert failed.value.message == (
        "the flaky exited (exit code 3) 3 times within 60 s of starting; "
        "stopped all — the reason is in its output above"
    )
    assert [line for line in said if "exited" in line] == [
        "flaky exited (exit code 3); restarting it in 0.05 s (restart 1 of at most 2 in a row)",
        "flaky exited (exit code 3); restarting it in 0.1 s (restart 2 of at most 2 in a row)",
    ]
    assert f"flaky is back at {flaky.url}" in said
    assert steady.proc is not None and steady.proc.poll() is not None  # stopped with the rest
    assert not answers(steady.url)


def test_a_service_that_cannot_start_stops_all_with_one_line():
    steady = _stand_in("steady", free_port())
    broken = Service(
        "broken", [sys.executable, "-c", "import sys; sys.exit(2)"], dict(os.environ), f"http://127.0.0.1:{free_port()}"
    )
    ready: list[bool] = []
    with pytest.raises(CliError) as failed:
        Supervisor([steady, broken], say=lambda line: None).run(lambda: ready.append(True))
    assert failed.value.message == (
        f"the broken exited (exit code 2) before it answered at {broken.url}; "
        "stopped the others — the reason is in its output above"
    )
    assert ready == [] and steady.proc is not None and steady.proc.poll() is not None
    assert not answers(steady.url)


def test_sigterm_stops_every_service_and_returns():
    services = [_stand_in("one", free_port()), _stand_in("two", free_port())]
    supervisor = Supervisor(services, say=lambda line: None)
    before = signal.getsignal(signal.SIGTERM)
    supervisor.run(lambda: os.kill(os.getpid(), signal.SIGTERM))  # delivered while the supervisor watches
    assert supervisor.stop_signal == signal.SIGTERM
    assert all(s.proc is not None and s.proc.returncode == -signal.SIGTERM for s in services)
    assert not any(answers(s.url) for s in services)
    assert signal.getsignal(signal.SIGTERM) is before  # the caller's handler is back
