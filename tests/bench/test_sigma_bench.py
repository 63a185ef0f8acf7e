"""``python -m bench sigma`` in its quickest form (one run per operation), so the bench cannot rot."""

from __future__ import annotations

from bench import sigma
from circuits.backend import available_backends


def test_sigma_bench_runs_and_reports_ratios():
    backend = available_backends()[0]
    report = sigma.run([backend], 1)
    ops = report["results"][backend]
    assert {"ref.g1_mul", "batch_verify/7", "batch_verify/70", "verify_batchable×70"} < set(ops)
    assert {
        f"{r}/{f}/{op}" for r in sigma.RELATIONS for f in ("batchable", "compact") for op in ("prove", "verify")
    } < set(ops)
    assert all(r["median_ms"] > 0 for r in ops.values())
    assert report["ratios_to_g1_mul"][backend]["ref.g1_mul"] == 1.0
    assert len(sigma.rows(report)) == len(ops)
