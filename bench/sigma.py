"""``python -m bench sigma``: draft-irtf-cfrg-sigma-protocols prove/verify for the vector relations.

The seven relations of the draft's BLS12-381 vectors (discrete_logarithm, dleq,
pedersen_commitment, pedersen_commitment_dleq, bbs_blind_commitment_computation,
elgamal_decryption, dleq_derived_element), built by :func:`vector_relation` exactly as
the vectors build them — the tests check that it reproduces the vector ``Instance``
bytes from the appendix PRNG; here the rng is :mod:`secrets`. Per backend and relation:
prove and verify in each flavor (verify = ``verify_narg`` on the serialized instance,
parsing and instance validation included), then one batch of all seven batchable
strings, and a batch of 70 (ten fresh instances of each) against 70 single verifications.
Every figure is also given as a multiple of ``ref.g1_mul`` (one G1 scalar
multiplication on the same backend, measured in the same run): the ratio survives a
busy machine better than milliseconds do.
"""

from __future__ import annotations

import secrets
from functools import partial

from bench.common import measure
from circuits.backend import GroupBackend, get_backend
from circuits.backend.interface import G1
from circuits.constants import R
from circuits.sigma import (
    LinearRelation,
    batch_verify,
    prove_batchable,
    prove_compact,
    verify_batchable,
    verify_narg,
)
from circuits.sigma.examples import RELATIONS, vector_relation

SUITE = "sigma-proofs_Shake128_BLS12381"


def _random_mul(be: GroupBackend, point: G1) -> G1:
    """One multiplication by a fresh scalar (the in-run reference ``ref.g1_mul``)."""
    return be.g1_mul(point, secrets.randbelow(R))


def _verify_each(items: list[tuple[bytes, LinearRelation, bytes]]) -> bool:
    return all(verify_batchable(*x) for x in items)


def tag(relation: str, flavor: str) -> bytes:
    return f"{relation}-{'DSFS' if flavor == 'batchable' else 'CMPT'}-with-{SUITE}".encode()


def run(backends: list[str], repeats: int) -> dict:
    results: dict[str, dict] = {}
    ratios: dict[str, dict] = {}
    for name in backends:
        be = get_backend(name)
        n = repeats if name != "py_ecc" else max(3, repeats // 4)
        point = be.g1_mul(be.g1_generator(), secrets.randbelow(R))
        ref = measure(partial(_random_mul, be, point), max(n, 50))
        out = {"ref.g1_mul": ref}
        batch = []
        for relation in RELATIONS:
            rel, witness = vector_relation(be, relation)
            data = rel.to_bytes()
            for flavor, prove in (("batchable", prove_batchable), ("compact", prove_compact)):
                t = tag(relation, flavor)
                narg = prove(t, rel, witness)
                assert verify_narg(t, data, narg, flavor, backend=be)
                out[f"{relation}/{flavor}/prove"] = measure(partial(prove, t, rel, witness), n)
                out[f"{relation}/{flavor}/verify"] = measure(partial(verify_narg, t, data, narg, flavor, backend=be), n)
                if flavor == "batchable":
                    batch.append((t, LinearRelation.from_bytes(data, be), narg))
        assert batch_verify(batch)
        out["batch_verify/7"] = measure(partial(batch_verify, batch), n)
        # Scaling: 70 distinct batchable proofs (10 fresh instances of each relation),
        # one batch against 70 single verifications of the same parsed instances.
        big = []
        for relation in RELATIONS * 10:
            rel, witness = vector_relation(be, relation)
            t = tag(relation, "batchable")
            big.append((t, LinearRelation.from_bytes(rel.to_bytes(), be), prove_batchable(t, rel, witness)))
        m = max(3, n // 4)
        out["batch_verify/70"] = measure(partial(batch_verify, big), m)
        out["verify_batchable×70"] = measure(partial(_verify_each, big), m)
        results[name] = out
        ratios[name] = {op: round(r["median_ms"] / ref["median_ms"], 1) for op, r in out.items()}
    return {"results": results, "ratios_to_g1_mul": ratios, "sizes": {"Ne": 48, "Ns": 32}}


def rows(report: dict) -> list[list[str]]:
    out = []
    for name, ops in report["results"].items():
        for op, r in ops.items():
            out.append(
                [
                    name,
                    op,
                    f"{r['median_ms']:.2f}",
                    f"{r['min_ms']:.2f}",
                    f"{r['max_ms']:.2f}",
                    f"{report['ratios_to_g1_mul'][name][op]:.1f}",
                ]
            )
    return out


HEADER = ["backend", "operation", "median ms", "min ms", "max ms", "× ref.g1_mul"]
