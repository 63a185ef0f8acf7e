r"""BBS per-verifier linkability: pseudonyms (draft-irtf-cfrg-bbs-per-verifier-linkability,
editor's copy -03, fixtures of 2025-07-03), and zkcred's pseudonym statement.

A *pseudonym* is a G1 point that one holder presents, constant for one context (a
verifier, a lender, a campaign) and unlinkable across contexts::

    OP = hash_to_curve_g1(context_id)              z = H2S(context_id)  (n-use only)
    pseudonym = OP · (nym_1 + nym_2·z + … + nym_N·z^{N−1})        (N = 1: OP · nym_secret)

Two pseudonyms of one secret for two contexts are ``s·OP_A`` and ``s·OP_B`` with OP_A,
OP_B independent random-oracle points: telling them apart from two holders' is DDH in
G1. The n-use variant (N secrets, a polynomial evaluated at a context-dependent z)
bounds what a verifier learns even if the holder presents for very many contexts.

Part 1 — the draft, bit-exact with its fixtures (``../shared/vectors/bbs-pseudonyms``)
=====================================================================================

Notation (the draft's): ``api_id = ciphersuite_id || "H2G_HM2S_PSEUDONYM_"``; signer
messages ``msg_1..msg_L``; committed messages ``cm_1..cm_M``; prover nyms
``pn_1..pn_N``; the prover blind ``s``; the signer's ``signer_nym_entropy`` ``η``;
``nym_secrets = (pn_1, …, pn_{N−1}, pn_N + η)``.

It is blind BBS (:mod:`circuits.bbs.blind`) with the nyms as the *last N committed
messages*, so the combined message list is::

    index   0 … L-1        L     L+1 … L+M     L+M+1 … L+M+N
    scalar  msg_1..msg_L   s     cm_1..cm_M    nym_secret_1..nym_secret_N
    gen.    H_1..H_L       Q_2   J_1..J_M      J_{M+1}..J_{M+N}

and the header every BBS operation sees is ``header || I2OSP(N, 8)`` (binding N, the
draft's Sybil defence: a holder cannot later prove with fewer secrets).

Relation of a proof (Camenisch–Stadler), on top of the BBS ProofGen relation::

    PK{ (…, (nym_i)_{i≤N}) :  BBS-Sig(header || N; …, nym_1..nym_N)
                               ∧ pseudonym = OP · Σ_i nym_i·z^{i−1} }

Steps:

1. Holder, :func:`core_commit_with_nym` (CommitWithNym): blind ``CoreCommit`` over
   ``cm_1..cm_M, pn_1..pn_N`` (M + N + 2 random scalars: s, s̃, m̃…).
2. Issuer, :func:`core_blind_sign_with_nym` (BlindSignWithNym, B_calculate_with_nym):
   validate the commitment, then ``B = P1 + Q_1·domain + Σ H_i·msg_i + C + J_{M+N}·η``
   (η blindly added to the last nym), sign with header ``header || I2OSP(N, 8)``; send
   the signature and η.
3. Holder, :func:`core_verify_finalize_with_nym` (VerifyFinalizeWithNym):
   ``nym_secrets = (pn_1..pn_{N−1}, pn_N + η)``, CoreVerify over the combined list.
4. Holder, :func:`core_proof_gen_with_nym` (ProofGenWithNym / CoreProofGenWithNym):
   ``BBS.ProofInit`` with ``5 + U`` random scalars (the nyms are the last U entries'
   owners, never disclosed); :func:`nym_proof_init` with the *same* m̃ of the nym
   secrets: ``Ut = OP · Σ m̃_i·z^{i−1}``; the challenge of :func:`nym_challenge_calculate`;
   ``BBS.ProofFinalize``. Output ``(proof, pseudonym)`` — the proof is an ordinary BBS
   proof's bytes.
5. Verifier, :func:`core_proof_verify_with_nym`: ``BBS.ProofVerifyInit``;
   ``Uv = OP · Σ m̂_i·z^{i−1} − pseudonym · c`` from the proof's last N responses;
   challenge; pairing check.

Challenge (the fixtures' order)::

    c = H2S( I2OSP(R, 8) || (I2OSP(i, 8) || msg_i)_{i∈R} || Ā || B̄ || D || T1 || T2
             || pseudonym || Ut || domain || I2OSP(len(ph), 8) || ph
             || I2OSP(len(context_id), 8) || context_id ,   api_id || "H2S_")

Departures from the -03 *text*, all forced by the fixtures (checked on all 42 files):

* The text's challenge hashes ``OP`` between pseudonym and Ut and ends with ``ph``; the
  fixtures omit OP (the verifier derives it from context_id anyway) and append the
  length-prefixed context_id after ph.
* ``OP = hash_to_curve_g1(context_id, api_id)`` — the DST is the api_id itself — and
  ``z = hash_to_scalar(context_id, api_id || "VECT_NYM_SECRETS")``; the text leaves both
  DSTs open.
* ProofGenWithNym's text still takes one ``nym_secret`` and ``M + 2`` blind generators;
  the fixtures take the vector (``M + N + 1`` blind generators) and pass the
  ``header || I2OSP(N, 8)`` of the signature to ProofInit, as VerifyFinalizeWithNym does.
* Mocked randomness: the fixtures give no ``count``. The commitment draws
  ``seeded_random_scalars(SEED, commit.DST, M + N + 2)`` in blind CoreCommit's order
  (``s, s̃, m̃_1..m̃_{M+N}``) — the README's "simple blind-style check" missed the N
  nyms in the count; the proof draws ``seeded_random_scalars(SEED, proof.DST, 5 + U)``
  with U counting the blind and the N nym secrets. Both DSTs use the *core* api_id
  (``…_H2G_HM2S_COMMIT_MOCK_…``), not the pseudonym one.
* As everywhere in :mod:`circuits.bbs`, failures raise typed errors instead of
  returning INVALID; the octet interface's verifiers return ``bool``.

Implemented: CommitWithNym, BlindSignWithNym, VerifyFinalizeWithNym, ProofGenWithNym,
ProofVerifyWithNym, for any N ≥ 1 (N = 1 is the single-secret draft, N > 1 the n-use
polynomial variant), at the scalar level and the octet level.

Part 2 — zkcred's pseudonym statement (one transcript with everything else)
===========================================================================

:class:`PseudonymProver` / :func:`pseudonym_commitment` follow the statements' conventions
(:mod:`circuits.statements`; in a presentation, :mod:`circuits.statements.pseudonym`):
the prover is given the secret ``s`` and the blinding ``s̃`` the BBS proof uses for the
message that holds it, and commits ``T = s̃·OP``; the verifier recomputes
``T = ŝ·OP − c·P`` with ``ŝ`` the BBS proof's shared response, so the pseudonym is
proven to be made from the *signed* secret without a response of its own::

    PK{ (s, …) : BBS-Sig(…; …, s) ∧ P = s·OP }      OP = hash_to_curve_g1(ctx, PSEUDONYM_CONTEXT_DST)

Transcript contribution (after every other statement, before the challenge):
``dom-sep "zkcred/pseudonym/v1"``, ``pseudonym-context = ctx``, ``pseudonym = P``,
``pseudonym-T = T`` — one per credential that is asked for a pseudonym.

**Which secret.** zkcred uses the credential's **link secret** as the nym secret, with
OP hashed under one zkcred DST for every ciphersuite, instead of a separate nym secret
signed blindly with the signer's entropy as the draft does. Why:

* *Re-issue keeps the pseudonym.* A credential re-issued (new values, new expiry, another
  issuer) carries the same link secret, so it gives the same pseudonym for a context —
  with no state at the issuer. The draft gets this only if the issuer stores and reuses
  the holder's ``signer_nym_entropy``, which links issuances of one holder at the issuer.
* *One holder, one pseudonym per lender.* Loan stacking is one person appearing as
  several; a pseudonym per credential would let a holder with two credentials present
  two pseudonyms to one lender. The link secret is already proven equal across all
  credentials of a presentation, so it is the holder's identity key by construction.
* *Different contexts share nothing*: ``s·OP_A`` and ``s·OP_B`` are DDH-unlinkable, and
  the context point is a random-oracle output of the context string alone.
* *A pseudonym for context A presented for context B is rejected*: the verifier derives
  OP from the context in *its* request (bound into the request digest), and
  ``ŝ·OP_B − c·P_A`` only matches the prover's T if ``P_A = s·OP_B``.
* *What the draft's entropy buys, and why we can forgo it*: it stops a holder from
  choosing a nym secret equal to someone else's. Doing that with a link secret needs the
  victim's secret (discrete log of their pseudonym); two holders who *share* a link
  secret only merge into one applicant, which hurts them, not the lender. Neither
  design stops a person from enrolling twice with two secrets — that is the issuer's
  identity proofing, outside the cryptography.
* *Cost*: no change to the credential layout, issuance or wallet storage; the statement
  adds one G1 point and no scalar to a presentation.
* *Trade-off*: revealing the nym secret to a monitor (the draft's "scope exclusive with
  monitoring" use) would reveal the link secret, i.e. every credential of the holder; a
  deployment that needs that should use the draft's separate nym secret (Part 1 here).

Round trip on the draft's octet interface (N = 1):

>>> from circuits.bbs import SHA256, keygen, sk_to_pk
>>> sk = keygen(b"k" * 32, suite=SHA256); pk = sk_to_pk(sk, suite=SHA256)
>>> cwp, s = commit_with_nym([b"committed"], [42], suite=SHA256)
>>> sig = blind_sign_with_nym(sk, pk, cwp, 1, 7, b"hdr", [b"income"], suite=SHA256)
>>> nyms = verify_finalize_with_nym(pk, sig, b"hdr", [b"income"], [b"committed"], [42], 7, s, suite=SHA256)
>>> nyms == [49]
True
>>> proof, nym = proof_gen_with_nym(pk, sig, b"hdr", b"ph", b"lender-a", [b"income"], [b"committed"], nyms,
...                                 [0], [], s, suite=SHA256)
>>> proof_verify_with_nym(pk, proof, b"hdr", b"ph", nym, b"lender-a", 1, 1, [b"income"], [], [0], [],
...                       suite=SHA256)
True
>>> proof_verify_with_nym(pk, proof, b"hdr", b"ph", nym, b"lender-b", 1, 1, [b"income"], [], [0], [],
...                       suite=SHA256)
False

See circuits/notes/bbs.md for the BBS background.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from circuits import constants as k
from circuits.backend import GroupBackend, get_backend
from circuits.backend.interface import G1
from circuits.bbs import blind, core
from circuits.bbs.api import messages_to_scalars
from circuits.bbs.suite import Ciphersuite
from circuits.constants import R
from circuits.errors import IdentityPointError, ParameterError, VerificationError, ZkCredError
from circuits.hashing import XMD_SHA256, i2osp
from circuits.transcript import Transcript

__all__ = [
    "NymInitResult",
    "append_pseudonym",
    "PseudonymProof",
    "PseudonymProver",
    "blind_sign_with_nym",
    "calculate_pseudonym",
    "commit_with_nym",
    "context_point",
    "core_blind_sign_with_nym",
    "core_commit_with_nym",
    "core_proof_gen_with_nym",
    "core_proof_verify_with_nym",
    "core_verify_finalize_with_nym",
    "finalize_nym_secrets",
    "nym_challenge_calculate",
    "nym_header",
    "nym_proof_init",
    "nym_proof_verify_init",
    "proof_gen_with_nym",
    "proof_verify_with_nym",
    "pseudonym_api_id",
    "pseudonym_commitment",
    "zkcred_context_point",
]


# Identifiers -------------------------------------------------------------------------------


def pseudonym_api_id(suite: Ciphersuite) -> bytes:
    """The pseudonym interface's api_id: ``ciphersuite_id || "H2G_HM2S_PSEUDONYM_"``."""
    return suite.ciphersuite_id + k.BBS_PSEUDONYM_H2G_HM2S


