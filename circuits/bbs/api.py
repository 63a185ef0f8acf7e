"""The draft's octet-string interface (BBS_BLS12381G1_*_H2G_HM2S_): messages are bytes,
hashed to scalars with MapMessageToScalarAsHash (draft §4.1.2).

``verify`` and ``proof_verify`` return ``bool`` as the draft's interface does (and as the
foundation issue fixes); underneath, :mod:`circuits.bbs.core` raises typed errors.

>>> from circuits import bbs
>>> sk = bbs.keygen(b"k" * 32, suite=bbs.SHA256)
>>> pk = bbs.sk_to_pk(sk, suite=bbs.SHA256)
>>> sig = bbs.sign(sk, pk, b"hdr", [b"a", b"b"], suite=bbs.SHA256)
>>> bbs.verify(pk, sig, b"hdr", [b"a", b"b"], suite=bbs.SHA256)
True
>>> proof = bbs.proof_gen(pk, sig, b"hdr", b"ph", [b"a", b"b"], [1], suite=bbs.SHA256)
>>> bbs.proof_verify(pk, proof, b"hdr", b"ph", [b"b"], [1], suite=bbs.SHA256)
True
"""

from __future__ import annotations

from collections.abc import Sequence

from circuits import constants as k
from circuits.backend import GroupBackend, get_backend
from circuits.bbs import core
from circuits.bbs.suite import Ciphersuite
from circuits.errors import ParameterError, ZkCredError
from circuits.hashing import i2osp


def _be(backend: GroupBackend | str | None) -> GroupBackend:
    return backend if isinstance(backend, GroupBackend) else get_backend(backend)


def messages_to_scalars(messages: Sequence[bytes], *, suite: Ciphersuite, api_id: bytes | None = None) -> list[int]:
    """Draft §4.1.2 MapMessageToScalarAsHash for each message."""
    api_id = suite.api_id if api_id is None else api_id
    dst = api_id + k.BBS_MAP_MSG_TO_SCALAR
    if len(messages) > 2**64 - 1:
        raise ParameterError("too many messages")
    return [suite.hash_to_scalar(bytes(m), dst) for m in messages]


def keygen(key_material: bytes, key_info: bytes = b"", key_dst: bytes | None = None, *, suite: Ciphersuite) -> bytes:
    """Draft §3.4.1 KeyGen: SK = H2S(key_material || I2OSP(len(key_info), 2) || key_info, key_dst)."""
    if len(key_material) < 32:
        raise ParameterError("key_material must be at least 32 bytes")
    if len(key_info) > 65535:
        raise ParameterError("key_info must be at most 65535 bytes")
    key_dst = suite.api_id + k.BBS_KEYGEN_DST if key_dst is None else key_dst
    sk = suite.hash_to_scalar(key_material + i2osp(len(key_info), 2) + key_info, key_dst)
    if sk == 0:
        raise ParameterError("derived a zero secret key")
    return core.scalar_to_bytes(sk)


def _sk(sk: bytes) -> int:
    return core.scalar_from_bytes(sk, nonzero=True)


def sk_to_pk(sk: bytes, *, suite: Ciphersuite, backend: GroupBackend | str | None = None) -> bytes:
    """Draft §3.4.2 SkToPk: W = SK·BP2, compressed (96 bytes)."""
    be = _be(backend)
    return be.g2_to_bytes(be.g2_mul(be.g2_generator(), _sk(sk)))


def sign(
    sk: bytes,
    pk: bytes,
    header: bytes,
    messages: Sequence[bytes],
    *,
    suite: Ciphersuite,
    backend: GroupBackend | str | None = None,
) -> bytes:
    """Draft §3.5.1 Sign (deterministic): 80 bytes A || e."""
    be = _be(backend)
    scalars = messages_to_scalars(messages, suite=suite)
    return core.core_sign(_sk(sk), pk, header, scalars, suite=suite, be=be).to_bytes(be)


def verify(
    pk: bytes,
    signature: bytes,
    header: bytes,
    messages: Sequence[bytes],
    *,
    suite: Ciphersuite,
    backend: GroupBackend | str | None = None,
) -> bool:
    """Draft §3.5.2 Verify."""
    be = _be(backend)
    try:
        sig = core.Signature.from_bytes(be, signature)
        core.core_verify(pk, sig, header, messages_to_scalars(messages, suite=suite), suite=suite, be=be)
    except ZkCredError:
        return False
    return True


def proof_gen(
    pk: bytes,
    signature: bytes,
    header: bytes,
    ph: bytes,
    messages: Sequence[bytes],
    disclosed_indexes: Sequence[int],
    *,
    suite: Ciphersuite,
    backend: GroupBackend | str | None = None,
    random_scalars: core.RandomScalars = core.calculate_random_scalars,
) -> bytes:
    """Draft §3.5.3 ProofGen (disclosed_indexes 0-based, ascending)."""
    be = _be(backend)
    sig = core.Signature.from_bytes(be, signature)
    scalars = messages_to_scalars(messages, suite=suite)
    proof = core.core_proof_gen(
        pk, sig, header, ph, scalars, disclosed_indexes, suite=suite, be=be, random_scalars=random_scalars
    )
    return proof.to_bytes(be)


def proof_verify(
    pk: bytes,
    proof: bytes,
    header: bytes,
    ph: bytes,
    disclosed_messages: Sequence[bytes],
    disclosed_indexes: Sequence[int],
    *,
    suite: Ciphersuite,
    backend: GroupBackend | str | None = None,
) -> bool:
    """Draft §3.5.4 ProofVerify."""
    be = _be(backend)
    try:
        parsed = core.Proof.from_bytes(be, proof)
        scalars = messages_to_scalars(disclosed_messages, suite=suite)
        core.core_proof_verify(pk, parsed, header, ph, scalars, disclosed_indexes, suite=suite, be=be)
    except ZkCredError:
        return False
    return True
