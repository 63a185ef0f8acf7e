"""The revocation accumulator (circuits/accumulator): issuer, holder updates, membership proofs.

Heavy and property tests run on the fastest backend; py_ecc runs the named lifecycle
test (``test_lifecycle_on_every_backend``) with a tiny registry and checks that it gives
the same bytes as the fast backend.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from circuits import accumulator as acc
from circuits import constants as k
from circuits.accumulator.accumulator import MAX_CAPACITY
from circuits.accumulator.witness import SEQUENTIAL_BELOW
from circuits.backend import available_backends, get_backend
from circuits.bbs import core as bbs_core
from circuits.bbs.api import keygen, sk_to_pk
from circuits.bbs.suite import SHA256
from circuits.constants import R
from circuits.errors import (
    EncodingError,
    IdentityPointError,
    ParameterError,
    VerificationError,
    ZkCredError,
)
from circuits.hashing import XMD_SHA256, i2osp
from circuits.transcript import Transcript

RID = b"test-registry/1"
N = 24


def seeded(seed: int):
    return random.Random(seed).randbytes


@pytest.fixture(scope="module")
def fast_backend_module():
    """``fast_backend`` for module-scoped fixtures."""
    return get_backend(available_backends()[0])


@pytest.fixture(scope="module")
def reg(fast_backend_module):
    return acc.setup_registry(RID, N, backend=fast_backend_module, rng=seeded(1))


def witness(be, reg, i, V=None):
    sk, pub = reg
    return acc.issue_witness(sk, pub.V0 if V is None else V, acc.handle(RID, i), backend=be)


# Handles ---------------------------------------------------------------------------


def test_handles_are_rfc9380_hash_to_scalar_with_their_own_dst():
    idx = [0, 1, 2, 255, 256, 2**32 + 5, 2**64 - 1]
    for i in idx:
        ref = XMD_SHA256.hash_to_scalar(RID + i2osp(i, 8), k.ACCUMULATOR_HANDLE_DST)
        assert acc.handle(RID, i) == ref
    assert acc.handles(RID, 40, 30) == [acc.handle(RID, i) for i in range(30, 40)]
    assert acc.handle(b"other", 0) != acc.handle(RID, 0)
    assert k.ACCUMULATOR_HANDLE_DST.startswith(k.ZKCRED_PREFIX)


@pytest.mark.parametrize("index", [-1, 2**64])
def test_handle_index_out_of_range(index):
    with pytest.raises(ParameterError):
        acc.handle(RID, index)


@pytest.mark.parametrize("capacity", [0, MAX_CAPACITY + 1])
def test_capacity_bounds(fast_backend, capacity):
    with pytest.raises(ParameterError):
        acc.setup_registry(RID, capacity, backend=fast_backend)


# Setup, witnesses, revocation -------------------------------------------------------


def test_setup_is_one_product_then_one_multiplication(fast_backend, reg):
    be, (sk, pub) = fast_backend, reg
    prod = 1
    for y in acc.handles(RID, N):
        prod = prod * (y + sk.alpha) % R
    assert be.g1_eq(pub.V0, be.g1_mul(be.g1_generator(), prod))
    assert be.g2_eq(pub.Q, be.g2_mul(be.g2_generator(), sk.alpha))
    assert "alpha" not in repr(sk) and str(sk.alpha) not in repr(sk)


def test_every_issued_witness_verifies_and_a_wrong_one_does_not(fast_backend, reg):
    be, (_, pub) = fast_backend, reg
    for i in (0, 7, N - 1):
        acc.verify_witness(witness(be, reg, i), acc.handle(RID, i), pub.V0, pub.Q, backend=be)
    C = witness(be, reg, 3)
    with pytest.raises(VerificationError):  # someone else's witness
        acc.verify_witness(C, acc.handle(RID, 4), pub.V0, pub.Q, backend=be)
    with pytest.raises(VerificationError):
        acc.verify_witness(be.g1_identity(), acc.handle(RID, 3), pub.V0, pub.Q, backend=be)


def test_batch_revoke_equals_sequential(fast_backend, reg):
    be, (sk, pub) = fast_backend, reg
    ys = acc.handles(RID, 9, 2)
    batch = acc.revoke_batch(sk, pub.V0, ys, backend=be)
    V = pub.V0
    for y, event in zip(ys, batch, strict=True):
        single = acc.revoke(sk, V, y, backend=be)
        assert single == event or (single.y == event.y and be.g1_eq(single.V, event.V))
        V = single.V
    assert acc.revoke_batch(sk, pub.V0, [], backend=be) == []
    with pytest.raises(ParameterError):
        acc.revoke_batch(sk, pub.V0, [ys[0], ys[0]], backend=be)


def test_update_composed_equals_step_by_step_and_prepared(fast_backend, reg):
    """k ≥ SEQUENTIAL_BELOW takes the MSM path; it must equal k single updates."""
    be, (sk, pub) = fast_backend, reg
    events = acc.revoke_batch(sk, pub.V0, acc.handles(RID, SEQUENTIAL_BELOW + 5, 1), backend=be)
    y, C = acc.handle(RID, 0), witness(be, reg, 0)
    step = C
    for event in events:
        step = acc.update_witness(step, y, [event], backend=be)
    composed = acc.update_witness(C, y, events, backend=be)
    prepared = acc.update_witness(C, y, acc.prepare_events(events, backend=be), backend=be)
    assert be.g1_eq(step, composed) and be.g1_eq(step, prepared)
    acc.verify_witness(composed, y, events[-1].V, pub.Q, backend=be)
    assert be.g1_eq(acc.update_witness(C, y, [], backend=be), C)


# The property of issue 4: revoked never verifies, non-revoked always does ----------


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_random_revocation_sequences(fast_backend, reg, data):
    """Up to 19 revocations in up to 4 batches: catching up in one go takes the MSM path."""
    be, (sk, pub) = fast_backend, reg
    n = 20
    order = data.draw(st.permutations(range(n)))
    revoked = order[: data.draw(st.integers(1, n - 1))]
    cuts = sorted(data.draw(st.sets(st.integers(1, len(revoked)), max_size=3)) | {len(revoked)})
    # the issuer publishes in batches (each intermediate value)
    events, batches, V, start = [], [], pub.V0, 0
    for cut in cuts:
        batch = acc.revoke_batch(sk, V, [acc.handle(RID, i) for i in revoked[start:cut]], backend=be)
        events += batch
        batches.append(batch)
        V, start = batch[-1].V, cut
    stepwise = data.draw(st.sets(st.integers(0, n - 1), max_size=3))
    for i in range(n):
        y, C = acc.handle(RID, i), witness(be, reg, i)
        if i in stepwise and i not in revoked:  # a holder following every batch
            for batch in batches:
                C = acc.update_witness(C, y, batch, backend=be)
                acc.verify_witness(C, y, batch[-1].V, pub.Q, backend=be)
        elif i in revoked:
            with pytest.raises(VerificationError):  # the old witness
                acc.verify_witness(C, y, V, pub.Q, backend=be)
            with pytest.raises(acc.RevokedError):  # the "updated" one
                acc.update_witness(C, y, events, backend=be)
            skipped = [e for e in events if e.y != y]  # updating around its own event
            with pytest.raises(VerificationError):
                acc.verify_witness(acc.update_witness(C, y, skipped, backend=be), y, V, pub.Q, backend=be)
        else:
            acc.verify_witness(acc.update_witness(C, y, events, backend=be), y, V, pub.Q, backend=be)


# Encodings of the public objects ------------------------------------------------------


def test_event_and_registry_encodings_are_strict(fast_backend, reg):
    be, (sk, pub) = fast_backend, reg
    event = acc.revoke(sk, pub.V0, acc.handle(RID, 5), backend=be)
    data = event.to_bytes(be)
    assert len(data) == acc.RevocationEvent.SIZE == 80
    back = acc.RevocationEvent.from_bytes(be, data)
    assert back.y == event.y and be.g1_eq(back.V, event.V)
    for bad in (data[:-1], data + b"\x00", i2osp(R, 32) + data[32:], data[:32] + be.g1_to_bytes(be.g1_identity())):
        with pytest.raises(EncodingError):
            acc.RevocationEvent.from_bytes(be, bad)
    blob = pub.to_bytes(be)
    back = acc.RegistryPublic.from_bytes(be, blob)
    assert back.to_bytes(be) == blob and back.capacity == N and back.registry_id == RID
    off = 2 + len(RID)
    zero_cap = blob[:off] + bytes(8) + blob[off + 8 :]
    for bad in (blob[:-1], blob + b"\x00", zero_cap, blob[:-48] + be.g1_to_bytes(be.g1_identity())):
        with pytest.raises(EncodingError):
            acc.RegistryPublic.from_bytes(be, bad)


# Membership proof ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def proof_setup(fast_backend_module, reg):
    be = fast_backend_module
    y, C = acc.handle(RID, 2), witness(be, reg, 2)
    return be, reg[1], y, C


def test_prove_verify_and_sizes(proof_setup):
    be, pub, y, C = proof_setup
    proof = acc.prove(Transcript(b"t"), C, y, pub.V0, pub.Q, backend=be)
    acc.verify(Transcript(b"t"), proof, pub.V0, pub.Q, backend=be)
    data = proof.to_bytes(be)
    assert len(data) == acc.StandaloneMembershipProof.SIZE == 193
    acc.verify(Transcript(b"t"), acc.StandaloneMembershipProof.from_bytes(be, data), pub.V0, pub.Q, backend=be)
    with pytest.raises(VerificationError):  # another transcript (nonce, context)
        acc.verify(Transcript(b"u"), proof, pub.V0, pub.Q, backend=be)


def test_unlinkable_two_proofs_share_no_element(proof_setup):
    be, pub, y, C = proof_setup
    proofs = [acc.prove(Transcript(b"t"), C, y, pub.V0, pub.Q, backend=be) for _ in range(2)]
    parts = []
    for p in proofs:
        inner = p.proof
        parts.append(
            {
                be.g1_to_bytes(inner.C_bar),
                be.g1_to_bytes(inner.B_bar),
                i2osp(inner.r_hat, 32),
                i2osp(inner.y_hat, 32),
                i2osp(p.challenge, 32),
            }
        )
    assert not parts[0] & parts[1]
    known = {be.g1_to_bytes(C), be.g1_to_bytes(pub.V0), i2osp(y, 32)}
    assert not (parts[0] | parts[1]) & known
    # C̄ of both is r·C for independent r: same witness, unrelated-looking points
    assert not be.g1_eq(proofs[0].proof.C_bar, proofs[1].proof.C_bar)


def _reprove(be, pub, V, C, y, *, C_bar=None, B_bar=None):
    """An adversary's honest-looking Schnorr proof for chosen (C̄, B̄) with r, y known to it."""
    r = 12345
    C_bar = be.g1_mul(C, r) if C_bar is None else C_bar
    B_bar = be.g1_msm([V, C_bar], [r, -y % R]) if B_bar is None else B_bar
    r_t, y_t = 777, 888
    T = be.g1_msm([V, C_bar], [r_t, -y_t % R])
    t = Transcript(b"t")
    t.append(k.ACC_LABEL_Q, be.g2_to_bytes(pub.Q))
    acc.MembershipCommitments(V, C_bar, B_bar, T).append_to(t, be)
    c = t.challenge_scalar(k.ACC_LABEL_CHALLENGE)
    return acc.StandaloneMembershipProof(c, acc.MembershipProof(C_bar, B_bar, (r_t + c * r) % R, (y_t + c * y) % R))