def _api(suite: Ciphersuite, api_id: bytes | None) -> bytes:
    return pseudonym_api_id(suite) if api_id is None else api_id


def nym_header(header: bytes, N: int) -> bytes:
    """``header || I2OSP(N, 8)``: the header every BBS operation of the interface sees (binds N)."""
    if N < 1:
        raise ParameterError("at least one nym secret")
    return bytes(header) + i2osp(N, 8)


def _poly(values: Sequence[int], z: int) -> int:
    """``Σ values[i]·z^i`` (Horner)."""
    acc = 0
    for v in reversed(values):
        acc = (acc * z + v) % R
    return acc


# Pseudonym calculation -----------------------------------------------------------------------


def context_point(context_id: bytes, *, suite: Ciphersuite, be: GroupBackend, api_id: bytes | None = None) -> G1:
    """``OP = hash_to_curve_g1(context_id, api_id)`` with the suite's expander."""
    return suite.expander.hash_to_g1(be, bytes(context_id), _api(suite, api_id))


def _z(context_id: bytes, suite: Ciphersuite, api_id: bytes) -> int:
    return suite.hash_to_scalar(bytes(context_id), api_id + k.BBS_NYM_POLY_DST)


def calculate_pseudonym(
    context_id: bytes,
    nym_secrets: Sequence[int],
    *,
    suite: Ciphersuite,
    be: GroupBackend,
    api_id: bytes | None = None,
) -> G1:
    """``OP · Σ nym_secrets[i]·z^i`` (§ Pseudonym Calculation Procedure); N = 1 gives ``OP·nym_secret``."""
    api_id = _api(suite, api_id)
    if len(nym_secrets) < 1:
        raise ParameterError("at least one nym secret")
    z = _z(context_id, suite, api_id) if len(nym_secrets) > 1 else 0
    return be.g1_mul(context_point(context_id, suite=suite, be=be, api_id=api_id), _poly(nym_secrets, z))


