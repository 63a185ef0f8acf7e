"""``python -m bench ledger``: the in-process witness step and the sizes (the 5-process run is the bench itself)."""

from __future__ import annotations

from bench import ledger


def test_add_checkpoint_is_timed_and_sizes_are_reported() -> None:
    stats = ledger.add_checkpoint(3)
    assert stats["runs"] == 3 and 0 < stats["min_ms"] <= stats["median_ms"] <= stats["max_ms"]
    sizes = ledger._sizes()["sizes"]
    assert sizes["checkpoint_3_cosignatures"] == sizes["checkpoint_note"] + 3 * sizes["cosignature_line"]
    assert ledger.rows({"results": {"ledger": {"add_checkpoint": stats}}})[0][:2] == ["ledger", "add_checkpoint"]


def test_ledger_reads_builds_a_true_ledger_and_reads_it_both_ways(tmp_path) -> None:
    """The bulk-built ledger is a real one (its tiles give the signed root; both read paths agree)."""
    from bench import ledger_reads

    ledger_reads.build(tmp_path, 2 * 256 + 3)
    report = ledger_reads.measure(tmp_path, repeats=1, clients=1, seconds=0.2)  # raises if the two disagree
    assert report["entries"] == 2 * 256 + 3
    assert set(report["results"]) == {"api", "tiles"}
    assert report["results"]["tiles"]["page_256"]["runs"] == 1
    assert ledger_reads.rows(report)[0][:2] == ["api", "checkpoint"]
