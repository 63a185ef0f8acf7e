r"""Aggregated Bulletproofs+ range proofs over G1 (Chung, Han, Ju, Kim, Seo, ePrint 2020/735, §4).

Relation, for ``m`` Pedersen commitments ``V_j = v_j·G + γ_j·H`` and a bit size
``n ∈ {8, 16, 32, 64}`` (Camenisch–Stadler; additive notation):

.. math:: PK\{(v_0, γ_0, …, v_{m-1}, γ_{m-1}): \bigwedge_j V_j = v_j·G + γ_j·H \land 0 ≤ v_j < 2^n\}

A predicate "a ≥ t" on ``C = a·G + s·H`` is this relation for ``C − t·G`` (same ``s``).
Why each step works, with the algebra: circuits/notes/range-proof.md.

Bulletproofs+ rather than the original Bulletproofs (Bünz et al. 2018): the same
relation, the same assumptions (discrete log, random oracle), but the range statement is
reduced to one *weighted* inner-product argument (:mod:`circuits.bulletproofs.inner_product`)
instead of the polynomial commitments ``S``, ``T_1``, ``T_2`` plus an inner-product
argument — three points and two scalars fewer (96 + 64 bytes per proof), and no
``2N``-term MSM for ``S`` in the prover.

Symbols: ``N = n·m``; ``G_vec``, ``H_vec`` are ``N`` generators each
(:mod:`circuits.bulletproofs.generators`), ``G``, ``H`` the Pedersen pair (the argument's
``g``, ``h``); vectors 0-indexed; ``d_{jn+i} = z^{2(j+1)}·2^i``; ``y⃖_i = y^{N−i}`` (the
reversed powers); ``a ⊙_y b = Σ_i y^{i+1}·a_i·b_i``.

Padding: ``m`` is rounded up to a power of two with ``v = 0, γ = 0``, i.e. the identity
commitment, which the verifier adds itself (nothing is sent for it).

Prover:

1. ``a_L`` = the bits of all ``v_j`` (``a_L[j·n + i]`` = bit ``i`` of ``v_j``); ``a_R = a_L − 1``.
2. ``A = <a_L, G_vec> + <a_R, H_vec> + α·H`` (additions only: every coefficient is 0, ±1).
3. ``y, z`` from the transcript.
4. Run the weighted inner-product argument for
   ``â = a_L − z·1``, ``b̂ = a_R + d ∘ y⃖ + z·1``, ``α̂ = α + y^{N+1}·Σ_j z^{2(j+1)}·γ_j`` on
   ``Â = A − z·Σ_i G_vec_i + Σ_i (d_i·y^{N−i} + z)·H_vec_i + y^{N+1}·Σ_j z^{2(j+1)}·V_j + ζ(y, z)·G``,
   where, for bits, ``â ⊙_y b̂ = ζ(y, z) + y^{N+1}·Σ_j z^{2(j+1)}·v_j`` with
   ``ζ(y, z) = (z − z²)·Σ_{i=1}^{N} y^i − z·y^{N+1}·(2^n − 1)·Σ_j z^{2(j+1)}``.

Verifier (one multi-scalar multiplication): replay the transcript for ``y, z``, the
rounds' ``e_k`` and the last ``e``; with ``s_i`` from the argument, check that

``e²·Â + e²·Σ_k (e_k²·L_k + e_k⁻²·R_k) + e·A' + B'
− r'e·Σ_i y^{−i}·s_i·G_vec_i − s'e·Σ_i s_{N−1−i}·H_vec_i − r'·y·s'·G − δ'·H``

is the identity, with ``Â`` expanded as above (so ``G_vec_i`` gets ``−e²z − r'e·y^{−i}s_i``,
``H_vec_i`` gets ``e²(z + d_i·y^{N−i}) − s'e·s_{N−1−i}``, ``V_j`` gets
``e²·y^{N+1}·z^{2(j+1)}``, ``G`` gets ``e²·ζ − r'ys'``).

Transcript order (the caller made the transcript and bound its context first):
``domain_sep(DOMSEP_RANGE_PROOF, n, m)`` (``m`` the number of real values);
``V_0 … V_{m'−1}`` (the padded identities included); ``A``; ``y``, ``z``; then the
argument's ``domain_sep(DOMSEP_INNER_PRODUCT, N)``, ``L_k``, ``R_k``, ``e_k`` per round,
``A'``, ``B'``, ``e``.

Encoding (:meth:`RangeProof.to_bytes`): ``A ‖ L_0 ‖ R_0 ‖ … ‖ A' ‖ B' ‖ r' ‖ s' ‖ δ'`` —
``240 + 96·log2(N)`` bytes (816 for n = 64, m = 1; the original Bulletproofs: 928).

Departures from the paper: ``A`` is built from additions instead of an MSM (its
coefficients are bits); Python is not constant-time anyway, so this leaks nothing new.

>>> from circuits.rng import seeded
>>> from circuits.backend import get_backend
>>> from circuits.transcript import Transcript
>>> be = get_backend()
>>> proof, commitments = prove(Transcript(b"doc"), [42], [7], 8, backend=be, rng=seeded(1))
>>> verify(Transcript(b"doc"), proof, commitments, 8, backend=be)
>>> len(proof.to_bytes(be))
528
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from circuits import constants as k
from circuits.backend import GroupBackend
from circuits.backend.interface import G1
from circuits.bbs.core import g1_from_bytes_nonidentity
from circuits.bulletproofs import inner_product
from circuits.bulletproofs.generators import RangeProofBases
from circuits.bulletproofs.inner_product import WeightedInnerProductProof
from circuits.errors import EncodingError, IdentityPointError, ParameterError, VerificationError
from circuits.pedersen import PedersenGens
from circuits.rng import Rng, random_scalar
from circuits.sigma import powers
from circuits.transcript import Transcript

R = k.R


def _shape(n: int, m: int) -> int:
    """Check ``n`` and ``m``; return the padded aggregation size (a power of two)."""
    if n not in k.RANGE_PROOF_BITSIZES:
        raise ParameterError(f"range proofs are over n ∈ {k.RANGE_PROOF_BITSIZES} bits, not {n}")
    if not 1 <= m <= k.RANGE_PROOF_MAX_AGGREGATION:
        raise ParameterError(f"a range proof aggregates 1 to {k.RANGE_PROOF_MAX_AGGREGATION} values, not {m}")
    return 1 << (m - 1).bit_length()


@dataclass(frozen=True)
class RangeProof:
    """The wire object; the prover's blindings (α, the argument's d_L, d_R, r, s, δ, η) are never in it."""

    A: G1  #: commitment to the bits a_L, a_R
    wip: WeightedInnerProductProof  #: the weighted inner-product argument for â, b̂

    @staticmethod
    def size(n: int, m: int) -> int:
        """Encoded length for ``m`` values of ``n`` bits."""
        return k.G1_BYTES + WeightedInnerProductProof.size(n * _shape(n, m))

    def to_bytes(self, backend: GroupBackend) -> bytes:
        return backend.g1_to_bytes(self.A) + self.wip.to_bytes(backend)

    @classmethod
    def from_bytes(cls, backend: GroupBackend, data: bytes, n: int, m: int, *, msm_only: bool = False) -> RangeProof:
        """Strict decoding: exact length, canonical non-identity points in G1, scalars < r.

        ``msm_only``: for a proof that is only going to be verified (its points are decoded
        with :meth:`~circuits.backend.interface.GroupBackend.g1_from_bytes_msm`, as strict).
        """
        size = cls.size(n, m)
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError(f"a range proof is bytes, not {type(data).__name__}")
        if len(data) != size:
            raise EncodingError(f"a range proof for n={n}, m={m} is {size} bytes, got {len(data)}")
        A = g1_from_bytes_nonidentity(backend, bytes(data[: k.G1_BYTES]), msm_only=msm_only)
        wip = WeightedInnerProductProof.from_bytes(
            backend, bytes(data[k.G1_BYTES :]), n * _shape(n, m), msm_only=msm_only
        )
        return cls(A, wip)


def _value_weights(z: int, m: int) -> list[int]:
    """``z^{2(j+1)}`` for ``j < m``: value ``j``'s weight in ``d``, ``α̂`` and the ``V_j`` terms."""
    return powers(z * z, m, z * z)