@dataclass(frozen=True)
class NymInitResult:
    """``(pseudonym, OP, Ut)``: what the pseudonym part of the challenge hashes."""

    pseudonym: object
    OP: object
    Ut: object


def nym_proof_init(
    context_id: bytes,
    nym_secrets: Sequence[int],
    nym_tildes: Sequence[int],
    *,
    suite: Ciphersuite,
    be: GroupBackend,
    api_id: bytes | None = None,
) -> NymInitResult:
    """NymProofInit: ``pseudonym = OP·poly(nym_secrets)``, ``Ut = OP·poly(m̃)`` at ``z``.

    ``nym_tildes`` are the BBS proof's m̃ for the nym secrets (shared blindings).
    """
    api_id = _api(suite, api_id)
    N = len(nym_secrets)
    if N < 1 or len(nym_tildes) != N:
        raise ParameterError("one blinding per nym secret, at least one secret")
    OP = context_point(context_id, suite=suite, be=be, api_id=api_id)
    z = _z(context_id, suite, api_id) if N > 1 else 0
    pseudonym = be.g1_mul(OP, _poly(nym_secrets, z))
    Ut = be.g1_mul(OP, _poly(nym_tildes, z))
    if be.g1_is_identity(pseudonym) or be.g1_is_identity(Ut):
        raise ParameterError("pseudonym or Ut is the identity")
    return NymInitResult(pseudonym, OP, Ut)


