"""Bulletproofs+ range proofs: completeness, boundaries, soundness against tampering, strict encoding.

Heavy cases run on the fastest backend only (``fast_backend``) and the largest are
marked ``slow``. py_ecc (50–500× slower) runs the NAMED subset ``test_py_ecc_*``: one
n = 8, m = 1 prove/verify (byte-identical to blst under the same rng) and one tamper case.
"""

from __future__ import annotations

import doctest
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from circuits import constants as k
from circuits.backend import get_backend
from circuits.bulletproofs import RangeProof, WeightedInnerProductProof, inner_product, prove, range_proof, verify
from circuits.bulletproofs.generators import G_vec, H_vec, RangeProofBases
from circuits.errors import (
    EncodingError,
    IdentityPointError,
    ParameterError,
    ScalarOutOfRangeError,
    VerificationError,
)
from circuits.pedersen import PedersenGens
from circuits.rng import seeded
from circuits.transcript import Transcript

R = k.R
LABEL = b"zkcred-test"


def _prove(be, values, n, seed=1, blindings=None, label=LABEL):
    rng = random.Random(seed)
    blindings = blindings or [rng.randrange(1, R) for _ in values]
    proof, commitments = prove(Transcript(label), values, blindings, n, backend=be, rng=seeded(seed))
    return proof, commitments


def _verify(be, proof, commitments, n, label=LABEL):
    verify(Transcript(label), proof, commitments, n, backend=be)


def _values(n, m, seed):
    rng = random.Random(seed)
    return [rng.randrange(1 << n) for _ in range(m)]


# Completeness ------------------------------------------------------------------------


@pytest.mark.parametrize("m", [1, 2, 3, 4, pytest.param(8, marks=pytest.mark.slow)])
@pytest.mark.parametrize("n", [8, 16, 32, 64])
def test_prove_verify(fast_backend, n, m):
    values = _values(n, m, seed=n * 100 + m)
    proof, commitments = _prove(fast_backend, values, n)
    assert len(commitments) == m
    _verify(fast_backend, proof, commitments, n)
    data = proof.to_bytes(fast_backend)
    assert len(data) == RangeProof.size(n, m) == 240 + 96 * (n * (1 << (m - 1).bit_length())).bit_length() - 96
    _verify(fast_backend, RangeProof.from_bytes(fast_backend, data, n, m), commitments, n)


@pytest.mark.parametrize("n", [8, 16, 32, 64])
def test_boundaries_accepted(fast_backend, n):
    proof, commitments = _prove(fast_backend, [0, (1 << n) - 1], n)
    _verify(fast_backend, proof, commitments, n)


@pytest.mark.parametrize("n", [8, 64])
@pytest.mark.parametrize("bad", ["2^n", "-1", "huge"])
def test_out_of_range_refused_before_any_cryptography(n, bad):
    class NoGroup:  # any group operation would raise AttributeError
        name = "none"

    value = {"2^n": 1 << n, "-1": -1, "huge": 1 << 300}[bad]
    with pytest.raises(ParameterError):
        prove(Transcript(LABEL), [1, value], [5, 6], n, backend=NoGroup())


def test_parameter_errors(fast_backend):
    be = fast_backend
    with pytest.raises(ParameterError):
        prove(Transcript(LABEL), [1], [1], 12, backend=be)
    with pytest.raises(ParameterError):
        prove(Transcript(LABEL), [], [], 8, backend=be)
    with pytest.raises(ParameterError):
        prove(Transcript(LABEL), [1] * 65, [1] * 65, 8, backend=be)
    with pytest.raises(ParameterError):
        prove(Transcript(LABEL), [1, 2], [1], 8, backend=be)
    with pytest.raises(ParameterError):
        prove(Transcript(LABEL), [1], [R], 8, backend=be)  # a zero blinding does not hide
    with pytest.raises(TypeError):
        prove(Transcript(LABEL), [True], [1], 8, backend=be)
    with pytest.raises(TypeError):
        prove(Transcript(LABEL), [1.0], [1], 8, backend=be)
    proof, commitments = _prove(be, [1], 8)
    with pytest.raises(ParameterError):
        verify(Transcript(LABEL), proof, commitments, 12, backend=be)
    with pytest.raises(ParameterError):
        verify(Transcript(LABEL), proof, [], 8, backend=be)


def test_commitments_are_pedersen(fast_backend):
    pg = PedersenGens.default(fast_backend)
    proof, commitments = _prove(fast_backend, [200, 3], 8, blindings=[11, 12])
    assert commitments[0] == pg.commit(200, 11) and commitments[1] == pg.commit(3, 12)


