r"""Blind BBS signatures (draft-irtf-cfrg-bbs-blind-signatures, editor's copy -02).

The holder (the draft's *Prover*) commits to messages the issuer (*Signer*) never sees
— in zkcred, the wallet's link secret — and proves it knows the opening; the issuer
checks that proof and signs its own messages together with the commitment. What the
holder ends up with is an **ordinary BBS signature** over one combined message list, so
:mod:`circuits.bbs.core` verifies it and proves with it (``core_verify``,
``proof_init`` / ``proof_challenge_calculate`` / ``proof_finalize``) unchanged, given the
right generators and ``api_id``. Only issuance is new.

Notation (the draft's, additive): ``api_id = ciphersuite_id || "BLIND_H2G_HM2S_"``;
signer generators ``(Q_1, H_1..H_L) = create_generators(L + 1, api_id)``; blind
generators ``(Q_2, J_1..J_M) = create_generators(M + 1, "BLIND_" || api_id)``; signer
messages ``msg_1..msg_L``; committed messages ``cm_1..cm_M``; the prover blind ``s``
(``secret_prover_blind``).

Relation proven by the commitment proof (Commit → issuer), Camenisch–Stadler::

    PK{ (s, cm_1, …, cm_M) :  C = Q_2·s + J_1·cm_1 + … + J_M·cm_M }

Relation proven by a presentation (unchanged BBS ProofGen, see :mod:`circuits.bbs.core`)
over the combined list below; the blind ``s`` is one more hidden message.

The combined message list, in the draft's order (§5.1 ``prepare_parameters``)::

    index   0 … L-1          L                    L+1 … L+M
    scalar  msg_1 … msg_L    secret_prover_blind  cm_1 … cm_M
    gen.    H_1 … H_L        Q_2                  J_1 … J_M
    generators = (Q_1, H_1..H_L, Q_2, J_1..J_M)   # L + M + 2 points, Q_1 first

**Signer messages come first, then the prover blind, then the committed messages.** So
a zkcred credential whose wallet commits to its link secret (M = 1) has the link secret
at index ``L + 1`` — last — and the blind at index ``L``, whatever order DESIGN §4 lists
the attributes in; the credential layer maps its attribute names onto these indexes.
The blind must stay undisclosed in every presentation (it is fresh per issuance and
would link presentations); disclosing it is not forbidden by the draft, only pointless.

Steps (section numbers of the editor's copy -02):

1. Holder, :func:`core_commit` (§4.3.1 CoreCommit; §4.1.1 Commit hashes octet messages
   first): draw ``(s, s̃, m̃_1..m̃_M)`` (M + 2 random scalars, in that order);
   ``C = Q_2·s + Σ J_i·cm_i``, ``C̄ = Q_2·s̃ + Σ J_i·m̃_i``;
   ``c = H2S(I2OSP(M, 8) || Q_2 || J_1..J_M || C || C̄)`` with DST ``api_id || "H2S_"``
   (§5.3 calculate_blind_challenge); ``ŝ = s̃ + s·c``, ``m̂_i = m̃_i + cm_i·c``. Send
   ``C || ŝ || m̂_1..m̂_M || c`` (§5.4.1; 48 + 32·(M + 2) bytes); keep ``s``.
2. Issuer, :func:`deserialize_and_validate_commit` (§4.1.2, §5.4.2, §4.3.2
   CoreCommitVerify): decode strictly (C on the curve, in the subgroup, not the
   identity; every scalar in [1, r)), require ``M + 1`` blind generators, recompute
   ``C̄ = Q_2·ŝ + Σ J_i·m̂_i − C·c`` and require the challenge to match.
3. Issuer, :func:`core_blind_sign` (§4.2.1 BlindSign, §5.2 B_calculate, §4.3.3
   FinalizeBlindSign): ``domain = calculate_domain(PK, Q_1, (H_1..H_L, Q_2, J_1..J_M),
   header, api_id)``; ``B = P1 + Q_1·domain + Σ H_i·msg_i + C``;
   ``e = H2S(SK || B)`` (DST ``api_id || "H2S_"``); ``A = B·1/(SK + e)``.
4. Holder, :func:`core_verify_blind_sign` (§4.2.2): ``core.core_verify`` over the
   combined list — ``B = P1 + Q_1·domain + Σ H_i·msg_i + Q_2·s + Σ J_i·cm_i``, the same B.
5. Holder / verifier, :func:`core_blind_proof_gen` / :func:`core_blind_proof_verify`
   (§4.2.3, §4.2.4): ``core.core_proof_gen`` / ``core_proof_verify`` over the combined
   list; a disclosed committed message ``j`` (0-based) has index ``L + 1 + j``.

Transcript: no zkcred transcript here — the commitment challenge and the BBS challenge
are the draft's own ``hash_to_scalar`` calls, so the fixtures hold. A presentation that
composes BBS with other statements does so through ``core.challenge_octets``.

Departures, all forced by the fixtures (``../shared/vectors/bbs-blind``, fixtures of
2025-02-27), where the -02 text has slips:

* FinalizeBlindSign's text hashes ``e = H2S(SK || B || domain)``; the fixtures (and the
  later editor's copy) use ``e = H2S(SK || B)``. Nothing is lost: B already contains
  ``Q_1·domain``.
* The text's B_calculate omits ``P1`` and ``Q_1·domain``, and FinalizeBlindSign's domain
  omits ``Q_2``; both are needed for the signature to verify under CoreVerify (§4.2.2),
  and the fixtures include them.
* BlindSign derives M from the commitment length with ``− octet_scalar_length`` once;
  the serialization has two scalars besides the m̂_i, so we subtract two (as the later
  copy does), and a length that is not ``48 + 32·(M + 2)`` is an EncodingError.
* FinalizeBlindSign's "if L <= 0 or M <= 0, return INVALID" would reject the fixtures'
  own cases without signer messages (L = 0) or without a commitment (M = 0); we do not
  apply it. Without a commitment the blind generator ``Q_2`` is still part of the
  generators and the domain, and the holder verifies with ``s = 0`` (§4.2.2 default).
* BlindProofVerify's text names ``api_id = ciphersuite_id || "H2G_HM2S_"``; the fixtures
  use the blind ``api_id`` for proofs as for everything else.
* As in :mod:`circuits.bbs.core`, failures raise typed errors instead of returning
  INVALID; the octet interface's ``verify_blind_sign`` / ``blind_proof_verify`` return
  ``bool`` like :mod:`circuits.bbs.api`.

How a zkcred credential uses the scalar API (one committed message, the link secret)::

    be, suite = get_backend(), SHA256
    # wallet
    cwp, s = core_commit([link_secret], suite=suite, be=be)         # keep s with the credential
    request = cwp.to_bytes(be)
    # issuer (M = 1 is fixed by the credential definition, not read from the request)
    C = deserialize_and_validate_commit(request, blind_generators(be, 1, suite=suite),
                                        suite=suite, be=be)
    sig = core_blind_sign(sk, pk, C, 1, header, attribute_scalars, suite=suite, be=be)
    # wallet, on receipt and for every presentation
    messages, generators = prepare_parameters(attribute_scalars, [link_secret], s,
                                              suite=suite, be=be)
    api_id = blind_api_id(suite)
    core.core_verify(pk, sig, header, messages, suite=suite, be=be,
                     api_id=api_id, generators=generators)
    core.proof_init(pk, sig, generators, random_scalars, header, messages, undisclosed,
                    suite=suite, be=be, api_id=api_id)                # then challenge, finalize
    # link secret at index len(attribute_scalars) + 1, blind at len(attribute_scalars)

Round trip on the octet interface:

>>> from circuits.bbs import SHA256, keygen, sk_to_pk
>>> sk = keygen(b"k" * 32, suite=SHA256); pk = sk_to_pk(sk, suite=SHA256)
>>> cwp, s = commit([b"link secret"], suite=SHA256)
>>> sig = blind_sign(sk, pk, cwp, b"hdr", [b"income", b"birth date"], suite=SHA256)
>>> verify_blind_sign(pk, sig, b"hdr", [b"income", b"birth date"], [b"link secret"], s, suite=SHA256)
True
>>> proof = blind_proof_gen(pk, sig, b"hdr", b"ph", [b"income", b"birth date"], [b"link secret"],
...                         [0], [], s, suite=SHA256)
>>> blind_proof_verify(pk, proof, b"hdr", b"ph", 2, [b"income"], [], [0], [], suite=SHA256)
True

See circuits/notes/bbs.md for the BBS background.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from circuits import constants as k
from circuits.backend import GroupBackend, get_backend
from circuits.backend.interface import G1
from circuits.bbs import core
from circuits.bbs.api import messages_to_scalars
from circuits.bbs.suite import Ciphersuite
from circuits.constants import G1_BYTES, SCALAR_BYTES, R
from circuits.errors import EncodingError, ParameterError, VerificationError, ZkCredError
from circuits.hashing import i2osp

__all__ = [
    "CommitmentWithProof",
    "blind_api_id",
    "blind_generators",
    "blind_proof_gen",
    "blind_proof_verify",
    "blind_sign",
    "calculate_blind_challenge",
    "commit",
    "committed_count",
    "committed_index",
    "core_blind_proof_gen",
    "core_blind_proof_verify",
    "core_blind_sign",
    "core_commit",
    "core_commit_verify",
    "core_verify_blind_sign",
    "deserialize_and_validate_commit",
    "prepare_parameters",
    "prover_blind_index",
    "signer_generators",
    "verify_blind_sign",
]


# Identifiers, generators and the combined layout ----------------------------------------


def blind_api_id(suite: Ciphersuite) -> bytes:
    """The blind interface's api_id: ``ciphersuite_id || "BLIND_H2G_HM2S_"`` (§4.2)."""
    return suite.ciphersuite_id + k.BBS_BLIND_H2G_HM2S


