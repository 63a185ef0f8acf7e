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
