"""BBS behaviour beyond the fixtures: round trips, tampering, hostile inputs, unlinkability."""

from __future__ import annotations

import secrets

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from circuits import bbs
from circuits.backend import get_backend
from circuits.bbs import core
from circuits.errors import ParameterError

SUITES = [bbs.SHA256, bbs.SHAKE256]
MESSAGES = [f"attribute-{i}".encode() for i in range(10)]


def _keys(suite, backend):
    sk = bbs.keygen(secrets.token_bytes(32), suite=suite)
    return sk, bbs.sk_to_pk(sk, suite=suite, backend=backend)


@pytest.fixture(scope="module")
def blst_material():
    be = get_backend("blst")
    sk, pk = _keys(bbs.SHA256, be)
    sig = bbs.sign(sk, pk, b"header", MESSAGES, suite=bbs.SHA256, backend=be)
    proof = bbs.proof_gen(pk, sig, b"header", b"ph", MESSAGES, [2, 7], suite=bbs.SHA256, backend=be)
    return be, pk, sig, proof


def _flip(data: bytes, i: int, mask: int = 0x01) -> bytes:
    return data[:i] + bytes([data[i] ^ mask]) + data[i + 1 :]


@pytest.mark.parametrize("suite", SUITES, ids=["sha256", "shake256"])
def test_round_trip(suite, backend):
    sk, pk = _keys(suite, backend)
    sig = bbs.sign(sk, pk, b"h", MESSAGES[:4], suite=suite, backend=backend)
    assert bbs.verify(pk, sig, b"h", MESSAGES[:4], suite=suite, backend=backend)
    proof = bbs.proof_gen(pk, sig, b"h", b"ph", MESSAGES[:4], [0, 3], suite=suite, backend=backend)
    assert len(proof) == 272 + 32 * 2
    assert bbs.proof_verify(pk, proof, b"h", b"ph", [MESSAGES[0], MESSAGES[3]], [0, 3], suite=suite, backend=backend)
    assert not bbs.proof_verify(
        pk, proof, b"h", b"other", [MESSAGES[0], MESSAGES[3]], [0, 3], suite=suite, backend=backend
    )


def test_every_signature_byte_matters(blst_material):
    be, pk, sig, _ = blst_material
    for i in range(len(sig)):
        for mask in (0x01, 0x80):
            assert not bbs.verify(pk, _flip(sig, i, mask), b"header", MESSAGES, suite=bbs.SHA256, backend=be), i


def test_every_proof_byte_matters(blst_material):
    be, pk, _, proof = blst_material
    disclosed = [MESSAGES[2], MESSAGES[7]]
    assert bbs.proof_verify(pk, proof, b"header", b"ph", disclosed, [2, 7], suite=bbs.SHA256, backend=be)
    for i in range(len(proof)):
        for mask in (0x01, 0x80):
            tampered = _flip(proof, i, mask)
            assert not bbs.proof_verify(
                pk, tampered, b"header", b"ph", disclosed, [2, 7], suite=bbs.SHA256, backend=be
            ), i


def test_py_ecc_named_tamper_subset():
    """py_ecc is slow: the first and last byte of every proof field, not every byte."""
    be = get_backend("py_ecc")
    sk, pk = _keys(bbs.SHA256, be)
    msgs = MESSAGES[:3]
    sig = bbs.sign(sk, pk, b"", msgs, suite=bbs.SHA256, backend=be)
    proof = bbs.proof_gen(pk, sig, b"", b"", msgs, [1], suite=bbs.SHA256, backend=be)
    for i in (0, 47, 48 + 47, 144, 144 + 31, len(proof) - 1):
        assert not bbs.proof_verify(pk, _flip(proof, i), b"", b"", [msgs[1]], [1], suite=bbs.SHA256, backend=be), i


def test_truncated_and_extended_proofs(blst_material):
    be, pk, _, proof = blst_material
    args = (b"header", b"ph", [MESSAGES[2], MESSAGES[7]], [2, 7])
    for bad in (proof[:-1], proof[:-32], proof + b"\x00", proof + bytes(32), b""):
        assert not bbs.proof_verify(pk, bad, *args, suite=bbs.SHA256, backend=be)