def _api(suite: Ciphersuite, api_id: bytes | None) -> bytes:
    return blind_api_id(suite) if api_id is None else api_id


def signer_generators(be: GroupBackend, L: int, *, suite: Ciphersuite, api_id: bytes | None = None) -> list[G1]:
    """``(Q_1, H_1..H_L) = create_generators(L + 1, api_id)``."""
    return suite.create_generators(be, L + 1, _api(suite, api_id))


def blind_generators(be: GroupBackend, M: int, *, suite: Ciphersuite, api_id: bytes | None = None) -> list[G1]:
    """``(Q_2, J_1..J_M) = create_generators(M + 1, "BLIND_" || api_id)``."""
    return suite.create_generators(be, M + 1, k.BBS_BLIND_GENERATOR_PREFIX + _api(suite, api_id))


def prover_blind_index(L: int) -> int:
    """Index of ``secret_prover_blind`` in the combined message list: right after the L signer messages."""
    return L


def committed_index(L: int, j: int) -> int:
    """Index of committed message ``j`` (0-based) in the combined list: ``L + 1 + j`` (§4.2.3)."""
    return L + 1 + j


def prepare_parameters(
    signer_scalars: Sequence[int],
    committed_scalars: Sequence[int],
    secret_prover_blind: int | None,
    *,
    suite: Ciphersuite,
    be: GroupBackend,
    api_id: bytes | None = None,
) -> tuple[list[int], list[G1]]:
    """§5.1: ``(message_scalars, generators)`` of the combined BBS signature.

    ``message_scalars = signer ‖ (secret_prover_blind) ‖ committed`` and
    ``generators = (Q_1, H_1..H_L, Q_2, J_1..J_M)``. ``secret_prover_blind=None`` (the
    draft's NONE) leaves the blind out of the messages.
    """
    L, M = len(signer_scalars), len(committed_scalars)
    messages = list(signer_scalars)
    if secret_prover_blind is not None:
        messages.append(secret_prover_blind % R)
    messages += list(committed_scalars)
    generators = [
        *signer_generators(be, L, suite=suite, api_id=api_id),
        *blind_generators(be, M, suite=suite, api_id=api_id),
    ]
    return messages, generators