def nym_proof_verify_init(
    pseudonym: G1,
    context_id: bytes,
    nym_hats: Sequence[int],
    challenge: int,
    *,
    suite: Ciphersuite,
    be: GroupBackend,
    api_id: bytes | None = None,
) -> NymInitResult:
    """NymProofVerifyInit: ``Uv = OP·poly(m̂) − pseudonym·c``; the identity is INVALID."""
    api_id = _api(suite, api_id)
    N = len(nym_hats)
    if N < 1:
        raise ParameterError("at least one nym secret")
    if be.g1_is_identity(pseudonym):
        raise IdentityPointError("the pseudonym is the identity")
    OP = context_point(context_id, suite=suite, be=be, api_id=api_id)
    z = _z(context_id, suite, api_id) if N > 1 else 0
    Uv = be.g1_msm([OP, pseudonym], [_poly(nym_hats, z), (-challenge) % R])
    if be.g1_is_identity(Uv):
        raise VerificationError("Uv is the identity")
    return NymInitResult(pseudonym, OP, Uv)


def nym_challenge_calculate(
    init_res: core.ProofInitResult,
    nym_res: NymInitResult,
    disclosed_indexes: Sequence[int],
    disclosed_messages: Sequence[int],
    ph: bytes,
    context_id: bytes,
    *,
    suite: Ciphersuite,
    be: GroupBackend,
    api_id: bytes | None = None,
) -> int:
    """ProofWithNymChallengeCalculate, in the fixtures' order (see the module docstring)."""
    parts = [i2osp(len(disclosed_indexes), 8)]
    for i, m in zip(disclosed_indexes, disclosed_messages, strict=True):
        parts += [i2osp(i, 8), core.scalar_to_bytes(m)]
    points = (init_res.A_bar, init_res.B_bar, init_res.D, init_res.T1, init_res.T2, nym_res.pseudonym, nym_res.Ut)
    parts += [be.g1_to_bytes(p) for p in points]
    parts += [
        core.scalar_to_bytes(init_res.domain),
        i2osp(len(ph), 8),
        bytes(ph),
        i2osp(len(context_id), 8),
        bytes(context_id),
    ]
    return suite.hash_to_scalar(b"".join(parts), _api(suite, api_id) + k.BBS_H2S)


