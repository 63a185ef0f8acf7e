"""``python -m bench msm`` in its quickest form, so the bench cannot rot."""

from __future__ import annotations

import pytest

from bench import msm as bench_msm
from circuits.backend import arkworks


@pytest.mark.slow
def test_bench_run_returns_every_option():
    report = bench_msm.run(1, sizes=(8,))
    assert set(report["results"]) >= {"blst_loop"}
    assert report["results"]["blst_loop"]["8"]["median_ms"] > 0
    if arkworks.AVAILABLE:
        assert {"arkworks_prepared", "arkworks_converted", "auto_prepared"} <= set(report["results"])
