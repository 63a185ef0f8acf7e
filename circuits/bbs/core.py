r"""BBS core operations over scalars (draft-irtf-cfrg-bbs-signatures-06..09, §3.6, §5, §6).

Notation (the draft's): generators ``Q_1, H_1..H_L``, base point ``P1``, ``BP2`` the G2
generator, public key ``W = SK·BP2``, signature ``(A, e)`` with
``A = (P1 + Q_1·domain + Σ H_i·msg_i) · 1/(SK + e)``.

Relation proven by ProofGen, in Camenisch–Stadler form::

    PK{ (e, r1, r3, (m_j)_{j∉R}) :  Ā·e + D·r1 = B̄ − … (T1)   ∧
                                    D·r3 = P1 + Q_1·domain + Σ_{i∈R} H_i·m_i + Σ_{j∉R} H_j·m_j (T2) }
    with  e(Ā, W) = e(B̄, BP2)

Prover (ProofGen split as the draft does, so presentations can compose it with other
statements under one challenge — DESIGN §5):

1. :func:`proof_init`: from random scalars ``(r1, r2, ẽ, r̃1, r̃3, m̃_j…)`` compute
   ``D = B·r2``, ``Ā = A·(r1·r2)``, ``B̄ = D·r1 − Ā·e``, ``T1 = Ā·ẽ + D·r̃1``,
   ``T2 = D·r̃3 + Σ H_j·m̃_j``.
2. :func:`proof_challenge_calculate`: ``c = H2S(R, (i, msg_i)…, Ā, B̄, D, T1, T2, domain, ph)``.
3. :func:`proof_finalize`: ``ê = ẽ + e·c``, ``r̂1 = r̃1 − r1·c``, ``r̂3 = r̃3 − c/r2``,
   ``m̂_j = m̃_j + m_j·c``.

Verifier: :func:`proof_verify_init` recomputes ``T1 = B̄·c + Ā·ê + D·r̂1`` and
``T2 = Bv·c + D·r̂3 + Σ H_j·m̂_j`` with ``Bv = P1 + Q_1·domain + Σ_{i∈R} H_i·msg_i``;
then the challenge must match and ``e(Ā, W)·e(B̄, −BP2) = 1``.

Randomness is injectable (``random_scalars=``) so that fixtures reproduce the draft's
mocked-RNG outputs and so a composing protocol can share an ``m̃_j`` with another
statement (witness equality). Everything else follows the draft to the letter; the
one departure is *where* it checks: decoding is strict (typed errors) and the core
raises :class:`~circuits.errors.VerificationError` instead of returning INVALID.
See circuits/notes/bbs.md.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from circuits import constants as k
from circuits.backend import GroupBackend
from circuits.backend.interface import G1, G2
from circuits.bbs.suite import Ciphersuite
from circuits.constants import G1_BYTES, SCALAR_BYTES, R
from circuits.errors import (
    EncodingError,
    IdentityPointError,
    ParameterError,
    ScalarOutOfRangeError,
    VerificationError,
)
from circuits.hashing import i2osp, os2ip

RandomScalars = Callable[[int], Sequence[int]]


# Randomness ------------------------------------------------------------------------


def calculate_random_scalars(count: int, rng: Callable[[int], bytes] = secrets.token_bytes) -> list[int]:
    """Draft §4.2.1: ``count`` uniform scalars, 48 bytes of ``rng`` each, mod r.

    ``rng`` is zkcred's one rng convention (:mod:`circuits.rng`; default the OS CSPRNG);
    callers with an rng pass ``random_scalars=lambda n: calculate_random_scalars(n, rng)``.
    """
    return [os2ip(rng(k.BBS_EXPAND_LEN)) % R for _ in range(count)]


def seeded_random_scalars(seed: bytes, dst: bytes, count: int, *, suite: Ciphersuite) -> list[int]:
    """Draft Appendix: deterministic scalars for fixtures (``mocked_calculate_random_scalars``)."""
    n = k.BBS_EXPAND_LEN
    if count * n > 65535:
        raise ParameterError("too many mocked scalars")
    v = suite.expand(seed, dst, count * n)
    return [os2ip(v[i * n : (i + 1) * n]) % R for i in range(count)]


# Encodings ---------------------------------------------------------------------------


def scalar_to_bytes(s: int) -> bytes:
    return i2osp(s % R, SCALAR_BYTES)


def scalar_from_bytes(data: bytes, *, nonzero: bool = False) -> int:
    """Strict: exactly 32 bytes, < r (and ≠ 0 where asked)."""
    if len(data) != SCALAR_BYTES:
        raise EncodingError(f"a scalar is {SCALAR_BYTES} bytes, got {len(data)}")
    s = os2ip(data)
    if s >= R or (nonzero and s == 0):
        raise ScalarOutOfRangeError("scalar out of range")
    return s


def g1_from_bytes_nonidentity(be: GroupBackend, data: bytes, *, msm_only: bool = False) -> G1:
    """Strict decoding that refuses the identity; ``msm_only`` as in ``GroupBackend.g1_from_bytes_msm``."""
    point = be.g1_from_bytes_msm(data) if msm_only else be.g1_from_bytes(data)
    if be.g1_is_identity(point):
        raise IdentityPointError("the identity is not allowed here")
    return point


@functools.lru_cache(maxsize=256)
def _decode_pk(backend_name: str, pk: bytes) -> G2:
    from circuits.backend import get_backend

    be = get_backend(backend_name)
    w = be.g2_from_bytes(pk)
    if be.g2_is_identity(w):
        raise IdentityPointError("public key is the identity")
    return w


def octets_to_pubkey(be: GroupBackend, pk: bytes) -> G2:
    """Draft §4.7.6 with KeyValidate: a G2 point in the subgroup, not the identity (cached)."""
    if not isinstance(pk, (bytes, bytearray)):
        raise TypeError("public key must be bytes")
    return _decode_pk(be.name, bytes(pk))


@dataclass(frozen=True)
class Signature:
    """A BBS signature (A, e); 80 bytes on the wire."""

    A: object
    e: int

    def to_bytes(self, be: GroupBackend) -> bytes:
        return be.g1_to_bytes(self.A) + scalar_to_bytes(self.e)

    @classmethod
    def from_bytes(cls, be: GroupBackend, data: bytes) -> Signature:
        """Draft §4.7.3 octets_to_signature: A ≠ identity, 0 < e < r."""
        if len(data) != G1_BYTES + SCALAR_BYTES:
            raise EncodingError(f"a signature is {G1_BYTES + SCALAR_BYTES} bytes, got {len(data)}")
        return cls(g1_from_bytes_nonidentity(be, data[:G1_BYTES]), scalar_from_bytes(data[G1_BYTES:], nonzero=True))


@dataclass(frozen=True)
class Proof:
    """A BBS proof: (Ā, B̄, D, ê, r̂1, r̂3, (m̂_j), c) — 272 + 32·U bytes."""

    A_bar: G1
    B_bar: G1
    D: G1
    e_hat: int
    r1_hat: int
    r3_hat: int
    m_hat: tuple[int, ...]
    challenge: int

    def to_bytes(self, be: GroupBackend) -> bytes:
        points = b"".join(be.g1_to_bytes(p) for p in (self.A_bar, self.B_bar, self.D))
        scalars = (self.e_hat, self.r1_hat, self.r3_hat, *self.m_hat, self.challenge)
        return points + b"".join(scalar_to_bytes(s) for s in scalars)

    @classmethod
    def from_bytes(cls, be: GroupBackend, data: bytes) -> Proof:
        """Draft §4.7.5 octets_to_proof: three non-identity G1 points, then scalars < r."""
        floor = 3 * G1_BYTES + 4 * SCALAR_BYTES
        if len(data) < floor or (len(data) - floor) % SCALAR_BYTES:
            raise EncodingError(f"a proof is {floor} + 32·U bytes, got {len(data)}")
        points = [g1_from_bytes_nonidentity(be, data[i : i + G1_BYTES]) for i in range(0, 3 * G1_BYTES, G1_BYTES)]
        off = 3 * G1_BYTES
        scalars = [scalar_from_bytes(data[i : i + SCALAR_BYTES]) for i in range(off, len(data), SCALAR_BYTES)]
        A_bar, B_bar, D = points
        return cls(A_bar, B_bar, D, scalars[0], scalars[1], scalars[2], tuple(scalars[3:-1]), scalars[-1])


# Hash inputs ---------------------------------------------------------------------------


def _ser_points(be: GroupBackend, points: Iterable[G1]) -> bytes:
    return b"".join(be.g1_to_bytes(p) for p in points)


def calculate_domain(
    be: GroupBackend, suite: Ciphersuite, pk: bytes, Q_1: G1, H: Sequence[G1], header: bytes, api_id: bytes
) -> int:
    """Draft §4.2.3: domain = H2S(PK || L || Q_1 || H_1..H_L || api_id || len(header) || header)."""
    if len(header) > 2**64 - 1:
        raise ParameterError("header too long")
    dom_octs = i2osp(len(H), 8) + _ser_points(be, (Q_1, *H)) + api_id
    dom_input = pk + dom_octs + i2osp(len(header), 8) + header
    return suite.hash_to_scalar(dom_input, api_id + k.BBS_H2S)


def _b_point(be: GroupBackend, P1: G1, Q_1: G1, domain: int, H: Sequence[G1], msgs: Sequence[int]) -> G1:
    """B = P1 + Q_1·domain + Σ H_i·msg_i."""
    return be.g1_add(P1, be.g1_msm([Q_1, *H], [domain, *msgs]))


# Sign / Verify -----------------------------------------------------------------------------


def core_sign(
    sk: int,
    pk: bytes,
    header: bytes,
    messages: Sequence[int],
    *,
    suite: Ciphersuite,
    be: GroupBackend,
    api_id: bytes | None = None,
    generators: Sequence[G1] | None = None,
) -> Signature:
    """Draft §3.6.1 CoreSign: e = H2S(SK || msg_1..msg_L || domain), A = B·1/(SK+e)."""
    api_id = suite.api_id if api_id is None else api_id
    L = len(messages)
    generators = suite.create_generators(be, L + 1, api_id) if generators is None else generators
    Q_1, H = generators[0], generators[1 : L + 1]
    domain = calculate_domain(be, suite, pk, Q_1, H, header, api_id)
    e_input = b"".join(scalar_to_bytes(s) for s in (sk, *messages, domain))
    e = suite.hash_to_scalar(e_input, api_id + k.BBS_H2S)
    B = _b_point(be, suite.p1(be), Q_1, domain, H, messages)
    denominator = (sk + e) % R
    if denominator == 0:  # negligible; the draft returns INVALID
        raise ParameterError("SK + e = 0")
    return Signature(be.g1_mul(B, pow(denominator, -1, R)), e)


def core_verify(
    pk: bytes,
    signature: Signature,
    header: bytes,
    messages: Sequence[int],
    *,
    suite: Ciphersuite,
    be: GroupBackend,
    api_id: bytes | None = None,
    generators: Sequence[G1] | None = None,
) -> None:
    """Draft §3.6.2 CoreVerify: e(A, W + BP2·e) · e(B, −BP2) = 1, or VerificationError."""
    api_id = suite.api_id if api_id is None else api_id
    W = octets_to_pubkey(be, pk)
    L = len(messages)
    generators = suite.create_generators(be, L + 1, api_id) if generators is None else generators
    Q_1, H = generators[0], generators[1 : L + 1]
    domain = calculate_domain(be, suite, pk, Q_1, H, header, api_id)
    B = _b_point(be, suite.p1(be), Q_1, domain, H, messages)
    BP2 = be.g2_generator()
    lhs = be.g2_add(W, be.g2_mul(BP2, signature.e))
    if not be.pairing_check([(signature.A, lhs), (B, be.g2_neg(BP2))]):
        raise VerificationError("signature does not verify")


# ProofGen -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProofInitResult:
    """(Ā, B̄, D, T1, T2, domain): what the challenge hashes (draft §3.6.3 ProofInit)."""

    A_bar: G1
    B_bar: G1
    D: G1
    T1: G1
    T2: G1
    domain: int


def proof_init(
    pk: bytes,
    signature: Signature,
    generators: Sequence[G1],
    random_scalars: Sequence[int],
    header: bytes,
    messages: Sequence[int],
    undisclosed_indexes: Sequence[int],
    *,
    suite: Ciphersuite,
    be: GroupBackend,
    api_id: bytes | None = None,
) -> ProofInitResult:
    """Draft §3.6.3 ProofInit. ``random_scalars`` = (r1, r2, ẽ, r̃1, r̃3, m̃_j1..m̃_jU)."""
    api_id = suite.api_id if api_id is None else api_id
    L, U = len(messages), len(undisclosed_indexes)
    if len(random_scalars) != U + 5:
        raise ParameterError(f"ProofInit needs {U + 5} random scalars, got {len(random_scalars)}")
    if len(generators) != L + 1:
        raise ParameterError("need L + 1 generators")
    r1, r2, e_tilde, r1_tilde, r3_tilde, *m_tilde = random_scalars
    Q_1, H = generators[0], generators[1:]
    domain = calculate_domain(be, suite, pk, Q_1, H, header, api_id)
    B = _b_point(be, suite.p1(be), Q_1, domain, H, messages)
    D = be.g1_mul(B, r2)
    A_bar = be.g1_mul(signature.A, r1 * r2 % R)
    B_bar = be.g1_add(be.g1_mul(D, r1), be.g1_neg(be.g1_mul(A_bar, signature.e)))
    T1 = be.g1_msm([A_bar, D], [e_tilde, r1_tilde])
    T2 = be.g1_msm([D, *(H[j] for j in undisclosed_indexes)], [r3_tilde, *m_tilde])
    return ProofInitResult(A_bar, B_bar, D, T1, T2, domain)


def challenge_octets(
    be: GroupBackend,
    init_res: ProofInitResult,
    disclosed_indexes: Sequence[int],
    disclosed_messages: Sequence[int],
    ph: bytes,
) -> bytes:
    """The octets hashed by ProofChallengeCalculate (exposed so a transcript can absorb them)."""
    parts = [i2osp(len(disclosed_indexes), 8)]
    for i, m in zip(disclosed_indexes, disclosed_messages, strict=True):
        parts += [i2osp(i, 8), scalar_to_bytes(m)]
    parts.append(_ser_points(be, (init_res.A_bar, init_res.B_bar, init_res.D, init_res.T1, init_res.T2)))
    parts += [scalar_to_bytes(init_res.domain), i2osp(len(ph), 8), ph]
    return b"".join(parts)


def proof_challenge_calculate(
    init_res: ProofInitResult,
    disclosed_indexes: Sequence[int],
    disclosed_messages: Sequence[int],
    ph: bytes,
    *,
    suite: Ciphersuite,
    be: GroupBackend,
    api_id: bytes | None = None,
) -> int:
    """Draft §3.6.5 ProofChallengeCalculate."""
    api_id = suite.api_id if api_id is None else api_id
    octets = challenge_octets(be, init_res, disclosed_indexes, disclosed_messages, ph)
    return suite.hash_to_scalar(octets, api_id + k.BBS_H2S)


def proof_finalize(
    init_res: ProofInitResult,
    challenge: int,
    e: int,
    random_scalars: Sequence[int],
    undisclosed_messages: Sequence[int],
) -> Proof:
    """Draft §3.6.4 ProofFinalize."""
    r1, r2, e_tilde, r1_tilde, r3_tilde, *m_tilde = random_scalars
    if len(m_tilde) != len(undisclosed_messages):
        raise ParameterError("one m̃ per undisclosed message")
    r3 = pow(r2, -1, R)
    c = challenge
    return Proof(
        init_res.A_bar,
        init_res.B_bar,
        init_res.D,
        (e_tilde + e * c) % R,
        (r1_tilde - r1 * c) % R,
        (r3_tilde - r3 * c) % R,
        tuple((mt + m * c) % R for mt, m in zip(m_tilde, undisclosed_messages, strict=True)),
        c,
    )


def _check_disclosed(disclosed_indexes: Sequence[int], L: int) -> list[int]:
    idx = list(disclosed_indexes)
    if any(not isinstance(i, int) or isinstance(i, bool) for i in idx):
        raise ParameterError("disclosed indexes must be integers")
    if idx != sorted(set(idx)):
        raise ParameterError("disclosed indexes must be strictly increasing")
    if idx and (idx[0] < 0 or idx[-1] >= L):
        raise ParameterError(f"disclosed index out of range 0..{L - 1}")
    return idx


def core_proof_gen(
    pk: bytes,
    signature: Signature,
    header: bytes,
    ph: bytes,
    messages: Sequence[int],
    disclosed_indexes: Sequence[int],
    *,
    suite: Ciphersuite,
    be: GroupBackend,
    api_id: bytes | None = None,
    random_scalars: RandomScalars = calculate_random_scalars,
    generators: Sequence[G1] | None = None,
) -> Proof:
    """Draft §3.6.3 CoreProofGen = ProofInit → ProofChallengeCalculate → ProofFinalize.

    ``generators`` (Q_1, H_1..H_L) default to ``create_generators(L + 1, api_id)``; an
    interface with its own generator list (blind BBS: signer's then blind generators) passes it.
    """
    api_id = suite.api_id if api_id is None else api_id
    L = len(messages)
    disclosed = _check_disclosed(disclosed_indexes, L)
    undisclosed = [i for i in range(L) if i not in set(disclosed)]
    generators = suite.create_generators(be, L + 1, api_id) if generators is None else generators
    scalars = list(random_scalars(5 + len(undisclosed)))
    init_res = proof_init(
        pk, signature, generators, scalars, header, messages, undisclosed, suite=suite, be=be, api_id=api_id
    )
    challenge = proof_challenge_calculate(
        init_res, disclosed, [messages[i] for i in disclosed], ph, suite=suite, be=be, api_id=api_id
    )
    return proof_finalize(init_res, challenge, signature.e, scalars, [messages[j] for j in undisclosed])


def proof_verify_init(
    pk: bytes,
    proof: Proof,
    generators: Sequence[G1],
    header: bytes,
    disclosed_messages: Sequence[int],
    disclosed_indexes: Sequence[int],
    *,
    suite: Ciphersuite,
    be: GroupBackend,
    api_id: bytes | None = None,
) -> ProofInitResult:
    """Draft §3.6.6 ProofVerifyInit: recompute T1, T2 from the responses."""
    api_id = suite.api_id if api_id is None else api_id
    U, R_ = len(proof.m_hat), len(disclosed_indexes)
    L = U + R_
    if len(generators) != L + 1:
        raise ParameterError("need L + 1 generators")
    if len(disclosed_messages) != R_:
        raise ParameterError("one disclosed message per disclosed index")
    disclosed = _check_disclosed(disclosed_indexes, L)
    undisclosed = [i for i in range(L) if i not in set(disclosed)]
    Q_1, H = generators[0], generators[1:]
    domain = calculate_domain(be, suite, pk, Q_1, H, header, api_id)
    c = proof.challenge
    T1 = be.g1_msm([proof.B_bar, proof.A_bar, proof.D], [c, proof.e_hat, proof.r1_hat], public=True)
    # T2 = Bv·c + D·r̂3 + Σ H_j·m̂_j with Bv = P1 + Q_1·domain + Σ H_i·msg_i, in one msm.
    T2 = be.g1_msm(
        [suite.p1(be), Q_1, *(H[i] for i in disclosed), proof.D, *(H[j] for j in undisclosed)],
        [c, domain * c % R, *(m * c % R for m in disclosed_messages), proof.r3_hat, *proof.m_hat],
        public=True,
    )
    return ProofInitResult(proof.A_bar, proof.B_bar, proof.D, T1, T2, domain)


def proof_pairing_check(pk: bytes, proof: Proof, *, be: GroupBackend) -> None:
    """e(Ā, W) · e(B̄, −BP2) = 1, or VerificationError."""
    W = octets_to_pubkey(be, pk)
    if not be.pairing_check([(proof.A_bar, W), (proof.B_bar, be.g2_neg(be.g2_generator()))]):
        raise VerificationError("proof pairing check fails")


def core_proof_verify(
    pk: bytes,
    proof: Proof,
    header: bytes,
    ph: bytes,
    disclosed_messages: Sequence[int],
    disclosed_indexes: Sequence[int],
    *,
    suite: Ciphersuite,
    be: GroupBackend,
    api_id: bytes | None = None,
    generators: Sequence[G1] | None = None,
) -> None:
    """Draft §3.6.7 CoreProofVerify; raises VerificationError (or an EncodingError/ParameterError).

    ``generators`` as in :func:`core_proof_gen`.
    """
    api_id = suite.api_id if api_id is None else api_id
    L = len(proof.m_hat) + len(disclosed_indexes)
    generators = suite.create_generators(be, L + 1, api_id) if generators is None else generators
    init_res = proof_verify_init(
        pk, proof, generators, header, disclosed_messages, disclosed_indexes, suite=suite, be=be, api_id=api_id
    )
    challenge = proof_challenge_calculate(
        init_res, disclosed_indexes, disclosed_messages, ph, suite=suite, be=be, api_id=api_id
    )
    if challenge != proof.challenge:
        raise VerificationError("proof challenge does not match")
    proof_pairing_check(pk, proof, be=be)
