"""Multi-scalar multiplication: every path (blst loop, arkworks prepared, arkworks converted, py_ecc) agrees.

Also the arkworks facts :mod:`circuits.backend.arkworks` relies on: its compressed
encoding is ZCash/blst's byte for byte, and the round trip back to blst is exact.
"""

from __future__ import annotations

import random

import pytest

from circuits.backend import arkworks, blst, get_backend
from circuits.backend.blst import BlstBackend
from circuits.constants import R

needs_arkworks = pytest.mark.skipif(
    not arkworks.AVAILABLE, reason="py_arkworks_bls12381 (the `fast` extra) not installed"
)

BLST = get_backend("blst")
PLAIN = BlstBackend(use_arkworks=False)
RNG = random.Random(20181101)


def _points(count: int) -> list:
    return [BLST.hash_to_g1_xmd_sha256(i.to_bytes(4, "big"), b"zkcred-test-msm") for i in range(count)]


POINTS = _points(130)


def _scalars(count: int) -> list[int]:
    specials = [0, 1, R - 1, R, R + 5, -3, 2**255 - 1]
    return [specials[i] if i < len(specials) and RNG.random() < 0.5 else RNG.randrange(R) for i in range(count)]


def _reference(points, scalars):
    acc = BLST.g1_identity()
    for p, k in zip(points, scalars, strict=True):
        acc = BLST.g1_add(acc, BLST.g1_mul(p, k % R))
    return acc


@pytest.fixture
def always_arkworks(monkeypatch):
    """Force the arkworks path at every size (the cost model would pick blst for small calls)."""
    if not arkworks.AVAILABLE:
        pytest.skip("py_arkworks_bls12381 not installed")
    monkeypatch.setattr(blst, "prefer_arkworks", lambda n, fresh, blst_us=None: True)


@pytest.mark.parametrize("size", [0, 1, 2, 8, 16, 33, 64, 130])
def test_all_blst_paths_agree(size):
    points, scalars = POINTS[:size], _scalars(size)
    expected = _reference(points, scalars)
    assert BLST.g1_msm(points, scalars) == expected
    assert PLAIN.g1_msm(points, scalars) == expected
    half = size // 2
    for be in (BLST, PLAIN):
        handle = be.g1_msm_prepare(points)
        assert be.g1_msm_prepared(handle, scalars) == expected
        assert be.g1_msm_prepared(handle, scalars[:half], points[half:], scalars[half:]) == expected


@pytest.mark.parametrize("size", [0, 1, 3, 9])
def test_arkworks_path_at_small_sizes(always_arkworks, size):
    points, scalars = POINTS[:size], _scalars(size)
    expected = _reference(points, scalars)
    assert BLST.g1_msm(points, scalars) == expected
    handle = BLST.g1_msm_prepare(points)
    assert BLST.g1_msm_prepared(handle, scalars[:1], points[1:], scalars[1:]) == expected


def test_identity_results_and_inputs(always_arkworks):
    p = POINTS[0]
    z = BLST.g1_identity()
    assert BLST.g1_is_identity(BLST.g1_msm([p, p], [5, R - 5]))
    assert BLST.g1_is_identity(BLST.g1_msm([z, p], [7, 0]))
    assert BLST.g1_msm([z, p], [7, 3]) == p.scalar_mul(3)
    assert BLST.g1_is_identity(BLST.g1_msm([], []))


def test_prepared_prefix_and_shape_errors():
    handle = BLST.g1_msm_prepare(POINTS[:10])
    assert BLST.g1_msm_prepared(handle, [0, 0, 3]) == POINTS[2].scalar_mul(3)
    with pytest.raises(ValueError):
        BLST.g1_msm_prepared(handle, [1] * 11)
    with pytest.raises(ValueError):
        BLST.g1_msm_prepared(handle, [1], POINTS[:2], [1])
    with pytest.raises(ValueError):
        BLST.g1_msm(POINTS[:2], [1])


def test_py_ecc_agrees_with_blst():
    ref = get_backend("py_ecc")
    points, scalars = POINTS[:6], _scalars(6)
    converted = [ref.g1_from_bytes(p.compress()) for p in points]
    expected = BLST.g1_msm(points, scalars).compress()
    assert ref.g1_to_bytes(ref.g1_msm(converted, scalars)) == expected
    handle = ref.g1_msm_prepare(converted)
    assert ref.g1_to_bytes(ref.g1_msm_prepared(handle, scalars)) == expected
    assert ref.g1_to_bytes(ref.g1_msm_prepared(handle, scalars[:2], converted[2:], scalars[2:])) == expected


@needs_arkworks
def test_arkworks_encoding_is_zcash_and_round_trips():
    from py_arkworks_bls12381 import G1Point, Scalar

    for p in [*POINTS[:20], BLST.g1_identity(), BLST.g1_generator()]:
        data = p.compress()
        ap = arkworks.from_compressed(data)
        assert arkworks.to_compressed(ap) == data
        assert BLST.g1_from_bytes(arkworks.to_compressed(ap)) == p
        assert G1Point.from_compressed_bytes(data) == ap  # the checked decoder agrees
    assert arkworks.to_compressed(G1Point()) == BLST.g1_generator().compress()
    assert arkworks.to_compressed(G1Point.identity()) == BLST.g1_identity().compress()
    # scalars: little-endian bytes < r, exactly the int
    k = RNG.randrange(R)
    assert int(Scalar.from_le_bytes(k.to_bytes(32, "little"))) == k
    assert arkworks.to_compressed(G1Point() * Scalar(k)) == BLST.g1_generator().scalar_mul(k).compress()


