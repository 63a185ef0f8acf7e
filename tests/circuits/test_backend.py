"""The group interface: arithmetic laws, strict decoding, and the pyblst facts we rely on.

Hostile encodings are built here with py_ecc's field arithmetic: a point off the curve,
a point on the curve outside the prime-order subgroup, non-canonical flags, x ≥ p.
"""

from __future__ import annotations

import random
import secrets

import pytest
from py_ecc.bls.point_compression import compress_G1, compress_G2, modular_squareroot_in_FQ2
from py_ecc.fields import optimized_bls12_381_FQ as FQ
from py_ecc.fields import optimized_bls12_381_FQ2 as FQ2
from py_ecc.optimized_bls12_381 import b, b2, curve_order, is_inf, multiply

from circuits.backend import available_backends, get_backend
from circuits.bbs.core import scalar_from_bytes
from circuits.constants import G1_GENERATOR, G2_GENERATOR, P, R
from circuits.errors import (
    EncodingError,
    NonCanonicalEncodingError,
    NotInSubgroupError,
    NotOnCurveError,
    ScalarOutOfRangeError,
    ZkCredError,
)


def _g1_x_candidates():
    x = 1
    while True:
        yield x
        x += 1


def _first_g1(on_curve: bool) -> bytes:
    """Smallest x giving a compressed G1 encoding that is (on_curve) on E but not in G1, or off E."""
    for x in _g1_x_candidates():
        rhs = FQ(x) ** 3 + b
        y = rhs ** ((P + 1) // 4)
        if (y * y == rhs) != on_curve:
            continue
        if not on_curve:
            return (x | (1 << 383)).to_bytes(48, "big")
        point = (FQ(x), y, FQ(1))
        if not is_inf(multiply(point, curve_order)):
            return compress_G1(point).to_bytes(48, "big")
    raise AssertionError("unreachable")


def _first_g2(on_curve: bool) -> bytes:
    for x0 in range(1, 1000):
        x = FQ2([x0, 1])
        y = modular_squareroot_in_FQ2(x**3 + b2)
        if (y is not None) != on_curve:
            continue
        if not on_curve:
            z1 = x.coeffs[1] if isinstance(x.coeffs[1], int) else int(x.coeffs[1])
            z2 = x.coeffs[0] if isinstance(x.coeffs[0], int) else int(x.coeffs[0])
            return (int(z1) | (1 << 383)).to_bytes(48, "big") + int(z2).to_bytes(48, "big")
        point = (x, y, FQ2.one())
        if not is_inf(multiply(point, curve_order)):
            z1, z2 = compress_G2(point)
            return z1.to_bytes(48, "big") + z2.to_bytes(48, "big")
    raise AssertionError("unreachable")


OFF_CURVE_G1 = _first_g1(on_curve=False)
OUTSIDE_SUBGROUP_G1 = _first_g1(on_curve=True)
OFF_CURVE_G2 = _first_g2(on_curve=False)
OUTSIDE_SUBGROUP_G2 = _first_g2(on_curve=True)


def test_generators_are_the_standard_ones(backend):
    assert backend.g1_to_bytes(backend.g1_generator()) == G1_GENERATOR
    assert backend.g2_to_bytes(backend.g2_generator()) == G2_GENERATOR


def test_group_laws(backend):
    g, a, c = backend.g1_generator(), secrets.randbelow(R), secrets.randbelow(R)
    ga, gc = backend.g1_mul(g, a), backend.g1_mul(g, c)
    assert backend.g1_eq(backend.g1_add(ga, gc), backend.g1_mul(g, a + c))
    assert backend.g1_is_identity(backend.g1_add(ga, backend.g1_neg(ga)))
    assert backend.g1_eq(backend.g1_mul(g, R + 5), backend.g1_mul(g, 5))
    assert backend.g1_is_identity(backend.g1_mul(g, 0))
    assert backend.g1_eq(backend.g1_msm([g, ga], [c, 3]), backend.g1_add(gc, backend.g1_mul(ga, 3)))
    g2 = backend.g2_generator()
    assert backend.g2_eq(backend.g2_add(backend.g2_mul(g2, a), backend.g2_mul(g2, c)), backend.g2_mul(g2, a + c))


def test_pairing_check(backend):
    g1, g2, a = backend.g1_generator(), backend.g2_generator(), secrets.randbelow(R)
    good = [(backend.g1_mul(g1, a), g2), (backend.g1_neg(g1), backend.g2_mul(g2, a))]
    assert backend.pairing_check(good)
    assert not backend.pairing_check([(backend.g1_mul(g1, a + 1), g2), good[1]])
    assert backend.pairing_check([])
    assert not backend.pairing_check([(g1, g2)])


def test_backends_agree():
    names = available_backends()
    if len(names) < 2:
        pytest.skip("only one backend available here")
    k = secrets.randbelow(R)
    outs = {n: get_backend(n).g1_to_bytes(get_backend(n).g1_mul(get_backend(n).g1_generator(), k)) for n in names}
    assert len(set(outs.values())) == 1


def test_roundtrip_and_identity(backend):
    p = backend.g1_mul(backend.g1_generator(), secrets.randbelow(R))
    assert backend.g1_eq(backend.g1_from_bytes(backend.g1_to_bytes(p)), p)
    ident = backend.g1_to_bytes(backend.g1_identity())
    assert ident == b"\xc0" + bytes(47)
    assert backend.g1_is_identity(backend.g1_from_bytes(ident))
    assert backend.g2_is_identity(backend.g2_from_bytes(b"\xc0" + bytes(95)))


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (OFF_CURVE_G1, NotOnCurveError),
        (OUTSIDE_SUBGROUP_G1, NotInSubgroupError),
        (bytes(G1_GENERATOR[:1]) + G1_GENERATOR[1:47], EncodingError),  # short
        (bytes([G1_GENERATOR[0] & 0x7F]) + G1_GENERATOR[1:], NonCanonicalEncodingError),  # no compression flag
        (b"\xc0" + bytes(46) + b"\x01", NonCanonicalEncodingError),  # identity with junk
        (b"\xe0" + bytes(47), NonCanonicalEncodingError),  # identity with sign bit
        ((P | (1 << 383)).to_bytes(48, "big"), NonCanonicalEncodingError),  # x = p
    ],
    ids=["off-curve", "outside-subgroup", "short", "no-compression-flag", "identity-junk", "identity-sign", "x-eq-p"],
)
def test_g1_decoding_attacks(backend, data, error):
    with pytest.raises(error):
        backend.g1_from_bytes(data)
    with pytest.raises(error):  # the verifier's decoding of a proof's own points is as strict
        backend.g1_from_bytes_msm(data)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (OFF_CURVE_G2, NotOnCurveError),
        (OUTSIDE_SUBGROUP_G2, NotInSubgroupError),
        (G2_GENERATOR[:48] + (P).to_bytes(48, "big"), NonCanonicalEncodingError),
        (G2_GENERATOR + b"\x00", EncodingError),
    ],
    ids=["off-curve", "outside-subgroup", "x0-eq-p", "long"],
)
def test_g2_decoding_attacks(backend, data, error):
    with pytest.raises(error):
        backend.g2_from_bytes(data)