def test_wrong_statement_rejected(blst_material):
    be, pk, _, proof = blst_material
    ok = [MESSAGES[2], MESSAGES[7]]
    cases = [
        (b"header2", b"ph", ok, [2, 7]),  # other header
        (b"header", b"ph", [MESSAGES[7], MESSAGES[2]], [2, 7]),  # swapped messages
        (b"header", b"ph", [MESSAGES[2], b"forged"], [2, 7]),  # modified message
        (b"header", b"ph", ok, [2, 8]),  # other index
        (b"header", b"ph", ok, [7, 2]),  # re-ordered indexes
        (b"header", b"ph", ok + [MESSAGES[9]], [2, 7, 9]),  # claims an extra message
    ]
    for case in cases:
        assert not bbs.proof_verify(pk, proof, *case, suite=bbs.SHA256, backend=be), case
    _, other_pk = _keys(bbs.SHA256, be)
    assert not bbs.proof_verify(other_pk, proof, b"header", b"ph", ok, [2, 7], suite=bbs.SHA256, backend=be)


def test_proofs_are_unlinkable(blst_material):
    """Two proofs from one signature share no element (fresh r1, r2 each time)."""
    be, pk, sig, proof = blst_material
    other = bbs.proof_gen(pk, sig, b"header", b"ph", MESSAGES, [2, 7], suite=bbs.SHA256, backend=be)
    chunks = lambda p: {p[i : i + 32] for i in range(0, len(p), 16)}  # noqa: E731
    assert not chunks(proof) & chunks(other)


def test_proof_gen_rejects_bad_indexes(blst_material):
    be, pk, sig, _ = blst_material
    for bad in ([10], [-1], [3, 3], [5, 2]):
        with pytest.raises(ParameterError):
            bbs.proof_gen(pk, sig, b"header", b"ph", MESSAGES, bad, suite=bbs.SHA256, backend=be)


def test_keygen_rejects_short_material():
    with pytest.raises(ParameterError):
        bbs.keygen(b"short", suite=bbs.SHA256)


def test_signature_with_identity_or_big_scalar_rejected(blst_material):
    be, pk, sig, _ = blst_material
    identity_sig = b"\xc0" + bytes(47) + sig[48:]
    big_e = sig[:48] + (2**256 - 1).to_bytes(32, "big")
    zero_e = sig[:48] + bytes(32)
    for bad in (identity_sig, big_e, zero_e):
        assert not bbs.verify(pk, bad, b"header", MESSAGES, suite=bbs.SHA256, backend=be)
    assert not bbs.verify(b"\xc0" + bytes(95), sig, b"header", MESSAGES, suite=bbs.SHA256, backend=be)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    messages=st.lists(st.binary(max_size=40), min_size=1, max_size=8),
    header=st.binary(max_size=32),
    ph=st.binary(max_size=32),
    data=st.data(),
)
def test_property_round_trip(messages, header, ph, data):
    be = get_backend("blst")
    sk, pk = _keys(bbs.SHA256, be)
    sig = bbs.sign(sk, pk, header, messages, suite=bbs.SHA256, backend=be)
    assert bbs.verify(pk, sig, header, messages, suite=bbs.SHA256, backend=be)
    idx = sorted(data.draw(st.sets(st.integers(0, len(messages) - 1))))
    proof = bbs.proof_gen(pk, sig, header, ph, messages, idx, suite=bbs.SHA256, backend=be)
    assert bbs.proof_verify(pk, proof, header, ph, [messages[i] for i in idx], idx, suite=bbs.SHA256, backend=be)
    flipped = data.draw(st.integers(0, len(proof) - 1))
    assert not bbs.proof_verify(
        pk, _flip(proof, flipped), header, ph, [messages[i] for i in idx], idx, suite=bbs.SHA256, backend=be
    )


def test_core_proof_round_trip_through_bytes(blst_material):
    be, pk, _, proof = blst_material
    parsed = core.Proof.from_bytes(be, proof)
    assert parsed.to_bytes(be) == proof