def test_sound_against_forged_B_bar(proof_setup):
    be, pub, y, C = proof_setup
    honest = acc.prove(Transcript(b"t"), C, y, pub.V0, pub.Q, backend=be)
    forged = acc.MembershipProof(
        honest.proof.C_bar, be.g1_add(honest.proof.B_bar, be.g1_generator()), honest.proof.r_hat, honest.proof.y_hat
    )
    with pytest.raises(VerificationError):
        acc.verify(Transcript(b"t"), acc.StandaloneMembershipProof(honest.challenge, forged), pub.V0, pub.Q, backend=be)
    # A holder without a witness: C is any point, the Schnorr part is honest, the pairing fails.
    fake_C = be.g1_mul(be.g1_generator(), 424242)
    with pytest.raises(VerificationError, match="pairing"):
        acc.verify(Transcript(b"t"), _reprove(be, pub, pub.V0, fake_C, y), pub.V0, pub.Q, backend=be)
    # The control: the same adversary code with a real witness passes.
    acc.verify(Transcript(b"t"), _reprove(be, pub, pub.V0, C, y), pub.V0, pub.Q, backend=be)


def test_sound_against_swapped_V_and_revoked_witness(fast_backend, reg, proof_setup):
    be, pub, y, C = proof_setup
    sk = reg[0]
    event = acc.revoke(sk, pub.V0, acc.handle(RID, 9), backend=be)
    proof = acc.prove(Transcript(b"t"), C, y, pub.V0, pub.Q, backend=be)
    with pytest.raises(VerificationError):  # made against V, verified against V'
        acc.verify(Transcript(b"t"), proof, event.V, pub.Q, backend=be)
    # even re-deriving the challenge for V' (the verifier's transcript) the pairing fails
    with pytest.raises(VerificationError):
        acc.verify(Transcript(b"t"), _reprove(be, pub, event.V, C, y), event.V, pub.Q, backend=be)
    # the revoked holder, old witness, latest value: rejected
    revoked_y, revoked_C = acc.handle(RID, 9), witness(be, reg, 9)
    stale = acc.prove(Transcript(b"t"), revoked_C, revoked_y, event.V, pub.Q, backend=be)
    with pytest.raises(VerificationError):
        acc.verify(Transcript(b"t"), stale, event.V, pub.Q, backend=be)