# Issuance ------------------------------------------------------------------------------------


def core_commit_with_nym(
    committed_scalars: Sequence[int],
    prover_nyms: Sequence[int],
    *,
    suite: Ciphersuite,
    be: GroupBackend,
    api_id: bytes | None = None,
    random_scalars: core.RandomScalars = core.calculate_random_scalars,
) -> tuple[blind.CommitmentWithProof, int]:
    """CommitWithNym over scalars: blind CoreCommit of ``cm_1..cm_M, pn_1..pn_N``."""
    if len(prover_nyms) < 1:
        raise ParameterError("at least one prover nym")
    return blind.core_commit(
        [*committed_scalars, *prover_nyms],
        suite=suite,
        be=be,
        api_id=_api(suite, api_id),
        random_scalars=random_scalars,
    )


def core_blind_sign_with_nym(
    sk: int,
    pk: bytes,
    commitment: G1,
    M: int,
    N: int,
    signer_nym_entropy: int,
    header: bytes,
    messages: Sequence[int],
    *,
    suite: Ciphersuite,
    be: GroupBackend,
    api_id: bytes | None = None,
) -> core.Signature:
    """BlindSignWithNym over scalars and a *validated* commitment point.

    ``M`` counts every committed message including the ``N`` nyms (the commitment's size);
    ``η = signer_nym_entropy`` is added on the last blind generator:
    ``B = P1 + Q_1·domain + Σ H_i·msg_i + C + J_M·η`` (B_calculate_with_nym).
    """
    api_id = _api(suite, api_id)
    if not 1 <= N <= M:
        raise ParameterError(f"the commitment covers {M} messages, fewer than {N} nyms")
    nym_generator = blind.blind_generators(be, M, suite=suite, api_id=api_id)[-1]
    C = be.g1_add(commitment, be.g1_mul(nym_generator, signer_nym_entropy % R))
    return blind.core_blind_sign(sk, pk, C, M, nym_header(header, N), messages, suite=suite, be=be, api_id=api_id)


def finalize_nym_secrets(prover_nyms: Sequence[int], signer_nym_entropy: int) -> list[int]:
    """``(pn_1, …, pn_{N−1}, pn_N + η)``."""
    if len(prover_nyms) < 1:
        raise ParameterError("at least one prover nym")
    out = [p % R for p in prover_nyms]
    out[-1] = (out[-1] + signer_nym_entropy) % R
    return out


def core_verify_finalize_with_nym(
    pk: bytes,
    signature: core.Signature,
    header: bytes,
    messages: Sequence[int],
    committed_scalars: Sequence[int],
    prover_nyms: Sequence[int],
    signer_nym_entropy: int,
    secret_prover_blind: int = 0,
    *,
    suite: Ciphersuite,
    be: GroupBackend,
    api_id: bytes | None = None,
) -> list[int]:
    """VerifyFinalizeWithNym over scalars: the nym secrets, or VerificationError."""
    api_id = _api(suite, api_id)
    nyms = finalize_nym_secrets(prover_nyms, signer_nym_entropy)
    blind.core_verify_blind_sign(
        pk,
        signature,
        nym_header(header, len(nyms)),
        messages,
        [*committed_scalars, *nyms],
        secret_prover_blind,
        suite=suite,
        be=be,
        api_id=api_id,
    )
    return nyms


# Proofs --------------------------------------------------------------------------------------


