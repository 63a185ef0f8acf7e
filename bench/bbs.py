"""``python -m bench bbs``: sign, verify, proof_gen, proof_verify with 10 messages, 2 disclosed.

For each backend: medians and min/max over ≥ 20 runs, the group operations each call
performs, their price at this backend's unit costs (measured in the same run), and the
share of wall time above that floor (the Python overhead).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import partial
from typing import Any

from bench.common import CountingBackend, floor_ms, measure, unit_costs
from circuits import bbs
from circuits.backend import get_backend

MESSAGES = [f"message {i}: {'x' * i}".encode() for i in range(10)]
DISCLOSED = [1, 6]


def run(backends: list[str], repeats: int) -> dict:
    results: dict[str, dict[str, dict[str, float]]] = {}
    ops: dict[str, dict[str, Any]] = {}
    sizes: dict[str, int] = {}
    for name in backends:
        be = get_backend(name)
        suite = bbs.SHA256
        sk = bbs.keygen(secrets.token_bytes(32), suite=suite)
        pk = bbs.sk_to_pk(sk, suite=suite, backend=be)
        sig = bbs.sign(sk, pk, b"header", MESSAGES, suite=suite, backend=be)
        proof = bbs.proof_gen(pk, sig, b"header", b"ph", MESSAGES, DISCLOSED, suite=suite, backend=be)
        disclosed = [MESSAGES[i] for i in DISCLOSED]
        calls: dict[str, Callable[[], object]] = {
            "sign": partial(bbs.sign, sk, pk, b"header", MESSAGES, suite=suite, backend=be),
            "verify": partial(bbs.verify, pk, sig, b"header", MESSAGES, suite=suite, backend=be),
            "proof_gen": partial(
                bbs.proof_gen, pk, sig, b"header", b"ph", MESSAGES, DISCLOSED, suite=suite, backend=be
            ),
            "proof_verify": partial(
                bbs.proof_verify, pk, proof, b"header", b"ph", disclosed, DISCLOSED, suite=suite, backend=be
            ),
        }
        n = repeats if name != "py_ecc" else max(3, repeats // 4)
        results[name] = {op: measure(fn, n) for op, fn in calls.items()}
        costs = unit_costs(be)
        ops[name] = {}
        for op in calls:
            counter = CountingBackend(be)
            counted: dict[str, Callable[[], object]] = {
                "sign": partial(bbs.sign, sk, pk, b"header", MESSAGES, suite=suite, backend=counter),
                "verify": partial(bbs.verify, pk, sig, b"header", MESSAGES, suite=suite, backend=counter),
                "proof_gen": partial(
                    bbs.proof_gen, pk, sig, b"header", b"ph", MESSAGES, DISCLOSED, suite=suite, backend=counter
                ),
                "proof_verify": partial(
                    bbs.proof_verify, pk, proof, b"header", b"ph", disclosed, DISCLOSED, suite=suite, backend=counter
                ),
            }
            counted[op]()
            floor = floor_ms(counter.counts, costs)
            wall = results[name][op]["median_ms"]
            ops[name][op] = {
                "counts": dict(counter.counts),
                "floor_ms": round(floor, 3),
                "overhead": round(max(0.0, wall - floor) / wall, 3) if wall else 0.0,
            }
        ops[name]["unit_costs_ms"] = {k: round(v, 4) for k, v in costs.items()}
        sizes = {"signature": len(sig), "proof": len(proof), "public_key": len(pk)}
    return {"results": results, "sizes": sizes, "operations": ops}


def rows(report: dict) -> list[list[str]]:
    out = []
    for name, ops in report["results"].items():
        for op, r in ops.items():
            extra = report["operations"][name][op]
            out.append(
                [
                    name,
                    op,
                    f"{r['median_ms']:.2f}",
                    f"{r['min_ms']:.2f}",
                    f"{r['max_ms']:.2f}",
                    f"{extra['floor_ms']:.2f}",
                    f"{extra['overhead']:.0%}",
                ]
            )
    return out


HEADER = ["backend", "operation", "median ms", "min ms", "max ms", "group-op floor ms", "overhead"]