@pytest.mark.parametrize("field", ["r_hat", "y_hat", "challenge"])
def test_sound_against_altered_response(proof_setup, field):
    be, pub, y, C = proof_setup
    p = acc.prove(Transcript(b"t"), C, y, pub.V0, pub.Q, backend=be)
    inner = p.proof
    if field == "challenge":
        p = acc.StandaloneMembershipProof((p.challenge + 1) % R, inner)
    else:
        values = {"r_hat": inner.r_hat, "y_hat": inner.y_hat, field: (getattr(inner, field) + 1) % R}
        p = acc.StandaloneMembershipProof(p.challenge, acc.MembershipProof(inner.C_bar, inner.B_bar, **values))
    with pytest.raises(VerificationError):
        acc.verify(Transcript(b"t"), p, pub.V0, pub.Q, backend=be)


def test_identity_C_bar_is_rejected(proof_setup):
    """C̄ = B̄ = 1 satisfies the pairing equation for every V: it must be refused everywhere."""
    be, pub, y, C = proof_setup
    Z = be.g1_identity()
    trivial = acc.MembershipProof(Z, Z, 1, 1)
    with pytest.raises(VerificationError):
        acc.check_pairing(trivial, pub.Q, backend=be)
    with pytest.raises(VerificationError):
        acc.verify_init(trivial, pub.V0, pub.Q, 5, backend=be)
    with pytest.raises(VerificationError):
        acc.check_pairing(acc.MembershipProof(Z, be.g1_generator(), 1, 1), pub.Q, backend=be)
    good = acc.prove(Transcript(b"t"), C, y, pub.V0, pub.Q, backend=be).proof.to_bytes(be)
    ident = be.g1_to_bytes(Z)
    with pytest.raises(IdentityPointError):
        acc.MembershipProof.from_bytes(be, good[:1] + ident + good[49:])
    with pytest.raises(IdentityPointError):
        acc.MembershipProof.from_bytes(be, good[:49] + ident + good[97:])
    with pytest.raises(ParameterError):
        acc.MembershipProver.init(Z, y, pub.V0, backend=be)


