"""``python -m bench compare`` in its quickest form, so the comparison code cannot rot.

zkcred (blst) only, one run, one predicate shape; AnonCreds and matplotlib are optional
(the ``bench`` extra, not installed in CI): their parts skip cleanly without them.
"""

from __future__ import annotations

import importlib.util
import json

import pytest

from bench import compare
from circuits.backend import available_backends

pytestmark = pytest.mark.skipif("blst" not in available_backends(), reason="the quick comparison runs on blst")


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setitem(compare.QUICK, "ks", (1,))
    monkeypatch.setitem(compare.QUICK, "updates", (1, 16))
    monkeypatch.setattr(compare, "REGISTRY_CAPACITY", 64)


def test_quick_pipeline_zkcred_only(tmp_path, tiny):
    report = compare.run(
        out=tmp_path,
        quick=True,
        runs=1,
        systems=(compare.BLST,),
        log=lambda _: None,
        scenarios=("setup", "issuance", "presentation", "revocation"),
    )
    ids = {r["id"] for r in report["rows"]}
    for expected in (
        "setup.cred_def",
        "setup.registry.n1000",
        "setup.registry.n1000.tails_file",
        "issuance.revocable",
        "presentation.create.k1.nr",
        "presentation.verify.k1.plain",
        "presentation.presentation.k1.nr",
        "revocation.revoke",
        "revocation.update.m16",
        "revocation.first_witness",
    ):
        assert expected in ids
    by_id = {r["id"]: r for r in report["rows"]}
    assert by_id["setup.registry.n1000.tails_file"]["values"][compare.BLST] == 0
    assert (
        by_id["presentation.presentation.k1.nr"]["values"][compare.BLST]
        > by_id["presentation.presentation.k1.plain"]["values"][compare.BLST]
    )  # the membership proof travels
    # Without AnonCreds there is no ratio: every target reads "not measured", none is claimed.
    assert all(t["met"] is None for t in report["targets"] if t["limit"] is not None)
    saved = json.loads((tmp_path / "compare.json").read_text())
    assert saved["rows"] == json.loads(json.dumps(report["rows"]))
    md = (tmp_path / "compare.md").read_text()
    assert "## 3. presentation" in md and "## Targets (issue 6)" in md and "python -m bench compare" in md
    assert "5. verifier over HTTP" in md and "Pending" in md  # scenario 5 (services over HTTP) was not asked for
    if importlib.util.find_spec("matplotlib"):
        assert {"compare_presentation_k.png", "compare_setup_n.png"} <= set(report["plots"])
        assert all((tmp_path / p).stat().st_size > 1000 for p in report["plots"])
    else:
        assert report["plots"] == [] and any("matplotlib" in n for n in report["notes"])


def test_merge_keeps_other_scenarios(tmp_path, tiny):
    first = compare.run(
        out=tmp_path, quick=True, runs=1, systems=(compare.BLST,), log=lambda _: None, scenarios=("issuance",)
    )
    second = compare.run(
        out=tmp_path,
        quick=True,
        runs=1,
        systems=(compare.BLST,),
        log=lambda _: None,
        scenarios=("revocation",),
        merge=True,
    )
    assert {r["id"] for r in first["rows"]} < {r["id"] for r in second["rows"]}
    assert [s["scenarios"] for s in second["sessions"]] == [["issuance"], ["revocation"]]
    assert "## 2. issuance" in (tmp_path / "compare.md").read_text()


def test_alternate_interleaves_and_counts():
    calls: list[str] = []
    stats = compare.alternate(
        {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, {"a": 3, "b": 1}, warmup=False
    )
    assert calls == ["a", "b", "a", "a"]
    assert stats["a"]["runs"] == 3 and stats["b"]["runs"] == 1
    assert stats["a"]["min_ms"] <= stats["a"]["median_ms"] <= stats["a"]["max_ms"]


def test_targets_ratio_and_verdict():
    rows = [
        {
            "id": "issuance.revocable",
            "kind": "ms",
            "values": {compare.BLST: {"median_ms": 10.0}, compare.ANONCREDS: {"median_ms": 50.0}},
        },
        {"id": "setup.registry.n10000.tails_file", "kind": "bytes", "values": {compare.BLST: 0, compare.ANONCREDS: 9}},
    ]
    targets = {t["id"]: t for t in compare.evaluate_targets(rows)}
    assert targets["issuance.revocable"]["ratio"] == pytest.approx(0.2) and targets["issuance.revocable"]["met"]
    assert targets["setup.registry.n10000.tails_file"]["met"] is True
    assert targets["presentation.verify.k1.nr"]["met"] is None


def test_anoncreds_driver_matches_the_shape():
    """The AnonCreds side issues, presents (k = 1, non-revocation) and verifies; skipped without the extra."""
    pytest.importorskip("anoncreds")
    from bench.anoncreds_side import AnonCredsSide

    side = AnonCredsSide(compare.SHAPE, registry_capacity=16)
    try:
        create, verify, sizes = side.presentation(1, True)
        verify()
        assert sizes["presentation"] > 1000
        run, update_sizes = side.holder_update(3)
        run()
        assert update_sizes["holder_download"] > 0
    finally:
        side.close()
