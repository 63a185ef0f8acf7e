"""draft-irtf-cfrg-sigma-protocols over BLS12-381 G1: every validation rule, tampering, batches, round trips.

Invalid inputs are data (``INSTANCE_CASES``, ``NARG_CASES``): each names the rule it
exercises and the draft section that states it, and pins the typed error the raising API
gives, while :func:`verify_narg` just returns False. Instances that break a *semantic*
rule (checks 5, 6, 9, 10) come with a NARG string that satisfies the verification
equations, so the rejection provably comes from instance validation. Decoding attacks run
on every backend; byte-by-byte tampering and hypothesis runs on the fastest.
"""

from __future__ import annotations

import collections
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from circuits.backend import available_backends, get_backend
from circuits.constants import G1_GENERATOR, P, R
from circuits.errors import (
    EncodingError,
    IdentityPointError,
    NonCanonicalEncodingError,
    NotInSubgroupError,
    NotOnCurveError,
    ParameterError,
    ScalarOutOfRangeError,
    VerificationError,
    ZkCredError,
)
from circuits.sigma import (
    GENERATOR,
    LinearRelation,
    batch_verify,
    prove_batchable,
    prove_compact,
    verify_batchable,
    verify_compact,
    verify_narg,
)
from circuits.sigma import narg as N
from circuits.sigma.codec import le, random_scalar
from circuits.sigma.duplex_sponge import DuplexSponge

FAST = get_backend(available_backends()[0])
SUITE = "sigma-proofs_Shake128_BLS12381"
TAG_B = f"zkcred-test-v01-DSFS-with-{SUITE}".encode()
TAG_C = f"zkcred-test-v01-CMPT-with-{SUITE}".encode()
TAGS = {"batchable": TAG_B, "compact": TAG_C}
PROVE = {"batchable": prove_batchable, "compact": prove_compact}
CHECK = {"batchable": N.check_batchable, "compact": N.check_compact}

# Fixed scalars so every backend sees the same bytes.
X_W, H_LOG, Y_W = 0x1234_5678_9ABC, 0xDEAD_BEEF, 0x42
IDENTITY = bytes([0xC0]) + bytes(47)


def _pt(k: int, be=FAST) -> bytes:
    return be.g1_to_bytes(be.g1_mul(be.g1_generator(), k))