def test_every_byte_of_the_encoding_altered_is_rejected(proof_setup):
    be, pub, y, C = proof_setup
    data = acc.prove(Transcript(b"t"), C, y, pub.V0, pub.Q, backend=be).to_bytes(be)
    rnd = random.Random(7)
    for i in range(len(data)):
        for mask in (0x01, 0x80, rnd.randrange(1, 256)):
            bad = data[:i] + bytes([data[i] ^ mask]) + data[i + 1 :]
            with pytest.raises(ZkCredError):
                acc.verify(
                    Transcript(b"t"), acc.StandaloneMembershipProof.from_bytes(be, bad), pub.V0, pub.Q, backend=be
                )
    for bad in (data[:-1], data + b"\x00", b""):
        with pytest.raises(EncodingError):
            acc.StandaloneMembershipProof.from_bytes(be, bad)


def test_proof_forms_are_distinct_and_strict(proof_setup):
    be, pub, y, C = proof_setup
    prover = acc.MembershipProver.init(C, y, pub.V0, backend=be, y_tilde=99)
    shared = prover.finalize(5)
    own = acc.MembershipProver.init(C, y, pub.V0, backend=be).finalize(5)
    s_bytes, o_bytes = shared.to_bytes(be), own.to_bytes(be)
    assert (s_bytes[0], len(s_bytes)) == (0, acc.MembershipProof.SIZE_SHARED)
    assert (o_bytes[0], len(o_bytes)) == (1, acc.MembershipProof.SIZE_OWN)
    assert acc.MembershipProof.from_bytes(be, s_bytes).y_hat is None
    assert acc.MembershipProof.from_bytes(be, o_bytes).y_hat == own.y_hat
    for bad in (
        b"\x01" + s_bytes[1:],
        b"\x00" + o_bytes[1:],
        b"\x02" + s_bytes[1:],
        o_bytes[:1] + o_bytes[1:-32] + i2osp(R, 32),
    ):
        with pytest.raises(EncodingError):
            acc.MembershipProof.from_bytes(be, bad)
    with pytest.raises(VerificationError, match="no ŷ"):
        acc.verify_init(shared, pub.V0, pub.Q, 5, backend=be)
    with pytest.raises(VerificationError, match="although it is shared"):
        acc.verify_init(own, pub.V0, pub.Q, 5, backend=be, y_hat=own.y_hat)
    with pytest.raises(ParameterError):
        acc.verify_init(own, pub.V0, be.g2_identity(), 5, backend=be)
    with pytest.raises(ValueError):  # one challenge per prover
        prover.finalize(6)
    assert repr(prover) == "MembershipProver(<secret>)"