def test_deterministic_under_a_seeded_rng(fast_backend):
    a, _ = _prove(fast_backend, [7, 8, 9], 16, seed=5)
    b, _ = _prove(fast_backend, [7, 8, 9], 16, seed=5)
    c, _ = _prove(fast_backend, [7, 8, 9], 16, seed=6)
    assert a.to_bytes(fast_backend) == b.to_bytes(fast_backend) != c.to_bytes(fast_backend)


def test_transcripts_end_in_the_same_state(fast_backend):
    tp, tv = Transcript(LABEL), Transcript(LABEL)
    proof, commitments = prove(tp, [9], [4], 8, backend=fast_backend, rng=seeded(2))
    verify(tv, proof, commitments, 8, backend=fast_backend)
    assert tp.challenge_scalar(b"next") == tv.challenge_scalar(b"next")


def test_threshold_predicate_on_a_shifted_commitment(fast_backend):
    """'a ≥ t' is a range proof on C − t·G with C's own blinding; it fails for another t or C."""
    be, pg = fast_backend, PedersenGens.default(fast_backend)
    a, s, t = 50_000 + 2**63, 987654321, 49_000 + 2**63
    C = pg.commit(a, s)
    shifted = be.g1_add(C, be.g1_neg(be.g1_mul(pg.G, t)))
    proof, (V,) = prove(Transcript(LABEL), [a - t], [s], 64, backend=be, rng=seeded(3))
    assert V == shifted
    _verify(be, proof, [shifted], 64)
    other_t = be.g1_add(C, be.g1_neg(be.g1_mul(pg.G, t + 1)))
    with pytest.raises(VerificationError):
        _verify(be, proof, [other_t], 64)
    with pytest.raises(VerificationError):
        _verify(be, proof, [be.g1_add(shifted, pg.H)], 64)


# Soundness: anything changed fails -----------------------------------------------------


@pytest.fixture(scope="module")
def fixed():
    be = get_backend()
    proof, commitments = _prove(be, [3, 250, 17], 8, seed=9)
    return be, proof, commitments


@pytest.mark.parametrize("value", [256, 1000, 2**64, R - 1, R - 256], ids=["2^n", "1000", "2^64", "-1", "-256"])
def test_a_prover_that_skips_the_range_check_is_caught(fast_backend, value, monkeypatch):
    """Soundness, end to end: commit to a value outside [0, 2^8) and run the honest prover
    on it (its bits are those of value mod 2^8): the proof does not verify."""
    monkeypatch.setattr(range_proof, "_check_in_range", lambda values, n: None)
    proof, commitments = _prove(fast_backend, [3, value % R], 8, seed=11)
    with pytest.raises(VerificationError):
        _verify(fast_backend, proof, commitments, 8)


def test_different_commitment_fails(fixed):
    be, proof, commitments = fixed
    G = PedersenGens.default(be).G
    for j in range(len(commitments)):
        changed = list(commitments)
        changed[j] = be.g1_add(changed[j], G)
        with pytest.raises(VerificationError):
            _verify(be, proof, changed, 8)
    with pytest.raises(VerificationError):
        _verify(be, proof, commitments[::-1], 8)
    with pytest.raises(VerificationError):  # the padding is the verifier's, not the prover's
        _verify(be, proof, [*commitments, be.g1_identity()], 8)
    with pytest.raises(VerificationError):  # a real commitment may not be the identity
        _verify(be, proof, [commitments[0], commitments[1], be.g1_identity()], 8)
    with pytest.raises(VerificationError):  # a different n on the same N = 32 shape
        _verify(be, proof, commitments[:2], 16)


def test_different_transcript_fails(fixed):
    be, proof, commitments = fixed
    with pytest.raises(VerificationError):
        _verify(be, proof, commitments, 8, label=b"another-app")
    t = Transcript(LABEL)
    t.append(b"nonce", b"\x01")
    with pytest.raises(VerificationError):
        verify(t, proof, commitments, 8, backend=be)


def _replacements(be, proof):
    """Every proof element, altered: each point + G, each scalar + 1."""
    G = PedersenGens.default(be).G
    yield "A", {"A": be.g1_add(proof.A, G)}
    wip = proof.wip
    for vec in ("L_vec", "R_vec"):
        for i in range(len(getattr(wip, vec))):
            changed = list(getattr(wip, vec))
            changed[i] = be.g1_add(changed[i], G)
            yield f"{vec}[{i}]", {"wip": WeightedInnerProductProof(**{**wip.__dict__, vec: tuple(changed)})}
    for name in ("A", "B"):
        yield (
            f"wip.{name}",
            {"wip": WeightedInnerProductProof(**{**wip.__dict__, name: be.g1_add(getattr(wip, name), G)})},
        )
    for name in ("r", "s", "delta"):
        yield f"wip.{name}", {"wip": WeightedInnerProductProof(**{**wip.__dict__, name: (getattr(wip, name) + 1) % R})}
    yield "L<->R", {"wip": WeightedInnerProductProof(**{**wip.__dict__, "L_vec": wip.R_vec, "R_vec": wip.L_vec})}
    yield "A<->B", {"wip": WeightedInnerProductProof(**{**wip.__dict__, "A": wip.B, "B": wip.A})}