def _d(z: int, n: int, m: int) -> list[int]:
    """``d_{jn+i} = z^{2(j+1)}·2^i``."""
    twos = powers(2, n)
    return [zj * t % R for zj in _value_weights(z, m) for t in twos]


def zeta(y: int, z: int, n: int, m: int) -> int:
    """``ζ(y, z) = (z − z²)·Σ_{i=1}^{N} y^i − z·y^{N+1}·(2^n − 1)·Σ_j z^{2(j+1)}``, ``N = n·m``."""
    N = n * m
    sum_y = y * (pow(y, N, R) - 1) * pow(y - 1, -1, R) % R if y != 1 else N  # Σ_{i=1}^{N} y^i
    sum_z = sum(_value_weights(z, m)) % R
    return ((z - z * z) * sum_y - z * pow(y, N + 1, R) * ((1 << n) - 1) * sum_z) % R


def _open_transcript(
    transcript: Transcript, backend: GroupBackend, commitments: Sequence[G1], n: int, m: int, m_pad: int
) -> None:
    transcript.domain_sep(k.DOMSEP_RANGE_PROOF, n, m)
    identity = backend.g1_identity()
    for j in range(m_pad):
        V = commitments[j] if j < m else identity
        transcript.append_point(k.RP_LABEL_V, V, backend, allow_identity=j >= m)