def _not_in_subgroup() -> bytes:
    """The smallest x ≥ 1 whose compressed point is on E but outside G1 (via py_ecc)."""
    from py_ecc.bls.point_compression import compress_G1
    from py_ecc.fields import optimized_bls12_381_FQ as FQ
    from py_ecc.optimized_bls12_381 import b, curve_order, is_inf, multiply

    x = 1
    while True:
        rhs = FQ(x) ** 3 + b
        y = rhs ** ((P + 1) // 4)
        if y * y == rhs and not is_inf(multiply((FQ(x), y, FQ(1)), curve_order)):
            return compress_G1((FQ(x), y, FQ(1))).to_bytes(48, "big")
        x += 1


BAD_POINTS = {
    "identity": (IDENTITY, IdentityPointError),
    "compression flag clear": (bytes([G1_GENERATOR[0] & 0x7F]) + G1_GENERATOR[1:], NonCanonicalEncodingError),
    "infinity flag with a sign bit": (bytes([0xE0]) + bytes(47), NonCanonicalEncodingError),
    "x lifted by p (x = 4 + p)": (((P + 4) | (1 << 383)).to_bytes(48, "big"), NonCanonicalEncodingError),
    "x = 1 is off the curve": ((1 | (1 << 383)).to_bytes(48, "big"), NotOnCurveError),
    "x = 0: on the curve, order 3": ((1 << 383).to_bytes(48, "big"), NotInSubgroupError),
    "on the curve, outside G1": (_not_in_subgroup(), NotInSubgroupError),
}


# Building instances byte by byte (coefficients and indices unchecked on purpose) ---------------


def ser(equations, elements: list[bytes], num_equations: int | None = None) -> bytes:
    """``SerializeLinearRelation`` with raw integers: ``equations`` = [(image, terms)]."""
    out = le(len(equations) if num_equations is None else num_equations, 4)
    for image, terms in equations:
        out += le(len(image), 4) + b"".join(le(e, 4) + c.to_bytes(32, "big") for e, c in image)
        out += le(len(terms), 4) + b"".join(le(s, 4) + le(e, 4) + c.to_bytes(32, "big") for s, e, c in terms)
    return out + b"".join(elements)


DLOG = ser([([(1, 1)], [(0, 0, 1)])], [_pt(X_W)])


def _forged_proof(data: bytes, witness: list[int], flavor: str, be=FAST, rng=secrets.token_bytes) -> bytes:
    """A NARG string for an instance that fails validation, made by skipping validation.

    The relation is parsed without checks 1–10, marked valid and proven: the proof
    satisfies the verification equations, so only instance validation can reject it.
    """
    rel = LinearRelation.parse_unvalidated(data, be)
    rel._valid = True  # skip ValidateInstance: the forgery under test
    return PROVE[flavor](TAGS[flavor], rel, witness, rng=rng)


@dataclass(frozen=True)
class InstanceCase:
    desc: str
    section: str
    instance: bytes
    error: type[Exception]
    check: int | None = None  # the draft's instance-validation check number, where one applies
    witness: tuple[int, ...] | None = None  # set where a would-verify proof can be forged


ELEMENT_COUNT_MISMATCH = ser([([(1, 1)], [(0, 0, 1)])], [_pt(X_W), _pt(H_LOG)])
INSTANCE_CASES = [
    InstanceCase("no equation", "Instance validation, check 1", ser([], [_pt(X_W)]), ParameterError, 1),
    InstanceCase("an equation with an empty image", "check 2", ser([([], [(0, 0, 1)])], [_pt(X_W)]), ParameterError, 2),
    InstanceCase("an equation with empty terms", "check 2", ser([([(1, 1)], [])], [_pt(X_W)]), ParameterError, 2),
    InstanceCase(
        "an image term references element 2 of 2",
        "check 4; parsers may reject on length",
        ser([([(2, 1)], [(0, 0, 1)])], [_pt(X_W)]),
        ParameterError,
        4,
    ),
    InstanceCase(
        "a term references element 2 of 2 (vector E4's shape)",
        "check 4",
        ser([([(1, 1)], [(0, 2, 1)])], [_pt(X_W)]),
        ParameterError,
        4,
    ),
    InstanceCase(
        "an element index of 2^32 − 1",
        "checks 3 and 4",
        ser([([(1, 1)], [(0, 0xFFFFFFFF, 1)])], [_pt(X_W)]),
        ParameterError,
        4,
    ),
    InstanceCase(
        "an element that no equation uses",
        "check 5 (Representation: every element MUST appear)",
        ELEMENT_COUNT_MISMATCH,
        ParameterError,
        5,
        (X_W,),
    ),
    InstanceCase(
        "scalar index 1 used by no equation (vector E1's shape)",
        "check 6",
        ser([([(1, 1)], [(0, 0, 1), (2, 2, 1)])], [_pt(X_W), _pt(H_LOG)]),
        ParameterError,
        6,
        (X_W, 7, 0),
    ),
    InstanceCase(
        "scalar index 2^32 − 1 alone", "check 6", ser([([(1, 1)], [(0xFFFFFFFF, 0, 1)])], [_pt(X_W)]), ParameterError, 6
    ),
    InstanceCase(
        "an instance element is the identity (vector E3's shape)",
        "check 8; Group.deserialize",
        ser([([(2, 1)], [(0, 0, 1), (1, 1, 1)])], [IDENTITY, _pt(X_W)]),
        IdentityPointError,
        8,
    ),
    InstanceCase(
        "the image X + (−X) is the identity (vector E2's shape)",
        "check 9",
        ser([([(1, 1), (1, R - 1)], [(0, 0, 1)])], [_pt(X_W)]),
        ParameterError,
        9,
        (0,),
    ),
    InstanceCase(
        "an image with coefficient 0",
        "check 9 (a coefficient MAY be zero, the image MUST NOT vanish)",
        ser([([(1, 0)], [(0, 0, 1)])], [_pt(X_W)]),
        ParameterError,
        9,
        (0,),
    ),
    InstanceCase(
        "the second equation's image is the identity",
        "check 9",
        ser([([(1, 1)], [(0, 0, 1)]), ([(2, 1), (2, R - 1)], [(0, 2, 1)])], [_pt(X_W), _pt(H_LOG)]),
        ParameterError,
        9,
    ),
    InstanceCase(
        "the column of y is y·H − y·H",
        "check 10 (Instance security: x·H − x·H constrains nothing)",
        ser([([(1, 1)], [(0, 0, 1), (1, 2, 1), (1, 2, R - 1)])], [_pt(X_W), _pt(H_LOG)]),
        ParameterError,
        10,
        (X_W, 77),
    ),
    InstanceCase(
        "the column of y has coefficient 0",
        "check 10",
        ser([([(1, 1)], [(0, 0, 1), (1, 2, 0)])], [_pt(X_W), _pt(H_LOG)]),
        ParameterError,
        10,
        (X_W, 5),
    ),
    InstanceCase(
        "an image coefficient equal to r",
        "Scalar.deserialize MUST fail unless < r",
        ser([([(1, R)], [(0, 0, 1)])], [_pt(X_W)]),
        ScalarOutOfRangeError,
    ),
    InstanceCase(
        "a term coefficient of 2^256 − 1",
        "Scalar.deserialize",
        ser([([(1, 1)], [(0, 0, (1 << 256) - 1)])], [_pt(X_W)]),
        ScalarOutOfRangeError,
    ),
    InstanceCase(
        "the empty string", "Serialization; FS draft: the encoded instance MUST be non-empty", b"", EncodingError
    ),
    InstanceCase(
        "one trailing byte after the elements",
        "Serialization: elements are Ne bytes each",
        DLOG + b"\x00",
        EncodingError,
    ),
    InstanceCase("the last element truncated", "Serialization", DLOG[:-1], EncodingError),
    InstanceCase("the elements missing", "Serialization; check 4", DLOG[:-48], ParameterError, 4),
    InstanceCase(
        "2^32 − 1 equations announced",
        "FS Implementation guidance: length indicators are untrusted",
        ser([([(1, 1)], [(0, 0, 1)])], [_pt(X_W)], num_equations=0xFFFFFFFF),
        EncodingError,
    ),
    InstanceCase(
        "2^32 − 1 image terms announced",
        "FS Implementation guidance",
        le(1, 4) + le(0xFFFFFFFF, 4) + DLOG[8:],
        EncodingError,
    ),
    InstanceCase(
        "2^32 − 1 terms announced",
        "FS Implementation guidance",
        DLOG[:44] + le(0xFFFFFFFF, 4) + DLOG[48:],
        EncodingError,
    ),
    InstanceCase("the count field truncated", "Serialization", b"\x01\x00", EncodingError),
] + [
    InstanceCase(
        f"instance element: {name}",
        "NARG string validation; Ciphersuites, BLS12-381 deserialize",
        ser([([(1, 1)], [(0, 0, 1)])], [point]),
        error,
    )
    for name, (point, error) in BAD_POINTS.items()
]


@pytest.mark.parametrize("case", INSTANCE_CASES, ids=[c.desc for c in INSTANCE_CASES])
def test_invalid_instance(case: InstanceCase, backend):
    with pytest.raises(case.error) as info:
        LinearRelation.from_bytes(case.instance, backend)
    if case.check is not None and case.error is ParameterError:
        assert str(info.value).startswith(f"check {case.check}:")
    for flavor in ("batchable", "compact"):
        narg = (
            _forged_proof(case.instance, list(case.witness), flavor, backend)
            if case.witness is not None
            else PROVE[flavor](TAGS[flavor], _dlog(backend), [X_W])
        )
        assert verify_narg(TAGS[flavor], case.instance, narg, flavor, backend=backend) is False


def test_forged_proofs_satisfy_the_equations():
    """The forged NARG strings above do verify when validation is skipped: the cases are not vacuous."""
    for case in (c for c in INSTANCE_CASES if c.witness is not None):
        for flavor in ("batchable", "compact"):
            narg = _forged_proof(case.instance, list(case.witness), flavor)
            rel = LinearRelation.parse_unvalidated(case.instance, FAST)
            rel._valid = True
            CHECK[flavor](TAGS[flavor], rel, narg)  # no exception


# NARG strings ------------------------------------------------------------------------------------


def _dlog(be=FAST) -> LinearRelation:
    return LinearRelation.from_bytes(ser([([(1, 1)], [(0, 0, 1)])], [_pt(X_W, be)]), be)


@pytest.fixture(scope="module")
def dlog_proofs():
    """A valid proof of each flavor for ``X = x·G`` (fixed nonces, so every backend agrees)."""
    rel = _dlog()
    return {f: PROVE[f](TAGS[f], rel, [X_W], rng=DuplexSponge(bytes(32))) for f in PROVE}


@dataclass(frozen=True)
class NargCase:
    desc: str
    section: str
    flavor: str
    mutate: Callable[[bytes, bytes], tuple[bytes, bytes]]  # (tag, narg) -> (tag, narg)
    error: type[Exception]


def _replace(start: int, new: bytes):
    return lambda tag, narg: (tag, narg[:start] + new + narg[start + len(new) :])


def _scalar_plus_r(start: int):
    """The same scalar mod r, re-encoded as ``s + r`` (always < 2^256: r < 2^255)."""

    def mutate(tag, narg):
        s = int.from_bytes(narg[start : start + 32], "big")
        return tag, narg[:start] + (s + R).to_bytes(32, "big") + narg[start + 32 :]

    return mutate


NARG_CASES = [
    NargCase(
        "one trailing zero byte",
        "FS Deserialization: no bytes remain",
        "batchable",
        lambda t, n: (t, n + b"\x00"),
        EncodingError,
    ),
    NargCase(
        "truncated by one byte", "Batchable NARG strings, step 1", "batchable", lambda t, n: (t, n[:-1]), EncodingError
    ),
    NargCase("empty", "Batchable NARG strings, step 1", "batchable", lambda t, n: (t, b""), EncodingError),
    NargCase(
        "response = s + r",
        "NARG string validation: scalars canonical",
        "batchable",
        _scalar_plus_r(48),
        ScalarOutOfRangeError,
    ),
    NargCase(
        "response = 2^256 − 1",
        "Scalars: deserialize MUST fail unless < order",
        "batchable",
        _replace(48, b"\xff" * 32),
        ScalarOutOfRangeError,
    ),
    NargCase(
        "response + 1",
        "Verifier",
        "batchable",
        lambda t, n: (t, n[:48] + ((int.from_bytes(n[48:], "big") + 1) % R).to_bytes(32, "big")),
        VerificationError,
    ),
    NargCase("commitment replaced by G", "Verifier", "batchable", _replace(0, G1_GENERATOR), VerificationError),
    NargCase(
        "commitment negated (sign bit)",
        "Verifier",
        "batchable",
        lambda t, n: (t, bytes([n[0] ^ 0x20]) + n[1:]),
        VerificationError,
    ),
    NargCase(
        "under another session's tag",
        "Tag and session identifier",
        "batchable",
        lambda t, n: (t.replace(b"v01", b"v02"), n),
        VerificationError,
    ),
    NargCase(
        "tag without the DSFS marker",
        "Tag: MUST contain the flavor verbatim",
        "batchable",
        lambda t, n: (t.replace(b"DSFS", b"XXXX"), n),
        ParameterError,
    ),
    NargCase(
        "tag with the CMPT marker too",
        "Tag: a NARG string verifies only under its flavor",
        "batchable",
        lambda t, n: (t + b"-CMPT", n),
        ParameterError,
    ),
    NargCase(
        "tag without the ciphersuite id",
        "Tag: MUST contain the ciphersuite identifier",
        "batchable",
        lambda t, n: (t.replace(SUITE.encode(), b"suite"), n),
        ParameterError,
    ),
    NargCase(
        "one trailing zero byte",
        "Compact NARG strings, step 3",
        "compact",
        lambda t, n: (t, n + b"\x00"),
        EncodingError,
    ),
    NargCase(
        "truncated by one byte", "Compact NARG strings, step 3", "compact", lambda t, n: (t, n[:-1]), EncodingError
    ),
    NargCase("challenge = c + r", "NARG string validation", "compact", _scalar_plus_r(0), ScalarOutOfRangeError),
    NargCase(
        "challenge = r",
        "Compact NARG strings, step 4",
        "compact",
        _replace(0, R.to_bytes(32, "big")),
        ScalarOutOfRangeError,
    ),
    NargCase(
        "response = 2^256 − 1",
        "Compact NARG strings, step 5",
        "compact",
        _replace(32, b"\xff" * 32),
        ScalarOutOfRangeError,
    ),
    NargCase(
        "all zero: the simulated commitment is the identity",
        "Compact NARG strings, step 7",
        "compact",
        lambda t, n: (t, bytes(len(n))),
        IdentityPointError,
    ),
    NargCase(
        "challenge + 1",
        "Compact NARG strings, step 9",
        "compact",
        lambda t, n: (t, ((int.from_bytes(n[:32], "big") + 1) % R).to_bytes(32, "big") + n[32:]),
        VerificationError,
    ),
    NargCase(
        "under another session's tag",
        "Compact NARG strings, step 8",
        "compact",
        lambda t, n: (t.replace(b"v01", b"v02"), n),
        VerificationError,
    ),
    NargCase(
        "tag without the CMPT marker",
        "Tag and session identifier",
        "compact",
        lambda t, n: (t.replace(b"CMPT", b"DSFS"), n),
        ParameterError,
    ),
] + [
    NargCase(f"commitment: {name}", "NARG string validation; Group.deserialize", "batchable", _replace(0, point), error)
    for name, (point, error) in BAD_POINTS.items()
]


@pytest.mark.parametrize("case", NARG_CASES, ids=[f"{c.flavor}-{c.desc}" for c in NARG_CASES])
def test_invalid_narg(case: NargCase, dlog_proofs, backend):
    rel = _dlog(backend)
    assert verify_narg(TAGS[case.flavor], rel.to_bytes(), dlog_proofs[case.flavor], case.flavor, backend=backend)
    tag, narg = case.mutate(TAGS[case.flavor], dlog_proofs[case.flavor])
    assert (tag, narg) != (TAGS[case.flavor], dlog_proofs[case.flavor])
    with pytest.raises(case.error):
        CHECK[case.flavor](tag, rel, narg)
    assert verify_narg(tag, rel.to_bytes(), narg, case.flavor, backend=backend) is False


def test_flavor_must_match(dlog_proofs):
    rel = _dlog()
    for flavor, narg in dlog_proofs.items():
        other = "compact" if flavor == "batchable" else "batchable"
        assert not verify_narg(TAGS[other], rel.to_bytes(), narg, other)
        assert not verify_narg(TAGS[flavor], rel.to_bytes(), narg, other)
        for bad in ("Batchable", "", "both", None, b"compact"):
            assert verify_narg(TAGS[flavor], rel.to_bytes(), narg, bad) is False


def test_verify_narg_rejects_wrong_types(dlog_proofs):
    rel, narg = _dlog(), dlog_proofs["compact"]
    assert verify_narg(TAG_C.decode(), rel.to_bytes(), narg, "compact") is True  # a text tag: its UTF-8 bytes
    assert verify_narg(TAG_C.decode() + "\udc80", rel.to_bytes(), narg, "compact") is False  # not encodable
    assert verify_narg(list(TAG_C), rel.to_bytes(), narg, "compact") is False
    assert verify_narg(TAG_C, rel.to_bytes().hex(), narg, "compact") is False
    assert verify_narg(TAG_C, rel.to_bytes(), None, "compact") is False
    assert verify_narg(bytearray(TAG_C), bytearray(rel.to_bytes()), bytearray(narg), "compact") is True


# Tampering: every byte, every truncation -----------------------------------------------------------


def _vector_cases():
    from tests.circuits.sigma_support import sigma_vectors

    return [
        (v["Tag"].encode(), bytes.fromhex(v["Instance"]), bytes.fromhex(v["NargString"]), v["Flavor"])
        for v in sigma_vectors()
    ]


def test_every_flipped_byte_of_every_vector_is_rejected():
    """One bit flipped at each position of every vector's NARG string and of every distinct
    instance (each instance serves both flavors: flipped once, under its batchable proof);
    bit = position mod 8."""
    for tag, instance, narg, flavor in _vector_cases():
        assert verify_narg(tag, instance, narg, flavor, backend=FAST)
        for i in range(len(narg)):
            bad = narg[:i] + bytes([narg[i] ^ (1 << (i % 8))]) + narg[i + 1 :]
            assert not verify_narg(tag, instance, bad, flavor, backend=FAST), (flavor, "narg", i)
        if flavor != "batchable":
            continue
        for i in range(len(instance)):
            bad = instance[:i] + bytes([instance[i] ^ (1 << (i % 8))]) + instance[i + 1 :]
            assert not verify_narg(tag, bad, narg, flavor, backend=FAST), (flavor, "instance", i)


def test_every_truncation_and_extension_is_rejected():
    for tag, instance, narg, flavor in _vector_cases()[:4]:
        for n in range(len(narg)):
            assert not verify_narg(tag, instance, narg[:n], flavor, backend=FAST)
        for n in range(len(instance)):
            assert not verify_narg(tag, instance[:n], narg, flavor, backend=FAST)
        assert not verify_narg(tag, instance, b"\x00" + narg, flavor, backend=FAST)
        assert not verify_narg(tag, instance + _pt(3), narg, flavor, backend=FAST)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instance=st.binary(max_size=400), narg=st.binary(max_size=200), flavor=st.sampled_from(["batchable", "compact"]))