def test_every_element_altered_fails(fixed):
    be, proof, commitments = fixed
    names = []
    for name, change in _replacements(be, proof):
        names.append(name)
        with pytest.raises(VerificationError):
            _verify(be, RangeProof(**{**proof.__dict__, **change}), commitments, 8)
    assert len(names) == 1 + 2 * 5 + 2 + 3 + 2  # N = 32: five rounds


def test_identity_points_in_a_proof_object_fail(fixed):
    be, proof, commitments = fixed
    z = be.g1_identity()
    wip = proof.wip
    for change in (
        {"A": z},
        {"wip": WeightedInnerProductProof(**{**wip.__dict__, "B": z})},
        {"wip": WeightedInnerProductProof(**{**wip.__dict__, "L_vec": (z, *wip.L_vec[1:])})},
    ):
        with pytest.raises(VerificationError):
            _verify(be, RangeProof(**{**proof.__dict__, **change}), commitments, 8)


def test_wrong_round_count_fails(fixed):
    be, proof, commitments = fixed
    wip = proof.wip
    short = WeightedInnerProductProof(**{**wip.__dict__, "L_vec": wip.L_vec[:-1], "R_vec": wip.R_vec[:-1]})
    with pytest.raises(VerificationError):
        _verify(be, RangeProof(**{**proof.__dict__, "wip": short}), commitments, 8)


# Encoding ------------------------------------------------------------------------------


def _layout(n, m):
    """(offset, length, kind) of every element of the encoding."""
    K = (n * (1 << (m - 1).bit_length())).bit_length() - 1
    kinds = ["point"] * (1 + 2 * K + 2) + ["scalar"] * 3
    off = 0
    for kind in kinds:
        size = k.G1_BYTES if kind == "point" else k.SCALAR_BYTES
        yield off, size, kind
        off += size


def _rejects(be, data, commitments, n, m):
    try:
        proof = RangeProof.from_bytes(be, data, n, m)
    except EncodingError:
        return True
    try:
        _verify(be, proof, commitments, n)
    except VerificationError:
        return True
    return False


def test_round_trip(fixed):
    be, proof, commitments = fixed
    data = proof.to_bytes(be)
    again = RangeProof.from_bytes(be, data, 8, 3)
    assert again == proof and again.to_bytes(be) == data
    assert RangeProof.from_bytes(be, bytearray(data), 8, 4) == proof  # m = 3 pads to 4


def test_byte_flips_rejected(fixed):
    be, proof, commitments = fixed
    data = proof.to_bytes(be)
    for off, size, _kind in _layout(8, 3):
        for pos in {off, off + 1, off + size // 2, off + size - 1}:
            flipped = bytearray(data)
            flipped[pos] ^= 0x01 if pos != off else 0x10
            assert _rejects(be, bytes(flipped), commitments, 8, 3), pos


def test_truncated_and_extended_rejected(fixed):
    be, proof, _ = fixed
    data = proof.to_bytes(be)
    for bad in (data[:-1], data[:-32], data + b"\x00", data + data[:48], b""):
        with pytest.raises(EncodingError):
            RangeProof.from_bytes(be, bad, 8, 3)
    with pytest.raises(EncodingError):  # the shape of another (n, m)
        RangeProof.from_bytes(be, data, 8, 8)
    with pytest.raises(ParameterError):
        RangeProof.from_bytes(be, data, 7, 3)


def test_typed_decoding_errors(fixed):
    be, proof, _ = fixed
    data = proof.to_bytes(be)
    layout = list(_layout(8, 3))
    identity = bytes([0xC0]) + bytes(47)
    for off, size, kind in layout:
        if kind == "point":
            with pytest.raises(IdentityPointError):
                RangeProof.from_bytes(be, data[:off] + identity + data[off + size :], 8, 3)
        else:
            for big in (R, 2**256 - 1):
                with pytest.raises(ScalarOutOfRangeError):
                    RangeProof.from_bytes(be, data[:off] + big.to_bytes(32, "big") + data[off + size :], 8, 3)
    with pytest.raises(EncodingError):  # compression flag cleared
        RangeProof.from_bytes(be, bytes([data[0] & 0x7F]) + data[1:], 8, 3)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pos=st.integers(0, RangeProof.size(8, 3) - 1), mask=st.integers(1, 255))
def test_property_any_byte_change_rejected(fixed, pos, mask):
    be, proof, commitments = fixed
    data = bytearray(proof.to_bytes(be))
    data[pos] ^= mask
    assert _rejects(be, bytes(data), commitments, 8, 3)