# The commitment and its proof of opening -------------------------------------------------


@dataclass(frozen=True)
class CommitmentWithProof:
    """``C`` and its proof ``(ŝ, (m̂_1..m̂_M), c)``: 48 + 32·(M + 2) bytes on the wire (§5.4.1)."""

    C: object
    s_hat: int
    m_hat: tuple[int, ...]
    challenge: int

    @property
    def M(self) -> int:
        """Number of committed messages."""
        return len(self.m_hat)

    def to_bytes(self, be: GroupBackend) -> bytes:
        scalars = (self.s_hat, *self.m_hat, self.challenge)
        return be.g1_to_bytes(self.C) + b"".join(core.scalar_to_bytes(x) for x in scalars)

    @classmethod
    def from_bytes(cls, be: GroupBackend, data: bytes) -> CommitmentWithProof:
        """§5.4.2 octets_to_commitment_with_proof: C a non-identity subgroup point, scalars in [1, r).

        Raises the :class:`~circuits.errors.EncodingError` subclass that names the defect.
        """
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError("commitment_with_proof must be bytes")
        M = committed_count(data)
        C = core.g1_from_bytes_nonidentity(be, bytes(data[:G1_BYTES]))
        scalars = [
            core.scalar_from_bytes(bytes(data[i : i + SCALAR_BYTES]), nonzero=True)
            for i in range(G1_BYTES, len(data), SCALAR_BYTES)
        ]
        assert len(scalars) == M + 2
        return cls(C, scalars[0], tuple(scalars[1:-1]), scalars[-1])