def core_proof_gen_with_nym(
    pk: bytes,
    signature: core.Signature,
    header: bytes,
    ph: bytes,
    context_id: bytes,
    messages: Sequence[int],
    committed_scalars: Sequence[int],
    nym_secrets: Sequence[int],
    disclosed_indexes: Sequence[int],
    disclosed_commitment_indexes: Sequence[int],
    secret_prover_blind: int = 0,
    *,
    suite: Ciphersuite,
    be: GroupBackend,
    api_id: bytes | None = None,
    random_scalars: core.RandomScalars = core.calculate_random_scalars,
) -> tuple[core.Proof, object]:
    """ProofGenWithNym over scalars: ``(proof, pseudonym)``; the nym secrets are never disclosed.

    Indexes are 0-based within their own list; committed indexes refer to ``cm_1..cm_M`` only.
    """
    api_id = _api(suite, api_id)
    L, M, N = len(messages), len(committed_scalars), len(nym_secrets)
    hdr = nym_header(header, N)
    msgs, gens = blind.prepare_parameters(
        messages, [*committed_scalars, *nym_secrets], secret_prover_blind, suite=suite, be=be, api_id=api_id
    )
    disclosed = blind._combined_indexes(L, M, disclosed_indexes, disclosed_commitment_indexes)
    undisclosed = [i for i in range(len(msgs)) if i not in set(disclosed)]
    scalars = list(random_scalars(5 + len(undisclosed)))
    if len(scalars) != 5 + len(undisclosed):
        raise ParameterError("wrong number of random scalars")
    init_res = core.proof_init(pk, signature, gens, scalars, hdr, msgs, undisclosed, suite=suite, be=be, api_id=api_id)
    nym_res = nym_proof_init(context_id, msgs[-N:], scalars[-N:], suite=suite, be=be, api_id=api_id)
    c = nym_challenge_calculate(
        init_res, nym_res, disclosed, [msgs[i] for i in disclosed], ph, context_id, suite=suite, be=be, api_id=api_id
    )
    proof = core.proof_finalize(init_res, c, signature.e, scalars, [msgs[j] for j in undisclosed])
    return proof, nym_res.pseudonym


