"""``python -m bench compare --out docs/benchmarks [--quick]``: zkcred and Hyperledger AnonCreds side by side (issue 6).

Scenarios, each run for zkcred (blst), zkcred (py_ecc, where it finishes in reasonable
time) and AnonCreds (``anoncreds`` on PyPI, the Python wrapper of anoncreds-rs; the
optional ``bench`` extra) in the same process run:

1. issuer setup: credential definition; revocation registry for N = 1 000, 10 000,
   100 000 (time, bytes to publish, bytes a holder must download — AnonCreds' tails file);
2. issuance: offer → request → credential → holder check, plain and revocable;
3. presentation, 2 disclosed of 10 attributes and k = 0, 1, 2, 5, 10 predicates, with and
   without non-revocation: create, verify, bytes;
4. revocation: revoke one, holder update after 1 / 10 / 100 revocations, a holder's
   first non-revocation witness;
5. the verifier over HTTP (zkcred only; :mod:`bench.compare_http`): throughput and p50/p99
   latency with 1, 8, 32 clients, 1 and 2 workers, SQLite and PostgreSQL.

Timing: the systems alternate run by run (run i of every system before run i + 1 of
any; the starting system rotates), so load from other work on this shared machine falls
on all of them alike. Each cell is the median with min and max; ``runs`` says how many.
py_ecc runs a third as often and only the target shape (see :data:`PY_ECC`); AnonCreds'
slowest setups run fewer times (:data:`ANONCREDS_RUNS`: its CL keys need safe primes, its
registries a tails file), and N = 100 000 runs once for every system.

Outputs in ``--out``: ``compare.json`` (everything), ``compare.md`` (the table, the
targets of issue 6 and where we lose, with the machine and the exact command), and PNG
plots (``compare_ratio.png``, ``compare_presentation_k.png``, ``compare_setup_n.png``;
matplotlib's Agg backend, skipped with a note if matplotlib is missing).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypedDict

from bench.common import alternate
from circuits.backend import available_backends

#: AnonCreds predicates compare 32-bit signed integers (anoncreds-rs ``p_value: i32``): zkcred's
#: schema declares the same domain, so both systems prove the same statements (and zkcred's range
#: proofs are sized for 32 bits, as AnonCreds' four-squares proofs are for i32).
I32 = "int(-2147483648..2147483647)"

#: The credential every system issues: 2 strings to disclose, 8 integers for predicates.
SHAPE: dict[str, Any] = {
    "attributes": [
        ("given_name", "string", "Ada"),
        ("employer", "string", "Analytical Engines BV"),
        ("income", I32, 64000),
        ("birth_year", I32, 1990),
        ("salary", I32, 5333),
        ("employed", I32, 1),
        ("debt", I32, 1200),
        ("children", I32, 0),
        ("score", I32, 710),
        ("tenure", I32, 6),
    ],
    "disclose": ("given_name", "employer"),
    # k predicates = the first k; only >=, >, <=, < (all AnonCreds has). Two attributes get
    # a second bound at k = 10 (10 predicates over 8 integer attributes).
    "predicates": [
        ("income", ">=", 50000),
        ("birth_year", "<=", 2008),
        ("score", ">=", 600),
        ("debt", "<", 100000),
        ("children", "<=", 5),
        ("salary", ">", 3000),
        ("tenure", ">=", 1),
        ("employed", ">=", 1),
        ("income", "<=", 1000000),
        ("score", "<=", 850),
    ],
}


class Mode(TypedDict):
    """How much a run measures: runs per operation, registry sizes N, predicate counts k, revocation counts."""

    runs: int
    sizes: tuple[int, ...]
    ks: tuple[int, ...]
    updates: tuple[int, ...]


FULL: Mode = {"runs": 10, "sizes": (1_000, 10_000, 100_000), "ks": (0, 1, 2, 5, 10), "updates": (1, 10, 100)}
QUICK: Mode = {"runs": 3, "sizes": (1_000,), "ks": (0, 1, 5), "updates": (1, 10, 100)}
#: Fewer runs for AnonCreds where one run takes many seconds (safe-prime CL keys; a tails file of N
#: G2 points each time); zkcred keeps the full count. N = 100 000 is one run for both.
ANONCREDS_RUNS = {"setup.cred_def": 5, "setup.registry.n10000": 5, "setup.registry.n100000": 1}
LARGE_N_RUNS = {100_000: 1}
#: The registry behind presentations and revocation: N = 1 000.
REGISTRY_CAPACITY = 1_000


#: Where py_ecc runs (it is 100–200× slower than blst): fewer runs, the target shape only.
class PyEccLimits(TypedDict):
    runs_divisor: int
    max_n: int
    ks: tuple[int, ...]
    non_revoked: tuple[bool, ...]


PY_ECC: PyEccLimits = {"runs_divisor": 3, "max_n": 10_000, "ks": (1,), "non_revoked": (True,)}

SCENARIO_5 = "5. verifier over HTTP"

BLST, PY_ECC_LABEL, ANONCREDS = "zkcred-blst", "zkcred-py_ecc", "anoncreds"
COLUMNS = (BLST, PY_ECC_LABEL, ANONCREDS)


def _n(n: int) -> str:
    return f"{n:,}".replace(",", " ")


# Timing ----------------------------------------------------------------------------------------


# The run -----------------------------------------------------------------------------------------


class Comparison:
    """Builds the systems once, runs every scenario, collects rows ``{id, scenario, what, kind, params, values}``."""

    def __init__(
        self,
        *,
        runs: int,
        sizes: tuple[int, ...],
        ks: tuple[int, ...],
        updates: tuple[int, ...],
        systems: tuple[str, ...],
        log: Callable[[str], None] = print,
    ) -> None:
        self.runs, self.sizes, self.ks, self.updates = runs, sizes, ks, updates
        self.log = log
        self.rows: list[dict[str, Any]] = []
        self.systems: dict[str, Any] = {}
        self.skipped: list[str] = []
        self.notes: list[str] = []
        self.quick = False
        self.http_status = "not run: not among the scenarios of this run (--scenarios …,http)"
        from bench import zkcred_side

        for label in systems:
            t0 = time.perf_counter()
            if label.startswith("zkcred-"):
                backend = label.split("-", 1)[1]
                if backend not in available_backends():
                    self.skipped.append(f"{label}: backend not available")
                    continue
                self.systems[label] = zkcred_side.ZkcredSide(backend, SHAPE, registry_capacity=REGISTRY_CAPACITY)
            elif label == ANONCREDS:
                try:
                    from bench import anoncreds_side
                except ImportError:
                    self.skipped.append("anoncreds: not installed (pip install -e '.[bench]')")
                    continue
                self.systems[label] = anoncreds_side.AnonCredsSide(SHAPE, registry_capacity=REGISTRY_CAPACITY)
            else:
                raise ValueError(f"unknown system {label!r}")
            self.log(f"  {label}: fixture ready in {time.perf_counter() - t0:.1f} s")

    def close(self) -> None:
        for system in self.systems.values():
            if hasattr(system, "close"):
                system.close()

    def _count(self, label: str, base: int | None = None) -> int:
        n = self.runs if base is None else base
        return max(1, n // PY_ECC["runs_divisor"]) if label == PY_ECC_LABEL else n

    def _time(
        self,
        row_id: str,
        scenario: str,
        what: str,
        params: dict,
        makers: dict[str, Callable],
        *,
        runs: int | None = None,
        warmup: bool = True,
        size_keys: dict[str, str] | None = None,
    ) -> None:
        """Build each system's (run, sizes) with ``makers``, time them alternating, store one time row (+ size rows)."""
        t0 = time.perf_counter()
        built = {label: make() for label, make in makers.items()}
        runs_by = {label: b[0] for label, b in built.items()}
        counts = {label: self._count(label, runs) for label in built}
        if ANONCREDS in counts and row_id in ANONCREDS_RUNS:
            counts[ANONCREDS] = min(counts[ANONCREDS], ANONCREDS_RUNS[row_id])
        stats = alternate(runs_by, counts, warmup=warmup)
        self.rows.append(
            {"id": row_id, "scenario": scenario, "what": what, "kind": "ms", "params": params, "values": stats}
        )
        for key, label_text in (size_keys or {}).items():
            values = {label: b[1][key] for label, b in built.items() if key in b[1]}
            if values:
                self.rows.append(
                    {
                        "id": f"{row_id}.{key}",
                        "scenario": scenario,
                        "what": label_text,
                        "kind": "bytes",
                        "params": params,
                        "values": values,
                    }
                )
        self.log(
            f"  {row_id}: "
            + ", ".join(f"{k} {v['median_ms']:.1f} ms" for k, v in stats.items())
            + f"  [{time.perf_counter() - t0:.0f} s]"
        )

    def _for(self, method: str, *args, only: Callable[[str], bool] = lambda label: True) -> dict[str, Callable]:
        return {label: (lambda s=s: getattr(s, method)(*args)) for label, s in self.systems.items() if only(label)}

    # 1. issuer setup
    def setup(self) -> None:
        sc = "1. issuer setup"
        self._time(
            "setup.cred_def",
            sc,
            "credential definition (AnonCreds: with revocation keys)",
            {},
            self._for("credential_definition"),
            size_keys={"publish": "credential definition bytes to publish"},
        )
        for n in self.sizes:
            runs = min(self.runs, LARGE_N_RUNS.get(n, self.runs))
            only = (lambda label: label != PY_ECC_LABEL) if n > PY_ECC["max_n"] else (lambda label: True)
            self._time(
                f"setup.registry.n{n}",
                sc,
                f"revocation registry, N = {_n(n)}",
                {"n": n},
                self._for("registry_setup", n, only=only),
                runs=runs,
                warmup=False,
                size_keys={
                    "publish": f"registry bytes to publish, N = {_n(n)}",
                    "holder_download": f"registry bytes a holder downloads, N = {_n(n)}",
                    "tails_file": f"tails file bytes, N = {_n(n)}",
                },
            )

    # 2. issuance
    def issuance(self) -> None:
        sc = "2. issuance"
        for revocable in (False, True):
            tag = "revocable" if revocable else "plain"
            what = f"offer → request → credential → holder check ({tag})"
            self._time(
                f"issuance.{tag}",
                sc,
                what,
                {"revocable": revocable},
                self._for("issuance", revocable),
                size_keys={"total": f"issuance bytes, offer + request + credential ({tag})"},
            )

    # 3. presentation
    def presentation(self) -> None:
        sc = "3. presentation"
        for nr in (False, True):
            for k in self.ks:
                params = {"k": k, "non_revoked": nr}
                tag = f"k{k}.{'nr' if nr else 'plain'}"
                suffix = f"k = {k}{', non-revocation' if nr else ''}"
                py_ok = k in PY_ECC["ks"] and nr in PY_ECC["non_revoked"]

                def only(label, ok=py_ok):
                    return ok or label != PY_ECC_LABEL

                t0 = time.perf_counter()
                built = {label: make() for label, make in self._for("presentation", k, nr, only=only).items()}
                for op, index in (("create", 0), ("verify", 1)):
                    stats = alternate(
                        {label: b[index] for label, b in built.items()}, {label: self._count(label) for label in built}
                    )
                    self.rows.append(
                        {
                            "id": f"presentation.{op}.{tag}",
                            "scenario": sc,
                            "what": f"{op}, {suffix}",
                            "kind": "ms",
                            "params": {**params, "op": op},
                            "values": stats,
                        }
                    )
                for key, text in (("presentation", "bytes (JSON wire)"), ("presentation_binary", "bytes (binary)")):
                    values = {label: b[2][key] for label, b in built.items() if key in b[2]}
                    if key == "presentation_binary":  # AnonCreds has JSON only: compare our binary with it
                        values.update({label: b[2]["presentation"] for label, b in built.items() if label == ANONCREDS})
                    self.rows.append(
                        {
                            "id": f"presentation.{key}.{tag}",
                            "scenario": sc,
                            "what": f"{text}, {suffix}",
                            "kind": "bytes",
                            "params": params,
                            "values": values,
                        }
                    )
                self.log(
                    f"  presentation {tag}: [{time.perf_counter() - t0:.0f} s] "
                    + ", ".join(
                        f"{r['id'].split('.')[1]} {lab} {v['median_ms']:.0f}"
                        for r in self.rows[-4:-2]
                        for lab, v in r["values"].items()
                    )
                )

    # 4. revocation
    def revocation(self) -> None:
        sc = "4. revocation"
        self._time(
            "revocation.revoke",
            sc,
            "issuer: revoke one",
            {},
            self._for("revoke_one"),
            size_keys={"publish": "bytes published per revocation"},
        )
        for m in self.updates:
            self._time(
                f"revocation.update.m{m}",
                sc,
                f"holder update after {m} revocation{'s' if m > 1 else ''}",
                {"m": m},
                self._for("holder_update", m),
                size_keys={"holder_download": f"bytes a holder downloads for {m} revocation{'s' if m > 1 else ''}"},
            )
        self._time(
            "revocation.first_witness",
            sc,
            f"holder's first witness, N = {_n(REGISTRY_CAPACITY)}",
            {},
            self._for("first_witness"),
            size_keys={"holder_download": "bytes before the first witness"},
        )

    # 5. verifier over HTTP (zkcred only: AnonCreds ships no HTTP verifier)
    def http(self) -> None:
        from bench import compare_http

        why = compare_http.available()
        if why is None and BLST not in self.systems:
            why = "zkcred-blst is not among the systems of this run"
        if why is not None:
            self.http_status = f"not run: {why}"
            return
        rows, notes = compare_http.run(SHAPE, quick=self.quick, log=self.log)
        self.rows += rows
        self.notes += notes
        self.http_status = "measured" if rows else "not run: no configuration could start (see notes)"

    def run(self, scenarios: tuple[str, ...]) -> None:
        for name in scenarios:
            t0 = time.perf_counter()
            self.log(f"scenario {name}")
            getattr(self, name)()
            self.log(f"scenario {name}: {time.perf_counter() - t0:.0f} s")