def committed_count(commitment_with_proof: bytes) -> int:
    """M, the number of committed messages, from the encoding's length (§4.2.1 Deserialization).

    The empty string (no commitment) gives 0; any length other than 48 + 32·(M + 2) is an
    :class:`~circuits.errors.EncodingError`.
    """
    n = len(commitment_with_proof)
    if n == 0:
        return 0
    floor = G1_BYTES + 2 * SCALAR_BYTES
    if n < floor or (n - floor) % SCALAR_BYTES:
        raise EncodingError(f"a commitment with proof is {floor} + 32·M bytes, got {n}")
    return (n - floor) // SCALAR_BYTES


def calculate_blind_challenge(
    C: G1,
    C_bar: G1,
    generators: Sequence[G1],
    *,
    suite: Ciphersuite,
    be: GroupBackend,
    api_id: bytes | None = None,
) -> int:
    """§5.3: ``H2S(I2OSP(M, 8) || Q_2 || J_1..J_M || C || C̄)``, DST ``api_id || "H2S_"``."""
    if not generators:
        raise ParameterError("calculate_blind_challenge needs at least Q_2")
    octets = i2osp(len(generators) - 1, 8) + b"".join(be.g1_to_bytes(p) for p in (*generators, C, C_bar))
    return suite.hash_to_scalar(octets, _api(suite, api_id) + k.BBS_H2S)


def core_commit(
    committed_scalars: Sequence[int],
    *,
    suite: Ciphersuite,
    be: GroupBackend,
    api_id: bytes | None = None,
    random_scalars: core.RandomScalars = core.calculate_random_scalars,
) -> tuple[CommitmentWithProof, int]:
    """§4.3.1 CoreCommit: ``(commitment_with_proof, secret_prover_blind)``.

    ``random_scalars(M + 2)`` gives ``(secret_prover_blind, s̃, m̃_1..m̃_M)`` in that order
    (the fixtures' mocked RNG reproduces exactly that).
    """
    msgs = [m % R for m in committed_scalars]
    M = len(msgs)
    gens = blind_generators(be, M, suite=suite, api_id=api_id)
    drawn = list(random_scalars(M + 2))
    if len(drawn) != M + 2:
        raise ParameterError(f"CoreCommit needs {M + 2} random scalars, got {len(drawn)}")
    s, s_tilde, *m_tilde = drawn
    C = be.g1_msm(gens, [s, *msgs])
    C_bar = be.g1_msm(gens, [s_tilde, *m_tilde])
    c = calculate_blind_challenge(C, C_bar, gens, suite=suite, be=be, api_id=api_id)
    proof = CommitmentWithProof(
        C, (s_tilde + s * c) % R, tuple((mt + m * c) % R for mt, m in zip(m_tilde, msgs, strict=True)), c
    )
    return proof, s