def core_proof_verify_with_nym(
    pk: bytes,
    proof: core.Proof,
    header: bytes,
    ph: bytes,
    pseudonym: G1,
    context_id: bytes,
    N: int,
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
    """ProofVerifyWithNym over scalars; raises VerificationError (or Encoding/ParameterError).

    ``N`` (the number of nym secrets) and ``L`` (signer messages) are the verifier's
    knowledge; M follows from the proof's length.
    """
    api_id = _api(suite, api_id)
    if len(disclosed_messages) != len(disclosed_indexes) or len(disclosed_committed_messages) != len(
        disclosed_committed_indexes
    ):
        raise ParameterError("one disclosed message per disclosed index")
    total = len(proof.m_hat) + len(disclosed_indexes) + len(disclosed_committed_indexes)
    M = total - L - 1 - N
    if L < 0 or N < 1 or M < 0 or len(proof.m_hat) < N + 1:
        raise ParameterError("L and N do not fit the proof's message count")
    disclosed = blind._combined_indexes(L, M, disclosed_indexes, disclosed_committed_indexes)
    gens = [
        *blind.signer_generators(be, L, suite=suite, api_id=api_id),
        *blind.blind_generators(be, M + N, suite=suite, api_id=api_id),
    ]
    scalars = [*disclosed_messages, *disclosed_committed_messages]
    init_res = core.proof_verify_init(
        pk, proof, gens, nym_header(header, N), scalars, disclosed, suite=suite, be=be, api_id=api_id
    )
    nym_res = nym_proof_verify_init(
        pseudonym, context_id, proof.m_hat[-N:], proof.challenge, suite=suite, be=be, api_id=api_id
    )
    c = nym_challenge_calculate(
        init_res, nym_res, disclosed, scalars, ph, context_id, suite=suite, be=be, api_id=api_id
    )
    if c != proof.challenge:
        raise VerificationError("proof challenge does not match")
    core.proof_pairing_check(pk, proof, be=be)


# The octet-string interface (messages are bytes, hashed with the pseudonym api_id) -------------


def _be(backend: GroupBackend | str | None) -> GroupBackend:
    return backend if isinstance(backend, GroupBackend) else get_backend(backend)


def _scalars(messages: Sequence[bytes], suite: Ciphersuite) -> list[int]:
    return messages_to_scalars(messages, suite=suite, api_id=pseudonym_api_id(suite))


def commit_with_nym(
    committed_messages: Sequence[bytes],
    prover_nyms: Sequence[int],
    *,
    suite: Ciphersuite,
    backend: GroupBackend | str | None = None,
    random_scalars: core.RandomScalars = core.calculate_random_scalars,
) -> tuple[bytes, int]:
    """CommitWithNym: ``(commitment_with_proof, secret_prover_blind)``; send N with the commitment."""
    be = _be(backend)
    cwp, s = core_commit_with_nym(
        _scalars(committed_messages, suite), prover_nyms, suite=suite, be=be, random_scalars=random_scalars
    )
    return cwp.to_bytes(be), s


def blind_sign_with_nym(
    sk: bytes,
    pk: bytes,
    commitment_with_proof: bytes,
    N: int,
    signer_nym_entropy: int | None = None,
    header: bytes = b"",
    messages: Sequence[bytes] = (),
    *,
    suite: Ciphersuite,
    backend: GroupBackend | str | None = None,
) -> bytes:
    """BlindSignWithNym: 80 bytes ``A || e``. ``signer_nym_entropy=None`` draws a fresh one.

    Return η to the holder with the signature; reuse a holder's η only to re-issue.
    """
    be = _be(backend)
    api_id = pseudonym_api_id(suite)
    M = blind.committed_count(commitment_with_proof)
    C = blind.deserialize_and_validate_commit(
        commitment_with_proof,
        blind.blind_generators(be, M, suite=suite, api_id=api_id),
        suite=suite,
        be=be,
        api_id=api_id,
    )
    eta = core.calculate_random_scalars(1)[0] if signer_nym_entropy is None else signer_nym_entropy
    sig = core_blind_sign_with_nym(
        core.scalar_from_bytes(sk, nonzero=True),
        pk,
        C,
        M,
        N,
        eta,
        header,
        _scalars(messages, suite),
        suite=suite,
        be=be,
    )
    return sig.to_bytes(be)


def verify_finalize_with_nym(
    pk: bytes,
    signature: bytes,
    header: bytes,
    messages: Sequence[bytes],
    committed_messages: Sequence[bytes],
    prover_nyms: Sequence[int],
    signer_nym_entropy: int,
    secret_prover_blind: int = 0,
    *,
    suite: Ciphersuite,
    backend: GroupBackend | str | None = None,
) -> list[int] | None:
    """VerifyFinalizeWithNym: the nym secrets, or ``None`` if the signature does not verify."""
    be = _be(backend)
    try:
        sig = core.Signature.from_bytes(be, signature)
        return core_verify_finalize_with_nym(
            pk,
            sig,
            header,
            _scalars(messages, suite),
            _scalars(committed_messages, suite),
            prover_nyms,
            signer_nym_entropy,
            secret_prover_blind,
            suite=suite,
            be=be,
        )
    except ZkCredError:
        return None


def proof_gen_with_nym(
    pk: bytes,
    signature: bytes,
    header: bytes,
    ph: bytes,
    context_id: bytes,
    messages: Sequence[bytes],
    committed_messages: Sequence[bytes],
    nym_secrets: Sequence[int],
    disclosed_indexes: Sequence[int],
    disclosed_commitment_indexes: Sequence[int],
    secret_prover_blind: int = 0,
    *,
    suite: Ciphersuite,
    backend: GroupBackend | str | None = None,
    random_scalars: core.RandomScalars = core.calculate_random_scalars,
) -> tuple[bytes, bytes]:
    """ProofGenWithNym: ``(proof, pseudonym)`` as octets."""
    be = _be(backend)
    sig = core.Signature.from_bytes(be, signature)
    proof, pseudonym = core_proof_gen_with_nym(
        pk,
        sig,
        header,
        ph,
        context_id,
        _scalars(messages, suite),
        _scalars(committed_messages, suite),
        nym_secrets,
        disclosed_indexes,
        disclosed_commitment_indexes,
        secret_prover_blind,
        suite=suite,
        be=be,
        random_scalars=random_scalars,
    )
    return proof.to_bytes(be), be.g1_to_bytes(pseudonym)


def proof_verify_with_nym(
    pk: bytes,
    proof: bytes,
    header: bytes,
    ph: bytes,
    pseudonym: bytes,
    context_id: bytes,
    N: int,
    L: int,
    disclosed_messages: Sequence[bytes],
    disclosed_committed_messages: Sequence[bytes],
    disclosed_indexes: Sequence[int],
    disclosed_committed_indexes: Sequence[int],
    *,
    suite: Ciphersuite,
    backend: GroupBackend | str | None = None,
) -> bool:
    """ProofVerifyWithNym; ``N`` nym secrets, ``L`` signer messages."""
    be = _be(backend)
    try:
        parsed = core.Proof.from_bytes(be, proof)
        point = core.g1_from_bytes_nonidentity(be, pseudonym)
        core_proof_verify_with_nym(
            pk,
            parsed,
            header,
            ph,
            point,
            context_id,
            N,
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


# zkcred's pseudonym statement (composes with a presentation's one challenge) ------------------


@functools.lru_cache(maxsize=256)
def _zkcred_op(backend_name: str, context_id: bytes) -> G1:
    return XMD_SHA256.hash_to_g1(get_backend(backend_name), context_id, k.PSEUDONYM_CONTEXT_DST)


def zkcred_context_point(be: GroupBackend, context_id: bytes) -> G1:
    """``OP = hash_to_curve_g1(context_id, PSEUDONYM_CONTEXT_DST)`` (XMD:SHA-256 for every suite), cached."""
    if not isinstance(context_id, (bytes, bytearray)):
        raise TypeError("context_id must be bytes")
    return _zkcred_op(be.name, bytes(context_id))


@dataclass(frozen=True)
class PseudonymProof:
    """The pseudonym ``P``; and ``s_hat`` for standalone use (a presentation sends only ``P``:
    its verifier substitutes the BBS proof's response for the secret)."""

    pseudonym: G1
    s_hat: int


class PseudonymProver:
    """``P = s·OP`` with ``s̃`` supplied by the caller (the BBS proof's m̃ of the secret's message)."""

    __slots__ = ("_s", "_s_tilde", "_P", "_T", "context_id")

    def __init__(self, be: GroupBackend, context_id: bytes, s: int, s_tilde: int) -> None:
        if s % R == 0 or s_tilde % R == 0:
            raise ParameterError("the nym secret and its blinding must be non-zero")
        OP = zkcred_context_point(be, context_id)
        self.context_id = bytes(context_id)
        self._s, self._s_tilde = s % R, s_tilde % R
        self._P, self._T = be.g1_mul(OP, self._s), be.g1_mul(OP, self._s_tilde)

    @property
    def pseudonym(self) -> G1:
        return self._P

    def commitments(self) -> list[G1]:
        return [self._T]

    def append_to(self, t: Transcript, be: GroupBackend) -> None:
        """The statement's transcript contribution: context, pseudonym, T."""
        _append(t, be, self.context_id, self._P, self._T)

    def respond(self, c: int) -> PseudonymProof:
        return PseudonymProof(self._P, (self._s_tilde + c * self._s) % R)

    def __repr__(self) -> str:
        return "PseudonymProver(<secret>)"


def pseudonym_commitment(be: GroupBackend, context_id: bytes, pseudonym: G1, s_hat: int, c: int) -> G1:
    """Recompute ``T = ŝ·OP − c·P``; OP comes from the *verifier's* context id."""
    if be.g1_is_identity(pseudonym):
        raise IdentityPointError("the pseudonym is the identity")
    return be.g1_msm([zkcred_context_point(be, context_id), pseudonym], [s_hat % R, (-c) % R])


def append_pseudonym(t: Transcript, be: GroupBackend, context_id: bytes, pseudonym: G1, T: G1) -> None:
    """The verifier's side of :meth:`PseudonymProver.append_to` (same order, same labels)."""
    _append(t, be, bytes(context_id), pseudonym, T)


def _append(t: Transcript, be: GroupBackend, context_id: bytes, P: G1, T: G1) -> None:
    t.domain_sep(k.DOMSEP_PSEUDONYM)
    t.append(k.NYM_LABEL_CONTEXT, context_id)
    t.append_point(k.NYM_LABEL_PSEUDONYM, P, be)
    t.append_point(k.NYM_LABEL_T, T, be)