def test_random_bytes_never_raise(instance, narg, flavor):
    assert verify_narg(TAGS[flavor], instance, narg, flavor, backend=FAST) is False
    try:  # the raising API raises only typed errors
        LinearRelation.from_bytes(instance, FAST)
    except ZkCredError:
        pass


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_random_mutations_of_valid_inputs(data):
    tag, instance, narg, flavor = data.draw(st.sampled_from(_vector_cases()))
    which = data.draw(st.sampled_from(["instance", "narg"]))
    target = instance if which == "instance" else narg
    pos = data.draw(st.integers(0, len(target) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda b: b != target[pos]))
    bad = target[:pos] + bytes([value]) + target[pos + 1 :]
    if which == "instance":
        try:
            rel = LinearRelation.from_bytes(bad, FAST)
        except ZkCredError:
            rel = None
        if rel is not None:
            with pytest.raises(ZkCredError):
                CHECK[flavor](tag, rel, narg)
        assert not verify_narg(tag, bad, narg, flavor, backend=FAST)
    else:
        assert not verify_narg(tag, instance, bad, flavor, backend=FAST)


# Round trips over random relations -------------------------------------------------------------------


@st.composite
def relations(draw):
    """A random valid relation: every scalar and element used, images = map(witness)."""
    be = FAST
    n_scalars = draw(st.integers(1, 3))
    n_bases = draw(st.integers(1, 3))
    n_eq = draw(st.integers(1, 3))
    rel = LinearRelation(be)
    scalars = rel.allocate_scalars(n_scalars)
    base_logs = [draw(st.integers(2, R - 1)) for _ in range(n_bases)]
    bases = [GENERATOR] + rel.allocate_elements(be.g1_mul(be.g1_generator(), k) for k in base_logs)
    witness = [draw(st.integers(0, R - 1)) for _ in range(n_scalars)]
    logs = [1] + base_logs
    rows = []
    for i in range(n_eq):
        terms = (
            [(s, draw(st.sampled_from(bases)), draw(st.integers(1, R - 1))) for s in scalars]
            if i == 0
            else [
                (draw(st.sampled_from(scalars)), draw(st.sampled_from(bases)), draw(st.integers(1, R - 1)))
                for _ in range(draw(st.integers(1, 3)))
            ]
        )
        rows.append(terms)
    # Every base must appear: add it to the first row under scalar 0 if unused.
    used = {e for row in rows for _, e, _ in row}
    rows[0] += [(scalars[0], e, 1) for e in bases[1:] if e not in used]
    for terms in rows:
        value = sum(c * witness[s] * logs[bases.index(e)] for s, e, c in terms) % R
        if value == 0:
            value, witness = None, None
            break
        # The image is a fresh element (an affine constant split in two, sometimes).
        if draw(st.booleans()):
            k = draw(st.integers(1, R - 1))
            a = rel.allocate_element(be.g1_mul(be.g1_generator(), (value - k) % R)) if (value - k) % R else None
            image = [(a, 1), (GENERATOR, k)] if a is not None else [(GENERATOR, k)]
        else:
            image = [(rel.allocate_element(be.g1_mul(be.g1_generator(), value)), 1)]
        rel.append_equation(image, terms)
    from hypothesis import assume

    assume(witness is not None and rel.is_valid())
    return rel, witness


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=relations(), seed=st.binary(min_size=32, max_size=32))
def test_round_trip(case, seed):
    rel, witness = case
    data = rel.to_bytes()
    assert LinearRelation.from_bytes(data, FAST).to_bytes() == data
    for flavor in ("batchable", "compact"):
        narg = PROVE[flavor](TAGS[flavor], rel, witness, rng=DuplexSponge(seed))
        expected = (
            48 * rel.num_equations + 32 * rel.num_scalars if flavor == "batchable" else 32 * (rel.num_scalars + 1)
        )
        assert len(narg) == expected
        assert verify_narg(TAGS[flavor], data, narg, flavor, backend=FAST)
        assert (verify_batchable if flavor == "batchable" else verify_compact)(TAGS[flavor], rel, narg)
    assert batch_verify([(TAG_B, rel, prove_batchable(TAG_B, rel, witness))] * 2)


