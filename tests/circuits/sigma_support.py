"""Test support for draft-irtf-cfrg-sigma-protocols: the appendix's seeded PRNG, the vectors, the relations.

- :func:`test_drng` is §"Seeded PRNG": a SHAKE128 duplex sponge initialized with
  ``DeriveSessionID("TestDRNG-SIGMA-PROOFS-[{flavor}-]{Ciphersuite}-{Relation}")`` and
  squeezed 48 bytes per scalar (``DecodeField``). Never for real proofs (the draft says MUST NOT).
- :func:`spec_vectors` reads the ``~~~``-fenced ``Key = Value`` records of the drafts'
  appendices (the grammar of the Fiat–Shamir draft's "Test Vectors" section) from
  ``../shared/specs``; :func:`relation_from_drng` rebuilds each vector relation with the
  allocation API (:func:`vector_relation`; ``bench.sigma`` measures the same relations,
  tests/bench/test_shared_shapes.py keeps the two equal) from the instance PRNG.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from pathlib import Path

import pytest

from circuits.backend import GroupBackend
from circuits.sigma import GENERATOR, LinearRelation
from circuits.sigma.codec import random_scalar
from circuits.sigma.duplex_sponge import DuplexSponge, derive_session_id
from tests.vectors import vectors_dir, vectors_root

SUITE = "sigma-proofs_Shake128_BLS12381"
MARKERS = {"batchable": "DSFS", "compact": "CMPT"}


def vector_relation(
    be: GroupBackend, relation: str, rng: Callable[[int], bytes] = secrets.token_bytes
) -> tuple[LinearRelation, list[int]]:
    """``relation`` as the vectors compile it; scalars from ``rng`` in the vectors' order (bases, then witness)."""
    G = be.g1_generator()

    def scalar() -> int:
        return random_scalar(rng)

    def base():
        return be.g1_mul(G, scalar())

    rel = LinearRelation(be)
    if relation == "discrete_logarithm":
        x = scalar()
        s_x = rel.allocate_scalar()
        X = rel.allocate_element(be.g1_mul(G, x))
        rel.append_equation([(X, 1)], [(s_x, GENERATOR, 1)])
        return rel, [x]
    if relation in ("dleq", "dleq_derived_element"):
        H_point = base()
        x = scalar()
        s_x = rel.allocate_scalar()
        X = rel.allocate_element(be.g1_mul(G, x))
        H = rel.allocate_element(H_point)
        Y = rel.allocate_element(be.g1_mul(H_point, x))
        rel.append_equation([(X, 1)], [(s_x, GENERATOR, 1)])
        rel.append_equation([(Y, 1)], [(s_x, H, 1)])
        return rel, [x]
    if relation == "pedersen_commitment":
        H_point = base()
        m, r = scalar(), scalar()
        s_m, s_r = rel.allocate_scalars(2)
        H = rel.allocate_element(H_point)
        C = rel.allocate_element(be.g1_msm([G, H_point], [m, r]))
        rel.append_equation([(C, 1)], [(s_m, GENERATOR, 1), (s_r, H, 1)])
        return rel, [m, r]
    if relation == "pedersen_commitment_dleq":
        bases = [base() for _ in range(4)]
        x0, x1 = scalar(), scalar()
        s0, s1 = rel.allocate_scalars(2)
        G0, G1 = rel.allocate_elements(bases[:2])
        X = rel.allocate_element(be.g1_msm(bases[:2], [x0, x1]))
        G2, G3 = rel.allocate_elements(bases[2:])
        Y = rel.allocate_element(be.g1_msm(bases[2:], [x0, x1]))
        rel.append_equation([(X, 1)], [(s0, G0, 1), (s1, G1, 1)])
        rel.append_equation([(Y, 1)], [(s0, G2, 1), (s1, G3, 1)])
        return rel, [x0, x1]
    if relation == "bbs_blind_commitment_computation":
        bases = [base() for _ in range(4)]  # Q2, J1, J2, J3
        msgs = [scalar() for _ in range(3)]
        witness = [scalar(), *msgs]  # blind, msg_1, msg_2, msg_3
        scalars = rel.allocate_scalars(4)
        idx = rel.allocate_elements(bases)
        C = rel.allocate_element(be.g1_msm(bases, witness))
        rel.append_equation([(C, 1)], [(s, e, 1) for s, e in zip(scalars, idx, strict=True)])
        return rel, witness
    if relation == "elgamal_decryption":
        x, r = scalar(), scalar()
        M_point = base()
        X_point = be.g1_mul(G, x)
        s_x = rel.allocate_scalar()
        X = rel.allocate_element(X_point)
        E0 = rel.allocate_element(be.g1_mul(G, r))
        E1 = rel.allocate_element(be.g1_add(be.g1_mul(X_point, r), be.g1_neg(M_point)))
        M = rel.allocate_element(M_point)
        rel.append_equation([(X, 1)], [(s_x, GENERATOR, 1)])
        rel.append_equation([(M, 1), (E1, 1)], [(s_x, E0, 1)])  # M = x·E0 − E1: −E1 crosses over
        return rel, [x]
    raise KeyError(relation)


def test_drng(relation: str, flavor: str | None = None) -> DuplexSponge:
    """The appendix PRNG: instance/witness scalars (``flavor=None``) or a flavor's prover nonces."""
    middle = f"{MARKERS[flavor]}-" if flavor else ""
    return DuplexSponge(derive_session_id(f"TestDRNG-SIGMA-PROOFS-{middle}{SUITE}-{relation}".encode()))


test_drng.__test__ = False  # a helper named like a test


def sigma_vectors() -> list[dict]:
    return json.loads((vectors_dir("sigma-protocols") / "sigma-proofs_Shake128_BLS12381.json").read_text())


def sigma_vector_ids() -> list[str]:
    root = vectors_root()
    path = root / "sigma-protocols" / "sigma-proofs_Shake128_BLS12381.json" if root else None
    if path is None or not path.exists():
        return []
    return [v["Id"].split("/", 2)[2] for v in json.loads(path.read_text())]


def sigma_vector(vector_id: str) -> dict:
    return next(v for v in sigma_vectors() if v["Id"].endswith("/" + vector_id))


def fs_vectors(name: str) -> list[dict]:
    return json.loads((vectors_dir("sigma-protocols") / name).read_text())


def witness_scalars(hex_witness: str) -> list[int]:
    raw = bytes.fromhex(hex_witness)
    return [int.from_bytes(raw[i : i + 32], "big") for i in range(0, len(raw), 32)]


def spec_path(name: str) -> Path:
    root = vectors_root()
    path = root.parent / "specs" / name if root else None
    if path is None or not path.exists():
        pytest.skip(f"draft text {name} not found beside the vectors")
    return path


def spec_vectors(name: str) -> list[dict[str, str]]:
    """Every ``~~~`` block starting with ``Id =``: continuation lines (indented) concatenate."""
    out = []
    for block in re.findall(r"~~~\n(Id = .*?)~~~", spec_path(name).read_text(), re.S):
        record: dict[str, str] = {}
        key = ""
        for line in block.splitlines():
            if line.startswith("  "):
                record[key] += line.strip()
            else:
                key, _, value = line.partition(" =")
                key = key.strip()
                record[key] = value.strip()
        out.append(record)
    return out


# The vector relations, built with the allocation API from the instance PRNG -------------


def relation_from_drng(be: GroupBackend, relation: str) -> tuple[LinearRelation, list[int]]:
    """Rebuild ``relation`` as the vectors do (bench.sigma's builder, fed the instance PRNG)."""
    return vector_relation(be, relation, test_drng(relation))
