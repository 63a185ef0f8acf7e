"""``python -m bench <scenario> [--json] [--repeats N] [--backends blst,py_ecc]``.

Scenarios: ``bbs``, ``presentation``, ``revocation``, ``sigma``, ``ledger``, ``ledger-reads``, ``compare``.
With ``--json`` the output is one
JSON object ``{"results": {backend: {operation: {median_ms, min_ms, max_ms}}}, "sizes": {...}}``
plus extra keys (operation counts, unit costs) that readers may ignore.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys

from bench import common
from circuits.backend import available_backends

SCENARIOS = {
    "bbs": "bench.bbs",
    "presentation": "bench.presentation",
    "revocation": "bench.revocation",
    "compare": "bench.compare",
    "sigma": "bench.sigma",
    "ledger": "bench.ledger",
    "ledger-reads": "bench.ledger_reads",
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["compare"], ["ledger-reads"]):  # their own flags (--out, --entries, …)
        return __import__(SCENARIOS[argv[0]], fromlist=["main"]).main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table (as in the README)")
    parser.add_argument("--repeats", type=int, default=20, help="runs per operation (py_ecc uses a quarter)")
    parser.add_argument("--backends", default=",".join(available_backends()))
    args = parser.parse_args(argv)
    module = __import__(SCENARIOS[args.scenario], fromlist=["run"])
    report = module.run(args.backends.split(","), args.repeats)
    shown = [a for a in argv if a != "--markdown"]
    report["machine"] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "command": "python -m bench " + " ".join(shown),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    elif args.markdown:
        print(common.markdown_table(module.HEADER, module.rows(report)))
        print("\nSizes (bytes): " + ", ".join(f"{k} {v}" for k, v in report["sizes"].items()) + ".")
        print(f"\n`{report['machine']['command']}` — {common.machine_line()}")
    else:
        common.print_table(f"zkcred bench {args.scenario}", module.HEADER, module.rows(report))
        print("sizes (bytes): " + ", ".join(f"{k}={v}" for k, v in report["sizes"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