# Targets of issue 6 -----------------------------------------------------------------------------


TARGETS = [
    ("presentation verify, k = 1, non-revocation", "presentation.verify.k1.nr", 1 / 6),
    ("presentation create, k = 1, non-revocation", "presentation.create.k1.nr", 1 / 3),
    ("presentation bytes, k = 1, non-revocation (JSON wire)", "presentation.presentation.k1.nr", 1 / 8),
    ("presentation bytes, k = 1, non-revocation (zkcred binary)", "presentation.presentation_binary.k1.nr", 1 / 8),
    ("presentation verify, k = 5, non-revocation", "presentation.verify.k5.nr", 1 / 8),
    ("presentation bytes, k = 5, non-revocation (JSON wire)", "presentation.presentation.k5.nr", 1 / 15),
    ("presentation bytes, k = 5, non-revocation (zkcred binary)", "presentation.presentation_binary.k5.nr", 1 / 15),
    ("registry setup, N = 10 000", "setup.registry.n10000", 1 / 20),
    ("registry setup, N = 10 000: no tails file", "setup.registry.n10000.tails_file", None),
    ("issuance (revocable)", "issuance.revocable", 1 / 4),
    ("issuance (plain)", "issuance.plain", 1 / 4),
]


def _value(row: dict, label: str) -> float | None:
    v = row["values"].get(label)
    if row["kind"] == "http":
        return None
    if v is None:
        return None
    return v["median_ms"] if isinstance(v, dict) else float(v)