def core_commit_verify(
    commitment: CommitmentWithProof,
    generators: Sequence[G1],
    *,
    suite: Ciphersuite,
    be: GroupBackend,
    api_id: bytes | None = None,
) -> None:
    """§4.3.2 CoreCommitVerify: ``C̄ = Q_2·ŝ + Σ J_i·m̂_i − C·c``; the challenge must match."""
    if len(generators) != commitment.M + 1:
        raise ParameterError(f"the commitment covers {commitment.M} messages, expected {len(generators) - 1}")
    c = commitment.challenge
    C_bar = be.g1_msm([*generators, commitment.C], [commitment.s_hat, *commitment.m_hat, (-c) % R])
    if calculate_blind_challenge(commitment.C, C_bar, generators, suite=suite, be=be, api_id=api_id) != c:
        raise VerificationError("commitment proof does not verify")


def deserialize_and_validate_commit(
    commitment_with_proof: bytes,
    generators: Sequence[G1],
    *,
    suite: Ciphersuite,
    be: GroupBackend,
    api_id: bytes | None = None,
) -> G1:
    """§4.1.2: the commitment point C, after its proof of opening verified.

    ``generators`` are the blind generators ``(Q_2, J_1..J_M)`` the issuer expects (so
    the issuer, not the request, fixes M). The empty string means "no commitment" and
    gives the identity. Raises EncodingError (bad bytes), ParameterError (wrong M) or
    VerificationError (proof fails).
    """
    if len(commitment_with_proof) == 0:
        return be.g1_identity()
    parsed = CommitmentWithProof.from_bytes(be, commitment_with_proof)
    core_commit_verify(parsed, generators, suite=suite, be=be, api_id=api_id)
    return parsed.C


# Signing ----------------------------------------------------------------------------------


def core_blind_sign(
    sk: int,
    pk: bytes,
    commitment: G1,
    M: int,
    header: bytes,
    messages: Sequence[int],
    *,
    suite: Ciphersuite,
    be: GroupBackend,
    api_id: bytes | None = None,
) -> core.Signature:
    """§5.2 B_calculate + §4.3.3 FinalizeBlindSign over signer scalars and a *validated* C.

    ``commitment`` is the point returned by :func:`deserialize_and_validate_commit` (the
    identity for none) and ``M`` the number of messages it commits to.
    """
    api_id = _api(suite, api_id)
    if not 0 < sk < R:
        raise ParameterError("secret key out of range")
    msgs = [m % R for m in messages]
    L = len(msgs)
    gens = signer_generators(be, L, suite=suite, api_id=api_id)
    bgens = blind_generators(be, M, suite=suite, api_id=api_id)
    Q_1, H = gens[0], gens[1:]
    domain = core.calculate_domain(be, suite, pk, Q_1, [*H, *bgens], header, api_id)
    B = be.g1_add(be.g1_add(suite.p1(be), be.g1_msm(gens, [domain, *msgs])), commitment)
    if be.g1_is_identity(B):
        raise ParameterError("B is the identity")
    e = suite.hash_to_scalar(core.scalar_to_bytes(sk) + be.g1_to_bytes(B), api_id + k.BBS_H2S)
    denominator = (sk + e) % R
    if denominator == 0:  # negligible; the draft returns INVALID
        raise ParameterError("SK + e = 0")
    return core.Signature(be.g1_mul(B, pow(denominator, -1, R)), e)


def core_verify_blind_sign(
    pk: bytes,
    signature: core.Signature,
    header: bytes,
    messages: Sequence[int],
    committed_scalars: Sequence[int],
    secret_prover_blind: int = 0,
    *,
    suite: Ciphersuite,
    be: GroupBackend,
    api_id: bytes | None = None,
) -> None:
    """§4.2.2 Verify over scalars: ``core.core_verify`` on the combined list, or VerificationError."""
    api_id = _api(suite, api_id)
    msgs, gens = prepare_parameters(messages, committed_scalars, secret_prover_blind, suite=suite, be=be, api_id=api_id)
    core.core_verify(pk, signature, header, msgs, suite=suite, be=be, api_id=api_id, generators=gens)


# Proofs -----------------------------------------------------------------------------------


