"""Accumulator figures for ``python -m bench revocation``: setup, revoke, holder update, membership proof.

Each operation function takes a backend and returns ``{"median_ms", "min_ms", "max_ms", "runs"}``
(``bench.common.measure``); :func:`run` gathers them per backend with the sizes a holder
downloads. What is timed:

- ``setup_1e4`` / ``setup_1e5`` / ``setup_1e6``: :func:`setup_registry` — N handle hashes
  (expand_message_xmd/SHA-256), the product ∏(y_i + α) over scalars, ``Q = α·P2`` and
  one G1 multiplication. No tails file. (The backend only does the last two steps.)
- ``revoke``: the crypto part of revoking one handle: ``V' = (y + α)^{-1}·V`` and the
  event's 80 bytes (the ledger append is timed by ``bench/revocation_ledger.py``).
- ``update_1``: one decoded event, ``C' = (y_j − y)^{-1}·(C − V_j)``.
- ``update_100``: 100 decoded events composed into one MSM of 101 points (a wallet with
  one credential of the registry: the bases are converted for the MSM inside the call).
- ``update_100_prepared``: the same with the events handed to the backend once
  (:func:`prepare_events`) — the cost per further credential of the same registry.
- ``decode_event``: ``RevocationEvent.from_bytes`` (strict: curve and subgroup checks),
  which every holder pays once per event on top of the update.
- ``membership_prove``: standalone :func:`prove` (5 G1 multiplications + transcript).
- ``membership_verify``: standalone :func:`verify` from the proof's bytes (decoding
  included; ``V`` and ``Q`` already decoded from the ledger): 3 multiplications and a
  two-pair pairing check.
"""

from __future__ import annotations

from typing import Any

from bench.common import measure
from circuits import accumulator as acc
from circuits.backend import GroupBackend, get_backend
from circuits.transcript import Transcript

REGISTRY_ID = b"bench-registry/1"
SETUP_SIZES = {"setup_1e4": 10**4, "setup_1e5": 10**5, "setup_1e6": 10**6}
SETUP_REPEATS = {10**4: 7, 10**5: 3, 10**6: 1}
UPDATE_EVENTS = 100


def setup(n: int, *, backend: GroupBackend, repeats: int | None = None) -> dict[str, Any]:
    runs = SETUP_REPEATS[n] if repeats is None else repeats
    return measure(lambda: acc.setup_registry(REGISTRY_ID, n, backend=backend), runs, warmup=0)


class _Fixture:
    """A small registry, a holder, and 100 published revocations, built once per backend."""

    def __init__(self, backend: GroupBackend) -> None:
        self.be = backend
        self.sk, self.reg = acc.setup_registry(REGISTRY_ID, 1024, backend=backend)
        self.y = acc.handle(REGISTRY_ID, 0)
        self.C = acc.issue_witness(self.sk, self.reg.V0, self.y, backend=backend)
        ys = acc.handles(REGISTRY_ID, 1 + UPDATE_EVENTS, 1)
        self.events = acc.revoke_batch(self.sk, self.reg.V0, ys, backend=backend)
        self.event_bytes = [e.to_bytes(backend) for e in self.events]
        self.V = self.events[-1].V
        self.C_new = acc.update_witness(self.C, self.y, self.events, backend=backend)
        acc.verify_witness(self.C_new, self.y, self.V, self.reg.Q, backend=backend)
        self.proof = acc.prove(Transcript(b"bench"), self.C_new, self.y, self.V, self.reg.Q, backend=backend)
        self.proof_bytes = self.proof.to_bytes(backend)


def revoke(fx: _Fixture, repeats: int) -> dict[str, Any]:
    y = acc.handle(REGISTRY_ID, 1000)
    return measure(lambda: acc.revoke(fx.sk, fx.V, y, backend=fx.be).to_bytes(fx.be), repeats)