# Composition with a BBS proof: ŷ is the BBS response of the hidden handle message ------


def _bbs_and_membership(be, pub, C, y_acc, y_signed, *, tamper_y_hat=0):
    """Prove (BBS with hidden handle) ∧ (handle ∈ accumulator) under one challenge; verify."""
    suite = SHA256
    sk = keygen(b"k" * 32, suite=suite)
    pk = sk_to_pk(sk, suite=suite, backend=be)
    sk_int = int.from_bytes(sk, "big")
    msgs = [11, y_signed, 33, 44]  # link secret, revocation handle, expiry, one attribute
    gens = suite.create_generators(be, len(msgs) + 1, suite.api_id)
    sig = bbs_core.core_sign(sk_int, pk, b"hdr", msgs, suite=suite, be=be, generators=gens)
    disclosed, undisclosed = [3], [0, 1, 2]
    scalars = bbs_core.calculate_random_scalars(5 + len(undisclosed))
    m_tilde_handle = scalars[5 + undisclosed.index(1)]
    # prover: both statements contribute, then one challenge
    t = Transcript(b"presentation")
    init = bbs_core.proof_init(pk, sig, gens, scalars, b"hdr", msgs, undisclosed, suite=suite, be=be)
    t.append(b"bbs", bbs_core.challenge_octets(be, init, disclosed, [msgs[3]], b""))
    prover = acc.MembershipProver.init(C, y_acc, pub.V0, backend=be, y_tilde=m_tilde_handle)
    prover.append_to(t)
    c = t.challenge_scalar(b"c")
    bbs_proof = bbs_core.proof_finalize(init, c, sig.e, scalars, [msgs[j] for j in undisclosed])
    mem = acc.MembershipProof.from_bytes(be, prover.finalize(c).to_bytes(be))
    assert mem.shares_y
    # verifier: ŷ is read from the BBS proof, never from the membership proof
    t = Transcript(b"presentation")
    v_init = bbs_core.proof_verify_init(pk, bbs_proof, gens, b"hdr", [msgs[3]], disclosed, suite=suite, be=be)
    t.append(b"bbs", bbs_core.challenge_octets(be, v_init, disclosed, [msgs[3]], b""))
    y_hat = (bbs_proof.m_hat[undisclosed.index(1)] + tamper_y_hat) % R
    acc.verify_init(mem, pub.V0, pub.Q, bbs_proof.challenge, backend=be, y_hat=y_hat).append_to(t, be)
    if t.challenge_scalar(b"c") != bbs_proof.challenge:
        raise VerificationError("presentation challenge does not match")
    bbs_core.proof_pairing_check(pk, bbs_proof, be=be)
    acc.check_pairing(mem, pub.Q, backend=be)