def test_proofs_are_randomized_and_deterministic_under_a_seed():
    rel = _dlog()
    a, b = prove_compact(TAG_C, rel, [X_W]), prove_compact(TAG_C, rel, [X_W])
    assert a != b and verify_compact(TAG_C, rel, a) and verify_compact(TAG_C, rel, b)
    seeded = [prove_compact(TAG_C, rel, [X_W], rng=DuplexSponge(bytes(32))) for _ in range(2)]
    assert seeded[0] == seeded[1]


# Batch verification ---------------------------------------------------------------------------------


def _batch(n: int):
    items = []
    for i in range(n):
        rel = LinearRelation(FAST)
        x, r = rel.allocate_scalars(2)
        H = rel.allocate_element(FAST.g1_mul(FAST.g1_generator(), H_LOG + i))
        C = rel.allocate_element(
            FAST.g1_msm([FAST.g1_generator(), FAST.g1_mul(FAST.g1_generator(), H_LOG + i)], [i + 1, 1000 + i])
        )
        X = rel.allocate_element(FAST.g1_mul(FAST.g1_generator(), i + 1))
        rel.append_equation([(C, 1)], [(x, GENERATOR, 1), (r, H, 1)])
        rel.append_equation([(X, 1)], [(x, GENERATOR, 1)])
        items.append((TAG_B, rel, prove_batchable(TAG_B, rel, [i + 1, 1000 + i])))
    return items