def _check_indexes(indexes: Sequence[int], n: int, what: str) -> list[int]:
    idx = list(indexes)
    if any(not isinstance(i, int) or isinstance(i, bool) for i in idx):
        raise ParameterError(f"{what} must be integers")
    if idx != sorted(set(idx)) or (idx and (idx[0] < 0 or idx[-1] >= n)):
        raise ParameterError(f"{what} must be strictly increasing and in 0..{n - 1}")
    return idx


def _combined_indexes(L: int, M: int, disclosed: Sequence[int], disclosed_committed: Sequence[int]) -> list[int]:
    return [
        *_check_indexes(disclosed, L, "disclosed indexes"),
        *(committed_index(L, j) for j in _check_indexes(disclosed_committed, M, "disclosed committed indexes")),
    ]


def core_blind_proof_gen(
    pk: bytes,
    signature: core.Signature,
    header: bytes,
    ph: bytes,
    messages: Sequence[int],
    committed_scalars: Sequence[int],
    disclosed_indexes: Sequence[int],
    disclosed_commitment_indexes: Sequence[int],
    secret_prover_blind: int = 0,
    *,
    suite: Ciphersuite,
    be: GroupBackend,
    api_id: bytes | None = None,
    random_scalars: core.RandomScalars = core.calculate_random_scalars,
) -> core.Proof:
    """§4.2.3 BlindProofGen over scalars: ``core.core_proof_gen`` on the combined list.

    Indexes are 0-based within their own list (signer / committed); the blind is never disclosed.
    """
    api_id = _api(suite, api_id)
    L, M = len(messages), len(committed_scalars)
    indexes = _combined_indexes(L, M, disclosed_indexes, disclosed_commitment_indexes)
    msgs, gens = prepare_parameters(messages, committed_scalars, secret_prover_blind, suite=suite, be=be, api_id=api_id)
    return core.core_proof_gen(
        pk,
        signature,
        header,
        ph,
        msgs,
        indexes,
        suite=suite,
        be=be,
        api_id=api_id,
        random_scalars=random_scalars,
        generators=gens,
    )


def core_blind_proof_verify(
    pk: bytes,
    proof: core.Proof,
    header: bytes,
    ph: bytes,
    L: int,
    disclosed_messages: Sequence[int],
    disclosed_committed_messages: Sequence[int],
    disclosed_indexes: Sequence[int],
    disclosed_committed_indexes: Sequence[int],
    *,
    suite: Ciphersuite,
    be: GroupBackend,
    api_id: bytes | None = None,
) -> None:
    """§4.2.4 BlindProofVerify over scalars; raises VerificationError (or Encoding/ParameterError).

    ``L`` is the number of signer messages; M follows from the proof's length.
    """
    api_id = _api(suite, api_id)
    if len(disclosed_messages) != len(disclosed_indexes) or len(disclosed_committed_messages) != len(
        disclosed_committed_indexes
    ):
        raise ParameterError("one disclosed message per disclosed index")
    total = len(proof.m_hat) + len(disclosed_indexes) + len(disclosed_committed_indexes)
    M = total - L - 1  # the blind is one of the messages
    if L < 0 or M < 0:
        raise ParameterError("L does not fit the proof's message count")
    indexes = _combined_indexes(L, M, disclosed_indexes, disclosed_committed_indexes)
    gens = [*signer_generators(be, L, suite=suite, api_id=api_id), *blind_generators(be, M, suite=suite, api_id=api_id)]
    scalars = [*disclosed_messages, *disclosed_committed_messages]
    core.core_proof_verify(pk, proof, header, ph, scalars, indexes, suite=suite, be=be, api_id=api_id, generators=gens)


# The octet-string interface (messages are bytes, hashed with the blind api_id) --------------


def _be(backend: GroupBackend | str | None) -> GroupBackend:
    return backend if isinstance(backend, GroupBackend) else get_backend(backend)


def _scalars(messages: Sequence[bytes], suite: Ciphersuite) -> list[int]:
    return messages_to_scalars(messages, suite=suite, api_id=blind_api_id(suite))