def test_shared_blinding_composition(proof_setup):
    be, pub, y, C = proof_setup
    _bbs_and_membership(be, pub, C, y, y)
    with pytest.raises(VerificationError):  # the caller's ŷ differs
        _bbs_and_membership(be, pub, C, y, y, tamper_y_hat=1)
    with pytest.raises(VerificationError):  # the accumulated handle is not the signed one
        _bbs_and_membership(be, pub, C, y, acc.handle(RID, 3))


# Every backend, tiny registry, same bytes -------------------------------------------


def _lifecycle(be) -> bytes:
    """Setup, witness, revoke, update, check, prove/verify on ``be``; every public output's bytes."""
    sk, pub = acc.setup_registry(b"tiny", 4, backend=be, rng=seeded(3))
    y0, y1 = acc.handle(b"tiny", 0), acc.handle(b"tiny", 1)
    C = acc.issue_witness(sk, pub.V0, y0, backend=be)
    event = acc.revoke(sk, pub.V0, y1, backend=be)
    C2 = acc.update_witness(C, y0, [event], backend=be)
    acc.verify_witness(C2, y0, event.V, pub.Q, backend=be)
    with pytest.raises(acc.RevokedError):
        acc.update_witness(acc.issue_witness(sk, pub.V0, y1, backend=be), y1, [event], backend=be)
    proof = acc.prove(Transcript(b"t"), C2, y0, event.V, pub.Q, backend=be, rng=seeded(4))
    data = proof.to_bytes(be)
    acc.verify(Transcript(b"t"), acc.StandaloneMembershipProof.from_bytes(be, data), event.V, pub.Q, backend=be)
    with pytest.raises(VerificationError):  # the value before the revocation
        acc.verify(Transcript(b"t"), proof, pub.V0, pub.Q, backend=be)
    return pub.to_bytes(be) + event.to_bytes(be) + be.g1_to_bytes(C2) + data


def test_lifecycle_on_every_backend(backend, fast_backend_module):
    """The named py_ecc subset; with a seeded rng every backend gives the same bytes."""
    out = _lifecycle(backend)
    if backend.name != fast_backend_module.name:
        assert out == _lifecycle(fast_backend_module)