def test_batch_verification():
    items = _batch(4)
    assert batch_verify(items) and batch_verify([]) and batch_verify(items[:1])
    assert all(verify_batchable(*item) for item in items)


@pytest.mark.parametrize("where", [0, 1, 3])
def test_one_bad_proof_fails_the_batch(where):
    items = _batch(4)
    tag, rel, narg = items[where]
    s = int.from_bytes(narg[-32:], "big")
    items[where] = (tag, rel, narg[:-32] + ((s + 1) % R).to_bytes(32, "big"))
    assert not verify_batchable(*items[where])
    assert not batch_verify(items)
    with pytest.raises(VerificationError):
        N.check_batch(items)


def test_batch_rejects_malformed_members():
    items = _batch(2)
    tag, rel, narg = items[1]
    for bad in [
        (tag, rel, narg + b"\x00"),
        (TAG_C, rel, narg),
        (tag, rel, prove_compact(TAG_C, rel, [2, 1001])),
        (tag, rel, IDENTITY + narg[48:]),
    ]:
        assert not batch_verify([items[0], bad])
    swapped = [(items[0][0], items[1][1], items[0][2]), (items[1][0], items[0][1], items[1][2])]
    assert not batch_verify(swapped)


# The interactive protocol, the simulator, the prover's refusals -------------------------------------------


