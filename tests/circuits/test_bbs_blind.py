"""Blind BBS beyond the fixtures: round trips, the credential recipe, tampering, hostile encodings.

py_ecc runs the small round trip and the decoding attacks; the byte-by-byte tampering
loops run on the fastest backend only.
"""

from __future__ import annotations

import doctest
import secrets

import pytest

from circuits import bbs
from circuits.backend import get_backend
from circuits.bbs import blind, core
from circuits.constants import G1_BYTES, SCALAR_BYTES, R
from circuits.errors import (
    EncodingError,
    IdentityPointError,
    NonCanonicalEncodingError,
    NotInSubgroupError,
    NotOnCurveError,
    ParameterError,
    ScalarOutOfRangeError,
    VerificationError,
)
from tests.circuits.test_backend import OFF_CURVE_G1, OUTSIDE_SUBGROUP_G1

SUITES = [bbs.SHA256, bbs.SHAKE256]
SUITE_IDS = ["sha256", "shake256"]


def _rand() -> int:
    return secrets.randbelow(R - 1) + 1


def _keys(suite, be) -> tuple[int, bytes]:
    sk = bbs.keygen(secrets.token_bytes(32), suite=suite)
    return core.scalar_from_bytes(sk), bbs.sk_to_pk(sk, suite=suite, backend=be)


def _issue(suite, be, attrs: list[int], committed: list[int], header: bytes = b"cred-def"):
    """Wallet commits, issuer validates (expecting len(committed) messages) and signs."""
    sk, pk = _keys(suite, be)
    cwp, s = blind.core_commit(committed, suite=suite, be=be)
    M = len(committed)
    C = blind.deserialize_and_validate_commit(
        cwp.to_bytes(be), blind.blind_generators(be, M, suite=suite), suite=suite, be=be
    )
    sig = blind.core_blind_sign(sk, pk, C, M, header, attrs, suite=suite, be=be)
    return pk, sig, s, cwp


def _flip(data: bytes, i: int, mask: int = 0x01) -> bytes:
    return data[:i] + bytes([data[i] ^ mask]) + data[i + 1 :]


def test_module_doctests():
    result = doctest.testmod(blind)
    assert result.attempted and not result.failed


# Round trips ----------------------------------------------------------------------------------


def test_scalar_round_trip(backend):
    """Small enough for py_ecc: 2 signer scalars, 1 committed (a link secret)."""
    suite = bbs.SHA256
    attrs, link_secret = [_rand(), _rand()], _rand()
    pk, sig, s, _ = _issue(suite, backend, attrs, [link_secret])
    blind.core_verify_blind_sign(pk, sig, b"cred-def", attrs, [link_secret], s, suite=suite, be=backend)
    proof = blind.core_blind_proof_gen(
        pk, sig, b"cred-def", b"nonce", attrs, [link_secret], [1], [], s, suite=suite, be=backend
    )
    blind.core_blind_proof_verify(pk, proof, b"cred-def", b"nonce", 2, [attrs[1]], [], [1], [], suite=suite, be=backend)


@pytest.mark.parametrize("suite", SUITES, ids=SUITE_IDS)
@pytest.mark.parametrize(("L", "M"), [(0, 0), (0, 3), (4, 0), (5, 2)])
def test_round_trip_shapes(suite, L, M, fast_backend):
    be = fast_backend
    attrs, committed = [_rand() for _ in range(L)], [_rand() for _ in range(M)]
    pk, sig, s, _ = _issue(suite, be, attrs, committed)
    blind.core_verify_blind_sign(pk, sig, b"cred-def", attrs, committed, s, suite=suite, be=be)
    disclosed, disclosed_c = list(range(0, L, 2)), list(range(1, M, 2))
    proof = blind.core_blind_proof_gen(
        pk, sig, b"cred-def", b"ph", attrs, committed, disclosed, disclosed_c, s, suite=suite, be=be
    )
    assert len(proof.m_hat) == (L - len(disclosed)) + 1 + (M - len(disclosed_c))
    blind.core_blind_proof_verify(
        pk,
        proof,
        b"cred-def",
        b"ph",
        L,
        [attrs[i] for i in disclosed],
        [committed[j] for j in disclosed_c],
        disclosed,
        disclosed_c,
        suite=suite,
        be=be,
    )
    # Wrong L shifts every index: rejected.
    with pytest.raises((VerificationError, ParameterError)):
        blind.core_blind_proof_verify(
            pk,
            proof,
            b"cred-def",
            b"ph",
            L + 1,
            [attrs[i] for i in disclosed],
            [committed[j] for j in disclosed_c],
            disclosed,
            disclosed_c,
            suite=suite,
            be=be,
        )