def ratio(row: dict, label: str = BLST) -> float | None:
    a, b = _value(row, label), _value(row, ANONCREDS)
    return a / b if a is not None and b else None


def evaluate_targets(rows: list[dict]) -> list[dict]:
    by_id = {r["id"]: r for r in rows}
    out = []
    for name, row_id, limit in TARGETS:
        row = by_id.get(row_id)
        if row is None:
            out.append({"target": name, "id": row_id, "limit": limit, "ratio": None, "met": None})
            continue
        if limit is None:  # "no tails file": zkcred's tails bytes are 0
            zk = _value(row, BLST)
            out.append(
                {
                    "target": name,
                    "id": row_id,
                    "limit": None,
                    "ratio": None,
                    "zkcred": zk,
                    "anoncreds": _value(row, ANONCREDS),
                    "met": zk == 0 if zk is not None else None,
                }
            )
            continue
        r = ratio(row)
        out.append(
            {"target": name, "id": row_id, "limit": limit, "ratio": r, "met": (r <= limit) if r is not None else None}
        )
    return out


# Report ----------------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    info = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "backends": available_backends(),
    }
    try:
        import subprocess

        root = Path(__file__).resolve().parent.parent
        info["commit"] = (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
            ).stdout.strip()
            or None
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "circuits", "bench"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.split("\n")
        info["uncommitted"] = sorted(line[3:] for line in dirty if line.strip())
    except (OSError, subprocess.SubprocessError):
        info["commit"], info["uncommitted"] = None, []
    try:
        import anoncreds

        info["anoncreds"] = anoncreds.library_version()
    except ImportError:
        info["anoncreds"] = None
    return info


