"""A lender's webhook receiver for tests: a real HTTP server on loopback that records every POST.

``Receiver.script`` says how to answer the next POSTs (``500``, ``"hang"`` = sleep past the
sender's timeout, ``200``…); once it is used up every POST gets ``default``. The receiver
checks nothing itself: tests check the recorded headers and bodies with
``verifier.webhooks.verify_webhook``, as a lender's code would.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.servers import serve


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int | str


@dataclass
class Receiver:
    url: str = ""
    script: list[int | str] = field(default_factory=list)
    default: int = 200
    hang_seconds: float = 3.0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answered(self, status: int = 200) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.answered == status]

    def wait_for(self, count: int, *, status: int = 200, timeout: float = 30.0) -> list[Received]:
        """The POSTs answered ``status``, once there are ``count`` of them (AssertionError after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.answered(status)
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError(f"{len(self.answered(status))} POSTs answered {status} after {timeout} s, wanted {count}")


@contextmanager
def receiver(path: str = "/hooks/zkcred", **kwargs: object) -> Iterator[Receiver]:
    state = Receiver(**kwargs)  # type: ignore[arg-type]

    async def hook(request: Request) -> Response:
        body = await request.body()
        with state.lock:
            answer = state.script.pop(0) if state.script else state.default
            state.received.append(Received(dict(request.headers), body, answer))
        if answer == "hang":
            import asyncio

            await asyncio.sleep(state.hang_seconds)
            return Response(status_code=200)
        return Response(status_code=int(answer))

    app = Starlette(routes=[Route(path, hook, methods=["POST"])])
    with serve(app) as base:
        state.url = base + path
        yield state


def main(argv: list[str]) -> None:
    """``python -m tests.verifier.webhook_receiver PORT LOG [FAIL_EVERY]``: a receiver in its own process
    (the load test's), appending one JSON line per POST to LOG; every FAIL_EVERY-th POST answers 500."""
    import json
    import sys

    import uvicorn

    port, log_path = int(argv[0]), argv[1]
    fail_every = int(argv[2]) if len(argv) > 2 else 0
    count = [0]
    log = open(log_path, "a", buffering=1)  # open for the process's life

    async def hook(request: Request) -> Response:
        body = await request.body()
        count[0] += 1
        status = 500 if fail_every and count[0] % fail_every == 0 else 200
        h = request.headers
        line = {
            "id": h.get("webhook-id"),
            "timestamp": h.get("webhook-timestamp"),
            "signature": h.get("webhook-signature"),
            "body": body.decode(),
            "answered": status,
        }
        log.write(json.dumps(line) + "\n")
        return Response(status_code=status)

    app = Starlette(routes=[Route("/hooks/zkcred", hook, methods=["POST"])])
    print(f"receiver on 127.0.0.1:{port}", file=sys.stderr)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