@pytest.mark.parametrize("suite", SUITES, ids=SUITE_IDS)
def test_octet_round_trip(suite, fast_backend):
    be = fast_backend
    sk = bbs.keygen(secrets.token_bytes(32), suite=suite)
    pk = bbs.sk_to_pk(sk, suite=suite, backend=be)
    msgs, committed = [b"income", b"employer", b""], [b"link", b"device key"]
    cwp, s = blind.commit(committed, suite=suite, backend=be)
    sig = blind.blind_sign(sk, pk, cwp, b"h", msgs, suite=suite, backend=be)
    assert blind.verify_blind_sign(pk, sig, b"h", msgs, committed, s, suite=suite, backend=be)
    proof = blind.blind_proof_gen(pk, sig, b"h", b"ph", msgs, committed, [0, 2], [1], s, suite=suite, backend=be)
    assert blind.blind_proof_verify(
        pk, proof, b"h", b"ph", 3, [b"income", b""], [b"device key"], [0, 2], [1], suite=suite, backend=be
    )
    assert not blind.blind_proof_verify(
        pk, proof, b"h", b"ph", 3, [b"income", b""], [b"other key"], [0, 2], [1], suite=suite, backend=be
    )
    # No commitment at all: the holder verifies with the default blind 0.
    sig0 = blind.blind_sign(sk, pk, b"", b"h", msgs, suite=suite, backend=be)
    assert blind.verify_blind_sign(pk, sig0, b"h", msgs, suite=suite, backend=be)
    assert not blind.verify_blind_sign(pk, sig0, b"h", msgs, [], 1, suite=suite, backend=be)


def test_credential_recipe_with_core_proof_steps(fast_backend):
    """The module docstring's recipe: core.proof_init / challenge / finalize on the combined layout."""
    be, suite = fast_backend, bbs.SHA256
    api_id = blind.blind_api_id(suite)
    attrs, link_secret = [_rand() for _ in range(4)], _rand()
    pk, sig, s, _ = _issue(suite, be, attrs, [link_secret])
    messages, generators = blind.prepare_parameters(attrs, [link_secret], s, suite=suite, be=be)
    assert messages[blind.prover_blind_index(4)] == s
    assert messages[blind.committed_index(4, 0)] == link_secret == messages[-1]
    core.core_verify(pk, sig, b"cred-def", messages, suite=suite, be=be, api_id=api_id, generators=generators)

    disclosed = [1]
    undisclosed = [i for i in range(len(messages)) if i not in disclosed]
    scalars = core.calculate_random_scalars(5 + len(undisclosed))
    init = core.proof_init(
        pk, sig, generators, scalars, b"cred-def", messages, undisclosed, suite=suite, be=be, api_id=api_id
    )
    c = core.proof_challenge_calculate(init, disclosed, [messages[1]], b"nonce", suite=suite, be=be, api_id=api_id)
    proof = core.proof_finalize(init, c, sig.e, scalars, [messages[j] for j in undisclosed])
    core.core_proof_verify(
        pk,
        proof,
        b"cred-def",
        b"nonce",
        [messages[1]],
        disclosed,
        suite=suite,
        be=be,
        api_id=api_id,
        generators=generators,
    )
    blind.core_blind_proof_verify(pk, proof, b"cred-def", b"nonce", 4, [attrs[1]], [], [1], [], suite=suite, be=be)
    # The plain BBS generators (the octet interface's api_id) do not fit this signature.
    with pytest.raises(VerificationError):
        core.core_verify(pk, sig, b"cred-def", messages, suite=suite, be=be)