def test_interactive_protocol_and_simulator():
    rel = _dlog()
    commitment, state = N.prover_commitment(rel, [X_W])
    assert "secret" in repr(state) and str(X_W) not in repr(state)
    c = random_scalar()
    response = N.prover_response(state, c)
    assert N.verifier(rel, commitment, c, response)
    assert not N.verifier(rel, commitment, (c + 1) % R, response)
    assert not N.verifier(rel, commitment * 2, c, response)
    assert not N.verifier(rel, commitment, c + R, response)  # same value mod r, not a canonical scalar
    assert not N.verifier(rel, commitment, c, [response[0] + R])
    with pytest.raises(ParameterError):
        N.prover_response(state, c)  # single use
    response, sim_state = N.simulate_response(rel)
    assert N.verifier(rel, N.simulate_commitment(sim_state, response, c), c, response)


def test_prover_refusals():
    rel = _dlog()
    with pytest.raises(ParameterError):
        prove_compact(TAG_C, rel, [X_W, 1])  # witness length
    with pytest.raises(ParameterError):
        prove_compact(TAG_C, rel, [X_W + 1])  # witness outside the relation
    with pytest.raises(ParameterError):
        prove_compact(TAG_C, rel, [R])  # not a scalar
    with pytest.raises(ParameterError):
        prove_compact(TAG_B, rel, [X_W])  # tag of the other flavor
    bad = LinearRelation(FAST)
    bad.allocate_scalar()
    with pytest.raises(ParameterError, match="check 1"):
        prove_batchable(TAG_B, bad, [1])
    with pytest.raises(IdentityPointError):
        bad.allocate_element(FAST.g1_identity())
    with pytest.raises(TypeError):
        bad.append_equation([(1.0, 1)], [(0, 0, 1)])