def test_blst_names_a_refused_point_as_the_reference_does():
    """blst refuses off-curve and out-of-subgroup points alike; its backend tells them apart by a
    square test (no py_ecc re-decoding, ~0.3 ms): on random x it agrees with py_ecc, both groups."""
    blst_be, ref = get_backend("blst"), get_backend("py_ecc")
    rng = random.Random(15)
    seen = set()
    for _ in range(12):
        for size, decode in ((48, "g1_from_bytes"), (96, "g2_from_bytes")):
            raw = bytearray(b"".join(rng.randrange(P).to_bytes(48, "big") for _ in range(size // 48)))
            raw[0] |= 0x80 | (0x20 * rng.getrandbits(1))

            def named(be, data=bytes(raw), decode=decode):
                try:
                    getattr(be, decode)(data)
                except ZkCredError as e:
                    return type(e)
                return None

            kind = named(blst_be)
            assert kind is named(ref) and kind in (NotOnCurveError, NotInSubgroupError)
            seen.add((size, kind))
    assert len(seen) == 4  # both failures met in both groups


def test_scalar_decoding():
    assert scalar_from_bytes((R - 1).to_bytes(32, "big")) == R - 1
    for bad in (R, R + 1, 2**256 - 1):
        with pytest.raises(ScalarOutOfRangeError):
            scalar_from_bytes(bad.to_bytes(32, "big"))
    with pytest.raises(ScalarOutOfRangeError):
        scalar_from_bytes(bytes(32), nonzero=True)
    with pytest.raises(EncodingError):
        scalar_from_bytes(bytes(31))


def test_pyblst_facts():
    """The pyblst 0.3.15 behaviour circuits/backend/blst.py relies on."""
    pyblst = pytest.importorskip("pyblst")
    P1, P2 = pyblst.BlstP1Element, pyblst.BlstP2Element
    g = P1().uncompress(G1_GENERATOR)
    assert P1().compress() == b"\xc0" + bytes(47)  # the default element is the identity
    assert g.scalar_mul(R + 7) == g.scalar_mul(7)  # scalar_mul reduces mod r
    assert g + (-g) == P1()  # no binary minus: add the negation
    for bad in (OFF_CURVE_G1, OUTSIDE_SUBGROUP_G1):  # uncompress checks curve and subgroup
        with pytest.raises(ValueError):
            P1().uncompress(bad)
    for bad in (OFF_CURVE_G2, OUTSIDE_SUBGROUP_G2):
        with pytest.raises(ValueError):
            P2().uncompress(bad)
    g2 = P2().uncompress(G2_GENERATOR)
    ml = pyblst.miller_loop(g.scalar_mul(3), g2)
    assert pyblst.final_verify(ml, pyblst.miller_loop(g, g2.scalar_mul(3)))


def test_fixed_base_tables_agree_with_scalar_mul():
    """A marked base switches to its fixed-base table after a few uses; results are identical."""
    from circuits.backend import blst as blst_backend

    be = get_backend("blst")
    point = be.g1_mul(be.g1_generator(), secrets.randbelow(R))
    be.g1_mark_fixed(point)
    other = be.g1_mul(be.g1_generator(), secrets.randbelow(R))
    for i in range(blst_backend.FIXED_BASE_AFTER + 3):
        ks = [secrets.randbelow(R), 1, R - 1, 2**255 % R, 256, 0][i % 6]
        want = point.scalar_mul(ks) + other.scalar_mul(7)
        assert be.g1_msm([point, other], [ks, 7]) == want
        assert be.g1_mul(point, ks) == point.scalar_mul(ks)
    assert id(point) in blst_backend._tables


def test_py_ecc_backend_keeps_the_recursion_limit():
    """py_ecc raises the interpreter's recursion limit to 100 000 on import; with it, deeply
    nested JSON overflows the C stack in a service. Our backend puts the limit back."""
    import subprocess
    import sys

    code = (
        "import sys; before = sys.getrecursionlimit(); from circuits.backend import available_backends, "
        "get_backend; available_backends(); get_backend('py_ecc'); assert sys.getrecursionlimit() == before"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def test_points_decoded_for_an_msm_behave_as_decoded_points(backend):
    """``g1_from_bytes_msm`` (blst: kept as arkworks' point) encodes, compares and sums like the
    point ``g1_from_bytes`` gives, on the arkworks path and on the blst loop alike."""
    from circuits.backend import blst as blst_module

    p = backend.g1_mul(backend.g1_generator(), secrets.randbelow(R))
    data = backend.g1_to_bytes(p)
    q = backend.g1_from_bytes_msm(data)
    assert backend.g1_to_bytes(q) == data and not backend.g1_is_identity(q)
    assert backend.g1_is_identity(backend.g1_from_bytes_msm(b"\xc0" + bytes(47)))
    handle = backend.g1_msm_prepare([backend.g1_generator()])
    k = secrets.randbelow(R)
    expected = backend.g1_to_bytes(backend.g1_mul(p, k))
    assert backend.g1_to_bytes(backend.g1_msm_prepared(handle, [], [q], [k])) == expected
    assert backend.g1_msm_prepared_is_identity(handle, [], [q, p], [k, R - k])
    if backend.name == "blst":
        assert q == p and p == q  # either side of ==
        forced = pytest.MonkeyPatch()
        forced.setattr(blst_module, "prefer_arkworks", lambda n, fresh, blst_us=None: False)
        try:  # the blst loop takes the point's blst twin
            assert backend.g1_to_bytes(backend.g1_msm_prepared(handle, [], [q], [k])) == expected
        finally:
            forced.undo()