@settings(max_examples=15, deadline=None)
@given(
    n=st.sampled_from([8, 16]),
    values=st.lists(st.integers(0, 2**16 - 1), min_size=1, max_size=3),
    seed=st.integers(0, 2**32),
)
def test_property_prove_verify_round_trip(n, values, seed):
    be = get_backend("blst")
    values = [v % (1 << n) for v in values]
    proof, commitments = _prove(be, values, n, seed=seed)
    data = proof.to_bytes(be)
    _verify(be, RangeProof.from_bytes(be, data, n, len(values)), commitments, n)


# Weighted inner-product argument alone -----------------------------------------------------


@pytest.mark.parametrize("N", [1, 2, 8])
def test_weighted_inner_product_argument(fast_backend, N):
    be, rng = fast_backend, random.Random(4)
    gs, hs, pg = G_vec(be, N), H_vec(be, N), PedersenGens.default(be)
    a, b = [rng.randrange(R) for _ in range(N)], [rng.randrange(R) for _ in range(N)]
    gf = [rng.randrange(1, R) for _ in range(N)]
    y, alpha = rng.randrange(1, R), rng.randrange(R)
    P = be.g1_msm(
        [*gs, *hs, pg.G, pg.H],
        [*(x * f for x, f in zip(a, gf, strict=True)), *b, inner_product.weighted_inner(a, b, y), alpha],
    )
    prepared = be.g1_msm_prepare([*gs, *hs, pg.G, pg.H])
    common = {"G_vec": gs, "H_vec": hs, "g": pg.G, "h": pg.H, "y": y, "G_factors": gf}
    for handle in (None, prepared):
        proof = inner_product.prove(
            Transcript(LABEL), be, a=a, b=b, alpha=alpha, prepared=handle, rng=seeded(5), **common
        )
        inner_product.verify(Transcript(LABEL), be, proof, P, **common)
        data = proof.to_bytes(be)
        assert len(data) == WeightedInnerProductProof.size(N)
        assert WeightedInnerProductProof.from_bytes(be, data, N) == proof
    for wrong in (be.g1_add(P, pg.G), be.g1_add(P, pg.H), be.g1_add(P, gs[-1])):
        with pytest.raises(VerificationError):
            inner_product.verify(Transcript(LABEL), be, proof, wrong, **common)
    with pytest.raises(VerificationError):  # another weight
        inner_product.verify(Transcript(LABEL), be, proof, P, **{**common, "y": y + 1})
    # a witness for another weighted inner product: the relation with a wrong g-coefficient
    wrong_ip = be.g1_add(P, be.g1_mul(pg.G, 1))
    bad = inner_product.prove(Transcript(LABEL), be, a=a, b=b, alpha=alpha, rng=seeded(6), **common)
    with pytest.raises(VerificationError):
        inner_product.verify(Transcript(LABEL), be, bad, wrong_ip, **common)


def test_generators_prefix_stable_and_distinct(fast_backend):
    be = fast_backend
    small, big = G_vec(be, 4), G_vec(be, 16)
    assert big[:4] == small
    encodings = {be.g1_to_bytes(p) for p in [*big, *H_vec(be, 16)]}
    pg = PedersenGens.default(be)
    encodings |= {be.g1_to_bytes(pg.G), be.g1_to_bytes(pg.H)}
    assert len(encodings) == 16 + 16 + 2
    bases = RangeProofBases.get(be, 16, pg)
    assert RangeProofBases.get(be, 16, pg) is bases and bases.G_index == 32 and bases.H_index == 33


def test_doctests():
    assert doctest.testmod(range_proof).failed == 0


# py_ecc: the named subset ----------------------------------------------------------------


@pytest.fixture(scope="module")
def py_ecc_proof():
    be = get_backend("py_ecc")
    proof, commitments = _prove(be, [0b1011_0110], 8, seed=77)
    return be, proof, commitments


def test_py_ecc_prove_verify_identical_to_blst(py_ecc_proof):
    be, proof, commitments = py_ecc_proof
    _verify(be, proof, commitments, 8)
    blst = get_backend("blst")
    ref, ref_commitments = _prove(blst, [0b1011_0110], 8, seed=77)
    assert proof.to_bytes(be) == ref.to_bytes(blst)
    assert [be.g1_to_bytes(c) for c in commitments] == [c.compress() for c in ref_commitments]


def test_py_ecc_tampered_delta_fails(py_ecc_proof):
    be, proof, commitments = py_ecc_proof
    wip = proof.wip
    with pytest.raises(VerificationError):
        _verify(
            be,
            RangeProof(proof.A, WeightedInnerProductProof(**{**wip.__dict__, "delta": (wip.delta + 1) % R})),
            commitments,
            8,
        )