# Soundness ---------------------------------------------------------------------------------------


def test_signature_binds_the_committed_value(fast_backend):
    be, suite = fast_backend, bbs.SHA256
    attrs, link_secret = [_rand(), _rand()], _rand()
    pk, sig, s, _ = _issue(suite, be, attrs, [link_secret])
    for wrong_committed, wrong_blind in [
        ([link_secret + 1], s),
        ([link_secret], s + 1),
        ([], s),
        ([link_secret, 0], s),
    ]:
        with pytest.raises(VerificationError):
            blind.core_verify_blind_sign(pk, sig, b"cred-def", attrs, wrong_committed, wrong_blind, suite=suite, be=be)
    # A holder who does not know the committed value cannot prove either.
    proof = blind.core_blind_proof_gen(
        pk, sig, b"cred-def", b"ph", attrs, [link_secret + 1], [0], [], s, suite=suite, be=be
    )
    with pytest.raises(VerificationError):
        blind.core_blind_proof_verify(pk, proof, b"cred-def", b"ph", 2, [attrs[0]], [], [0], [], suite=suite, be=be)
    # Disclosing a different committed value than the signed one fails.
    proof = blind.core_blind_proof_gen(
        pk, sig, b"cred-def", b"ph", attrs, [link_secret], [], [0], s, suite=suite, be=be
    )
    blind.core_blind_proof_verify(pk, proof, b"cred-def", b"ph", 2, [], [link_secret], [], [0], suite=suite, be=be)
    with pytest.raises(VerificationError):
        blind.core_blind_proof_verify(
            pk, proof, b"cred-def", b"ph", 2, [], [link_secret + 1], [], [0], suite=suite, be=be
        )


def test_commitment_proof_tampered_every_byte(fast_backend):
    be, suite = fast_backend, bbs.SHA256
    cwp, _ = blind.core_commit([_rand()], suite=suite, be=be)
    data = cwp.to_bytes(be)
    gens = blind.blind_generators(be, 1, suite=suite)
    blind.deserialize_and_validate_commit(data, gens, suite=suite, be=be)
    for i in range(len(data)):
        for mask in (0x01, 0x80):
            with pytest.raises((EncodingError, VerificationError)):
                blind.deserialize_and_validate_commit(_flip(data, i, mask), gens, suite=suite, be=be)


def test_commitment_bound_to_its_context(fast_backend):
    """Wrong M, wrong suite / api_id, a proof moved to another commitment: all rejected."""
    be = fast_backend
    cwp, _ = blind.core_commit([_rand()], suite=bbs.SHA256, be=be)
    data = cwp.to_bytes(be)
    with pytest.raises(ParameterError):
        blind.deserialize_and_validate_commit(
            data, blind.blind_generators(be, 2, suite=bbs.SHA256), suite=bbs.SHA256, be=be
        )
    with pytest.raises(VerificationError):
        blind.deserialize_and_validate_commit(
            data, blind.blind_generators(be, 1, suite=bbs.SHAKE256), suite=bbs.SHAKE256, be=be
        )
    other, _ = blind.core_commit([_rand()], suite=bbs.SHA256, be=be)
    swapped = other.to_bytes(be)[:G1_BYTES] + data[G1_BYTES:]
    with pytest.raises(VerificationError):
        blind.deserialize_and_validate_commit(
            swapped, blind.blind_generators(be, 1, suite=bbs.SHA256), suite=bbs.SHA256, be=be
        )
    # The issuer's octet BlindSign refuses it too, before signing anything.
    sk = bbs.keygen(secrets.token_bytes(32), suite=bbs.SHA256)
    pk = bbs.sk_to_pk(sk, suite=bbs.SHA256, backend=be)
    with pytest.raises(VerificationError):
        blind.blind_sign(sk, pk, swapped, b"", [b"a"], suite=bbs.SHA256, backend=be)