def test_builder_matches_the_drafts_compilation():
    """§"Specifying the relation": ChaumPedersen compiles to the stated indices and serialization."""
    rel = LinearRelation(FAST)
    x = rel.allocate_scalar()
    Hp = FAST.g1_mul(FAST.g1_generator(), H_LOG)
    H, X, Y = rel.allocate_elements([Hp, FAST.g1_mul(FAST.g1_generator(), Y_W), FAST.g1_mul(Hp, Y_W)])
    rel.append_equation([(X, 1)], [(x, GENERATOR, 1)])
    rel.append_equation([(Y, 1)], [(x, H, 1)])
    one = (1).to_bytes(32, "big")
    expected = (
        le(2, 4)
        + le(1, 4)
        + le(2, 4)
        + one
        + le(1, 4)
        + le(0, 4)
        + le(0, 4)
        + one
        + le(1, 4)
        + le(3, 4)
        + one
        + le(1, 4)
        + le(0, 4)
        + le(1, 4)
        + one
        + b"".join(FAST.g1_to_bytes(p) for p in rel.elements[1:])
    )
    assert rel.to_bytes() == expected
    assert verify_narg(TAG_B, expected, prove_batchable(TAG_B, rel, [Y_W]), "batchable")


def test_random_scalar_uses_48_bytes_little_endian():
    assert random_scalar(lambda n: b"\x01" + bytes(n - 1)) == 1
    assert random_scalar(lambda n: bytes(n - 1) + b"\x01") == pow(2, 8 * 47, R)
    assert 0 <= random_scalar() < R
    with pytest.raises(ValueError):
        random_scalar(lambda n: bytes(n - 1))


def test_secrets_is_the_default_rng():
    assert N.prove_compact.__kwdefaults__["rng"] is secrets.token_bytes


class _CountingMultiplications:
    """``inner``, counting the scalar multiplications (by neither 0 nor 1) in ``counts["g1_mul"]``."""

    def __init__(self, inner) -> None:
        self._inner = inner
        self.name = inner.name
        self.counts: collections.Counter[str] = collections.Counter()

    def __getattr__(self, attr):
        return getattr(self._inner, attr)

    def g1_mul(self, point, scalar, *args, **kwargs):
        self.counts["g1_mul"] += scalar not in (0, 1)
        return self._inner.g1_mul(point, scalar, *args, **kwargs)

    def g1_msm(self, points, scalars, *args, **kwargs):
        self.counts["g1_mul"] += sum(k not in (0, 1) for k in scalars)
        return self._inner.g1_msm(points, scalars, *args, **kwargs)