def test_cost_model_crossovers():
    # all bases prepared: the loop below ~16 terms, arkworks above
    assert not blst.prefer_arkworks(8, 0)
    assert blst.prefer_arkworks(32, 0)
    assert blst.prefer_arkworks(1040, 0)
    # nothing prepared: conversion pushes the crossover up
    assert not blst.prefer_arkworks(32, 32)
    assert blst.prefer_arkworks(145, 145)
    # a range-proof verification: ~2N+3 prepared, ~20 fresh
    assert blst.prefer_arkworks(148, 19)


@pytest.mark.parametrize("forced", [None, True, False])
def test_is_identity_check_on_every_path(forced, monkeypatch):
    """``g1_msm_prepared_is_identity``: True exactly when the sum is the identity, on the
    arkworks path (compared as bytes), the blst loop, and py_ecc."""
    if forced is not None:
        if forced and not arkworks.AVAILABLE:
            pytest.skip("py_arkworks_bls12381 not installed")
        monkeypatch.setattr(blst, "prefer_arkworks", lambda n, fresh, blst_us=None: forced)
    ref = get_backend("py_ecc")
    points, scalars = POINTS[:20], _scalars(20)
    # the last extra term cancels the rest: Σ k_i·P_i + 1·(−Σ k_i·P_i) = identity
    minus_sum = BLST.g1_neg(_reference(points, scalars))
    for be, pts, neg in ((BLST, points, minus_sum), (PLAIN, points, minus_sum)):
        handle = be.g1_msm_prepare(pts[:12])
        assert be.g1_msm_prepared_is_identity(handle, scalars[:12], [*pts[12:], neg], [*scalars[12:], 1])
        assert not be.g1_msm_prepared_is_identity(handle, scalars[:12], [*pts[12:], neg], [*scalars[12:], 2])
        assert not be.g1_msm_prepared_is_identity(handle, scalars[:12], pts[12:], scalars[12:])
    ref_pts = [ref.g1_from_bytes(BLST.g1_to_bytes(p)) for p in [*points, minus_sum]]
    handle = ref.g1_msm_prepare(ref_pts[:3])
    assert ref.g1_msm_prepared_is_identity(handle, [1, 2, 3], ref_pts[:3], [R - 1, R - 2, R - 3])
    assert not ref.g1_msm_prepared_is_identity(handle, [1, 2, 3], ref_pts[:3], [R - 1, R - 2, R - 2])


@needs_arkworks
@pytest.mark.parametrize("size", [blst.SPLIT_FROM - 1, blst.SPLIT_FROM, blst.SPLIT_FROM + 1, 130])
def test_split_sums_agree_at_the_boundary(always_arkworks, size):
    """Arkworks MSMs of SPLIT_FROM terms and more run in parts on the worker pool; the sum is the same."""
    points, scalars = POINTS[:size], _scalars(size)
    expected = _reference(points, scalars)
    assert BLST.g1_msm(points, scalars) == expected
    handle = BLST.g1_msm_prepare(points)
    assert BLST.g1_msm_prepared(handle, scalars) == expected
    minus = BLST.g1_neg(expected)
    assert BLST.g1_msm_prepared_is_identity(handle, scalars, [minus], [1])
    assert not BLST.g1_msm_prepared_is_identity(handle, scalars, [minus], [2])


def test_the_worker_pool_is_made_again_after_a_fork(monkeypatch):
    """A pool inherited through fork has no threads in the child: a new pid gets a new pool."""
    pool = blst._worker()
    assert blst._worker() is pool
    monkeypatch.setattr(blst.os, "getpid", lambda: -1)
    assert blst._worker() is not pool
    assert blst._worker().submit(sum, [1, 2]).result() == 3


@needs_arkworks
def test_the_caller_computes_the_parts_no_worker_took():
    """The caller computes one part at once and every part no worker has claimed (a busy pool, a
    core still waking) as one; a part that failed on a worker raises in the caller."""
    points, scalars = POINTS[:40], _scalars(40)
    pts, ks = arkworks.terms([arkworks.from_compressed(p.compress()) for p in points], scalars)
    chunks = [(pts[:13], ks[:13]), (pts[13:27], ks[13:27]), (pts[27:], ks[27:])]
    expected = _reference(points, scalars).compress()
    assert arkworks.to_compressed(blst._Parts(chunks).total()) == expected  # no worker at all
    shared = blst._Parts(chunks)
    shared.work()  # one worker took the first part before the caller asked
    assert arkworks.to_compressed(shared.total()) == expected
    broken = blst._Parts([(pts[:2], [1, 2]), *chunks[1:]])  # ints, not Scalars: multiexp refuses the part
    broken.work()
    with pytest.raises(TypeError):
        broken.total()


@needs_arkworks
def test_points_kept_as_arkworks_are_not_decoded_by_blst_on_the_arkworks_path():
    """A proof's points decoded for the MSM (g1_from_bytes_msm) go to arkworks as they are: their
    blst twin is decoded only if the blst loop runs (a regression cost k = 0 verifications 0.7 ms)."""
    points, scalars = POINTS[:80], _scalars(80)
    extras = [BLST.g1_from_bytes_msm(p.compress()) for p in POINTS[80:82]]
    handle = BLST.g1_msm_prepare(points)
    out = BLST.g1_msm_prepared(handle, scalars, extras, [3, 5])
    assert out == _reference([*points, *POINTS[80:82]], [*scalars, 3, 5])
    assert all(isinstance(q, blst._ArkG1) and q._blst is None for q in extras)
