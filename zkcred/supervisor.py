"""Keep a few service processes running: ``zkcred serve``'s supervision and signal handling.

- **Ports first.** :func:`ensure_ports_free` binds each port once before anything starts:
  a busy port is one line naming the port and the option that changes it (the single
  services' ``serve`` commands use it too).
- **Start order.** Services start in the order given; one marked ``gate`` must answer
  HTTP before the next starts (the issuer registers itself on the ledger at start-up).
  Any HTTP answer counts as ready — the probe asks ``/health/live``.
- **Restart with backoff.** A service that dies after it was ready is started again after
  0.5 s, 1 s, 2 s, … (at most 30 s); the others keep serving meanwhile. A service that
  stays up for a minute is forgiven its earlier deaths. More than ``max_restarts`` quick
  deaths in a row, or a death before the service ever answered (a configuration error,
  a port taken meanwhile — restarting cannot help), stops all with one line saying which
  service and how it ended; its own error is printed just above by the service itself.
- **Signals.** Each service runs in its own process group, so Ctrl-C in the terminal
  reaches only the supervisor (no KeyboardInterrupt traces from half-started children).
  On SIGINT or SIGTERM the supervisor sends SIGTERM to every service's group (uvicorn's
  graceful shutdown), waits up to ``stop_timeout`` seconds, then kills; it then returns
  normally (exit 0). On Linux each service also gets ``PR_SET_PDEATHSIG``, so even a
  killed supervisor leaves no orphaned servers behind.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from zkcred.errors import CliError


def ensure_ports_free(host: str, ports: Sequence[tuple[str, int, str]]) -> None:
    """Raise a one-line ``CliError`` unless every ``(service, port, option)`` can listen on ``host``."""
    seen: dict[int, str] = {}
    for name, port, option in ports:
        if not 0 < port < 65536:
            raise CliError(f"{option} {port} is not a TCP port (1–65535)")
        if port in seen:
            raise CliError(f"{option} {port} is also the {seen[port]}'s port; give each service its own port")
        seen[port] = name
        try:
            family, kind, proto, _, address = socket.getaddrinfo(
                host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )[0]
        except socket.gaierror as e:
            raise CliError(f"cannot listen on host {host!r} ({e.strerror}); check --host") from None
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is no conflict
            try:
                probe.bind(address)
            except OSError as e:
                if e.errno == errno.EADDRINUSE:
                    raise CliError(
                        f"port {port} on {host} is already in use (wanted for the {name}); stop what "
                        f"listens there or choose another port with {option}"
                    ) from None
                if e.errno == errno.EACCES:
                    raise CliError(
                        f"no permission to listen on port {port} (the {name}); choose a port above 1023 with {option}"
                    ) from None
                raise CliError(
                    f"cannot listen on {host}:{port} for the {name} ({e.strerror}); check --host and {option}"
                ) from None


@dataclass
class Service:
    """One supervised process: its command, environment, and the base URL it answers on."""

    name: str
    argv: list[str]
    env: Mapping[str, str]
    url: str
    gate: bool = False  # start the next service only once this one answers
    proc: subprocess.Popen[Any] | None = field(default=None, repr=False)
    started_at: float = 0.0
    ready: bool = False
    quick_deaths: int = 0
    restart_at: float | None = None
    next_probe: float = 0.0


def exit_status(code: int) -> str:
    """``exit code 2`` or ``killed by SIGKILL``."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def answers(url: str, timeout: float = 1.0) -> bool:
    """Whether anything HTTP answers at ``url`` (any status: the service is up)."""
    import httpx

    try:
        httpx.get(url.rstrip("/") + "/health/live", timeout=timeout)
    except httpx.HTTPError:
        return False
    return True