# Hostile encodings -------------------------------------------------------------------------------


def _with_point(data: bytes, point: bytes) -> bytes:
    return point + data[G1_BYTES:]


def _with_scalar(data: bytes, k: int, value: int) -> bytes:
    off = G1_BYTES + k * SCALAR_BYTES
    return data[:off] + value.to_bytes(SCALAR_BYTES, "big") + data[off + SCALAR_BYTES :]


@pytest.fixture(scope="module")
def valid_commitment() -> bytes:
    be = get_backend()
    cwp, _ = blind.core_commit([1, 2], suite=bbs.SHA256, be=be)
    return cwp.to_bytes(be)


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda d: _with_point(d, b"\xc0" + bytes(47)), IdentityPointError),
        (lambda d: _with_point(d, OFF_CURVE_G1), NotOnCurveError),
        (lambda d: _with_point(d, OUTSIDE_SUBGROUP_G1), NotInSubgroupError),
        (lambda d: _with_point(d, b"\x00" + d[1:G1_BYTES]), NonCanonicalEncodingError),
        (lambda d: _with_scalar(d, 0, R), ScalarOutOfRangeError),
        (lambda d: _with_scalar(d, 1, 2**256 - 1), ScalarOutOfRangeError),
        (lambda d: _with_scalar(d, 3, 0), ScalarOutOfRangeError),
        (lambda d: d[:-1], EncodingError),
        (
            lambda d: d + (1).to_bytes(SCALAR_BYTES, "big"),
            None,
        ),  # well-formed but for M = 3: the issuer expecting M = 2 refuses
        (lambda d: d[: G1_BYTES + SCALAR_BYTES], EncodingError),
    ],
    ids=[
        "identity",
        "off-curve",
        "outside-subgroup",
        "no-compression-flag",
        "s-hat-eq-r",
        "m-hat-max",
        "challenge-zero",
        "truncated",
        "extended",
        "too-short",
    ],
)
def test_hostile_commitment_encodings(backend, valid_commitment, mutate, error):
    data = mutate(valid_commitment)
    gens = blind.blind_generators(backend, 2, suite=bbs.SHA256)
    if error is None:
        with pytest.raises(ParameterError):
            blind.deserialize_and_validate_commit(data, gens, suite=bbs.SHA256, be=backend)
        return
    with pytest.raises(error):
        blind.CommitmentWithProof.from_bytes(backend, data)
    with pytest.raises(error):
        blind.deserialize_and_validate_commit(data, gens, suite=bbs.SHA256, be=backend)


def test_committed_count():
    assert blind.committed_count(b"") == 0
    assert blind.committed_count(bytes(G1_BYTES + 2 * SCALAR_BYTES)) == 0
    assert blind.committed_count(bytes(G1_BYTES + 5 * SCALAR_BYTES)) == 3
    for n in (1, G1_BYTES, G1_BYTES + 2 * SCALAR_BYTES - 1, G1_BYTES + 2 * SCALAR_BYTES + 1):
        with pytest.raises(EncodingError):
            blind.committed_count(bytes(n))


def test_bad_indexes(fast_backend):
    be, suite = fast_backend, bbs.SHA256
    attrs, committed = [_rand(), _rand()], [_rand()]
    pk, sig, s, _ = _issue(suite, be, attrs, committed)
    for idx, idx_c in [([2], []), ([], [1]), ([1, 0], []), ([-1], []), ([], [0, 0])]:
        with pytest.raises(ParameterError):
            blind.core_blind_proof_gen(pk, sig, b"cred-def", b"", attrs, committed, idx, idx_c, s, suite=suite, be=be)
