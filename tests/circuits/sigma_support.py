"""Test support for draft-irtf-cfrg-sigma-protocols: the appendix's seeded PRNG, the vectors, the relations.

- :func:`test_drng` is §"Seeded PRNG": a SHAKE128 duplex sponge initialized with
  ``DeriveSessionID("TestDRNG-SIGMA-PROOFS-[{flavor}-]{Ciphersuite}-{Relation}")`` and
  squeezed 48 bytes per scalar (``DecodeField``). Never for real proofs (the draft says MUST NOT).
- :func:`spec_vectors` reads the ``~~~``-fenced ``Key = Value`` records of the drafts'
  appendices (the grammar of the Fiat–Shamir draft's "Test Vectors" section) from
  ``../shared/specs``; :func:`relation_from_drng` rebuilds each vector relation with the
  allocation API (:func:`circuits.sigma.examples.vector_relation`, which ``bench.sigma``
  measures too) from the instance PRNG.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from circuits.backend import GroupBackend
from circuits.sigma import LinearRelation
from circuits.sigma.duplex_sponge import DuplexSponge, derive_session_id
from circuits.sigma.examples import vector_relation
from tests.vectors import vectors_dir, vectors_root

SUITE = "sigma-proofs_Shake128_BLS12381"
MARKERS = {"batchable": "DSFS", "compact": "CMPT"}


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