def test_validation_is_linear_and_multiplication_free_for_sparse_columns():
    """4 096 witness scalars in one equation: checks 9 and 10 decide every column without an MSM
    (one live coefficient on a non-identity element), and no step scans the terms per scalar."""
    be = _CountingMultiplications(FAST)
    n = 4096
    rel = LinearRelation(be)
    X = rel.allocate_element(FAST.g1_mul(FAST.g1_generator(), n * (n - 1) // 2))
    rel.append_equation([(X, 3)], [(s, GENERATOR, 2) for s in rel.allocate_scalars(n)])
    data = rel.to_bytes()
    be.counts.clear()
    parsed = LinearRelation.from_bytes(data, be)
    assert parsed.num_scalars == n and parsed.to_bytes() == data
    assert be.counts["g1_mul"] == 0  # no multiplication at all for validation


def test_a_validated_relation_cannot_be_changed_behind_its_cache():
    """Validity is cached; the only way to change a relation is the allocation API, which drops the cache."""
    rel = _dlog()
    rel.validate()
    with pytest.raises(AttributeError):
        rel.elements.append(FAST.g1_identity())  # a tuple view, not the list
    with pytest.raises(AttributeError):
        rel.equations.append(None)
    rel.allocate_element(FAST.g1_mul(FAST.g1_generator(), 9))  # unused: check 5 must run again
    assert not rel.is_valid()


# The negative corpus as files (STYLE §2.7: negative cases are first-class files) -------------------

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sigma_protocols"


def negative_records() -> list[dict]:
    """Every case above as a record in the draft's vector format, deterministic (seeded nonces).

    ``tests/fixtures/sigma_protocols/generate.py`` writes them, one JSON file per case.
    """
    seeded = {f: PROVE[f](TAGS[f], _dlog(), [X_W], rng=DuplexSponge(bytes(32))) for f in PROVE}
    records = []
    for case in INSTANCE_CASES:
        for flavor in ("batchable", "compact"):
            narg = (
                _forged_proof(case.instance, list(case.witness), flavor, rng=DuplexSponge(bytes(32)))
                if case.witness is not None
                else seeded[flavor]
            )
            records.append(
                _record(
                    f"instance/{case.desc}/{flavor}",
                    case.desc,
                    case.section,
                    flavor,
                    TAGS[flavor],
                    case.instance,
                    narg,
                    case.error,
                )
            )
    for ncase in NARG_CASES:
        tag, narg = ncase.mutate(TAGS[ncase.flavor], seeded[ncase.flavor])
        records.append(
            _record(
                f"narg/{ncase.desc}/{ncase.flavor}",
                ncase.desc,
                ncase.section,
                ncase.flavor,
                tag,
                _dlog().to_bytes(),
                narg,
                ncase.error,
            )
        )
    return records


def _record(case_id, desc, section, flavor, tag, instance, narg, error) -> dict:
    return {
        "caseName": case_id,
        "desc": desc,
        "section": section,
        "Function": "SigmaProof",
        "Ciphersuite": SUITE,
        "Flavor": flavor,
        "Tag": tag.decode(),
        "Instance": instance.hex(),
        "NargString": narg.hex(),
        "Expected": "reject",
        "result": {"valid": False, "reason": error.__name__},
    }


def test_negative_fixtures_are_current_and_rejected():
    files = sorted(FIXTURES.glob("*.json"))
    stored = [json.loads(f.read_text()) for f in files]
    assert stored == negative_records(), "regenerate: python3 tests/fixtures/sigma_protocols/generate.py"
    errors = {
        cls.__name__: cls
        for cls in (
            EncodingError,
            IdentityPointError,
            NonCanonicalEncodingError,
            NotInSubgroupError,
            NotOnCurveError,
            ParameterError,
            ScalarOutOfRangeError,
            VerificationError,
        )
    }
    for record in stored:
        tag, instance = record["Tag"].encode(), bytes.fromhex(record["Instance"])
        narg, flavor = bytes.fromhex(record["NargString"]), record["Flavor"]
        assert verify_narg(tag, instance, narg, flavor, backend=FAST) is False, record["caseName"]
        with pytest.raises(errors[record["result"]["reason"]]):
            CHECK[flavor](tag, LinearRelation.from_bytes(instance, FAST), narg)


class _RecordingBackend:
    """Forwards to FAST and records the ``public`` flag of every multiplication."""

    def __init__(self) -> None:
        self.name = FAST.name
        self.flags: list[bool] = []

    def __getattr__(self, attr):
        return getattr(FAST, attr)

    def g1_msm(self, points, scalars, *, public=False):
        self.flags.append(public)
        return FAST.g1_msm(points, scalars, public=public)

    def g1_mul(self, point, k, *, public=False):
        self.flags.append(public)
        return FAST.g1_mul(point, k, public=public)


def test_side_channel_flags_secret_for_the_prover_public_for_the_verifier():
    """circuits/notes/side-channels.md: the prover's nonces and witness go to the backend as secret
    scalars; the verifier's responses, challenges and batch weights as public ones."""
    be = _RecordingBackend()
    rel = LinearRelation.from_bytes(DLOG, be)
    be.flags.clear()
    commitment, state = N.prover_commitment(rel, [X_W])
    assert be.flags == [False]  # map(nonces)
    for flavor in ("batchable", "compact"):
        narg = PROVE[flavor](TAGS[flavor], rel, [X_W])
        be.flags.clear()
        assert verify_narg(TAGS[flavor], DLOG, narg, flavor, backend=be)
        assert be.flags and all(be.flags)
    be.flags.clear()
    assert batch_verify([(TAG_B, rel, prove_batchable(TAG_B, rel, [X_W]))])
    assert be.flags[-1] is True
    # SimulateCommitment is secret unless asked: an OR prover computes its real branch as a
    # simulation with c = 0, and a public 0·image term would be skipped for that branch only.
    be.flags.clear()
    N.simulate_commitment(rel, [5], 0)
    N.simulate_commitment(rel, [5], 0, public=True)
    assert be.flags == [False, True]
