"""Timing and operation counting shared by every benchmark.

``measure`` reports the median with min and max over repeated runs (this is a 2-core
shared machine: medians, and ratios against a reference measured in the same run).
``CountingBackend`` wraps a backend and counts the group operations a call performs,
so a benchmark can price them at blst's unit costs (measured in the same run) and
report how far the wall time is above that floor — the Python overhead we own.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx


def measure(fn: Callable[[], object], repeats: int, warmup: int = 1) -> dict:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return {"median_ms": statistics.median(times), "min_ms": min(times), "max_ms": max(times), "runs": repeats}


def _stats(times: list[float]) -> dict[str, float]:
    return {"median_ms": statistics.median(times), "min_ms": min(times), "max_ms": max(times), "runs": len(times)}


def alternate(runs: dict[str, Callable[[], object]], counts: dict[str, int], *, warmup: bool = True) -> dict:
    """Time each system's callable ``counts[label]`` times, interleaved round by round, starting system rotating."""
    labels = list(runs)
    if warmup:
        for label in labels:
            runs[label]()
    times: dict[str, list[float]] = {label: [] for label in labels}
    for i in range(max(counts.values(), default=0)):
        order = labels[i % len(labels) :] + labels[: i % len(labels)]
        for label in order:
            if len(times[label]) < counts[label]:
                t0 = time.perf_counter()
                runs[label]()
                times[label].append((time.perf_counter() - t0) * 1e3)
    return {label: _stats(t) for label, t in times.items() if t}


class CountingBackend:
    """A GroupBackend proxy that counts multiplications, msm points, decodes and pairings."""

    def __init__(self, inner) -> None:
        self._inner = inner
        self.name = inner.name
        self.counts: Counter = Counter()

    def __getattr__(self, attr):
        value = getattr(self._inner, attr)
        if not callable(value):
            return value
        counts = self.counts

        def counted(*args, **kwargs):
            if attr in ("g1_msm", "g1_mul"):
                points, scalars = (args[0], args[1]) if attr == "g1_msm" else ([args[0]], [args[1]])
                # not strict: an msm may be handed more prepared bases than scalars (only the multiplied ones count)
                for p, k in zip(points, scalars, strict=False):
                    if k and k != 1:
                        counts["g1_mul_fixed" if _has_table(p) else "g1_mul"] += 1
            elif attr == "pairing_check":
                counts["pairing_check"] += 1
                counts["miller_loop"] += len(args[0])
            else:
                counts[attr] += 1
            return value(*args, **kwargs)

        return counted


def _has_table(point) -> bool:
    try:
        from circuits.backend import blst
    except ImportError:
        return False
    return id(point) in blst._tables


UNIT_OPS = ("g1_mul", "g2_mul", "g1_from_bytes", "g2_from_bytes", "g1_add", "g1_to_bytes")


def unit_costs(backend, repeats: int = 200) -> dict[str, float]:
    """Median ms of one of each basic operation on ``backend``, measured now."""
    import secrets

    from circuits.constants import R

    g1, g2 = backend.g1_generator(), backend.g2_generator()
    p = backend.g1_mul(g1, secrets.randbelow(R))
    q = backend.g2_mul(g2, secrets.randbelow(R))
    pb, qb = backend.g1_to_bytes(p), backend.g2_to_bytes(q)
    k = secrets.randbelow(R)
    n = max(5, repeats // 10) if backend.name == "py_ecc" else repeats
    costs = {
        "g1_mul": measure(lambda: backend.g1_mul(p, k), n)["median_ms"],
        "g1_mul_fixed": _fixed_cost(backend, k, n),
        "g2_mul": measure(lambda: backend.g2_mul(q, k), n)["median_ms"],
        "g1_from_bytes": measure(lambda: backend.g1_from_bytes(pb), n)["median_ms"],
        "g2_from_bytes": measure(lambda: backend.g2_from_bytes(qb), n)["median_ms"],
        "g1_add": measure(lambda: backend.g1_add(p, p), n)["median_ms"],
        "g1_to_bytes": measure(lambda: backend.g1_to_bytes(p), n)["median_ms"],
    }
    # A check of k pairs costs k Miller loops plus one final exponentiation: fit both.
    pc2 = measure(lambda: backend.pairing_check([(p, g2), (p, q)]), max(3, n // 4))["median_ms"]
    pc3 = measure(lambda: backend.pairing_check([(p, g2), (p, q), (p, q)]), max(3, n // 4))["median_ms"]
    costs["miller_loop"] = pc3 - pc2
    costs["pairing_check"] = max(0.0, pc2 - 2 * costs["miller_loop"])
    return costs


def _fixed_cost(backend, k: int, n: int) -> float:
    """One multiplication of a long-lived base through its fixed-base table (blst only)."""
    if not hasattr(backend, "g1_mark_fixed") or backend.name != "blst":
        return 0.0
    import secrets

    from circuits.constants import R

    base = backend.g1_mul(backend.g1_generator(), secrets.randbelow(R))
    backend.g1_mark_fixed(base)
    for _ in range(16):
        backend.g1_mul(base, k)
    return measure(lambda: backend.g1_mul(base, k), n)["median_ms"]


def floor_ms(counts: Counter, costs: dict[str, float]) -> float:
    return sum(costs.get(op, 0.0) * n for op, n in counts.items())


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for h in header:
        table.add_column(h, justify="right" if h != header[0] else "left")
    for row in rows:
        table.add_row(*row)
    Console().print(table)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def machine_line() -> str:
    """CPU model, cores and load average when the run ended: the context of every figure."""
    import os
    import platform

    model = platform.processor() or "cpu"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, load average {load}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Return once ``url`` answers at all; raise if the process exits or nothing answers in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the service exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=2.0)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"{url}: no answer after {timeout:.0f} s")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process's own group (uvicorn and its workers), SIGKILL if it lingers."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


class Services:
    """Processes a benchmark starts on loopback, each logging to ``tmp/<name>-<n>.log``, stopped by ``close``."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []

    def spawn(self, name: str, argv: Sequence[str], *, ready: str, env: dict[str, str] | None = None) -> str:
        """Start ``argv`` (``{port}`` replaced by a free port); return its URL once ``ready`` answers."""
        port = free_port()
        out = open(self.tmp / f"{name}-{len(self.procs)}.log", "wb")  # closed with the process
        base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "ZKCRED_CONFIG")}
        base["ZKCRED_STATE_DIR"] = str(self.tmp)
        proc = subprocess.Popen(
            [a.replace("{port}", str(port)) for a in argv],
            env={**base, **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        wait_until_up(url + ready, proc)
        return url

    def close(self) -> None:
        for proc in reversed(self.procs):
            stop_process(proc)
