"""Pedersen commitments: generators from hash_to_curve, homomorphism, identical bytes on every backend."""

from __future__ import annotations

import doctest

import pytest

from circuits import constants as k
from circuits import pedersen as pedersen_module
from circuits.backend import get_backend
from circuits.hashing import XMD_SHA256
from circuits.pedersen import PedersenGens

R = k.R


def test_generators_are_hash_to_curve(backend):
    pg = PedersenGens.default(backend)
    assert backend.g1_eq(pg.G, XMD_SHA256.hash_to_g1(backend, b"G", k.PEDERSEN_GENERATOR_DST))
    assert backend.g1_eq(pg.H, XMD_SHA256.hash_to_g1(backend, b"H", k.PEDERSEN_GENERATOR_DST))
    assert not backend.g1_eq(pg.G, pg.H)
    assert not backend.g1_is_identity(pg.G) and not backend.g1_is_identity(pg.H)
    assert not backend.g1_eq(pg.G, backend.g1_generator())
    assert PedersenGens.default(backend) is pg


def test_commit_is_homomorphic_and_reduces_mod_r(backend):
    pg = PedersenGens.default(backend)
    c = pg.commit(2, 10)
    assert backend.g1_eq(backend.g1_add(c, pg.commit(3, 20)), pg.commit(5, 30))
    assert backend.g1_eq(pg.commit(2 + R, 10 - R), c)
    assert backend.g1_eq(pg.commit(-1, 0), backend.g1_neg(pg.G))
    assert backend.g1_is_identity(pg.commit(0, 0))
    # a threshold moves the value, not the blinding: C − t·G = commit(a − t, s)
    assert backend.g1_eq(backend.g1_add(pg.commit(7, 99), backend.g1_neg(backend.g1_mul(pg.G, 5))), pg.commit(2, 99))


@pytest.mark.parametrize("value, blinding", [(0, 1), (2**64 - 1, R - 1), (123456789, 2**200 + 3)])
def test_commit_bytes_identical_across_backends(value, blinding):
    encodings = set()
    for name in ("blst", "py_ecc"):
        be = get_backend(name)
        encodings.add(be.g1_to_bytes(PedersenGens.default(be).commit(value, blinding)))
    assert len(encodings) == 1


def test_doctests():
    assert doctest.testmod(pedersen_module).failed == 0
