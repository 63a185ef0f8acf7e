"""Helpers for the command-line tests: run ``zkcred`` in-process (through the same error
boundary as the installed script) or as a real process, a stub HTTP service, free ports."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from zkcred.cli import run

# Settings a developer's shell may carry that would change what these tests run against.
_AMBIENT = (
    "DATABASE_URL",
    "ZKCRED_LEDGER_URL",
    "ZKCRED_LEDGER_PUBLIC_KEY",
    "ZKCRED_WALLET",
    "ZKCRED_WALLET_PASSPHRASE",
    "ZKCRED_BACKEND",
    "ZKCRED_DEBUG",
    "ZKCRED_MASTER_KEY",
)


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    def error_line(self, *needles: str, code: int | None = None) -> str:
        """The one error line on stderr; asserts: non-zero exit (or ``code``), no traceback, each needle in it."""
        assert "Traceback" not in self.out + self.err, self.out + self.err
        assert self.code == code if code is not None else self.code != 0, (self.code, self.out, self.err)
        lines = [line for line in self.err.splitlines() if line.strip()]
        assert len(lines) == 1, f"expected one line on stderr, got:\n{self.err}"
        line = lines[0]
        assert line.startswith("error: "), line
        for needle in needles:
            assert needle in line, f"{needle!r} not in {line!r}"
        return line

    def json_error(self, *needles: str) -> str:
        """With --json: exactly ``{"error": …}`` on stdout, nothing on stderr."""
        assert self.code != 0 and "Traceback" not in self.out + self.err
        assert not self.err.strip(), self.err
        doc = json.loads(self.out)
        assert list(doc) == ["error"], doc
        for needle in needles:
            assert needle in doc["error"], f"{needle!r} not in {doc['error']!r}"
        return doc["error"]


@pytest.fixture
def clean_env(monkeypatch):
    for name in _AMBIENT:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def zkcred(capsys, clean_env):
    """``zkcred(*args)`` → Outcome, in this process, through ``zkcred.cli.run`` (the script's boundary)."""

    def call(*args: str) -> Outcome:
        capsys.readouterr()
        code = run(list(args))
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return call


def zkcred_process(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Outcome:
    """``python -m zkcred args…`` as a real process (the installed entry point's code path)."""
    base = {k: v for k, v in os.environ.items() if k not in _AMBIENT}
    done = subprocess.run(
        [sys.executable, "-m", "zkcred", *args],
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Outcome(done.returncode, done.stdout, done.stderr)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def stub_http():
    """A small HTTP service: ``(base_url, routes)``; ``routes[path] = (status, json_body)``.

    Unknown paths answer 404 as the zkcred services do (problem+json, title and detail
    "Not Found").
    """
    routes: dict[str, tuple[int, object]] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # http.server's name
            status, body = routes.get(self.path, (404, {"title": "Not Found", "status": 404, "detail": "Not Found"}))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/problem+json" if status >= 400 else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", routes
    server.shutdown()
    server.server_close()