def _fmt_ms(v: dict) -> str:
    m = v["median_ms"]
    unit, div = ("s", 1e3) if m >= 1e4 else ("ms", 1.0)
    f = (
        (lambda x: f"{x / div:.1f}")
        if m / div >= 10
        else (lambda x: f"{x / div:.2f}")
        if m / div >= 1
        else (lambda x: f"{x / div:.3f}")
    )
    return f"{f(m)} {unit} ({f(v['min_ms'])}–{f(v['max_ms'])}, n={v['runs']})"


def _fmt_bytes(v: float) -> str:
    return f"{int(v):,} B".replace(",", " ")


def _fmt_ratio(r: float | None) -> str:
    if r is None:
        return "—"
    if r == 0:
        return "0 (none)"
    if r >= 1:
        return f"{r:.2f}×"
    return f"{r:.3f} (1/{1 / r:.0f})" if r < 0.01 else f"{r:.3f} (1/{1 / r:.1f})"


def write_markdown(report: dict, path: Path) -> None:
    rows, m = report["rows"], report["machine"]
    lines = [
        "# zkcred vs Hyperledger AnonCreds",
        "",
        *(
            f"- Measured {s['date']} with `{s['command']}` ({s['mode']} mode, scenarios {', '.join(s['scenarios'])}; "
            f"{s['elapsed_s']:.0f} s; load average {s['load']['start']} → {s['load']['end']}); code at commit "
            f"{s.get('commit')}"
            + (f" plus uncommitted changes in {', '.join(s['uncommitted'])}" if s.get("uncommitted") else "")
            + "."
            + (f" ({s['note']}.)" if s.get("note") else "")
            for s in report["sessions"]
        ),
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['platform']}, Python {m['python']}; AnonCreds "
        f"{m.get('anoncreds') or 'not installed'} (`anoncreds` wheel, anoncreds-rs), zkcred backends "
        f"{', '.join(m['backends'])}. The machine is shared with other engineers' work (see the load averages), so "
        "absolute times carry noise; within a run the systems alternate run by run, so the ratios are fairer than "
        "the absolute figures.",
        "",
        "Cells: median (min–max, n = runs). Ratio = zkcred-blst / AnonCreds (below 1: zkcred is cheaper). "
        "Bytes are JSON on the wire for both (docs/api.md for zkcred), except the rows marked binary (zkcred's "
        "binary encoding against AnonCreds' JSON, its only format).",
        "",
    ]
    for s in report["skipped"]:
        lines.append(f"- skipped: {s}")
    scenario = None
    for row in rows:
        if row["kind"] == "http":
            continue
        if row["scenario"] != scenario:
            scenario = row["scenario"]
            lines += [
                "",
                f"## {scenario}",
                "",
                "| operation | zkcred-blst | zkcred-py_ecc | AnonCreds | ratio blst / AnonCreds |",
                "|---|---|---|---|---|",
            ]
        cells = []
        for label in COLUMNS:
            v = row["values"].get(label)
            cells.append("—" if v is None else _fmt_ms(v) if row["kind"] == "ms" else _fmt_bytes(v))
        lines.append(f"| {row['what']} | " + " | ".join(cells) + f" | {_fmt_ratio(ratio(row))} |")
    lines += ["", f"## {SCENARIO_5}", ""]
    http = [r for r in rows if r["kind"] == "http"]
    if http:
        lines += [
            "zkcred only (AnonCreds ships no HTTP verifier): `POST /requests/{id}/presentation` on loopback, "
            "each a fresh request (2 disclosed, income ≥ 50 000, non-revocation) answered before the clock "
            "starts; a bounded run of n requests per line; the load generator runs on the same 2 cores.",
            "",
            "| database | workers | clients | n | throughput | p50 | p99 | errors |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in http:
            v, p = r["values"][BLST], r["params"]
            lines.append(
                f"| {p['database']} | {p['workers']} | {p['clients']} | {v['requests']} | "
                f"{v['throughput_rps']:.1f} req/s | {v['p50_ms']:.0f} ms | {v['p99_ms']:.0f} ms | {v['errors']} |"
            )
    else:
        lines.append(f"Pending — {report.get('scenario_5')}.")
    lines.append("")
    lines += ["## Targets (issue 6)", "", "| target | limit | measured | met |", "|---|---|---|---|"]
    for t in report["targets"]:
        if t["limit"] is None:
            measured = (
                f"zkcred {_fmt_bytes(t['zkcred'] or 0)}, AnonCreds {_fmt_bytes(t['anoncreds'] or 0)}"
                if "zkcred" in t
                else "—"
            )
            limit = "0 B"
        else:
            measured, limit = _fmt_ratio(t["ratio"]), f"1/{1 / t['limit']:.0f}"
        met = {True: "yes", False: "**no**", None: "not measured"}[t["met"]]
        lines.append(f"| {t['target']} | {limit} | {measured} | {met} |")
    losses = [r for r in rows if (ratio(r) or 0) > 1]
    lines += ["", "## Where zkcred loses", ""]
    if not losses:
        lines.append("Nowhere in this run.")

    def cell(r: dict, label: str) -> str:
        return _fmt_ms(r["values"][label]) if r["kind"] == "ms" else _fmt_bytes(r["values"][label])

    groups: dict[str | None, list[dict]] = {}
    for r in losses:
        groups.setdefault(loss_reason(r["id"]), []).append(r)
    for why, group in groups.items():
        for r in group:
            lines.append(
                f"- {r['scenario']} — {r['what']}: zkcred-blst {cell(r, BLST)} against AnonCreds "
                f"{cell(r, ANONCREDS)} ({_fmt_ratio(ratio(r))})."
            )
        if why:
            lines += ["", f"  Why: {why}", ""]
    notes = report.get("notes") or []
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    plots = report.get("plots") or []
    if plots:
        lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in plots]
    path.write_text("\n".join(lines) + "\n")