def update_1(fx: _Fixture, repeats: int) -> dict[str, Any]:
    return measure(lambda: acc.update_witness(fx.C, fx.y, fx.events[:1], backend=fx.be), repeats)


def update_100(fx: _Fixture, repeats: int) -> dict[str, Any]:
    return measure(lambda: acc.update_witness(fx.C, fx.y, fx.events, backend=fx.be), repeats)


def update_100_prepared(fx: _Fixture, repeats: int) -> dict[str, Any]:
    prepared = acc.prepare_events(fx.events, backend=fx.be)
    return measure(lambda: acc.update_witness(fx.C, fx.y, prepared, backend=fx.be), repeats)


def decode_event(fx: _Fixture, repeats: int) -> dict[str, Any]:
    data = fx.event_bytes[0]
    return measure(lambda: acc.RevocationEvent.from_bytes(fx.be, data), repeats)


def membership_prove(fx: _Fixture, repeats: int) -> dict[str, Any]:
    return measure(lambda: acc.prove(Transcript(b"bench"), fx.C_new, fx.y, fx.V, fx.reg.Q, backend=fx.be), repeats)


def membership_verify(fx: _Fixture, repeats: int) -> dict[str, Any]:
    def call() -> None:
        proof = acc.StandaloneMembershipProof.from_bytes(fx.be, fx.proof_bytes)
        acc.verify(Transcript(b"bench"), proof, fx.V, fx.reg.Q, backend=fx.be)

    return measure(call, repeats)


OPERATIONS = (revoke, update_1, update_100, update_100_prepared, decode_event, membership_prove, membership_verify)


def sizes(fx: _Fixture) -> dict[str, int]:
    """Bytes a holder downloads: the registry and its witness to set up, 80 bytes per revocation."""
    registry = len(fx.reg.to_bytes(fx.be))
    witness = len(fx.be.g1_to_bytes(fx.C))
    return {
        "registry": registry,
        "witness": witness,
        "holder_setup": registry + witness,
        "revocation_event": acc.RevocationEvent.SIZE,
        "holder_update_1": acc.RevocationEvent.SIZE,
        "holder_update_100": UPDATE_EVENTS * acc.RevocationEvent.SIZE,
        "membership_proof_shared_y": acc.MembershipProof.SIZE_SHARED,
        "membership_proof_standalone": acc.StandaloneMembershipProof.SIZE,
    }


def run(backends: list[str], repeats: int, quick: bool = False) -> dict[str, Any]:
    """``{"results": {backend: {operation: stats}}, "sizes": {...}}``; ``quick`` skips N = 10^6.

    Setup is the same Python hashing on every backend (the backend does two
    multiplications), so py_ecc times N = 10^4 only.
    """
    results: dict[str, dict[str, Any]] = {}
    out_sizes: dict[str, int] = {}
    for name in backends:
        be = get_backend(name)
        slow = name == "py_ecc"
        n = max(3, repeats // 4) if slow else repeats
        ops: dict[str, Any] = {}
        for op, size in SETUP_SIZES.items():
            if (quick and size == 10**6) or (slow and size > 10**4):
                continue
            ops[op] = setup(size, backend=be)
        fx = _Fixture(be)
        for fn in OPERATIONS:
            ops[fn.__name__] = fn(fx, n)
        results[name] = ops
        out_sizes = sizes(fx)
    return {"results": results, "sizes": out_sizes}


def rows(report: dict[str, Any]) -> list[list[str]]:
    return [
        [name, op, f"{r['median_ms']:.3f}", f"{r['min_ms']:.3f}", f"{r['max_ms']:.3f}"]
        for name, ops in report["results"].items()
        for op, r in ops.items()
    ]


HEADER = ["backend", "operation", "median ms", "min ms", "max ms"]


if __name__ == "__main__":  # python -m bench.revocation_accumulator [--quick]
    import json
    import sys

    print(json.dumps(run(["blst"], 30, quick="--quick" in sys.argv), indent=2))