def _check_in_range(values: Sequence[int], n: int) -> None:
    for j, v in enumerate(values):
        if not 0 <= v < 1 << n:
            raise ParameterError(f"value {j} is outside [0, 2^{n})")


def prove(
    transcript: Transcript,
    values: Sequence[int],
    blindings: Sequence[int],
    n: int,
    *,
    backend: GroupBackend,
    pedersen: PedersenGens | None = None,
    rng: Rng = secrets.token_bytes,
) -> tuple[RangeProof, list[G1]]:
    """Prove ``0 ≤ v_j < 2^n`` for every ``V_j = v_j·G + γ_j·H``; return the proof and the ``V_j``.

    ``rng`` is zkcred's one rng convention (:mod:`circuits.rng`: ``rng(n) -> n bytes``,
    default :func:`secrets.token_bytes`; :func:`circuits.rng.seeded` in tests). Values
    outside ``[0, 2^n)``, zero blindings and bad shapes raise :class:`~circuits.errors.ParameterError`
    before any group operation.
    """
    m = len(values)
    m_pad = _shape(n, m)
    if len(blindings) != m:
        raise ParameterError(f"{m} values but {len(blindings)} blindings")
    for x in (*values, *blindings):
        if not isinstance(x, int) or isinstance(x, bool):
            raise TypeError(f"values and blindings are ints, not {type(x).__name__}")
    _check_in_range(values, n)
    if any(g % R == 0 for g in blindings):
        raise ParameterError("a blinding is zero mod r: the commitment would not hide")
    pedersen = pedersen or PedersenGens.default(backend)
    N = n * m_pad
    bases = RangeProofBases.get(backend, N, pedersen)
    G, H, G_vec, H_vec = pedersen.G, pedersen.H, bases.G_vec, bases.H_vec

    v = [*values, *[0] * (m_pad - m)]
    gamma = [g % R for g in blindings] + [0] * (m_pad - m)
    commitments = [pedersen.commit(v[j], gamma[j]) for j in range(m)]
    _open_transcript(transcript, backend, commitments, n, m, m_pad)

    # 1–2. A = α·H + Σ_{bit 1} G_vec_i − Σ_{bit 0} H_vec_i
    a_L = [(v[i // n] >> (i % n)) & 1 for i in range(N)]
    alpha = random_scalar(rng)
    ones, zeros = backend.g1_identity(), backend.g1_identity()
    for i, bit in enumerate(a_L):
        if bit:
            ones = backend.g1_add(ones, G_vec[i])
        else:
            zeros = backend.g1_add(zeros, H_vec[i])
    A = backend.g1_add(backend.g1_add(ones, backend.g1_neg(zeros)), backend.g1_mul(H, alpha))
    transcript.append_point(k.RP_LABEL_A, A, backend)
    # 3. challenges
    y = transcript.challenge_scalar(k.RP_LABEL_Y)
    z = transcript.challenge_scalar(k.RP_LABEL_Z)
    if y == 0:
        raise ParameterError("challenge y is zero")  # probability 2^-255: a broken hash, not bad luck
    # 4. the weighted inner-product argument for â, b̂, α̂
    d = _d(z, n, m_pad)
    y_rev = powers(pow(y, -1, R), N, pow(y, N, R))  # y⃖_i = y^{N−i}
    a_hat = [(bit - z) % R for bit in a_L]
    b_hat = [(bit - 1 + di * yi + z) % R for bit, di, yi in zip(a_L, d, y_rev, strict=True)]
    y_n1 = pow(y, N + 1, R)
    alpha_hat = (alpha + y_n1 * sum(zj * gj for zj, gj in zip(_value_weights(z, m_pad), gamma, strict=True))) % R
    wip = inner_product.prove(
        transcript,
        backend,
        G_vec=G_vec,
        H_vec=H_vec,
        g=G,
        h=H,
        a=a_hat,
        b=b_hat,
        alpha=alpha_hat,
        y=y,
        prepared=bases.prepared,
        rng=rng,
    )
    return RangeProof(A, wip), commitments


def verify(
    transcript: Transcript,
    proof: RangeProof,
    commitments: Sequence[G1],
    n: int,
    *,
    backend: GroupBackend,
    pedersen: PedersenGens | None = None,
) -> None:
    """Check ``proof`` for ``commitments``; raise :class:`~circuits.errors.VerificationError` if it does not hold."""
    m = len(commitments)
    m_pad = _shape(n, m)
    pedersen = pedersen or PedersenGens.default(backend)
    N = n * m_pad
    try:
        _open_transcript(transcript, backend, commitments, n, m, m_pad)
        transcript.append_point(k.RP_LABEL_A, proof.A, backend)
        y = transcript.challenge_scalar(k.RP_LABEL_Y)
        z = transcript.challenge_scalar(k.RP_LABEL_Z)
        e_sq, e_inv_sq, s, e = inner_product.verification_scalars(proof.wip, N, transcript, backend)
    except IdentityPointError as err:  # not ``e``: that name is the argument's last challenge
        raise VerificationError(f"range proof: {err}") from err
    if y == 0:
        raise VerificationError("range proof: challenge y is zero")
    bases = RangeProofBases.get(backend, N, pedersen)
    wip = proof.wip
    ee = e * e % R
    ee_z = ee * z % R
    y_inv = pow(y, -1, R)
    y_n = pow(y, N, R)
    # G_vec_i: −e²z − r'e·y^{−i}·s_i, with w = r'e·y^{−i} carried along (one product per i).
    scalars, w = [], wip.r * e % R
    for si in s:
        scalars.append((-ee_z - w * si) % R)
        w = w * y_inv % R
    # H_vec_i: e²z + e²·d_i·y^{N−i} − s'e·s_{N−1−i}, with d_{jn+t} = z^{2(j+1)}·2^t; the middle
    # term is carried along too: ×2/y within a block of n, ×z²/(2^{n−1}·y) into the next.
    s_e = wip.s * e % R
    step, jump = 2 * y_inv % R, z * z * y_inv * pow(1 << (n - 1), -1, R) % R
    middle = ee * z * z % R * y_n % R
    for i in range(N):
        scalars.append((ee_z + middle - s_e * s[N - 1 - i]) % R)
        middle = middle * (jump if i % n == n - 1 else step) % R
    scalars += [
        (ee * zeta(y, z, n, m_pad) - wip.r * y * wip.s) % R,  # G
        -wip.delta % R,  # H
    ]
    y_n1 = y_n * y % R
    extra_points = [proof.A, wip.A, wip.B, *wip.L_vec, *wip.R_vec, *commitments]
    extra_scalars = [ee, e, 1, *(ee * x % R for x in e_sq), *(ee * x % R for x in e_inv_sq)]
    extra_scalars += [ee * y_n1 * zj % R for zj in _value_weights(z, m)]
    if not backend.g1_msm_prepared_is_identity(bases.prepared, scalars, extra_points, extra_scalars):
        raise VerificationError("range proof does not hold")