def write_plots(report: dict, out: Path) -> list[str]:
    """Three PNGs; returns their file names (empty, with a note in the report, without matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        report.setdefault("notes", []).append("plots skipped: matplotlib not installed (pip install -e '.[bench]')")
        return []
    commands = "; ".join(dict.fromkeys(s["command"] for s in report.get("sessions") or [report]))
    rows, stamp = report["rows"], f"{report['machine']['cpu']}, {report['machine']['cores']} cores — {commands}"
    written = []

    # 1. Ratio bars, one per row where both zkcred-blst and AnonCreds were measured.
    def duplicate(row_id: str) -> bool:  # of the JSON-wire and holder-download rows
        return ".presentation_binary." in row_id or (
            row_id.startswith("setup.registry.") and row_id.endswith(".publish")
        )

    pairs = [(f"{r['scenario'][:2]} {r['what']}", ratio(r)) for r in rows if ratio(r) and not duplicate(r["id"])]
    if pairs:
        fig, ax = plt.subplots(figsize=(10, 0.28 * len(pairs) + 1.6))
        names, values = zip(*pairs, strict=True)
        colors = ["tab:green" if v < 1 else "tab:red" for v in values]
        ax.barh(range(len(values)), values, color=colors)
        ax.set_xscale("log")
        ax.axvline(1, color="black", linewidth=0.8)
        ax.set_yticks(range(len(values)), names, fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel("zkcred-blst / AnonCreds (log; < 1: zkcred cheaper or smaller)")
        ax.set_title("zkcred (blst) relative to AnonCreds, per scenario", fontsize=10)
        fig.text(0.01, 0.005, stamp, fontsize=6)
        fig.tight_layout(rect=(0, 0.02, 1, 1))
        fig.savefig(out / "compare_ratio.png", dpi=110)
        plt.close(fig)
        written.append("compare_ratio.png")

    # 2. Presentation cost and size against k.
    pres = [r for r in rows if r["id"].startswith("presentation.")]
    if pres:
        fig, (ax_t, ax_b) = plt.subplots(1, 2, figsize=(11, 4.2))
        for label, color in ((BLST, "tab:blue"), (PY_ECC_LABEL, "tab:purple"), (ANONCREDS, "tab:orange")):
            for op, marker in (("create", "o"), ("verify", "s")):
                for nr, style in ((True, "-"), (False, "--")):
                    pts = sorted(
                        (r["params"]["k"], r["values"][label]["median_ms"])
                        for r in pres
                        if r["kind"] == "ms"
                        and r["params"].get("op") == op
                        and r["params"]["non_revoked"] == nr
                        and label in r["values"]
                    )
                    if pts:
                        ax_t.plot(
                            *zip(*pts, strict=True),
                            style,
                            marker=marker,
                            color=color,
                            markersize=4,
                            label=f"{label} {op}{' +nonrev' if nr else ''}",
                        )
            for key, style in (("presentation.presentation.", "-"), ("presentation.presentation_binary.", ":")):
                pts = sorted(
                    (r["params"]["k"], r["values"][label])
                    for r in pres
                    if r["id"].startswith(key) and r["params"]["non_revoked"] and label in r["values"]
                )
                if pts and not (label == ANONCREDS and "binary" in key):
                    ax_b.plot(
                        *zip(*pts, strict=True),
                        style,
                        marker="o",
                        color=color,
                        markersize=4,
                        label=f"{label}{' (binary)' if 'binary' in key else ' (JSON)'}",
                    )
        ax_t.set_yscale("log")
        ax_t.set_xlabel("k predicates (2 of 10 attributes disclosed)")
        ax_t.set_ylabel("ms (median)")
        ax_t.set_title("presentation cost against k", fontsize=10)
        ax_t.legend(fontsize=6)
        ax_b.set_yscale("log")
        ax_b.set_xlabel("k predicates (with non-revocation)")
        ax_b.set_ylabel("bytes")
        ax_b.set_title("presentation size against k", fontsize=10)
        ax_b.legend(fontsize=7)
        fig.text(0.01, 0.005, stamp, fontsize=6)
        fig.tight_layout(rect=(0, 0.03, 1, 1))
        fig.savefig(out / "compare_presentation_k.png", dpi=110)
        plt.close(fig)
        written.append("compare_presentation_k.png")

    # 3. Registry setup time and holder download against N.
    setup = [r for r in rows if r["id"].startswith("setup.registry.")]
    if setup:
        fig, (ax_t, ax_b) = plt.subplots(1, 2, figsize=(11, 4.2))
        for label, color in ((BLST, "tab:blue"), (PY_ECC_LABEL, "tab:purple"), (ANONCREDS, "tab:orange")):
            pts = sorted(
                (r["params"]["n"], r["values"][label]["median_ms"])
                for r in setup
                if r["kind"] == "ms" and label in r["values"]
            )
            if pts:
                ax_t.plot(*zip(*pts, strict=True), "-o", color=color, label=label)
            pts = sorted(
                (r["params"]["n"], r["values"][label])
                for r in setup
                if r["id"].endswith(".holder_download") and label in r["values"]
            )
            if pts:
                ax_b.plot(*zip(*pts, strict=True), "-o", color=color, label=label)
        for ax, title, unit in (
            (ax_t, "registry setup time against N", "ms (median)"),
            (ax_b, "bytes a holder downloads against N", "bytes"),
        ):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("N (registry capacity)")
            ax.set_ylabel(unit)
            ax.set_title(title, fontsize=10)
            ax.legend(fontsize=7)
        fig.text(0.01, 0.005, stamp, fontsize=6)
        fig.tight_layout(rect=(0, 0.03, 1, 1))
        fig.savefig(out / "compare_setup_n.png", dpi=110)
        plt.close(fig)
        written.append("compare_setup_n.png")
    return written


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def sessions_of(report: dict) -> list[dict]:
    """The runs a report holds (a report written before sessions were recorded: its one command)."""
    if report.get("sessions"):
        return report["sessions"]
    m = report.get("machine", {})
    return [
        {
            "command": report["command"],
            "date": report["date"],
            "mode": report["mode"],
            "load": report["load"],
            "elapsed_s": report["elapsed_s"],
            "commit": m.get("commit"),
            "uncommitted": m.get("uncommitted", []),
            "scenarios": sorted({r["scenario"] for r in report["rows"]}),
        }
    ]


def render(out: Path) -> dict:
    """Rewrite compare.md and the plots from ``out/compare.json`` (no measuring)."""
    report = json.loads((out / "compare.json").read_text())
    report["sessions"] = sessions_of(report)
    report["targets"] = evaluate_targets(report["rows"])
    report["plots"] = write_plots(report, out)
    (out / "compare.json").write_text(json.dumps(report, indent=1, default=list) + "\n")
    write_markdown(report, out / "compare.md")
    return report


def run(
    *,
    out: Path,
    quick: bool = False,
    runs: int | None = None,
    systems: tuple[str, ...] = COLUMNS,
    merge: bool = False,
    scenarios: tuple[str, ...] = ("setup", "issuance", "presentation", "revocation", "http"),
    command: str = "python -m bench compare",
    log: Callable[[str], None] = print,
) -> dict:
    """Run the comparison and write compare.json, compare.md and the plots into ``out``; return the report.

    ``merge``: keep the rows of ``out/compare.json`` from scenarios this run does not repeat (their
    commands stay listed), e.g. to add scenario 5 to a finished run of 1–4.
    """
    mode = QUICK if quick else FULL
    started, load_start = time.perf_counter(), _load()
    cmp = Comparison(
        runs=runs or mode["runs"], sizes=mode["sizes"], ks=mode["ks"], updates=mode["updates"], systems=systems, log=log
    )
    cmp.quick = quick
    try:
        cmp.run(scenarios)
    finally:
        cmp.close()
    report: dict[str, Any] = {
        "command": command,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "mode": "quick" if quick else "full",
        "machine": machine_info(),
        "load": {"start": load_start, "end": _load()},
        "elapsed_s": time.perf_counter() - started,
        "settings": {
            "runs": cmp.runs,
            "registry_capacity": REGISTRY_CAPACITY,
            "large_n_runs": LARGE_N_RUNS,
            "anoncreds_runs": ANONCREDS_RUNS,
            "py_ecc": PY_ECC,
            "sizes": cmp.sizes,
            "ks": cmp.ks,
            "updates": cmp.updates,
        },
        "shape": SHAPE,
        "systems": list(cmp.systems),
        "skipped": cmp.skipped,
        "rows": cmp.rows,
        "scenario_5": cmp.http_status,
        "notes": list(NOTES) + cmp.notes,
    }
    report["sessions"] = [
        {k: report[k] for k in ("command", "date", "mode", "load", "elapsed_s")}
        | {
            "scenarios": list(scenarios),
            "commit": report["machine"].get("commit"),
            "uncommitted": report["machine"].get("uncommitted", []),
        }
    ]
    previous = out / "compare.json"
    if merge and previous.exists():
        old = json.loads(previous.read_text())
        ran = {r["scenario"] for r in cmp.rows} | ({SCENARIO_5} if "http" in scenarios else set())
        kept = [r for r in old["rows"] if r["scenario"] not in ran]
        report["rows"] = sorted(kept + cmp.rows, key=lambda r: r["scenario"][:2])
        report["sessions"] = sessions_of(old) + report["sessions"]
        report["skipped"] = sorted(set(old.get("skipped", [])) | set(cmp.skipped))
        report["notes"] = list(dict.fromkeys(old.get("notes", []) + report["notes"]))
        if "http" not in scenarios:
            report["scenario_5"] = old.get("scenario_5", report["scenario_5"])
    report["targets"] = evaluate_targets(report["rows"])
    out.mkdir(parents=True, exist_ok=True)
    report["plots"] = write_plots(report, out)
    (out / "compare.json").write_text(json.dumps(report, indent=1, default=list) + "\n")
    write_markdown(report, out / "compare.md")
    return report


#: Why zkcred loses where it does, by (row id prefix, suffix), most specific first; numbers are in the table.
LOSS_REASONS = {
    ("revocation.update.", ""): (
        "AnonCreds' holder update is native Rust over the tails file: for each index revoked since its last "
        "update the holder reads one entry the issuer precomputed at setup (a G2 point) and adds it into its "
        "witness — no scalar multiplication, no inversion. zkcred has no tails: per event the holder computes "
        "(y_j − y)^-1 and one G1 multiplication (composed into one MSM from 16 events on), after decoding each "
        "event's point with its subgroup check, with the scalar work in Python. AnonCreds pays for its cheap "
        "update up front: the tails file every holder downloads before its first presentation (scenario 1) and "
        "an O(N) first witness."
    ),
    ("revocation.update.", ".holder_download"): (
        "zkcred publishes one 80-byte event per revocation (the handle and the new accumulator value, so a "
        "holder can step through them and a verifier can name the value at any height); AnonCreds publishes a "
        "whole status list (a JSON array with one entry per credential of the registry, ~2 B each, plus one "
        "accumulator), whose size grows with N and not with the number of revocations: with N = 1 000 the "
        "crossover is near 30 revocations. A holder who is many events behind could instead fetch only the "
        "latest value and a fresh witness from the issuer (not implemented)."
    ),
    ("presentation.create.", ""): (
        "zkcred's prover is Python driving blst: the aggregated Bulletproofs+ proof over (k + 1)·32 bits "
        "(padded to a power of two) folds its generators round by round, ~4 group multiplications per bit of N "
        "(N/2 + N/2 in the first round as arkworks MSMs, then one blst multiplication per folded point and per "
        "L/R term, ~100 µs each here): that floor, not the Python around it, dominates creation. No installable "
        "package offers a faster batch of independent G1 multiplications; verification is one multi-scalar "
        "multiplication and stays far cheaper. AnonCreds' CL prover is native Rust; its per-predicate cost is "
        "larger (RSA-group four-squares proofs) but it has no interpreter between its operations."
    ),
    ("issuance.plain", ""): (
        "Without revocation both issue one signature; zkcred's holder request is a blind commitment with a "
        "proof of knowledge, the issuer's blind sign and the holder's check are a few G1 multiplications and "
        "pairings driven from Python, while AnonCreds' CL issuance is native."
    ),
}


def loss_reason(row_id: str) -> str | None:
    for (prefix, suffix), why in sorted(LOSS_REASONS.items(), key=lambda kv: -len(kv[0][0] + kv[0][1])):
        if row_id.startswith(prefix) and row_id.endswith(suffix):
            return why
    return None


NOTES = (
    "zkcred proves one more range statement than asked (non-expiry, DESIGN §5): k predicates are k + 1 ranges "
    "in one aggregated Bulletproofs+ proof (n = 32: the schema declares AnonCreds' own i32 domain for the "
    "integers, and expiry is a date). AnonCreds has no expiry statement.",
    "Verify includes parsing the presentation from its JSON (zkcred: curve and subgroup checks on every point); "
    "both verifiers hold the definition (and registry, status list / accumulator value) already parsed.",
    "The registry behind presentations and revocation has N = 1 000. AnonCreds' holder update and first witness "
    "read its tails file; zkcred's holder needs only the published events (80 B each: handle + new value).",
    "zkcred's issuance includes the issuer computing the holder's accumulator witness and the holder checking it "
    "(a pairing); AnonCreds' holder builds its revocation state later from the tails file (row 'holder's first "
    "witness').",
    "AnonCreds' credential definition time is dominated by finding safe primes for its CL (RSA-type) keys, so it "
    "varies widely from run to run.",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench compare", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks"), help="output directory")
    parser.add_argument("--quick", action="store_true", help="fewer runs, N = 1 000 only, k ∈ {0, 1, 5}")
    parser.add_argument("--runs", type=int, help="runs per operation (default 10, quick 3; py_ecc a third)")
    parser.add_argument("--systems", default=",".join(COLUMNS), help=f"comma list of {', '.join(COLUMNS)}")
    parser.add_argument("--scenarios", default="setup,issuance,presentation,revocation,http")
    parser.add_argument("--merge", action="store_true", help="keep other scenarios' rows from --out/compare.json")
    parser.add_argument("--render", action="store_true", help="only rewrite compare.md and the plots from compare.json")
    args = parser.parse_args(argv)
    argv_text = sys.argv[1:] if argv is None else ["compare", *argv]
    command = "python -m bench " + " ".join(argv_text)
    if args.render:
        render(args.out)
        print(f"rendered {args.out / 'compare.md'} from {args.out / 'compare.json'}")
        return 0
    report = run(
        out=args.out,
        quick=args.quick,
        runs=args.runs,
        systems=tuple(args.systems.split(",")),
        scenarios=tuple(args.scenarios.split(",")),
        command=command,
        merge=args.merge,
    )
    for t in report["targets"]:
        print(f"target {t['target']}: ratio {_fmt_ratio(t['ratio'])} met={t['met']}")
    print(f"wrote {args.out / 'compare.md'}, {args.out / 'compare.json'}, {', '.join(report['plots']) or 'no plots'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
