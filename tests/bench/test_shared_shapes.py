"""The shapes tests and benchmarks share are the same: tests keep their own copies (tests do not
import fixtures from ``bench``), and these checks keep the copies equal."""

from __future__ import annotations

import pytest

from bench import presentation as bench_presentation
from bench import sigma as bench_sigma
from circuits.backend import get_backend
from tests.circuits import presentation_fixtures, sigma_support


def test_the_applicant_credential_is_the_benchmarks():
    assert presentation_fixtures.SCHEMA == bench_presentation.SCHEMA
    assert presentation_fixtures.VALUES == bench_presentation.VALUES


@pytest.mark.parametrize("relation", ["discrete_logarithm", "dleq", "pedersen_commitment"])
def test_the_vector_relations_are_the_benchmarks(relation):
    be = get_backend()

    def rng():
        stream = iter(range(1, 10**6))
        return lambda n: next(stream).to_bytes(n, "big")

    ours, our_witness = sigma_support.vector_relation(be, relation, rng())
    theirs, their_witness = bench_sigma.vector_relation(be, relation, rng())
    assert ours.to_bytes() == theirs.to_bytes() and our_witness == their_witness
