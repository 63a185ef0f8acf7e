"""Measure the multi-scalar multiplication options behind ``g1_msm`` (circuits/backend/blst.py).

``run(repeats)`` returns ``{"results": {option: {size: {"median_ms", "min_ms", "max_ms"}}},
"choice": {size: path the cost model picks when all bases are prepared / none is},
"meta": {...}}`` for sizes 8, 32, 145 (one n = 64 range-proof verification) and 1040
(m = 8). Options:

- ``blst_loop``: one blst ``scalar_mul`` per point, added up (no arkworks at all);
- ``arkworks_prepared``: arkworks ``multiexp_unchecked`` on bases converted beforehand,
  scalars converted per call, the result brought back to blst (the prepared path);
- ``arkworks_converted``: the same, converting every blst point per call (an MSM over
  points the caller just computed);
- ``auto_prepared`` / ``auto``: what ``BlstBackend.g1_msm_prepared`` / ``g1_msm`` do,
  i.e. the cost model's choice.

>>> report = run(1, sizes=(8,))
>>> sorted(report["results"])[:1]
['arkworks_converted']
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Sequence
from functools import partial

from circuits.backend import arkworks, blst
from circuits.backend.blst import BlstBackend
from circuits.constants import R

SIZES = (8, 32, 145, 1040)


def _time(fn: Callable[[], object], repeats: int) -> dict:
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1e3)
    return {"median_ms": statistics.median(samples), "min_ms": min(samples), "max_ms": max(samples)}


def _force(path: bool, fn: Callable[[], object]) -> Callable[[], object]:
    """Run ``fn`` with the cost model pinned to arkworks (True) or blst (False)."""

    def run_pinned():
        saved = blst.prefer_arkworks
        blst.prefer_arkworks = lambda n, fresh, blst_us=None: path
        try:
            return fn()
        finally:
            blst.prefer_arkworks = saved

    return run_pinned


def run(repeats: int, sizes: Sequence[int] = SIZES) -> dict:
    rng = random.Random(1040)
    fast, plain = BlstBackend(), BlstBackend(use_arkworks=False)
    top = max(sizes)
    points = [fast.hash_to_g1_xmd_sha256(i.to_bytes(4, "big"), b"zkcred-bench-msm") for i in range(top)]
    prepared = fast.g1_msm_prepare(points)
    results: dict[str, dict[str, dict]] = {"blst_loop": {}, "auto": {}, "auto_prepared": {}}
    if arkworks.AVAILABLE:
        results |= {"arkworks_prepared": {}, "arkworks_converted": {}}
    choice = {}
    for n in sizes:
        scalars = [rng.randrange(R) for _ in range(n)]
        pts = points[:n]
        key = str(n)
        results["blst_loop"][key] = _time(partial(plain.g1_msm, pts, scalars), repeats)
        results["auto"][key] = _time(partial(fast.g1_msm, pts, scalars), repeats)
        results["auto_prepared"][key] = _time(partial(fast.g1_msm_prepared, prepared, scalars), repeats)
        if arkworks.AVAILABLE:
            results["arkworks_prepared"][key] = _time(
                _force(True, partial(fast.g1_msm_prepared, prepared, scalars)), repeats
            )
            results["arkworks_converted"][key] = _time(_force(True, partial(fast.g1_msm, pts, scalars)), repeats)
        choice[key] = {
            "prepared": "arkworks" if arkworks.AVAILABLE and blst.prefer_arkworks(n, 0) else "blst_loop",
            "unprepared": "arkworks" if arkworks.AVAILABLE and blst.prefer_arkworks(n, n) else "blst_loop",
        }
    meta = {"repeats": repeats, "arkworks": arkworks.AVAILABLE, "sizes": list(sizes)}
    return {"results": results, "choice": choice, "meta": meta}