def commit(
    committed_messages: Sequence[bytes] = (),
    *,
    suite: Ciphersuite,
    backend: GroupBackend | str | None = None,
    random_scalars: core.RandomScalars = core.calculate_random_scalars,
) -> tuple[bytes, int]:
    """§4.1.1 Commit: ``(commitment_with_proof, secret_prover_blind)``; keep the blind secret."""
    be = _be(backend)
    cwp, s = core_commit(_scalars(committed_messages, suite), suite=suite, be=be, random_scalars=random_scalars)
    return cwp.to_bytes(be), s


def blind_sign(
    sk: bytes,
    pk: bytes,
    commitment_with_proof: bytes = b"",
    header: bytes = b"",
    messages: Sequence[bytes] = (),
    *,
    suite: Ciphersuite,
    backend: GroupBackend | str | None = None,
) -> bytes:
    """§4.2.1 BlindSign: 80 bytes ``A || e``; raises on a bad or unproven commitment.

    M is read from the commitment's length, as the draft does; an issuer that knows how
    many messages it expects calls :func:`deserialize_and_validate_commit` with that many
    generators and :func:`core_blind_sign` instead.
    """
    be = _be(backend)
    M = committed_count(commitment_with_proof)
    C = deserialize_and_validate_commit(commitment_with_proof, blind_generators(be, M, suite=suite), suite=suite, be=be)
    sk_scalar = core.scalar_from_bytes(sk, nonzero=True)
    sig = core_blind_sign(sk_scalar, pk, C, M, header, _scalars(messages, suite), suite=suite, be=be)
    return sig.to_bytes(be)


def verify_blind_sign(
    pk: bytes,
    signature: bytes,
    header: bytes = b"",
    messages: Sequence[bytes] = (),
    committed_messages: Sequence[bytes] = (),
    secret_prover_blind: int = 0,
    *,
    suite: Ciphersuite,
    backend: GroupBackend | str | None = None,
) -> bool:
    """§4.2.2 Verify (named ``verify_blind_sign`` here): signer messages, committed messages, the blind."""
    be = _be(backend)
    try:
        sig = core.Signature.from_bytes(be, signature)
        core_verify_blind_sign(
            pk,
            sig,
            header,
            _scalars(messages, suite),
            _scalars(committed_messages, suite),
            secret_prover_blind,
            suite=suite,
            be=be,
        )
    except ZkCredError:
        return False
    return True


def blind_proof_gen(
    pk: bytes,
    signature: bytes,
    header: bytes,
    ph: bytes,
    messages: Sequence[bytes],
    committed_messages: Sequence[bytes],
    disclosed_indexes: Sequence[int],
    disclosed_commitment_indexes: Sequence[int],
    secret_prover_blind: int = 0,
    *,
    suite: Ciphersuite,
    backend: GroupBackend | str | None = None,
    random_scalars: core.RandomScalars = core.calculate_random_scalars,
) -> bytes:
    """§4.2.3 BlindProofGen: an ordinary BBS proof over the combined list."""
    be = _be(backend)
    sig = core.Signature.from_bytes(be, signature)
    proof = core_blind_proof_gen(
        pk,
        sig,
        header,
        ph,
        _scalars(messages, suite),
        _scalars(committed_messages, suite),
        disclosed_indexes,
        disclosed_commitment_indexes,
        secret_prover_blind,
        suite=suite,
        be=be,
        random_scalars=random_scalars,
    )
    return proof.to_bytes(be)


def blind_proof_verify(
    pk: bytes,
    proof: bytes,
    header: bytes,
    ph: bytes,
    L: int,
    disclosed_messages: Sequence[bytes],
    disclosed_committed_messages: Sequence[bytes],
    disclosed_indexes: Sequence[int],
    disclosed_committed_indexes: Sequence[int],
    *,
    suite: Ciphersuite,
    backend: GroupBackend | str | None = None,
) -> bool:
    """§4.2.4 BlindProofVerify; ``L`` is the number of signer messages."""
    be = _be(backend)
    try:
        parsed = core.Proof.from_bytes(be, proof)
        core_blind_proof_verify(
            pk,
            parsed,
            header,
            ph,
            L,
            _scalars(disclosed_messages, suite),
            _scalars(disclosed_committed_messages, suite),
            disclosed_indexes,
            disclosed_committed_indexes,
            suite=suite,
            be=be,
        )
    except ZkCredError:
        return False
    return True