_libc: Any = None


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if _libc is not None:
        _libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Supervisor:
    """Start ``services``, restart the ones that die, stop them all on SIGINT/SIGTERM (see the module doc)."""

    def __init__(
        self,
        services: Sequence[Service],
        *,
        say: Callable[[str], None],
        max_restarts: int = 5,
        first_backoff: float = 0.5,
        max_backoff: float = 30.0,
        stable_after: float = 60.0,
        ready_timeout: float = 90.0,
        stop_timeout: float = 10.0,
        child_stdout: int | None = None,
    ) -> None:
        self.services = list(services)
        self.say = say
        self.max_restarts, self.first_backoff, self.max_backoff = max_restarts, first_backoff, max_backoff
        self.stable_after, self.ready_timeout, self.stop_timeout = stable_after, ready_timeout, stop_timeout
        self.child_stdout = child_stdout
        self.stop_signal: int | None = None

    # -- the whole life -----------------------------------------------------------------------------

    def run(self, on_ready: Callable[[], None]) -> None:
        """Start all, call ``on_ready`` once all answer, keep them running until a signal; stop all.

        Returns after SIGINT/SIGTERM; raises ``CliError`` (after stopping all) if a service
        cannot be kept running.
        """
        previous = self._trap_signals()
        try:
            if self._start_all():
                on_ready()
                self._watch()
        finally:
            self._stop_all()
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _trap_signals(self) -> dict[int, Any]:
        def stop(signum: int, _frame: Any) -> None:
            self.stop_signal = signum

        previous: dict[int, Any] = {}
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, stop)  # the main thread only, as `zkcred serve` runs
        return previous

    # -- starting -----------------------------------------------------------------------------------

    def _spawn(self, service: Service) -> None:
        global _libc
        linux = sys.platform.startswith("linux")
        if linux and _libc is None:
            import ctypes

            _libc = ctypes.CDLL(None, use_errno=True)
        posix = os.name == "posix"
        service.proc = subprocess.Popen(  # our own interpreter and arguments
            service.argv,
            env=dict(service.env),
            stdout=self.child_stdout,
            process_group=0 if posix else None,
            preexec_fn=_die_with_parent if linux else None,
        )
        service.started_at, service.ready, service.next_probe = time.monotonic(), False, 0.0

    def _start_all(self) -> bool:
        """Start every service (waiting after each gate) and wait until all answer; False if told to stop."""
        for service in self.services:
            self._spawn(service)
            if service.gate and not self._wait_ready([service]):
                return False
        return self._wait_ready(self.services)

    def _wait_ready(self, services: Sequence[Service]) -> bool:
        deadline = time.monotonic() + self.ready_timeout
        while self.stop_signal is None:
            waiting = [s for s in services if not s.ready]
            if not waiting:
                return True
            for s in waiting:
                assert s.proc is not None
                code = s.proc.poll()
                if code is not None:
                    raise CliError(
                        f"the {s.name} exited ({exit_status(code)}) before it answered at {s.url}; "
                        "stopped the others — the reason is in its output above"
                    )
                s.ready = answers(s.url)
            if time.monotonic() > deadline:
                late = ", ".join(f"the {s.name} at {s.url}" for s in services if not s.ready)
                raise CliError(f"{late} did not answer within {self.ready_timeout:g} s; stopped all")
            time.sleep(0.2)
        return False

    # -- watching -----------------------------------------------------------------------------------

    def _watch(self) -> None:
        while self.stop_signal is None:
            now = time.monotonic()
            for s in self.services:
                assert s.proc is not None
                if s.restart_at is not None:
                    if now >= s.restart_at:
                        s.restart_at = None
                        self._spawn(s)
                    continue
                code = s.proc.poll()
                if code is None:
                    if not s.ready and now >= s.next_probe:
                        s.next_probe = now + 0.5
                        if answers(s.url, timeout=0.5):
                            s.ready = True
                            self.say(f"{s.name} is back at {s.url}")
                    continue
                self._died(s, code, now)
            time.sleep(0.2)

    def _died(self, s: Service, code: int, now: float) -> None:
        s.quick_deaths = s.quick_deaths + 1 if now - s.started_at < self.stable_after else 1
        if s.quick_deaths > self.max_restarts:
            raise CliError(
                f"the {s.name} exited ({exit_status(code)}) {s.quick_deaths} times within "
                f"{self.stable_after:g} s of starting; stopped all — the reason is in its output above"
            )
        delay = min(self.first_backoff * 2 ** (s.quick_deaths - 1), self.max_backoff)
        self.say(
            f"{s.name} exited ({exit_status(code)}); restarting it in {delay:g} s "
            f"(restart {s.quick_deaths} of at most {self.max_restarts} in a row)"
        )
        s.restart_at = now + delay

    # -- stopping -----------------------------------------------------------------------------------

    def _stop_all(self) -> None:
        alive = [s.proc for s in self.services if s.proc is not None and s.proc.poll() is None]
        for proc in alive:
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for proc in alive:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait()
        for s in self.services:  # reap a group's other members too (uvicorn --workers)
            if s.proc is not None:
                _signal_group(s.proc, signal.SIGKILL, only_if_left=True)


def _signal_group(proc: subprocess.Popen[Any], signum: int, *, only_if_left: bool = False) -> None:
    if os.name != "posix":  # no process groups: the process itself (terminate on Windows)
        if not only_if_left and proc.poll() is None:
            proc.kill() if signum == getattr(signal, "SIGKILL", None) else proc.terminate()
        return
    try:
        if only_if_left:
            os.killpg(proc.pid, 0)  # raises if the group is gone
        os.killpg(proc.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass
