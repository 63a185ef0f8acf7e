"""Real HTTP servers for tests: uvicorn in a thread, on a free loopback port chosen by the kernel."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


def reserve() -> tuple[socket.socket, str]:
    """A bound loopback socket on a free port and its base URL: for an app that must know its URL
    before it serves (a verifier registers its origin); pass the socket to :func:`serve`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # the kernel picks a free port; we keep the socket, so no race
    return sock, f"http://127.0.0.1:{sock.getsockname()[1]}"


@contextmanager
def serve(app: Any, sock: socket.socket | None = None) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1:<free port> (or on ``sock``, from :func:`reserve`) until the block
    ends; yields the base URL."""
    if sock is None:
        sock, _ = reserve()
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def dead_url() -> str:
    """A loopback URL nothing listens on (bound then closed: connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"
