"""``python -m bench ledger``: the in-process witness step and the sizes (the 5-process run is the bench itself)."""

from __future__ import annotations

from bench import ledger


def test_add_checkpoint_is_timed_and_sizes_are_reported() -> None:
    stats = ledger.add_checkpoint(3)
    assert stats["runs"] == 3 and 0 < stats["min_ms"] <= stats["median_ms"] <= stats["max_ms"]
    sizes = ledger._sizes()["sizes"]
    assert sizes["checkpoint_3_cosignatures"] == sizes["checkpoint_note"] + 3 * sizes["cosignature_line"]
    assert ledger.rows({"results": {"ledger": {"add_checkpoint": stats}}})[0][:2] == ["ledger", "add_checkpoint"]
