r"""Aggregated Bulletproofs range proofs over G1 (Bünz et al., IEEE S&P 2018, §4.1–§4.3).

Relation, for ``m`` Pedersen commitments ``V_j = v_j·G + γ_j·H`` and a bit size
``n ∈ {8, 16, 32, 64}`` (Camenisch–Stadler; additive notation):

.. math:: PK\{(v_0, γ_0, …, v_{m-1}, γ_{m-1}): \bigwedge_j V_j = v_j·G + γ_j·H \land 0 ≤ v_j < 2^n\}

A predicate "a ≥ t" on ``C = a·G + s·H`` is this relation for ``C − t·G`` (same ``s``).
Why each step works, with the algebra: circuits/notes/range-proof.md.

Symbols are the paper's: ``A, S, T_1, T_2, tau_x, mu, t_hat`` and the inner-product
argument's ``L, R, a, b`` (:mod:`circuits.bulletproofs.inner_product`). ``N = n·m``;
``G_vec``, ``H_vec`` are ``N`` generators each, ``u`` the IPA's generator
(:mod:`circuits.bulletproofs.generators`); ``y^N = (1, y, …, y^{N-1})``; ``2^n`` likewise;
``d_{jn+i} = z^j·2^i``.

Padding: ``m`` is rounded up to a power of two with ``v = 0, γ = 0``, i.e. the identity
commitment, which the verifier adds itself (nothing is sent for it).

Prover:

1. ``a_L`` = the bits of all ``v_j`` (``a_L[j·n + i]`` = bit ``i`` of ``v_j``); ``a_R = a_L − 1``.
2. ``A = α·H + <a_L, G_vec> + <a_R, H_vec>`` (additions only: every coefficient is 0, ±1).
3. ``S = ρ·H + <s_L, G_vec> + <s_R, H_vec>`` for uniform ``s_L, s_R, ρ``.
4. ``y, z`` from the transcript.
5. ``l(X) = (a_L − z·1) + s_L·X``; ``r(X) = y^N ∘ (a_R + z·1 + s_R·X) + z²·d``;
   ``t(X) = <l(X), r(X)> = t_0 + t_1·X + t_2·X²``.
6. ``T_1 = t_1·G + τ_1·H``, ``T_2 = t_2·G + τ_2·H``; then ``x``.
7. ``l = l(x)``, ``r = r(x)``, ``t_hat = <l, r>``,
   ``tau_x = τ_2·x² + τ_1·x + Σ_j z^{2+j}·γ_j``, ``mu = α + ρ·x``; then ``w``.
8. Inner-product argument for ``(l, r)`` on ``G_vec``, ``H'_i = y^{-i}·H_vec_i`` and ``Q = w·u``.

Verifier (one multi-scalar multiplication; the paper's two checks, combined with a
fresh random ``c`` of its own, with the IPA check unrolled through its ``s`` vector —
the bulletproofs-crate "verification as a single multiexp"):

1. Replay the transcript for ``y, z, x, w`` and the IPA's ``x_k``, ``s``.
2. ``δ(y, z) = (z − z²)·<1, y^N> − Σ_j z^{3+j}·<1, 2^n>``.
3. Check that the following is the identity:
   ``A + x·S − c·x·T_1 − c·x²·T_2 + Σ_k (x_k²·L_k + x_k⁻²·R_k) − Σ_j c·z^{2+j}·V_j
   + w·(t_hat − a·b)·u + c·(t_hat − δ)·G + (c·tau_x − mu)·H
   + Σ_i (−z − a·s_i)·G_vec_i + Σ_i (z + y^{-i}·(z²·d_i − b·s_{N−1−i}))·H_vec_i``.

Transcript order (the caller made the transcript and bound its context first):
``domain_sep(DOMSEP_RANGE_PROOF, n, m)`` (``m`` the number of real values);
``V_0 … V_{m'−1}`` (the padded identities included); ``A``, ``S``; ``y``, ``z``;
``T_1``, ``T_2``; ``x``; ``tau_x``, ``mu``, ``t_hat``; ``w``; then the IPA's
``domain_sep(DOMSEP_INNER_PRODUCT, N)``, ``L_k``, ``R_k``, ``x_ipa`` per round.

Encoding (:meth:`RangeProof.to_bytes`): ``A ‖ S ‖ T_1 ‖ T_2 ‖ tau_x ‖ mu ‖ t_hat ‖
L_0 ‖ R_0 ‖ … ‖ a ‖ b`` — ``352 + 96·log2(N)`` bytes (928 for n = 64, m = 1).

Departures from the paper: the IPA's ``u`` is scaled by the challenge ``w`` (paper
§4.2's ``x``: the verifier's fresh challenge that binds ``t_hat``), and it is a
separate hash_to_curve generator rather than the Pedersen ``G`` (the bulletproofs crate
uses ``w·G``). ``A`` is built from additions instead of an MSM (its coefficients are
bits); Python is not constant-time anyway, so this leaks nothing new.

>>> import random
>>> from circuits.backend import get_backend
>>> from circuits.transcript import Transcript
>>> be = get_backend()
>>> proof, commitments = prove(Transcript(b"doc"), [42], [7], 8, backend=be, rng=random.Random(1))
>>> verify(Transcript(b"doc"), proof, commitments, 8, backend=be)
>>> len(proof.to_bytes(be))
640
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from circuits import constants as k
from circuits.backend import GroupBackend
from circuits.backend.interface import G1
from circuits.bbs.core import g1_from_bytes_nonidentity, scalar_from_bytes, scalar_to_bytes
from circuits.bulletproofs import inner_product
from circuits.bulletproofs.generators import RangeProofBases
from circuits.bulletproofs.inner_product import InnerProductProof, inner
from circuits.errors import EncodingError, IdentityPointError, ParameterError, VerificationError
from circuits.pedersen import PedersenGens
from circuits.transcript import Transcript

R = k.R
_POINTS = 4  # A, S, T_1, T_2
_SCALARS = 3  # tau_x, mu, t_hat


def _shape(n: int, m: int) -> int:
    """Check ``n`` and ``m``; return the padded aggregation size (a power of two)."""
    if n not in k.RANGE_PROOF_BITSIZES:
        raise ParameterError(f"range proofs are over n ∈ {k.RANGE_PROOF_BITSIZES} bits, not {n}")
    if not 1 <= m <= k.RANGE_PROOF_MAX_AGGREGATION:
        raise ParameterError(f"a range proof aggregates 1 to {k.RANGE_PROOF_MAX_AGGREGATION} values, not {m}")
    return 1 << (m - 1).bit_length()


@dataclass(frozen=True)
class RangeProof:
    """The wire object; the prover's blindings (α, ρ, τ_1, τ_2, s_L, s_R) are never in it."""

    A: G1  #: commitment to the bits a_L, a_R
    S: G1  #: commitment to the blinding vectors s_L, s_R
    T_1: G1  #: commitment to t_1, the X coefficient of t(X)
    T_2: G1  #: commitment to t_2, the X² coefficient of t(X)
    tau_x: int  #: blinding of t_hat: τ_2·x² + τ_1·x + Σ z^{2+j}·γ_j
    mu: int  #: blinding of A + x·S: α + ρ·x
    t_hat: int  #: t(x) = <l(x), r(x)>
    ipp: InnerProductProof  #: the inner-product argument for l(x), r(x)

    @staticmethod
    def size(n: int, m: int) -> int:
        """Encoded length for ``m`` values of ``n`` bits."""
        N = n * _shape(n, m)
        return _POINTS * k.G1_BYTES + _SCALARS * k.SCALAR_BYTES + InnerProductProof.size(N)

    def to_bytes(self, backend: GroupBackend) -> bytes:
        points = b"".join(backend.g1_to_bytes(P) for P in (self.A, self.S, self.T_1, self.T_2))
        scalars = b"".join(scalar_to_bytes(s) for s in (self.tau_x, self.mu, self.t_hat))
        return points + scalars + self.ipp.to_bytes(backend)

    @classmethod
    def from_bytes(cls, backend: GroupBackend, data: bytes, n: int, m: int) -> RangeProof:
        """Strict decoding: exact length, canonical non-identity points in G1, scalars < r."""
        size = cls.size(n, m)
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError(f"a range proof is bytes, not {type(data).__name__}")
        if len(data) != size:
            raise EncodingError(f"a range proof for n={n}, m={m} is {size} bytes, got {len(data)}")
        g, s = k.G1_BYTES, k.SCALAR_BYTES
        A, S, T_1, T_2 = (g1_from_bytes_nonidentity(backend, data[i * g : (i + 1) * g]) for i in range(_POINTS))
        off = _POINTS * g
        tau_x, mu, t_hat = (scalar_from_bytes(data[off + i * s : off + (i + 1) * s]) for i in range(_SCALARS))
        ipp = InnerProductProof.from_bytes(backend, bytes(data[off + _SCALARS * s :]), n * _shape(n, m))
        return cls(A, S, T_1, T_2, tau_x, mu, t_hat, ipp)


def _powers(x: int, count: int) -> list[int]:
    out, acc = [], 1
    for _ in range(count):
        out.append(acc)
        acc = acc * x % R
    return out


def _d(z: int, n: int, m: int) -> list[int]:
    """``d_{jn+i} = z^j·2^i``: the concatenation of z^j·2^n."""
    twos = _powers(2, n)
    return [zj * t % R for zj in _powers(z, m) for t in twos]


def delta(y: int, z: int, n: int, m: int) -> int:
    """``δ(y, z) = (z − z²)·<1, y^{nm}> − Σ_j z^{3+j}·(2^n − 1)`` (paper eq. 39, aggregated)."""
    zz = z * z % R
    sum_y = sum(_powers(y, n * m)) % R
    sum_z = sum(_powers(z, m)) * zz * z % R
    return ((z - zz) * sum_y - sum_z * ((1 << n) - 1)) % R


def _open_transcript(transcript: Transcript, backend: GroupBackend, commitments: Sequence[G1],
                     n: int, m: int, m_pad: int) -> None:
    transcript.domain_sep(k.DOMSEP_RANGE_PROOF, n, m)
    identity = backend.g1_identity()
    for j in range(m_pad):
        V = commitments[j] if j < m else identity
        transcript.append_point(k.RP_LABEL_V, V, backend, allow_identity=j >= m)


def prove(
    transcript: Transcript,
    values: Sequence[int],
    blindings: Sequence[int],
    n: int,
    *,
    backend: GroupBackend,
    pedersen: PedersenGens | None = None,
    rng=None,
) -> tuple[RangeProof, list[G1]]:
    """Prove ``0 ≤ v_j < 2^n`` for every ``V_j = v_j·G + γ_j·H``; return the proof and the ``V_j``.

    ``rng`` has ``randrange`` (``random.Random(seed)`` in tests); it defaults to the OS
    CSPRNG through :mod:`secrets`. Values outside ``[0, 2^n)``, zero blindings and bad
    shapes raise :class:`~circuits.errors.ParameterError` before any group operation.
    """
    m = len(values)
    m_pad = _shape(n, m)
    if len(blindings) != m:
        raise ParameterError(f"{m} values but {len(blindings)} blindings")
    for v in (*values, *blindings):
        if not isinstance(v, int) or isinstance(v, bool):
            raise TypeError(f"values and blindings are ints, not {type(v).__name__}")
    for j, v in enumerate(values):
        if not 0 <= v < 1 << n:
            raise ParameterError(f"value {j} is outside [0, 2^{n})")
    if any(g % R == 0 for g in blindings):
        raise ParameterError("a blinding is zero mod r: the commitment would not hide")
    rng = rng or secrets.SystemRandom()
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
    a_R = [(bit - 1) % R for bit in a_L]
    alpha = rng.randrange(R)
    ones, zeros = backend.g1_identity(), backend.g1_identity()
    for i, bit in enumerate(a_L):
        if bit:
            ones = backend.g1_add(ones, G_vec[i])
        else:
            zeros = backend.g1_add(zeros, H_vec[i])
    A = backend.g1_add(backend.g1_add(ones, backend.g1_neg(zeros)), backend.g1_mul(H, alpha))
    # 3. S = ρ·H + <s_L, G_vec> + <s_R, H_vec>
    s_L = [rng.randrange(R) for _ in range(N)]
    s_R = [rng.randrange(R) for _ in range(N)]
    rho = rng.randrange(R)
    S_scalars = [*s_L, *s_R, 0, 0, 0]
    S_scalars[bases.H_index] = rho
    S = backend.g1_msm_prepared(bases.prepared, S_scalars)
    transcript.append_point(k.RP_LABEL_A, A, backend)
    transcript.append_point(k.RP_LABEL_S, S, backend)
    # 4. challenges
    y = transcript.challenge_scalar(k.RP_LABEL_Y)
    z = transcript.challenge_scalar(k.RP_LABEL_Z)
    # 5. l(X) = l0 + l1·X, r(X) = r0 + r1·X
    zz = z * z % R
    y_pow = _powers(y, N)
    d = _d(z, n, m_pad)
    l0 = [(bit - z) % R for bit in a_L]
    r0 = [(yi * (ar + z) + zz * di) % R for yi, ar, di in zip(y_pow, a_R, d)]
    r1 = [yi * s % R for yi, s in zip(y_pow, s_R)]
    t_1 = (inner(l0, r1) + inner(s_L, r0)) % R
    t_2 = inner(s_L, r1)
    # 6. T_1, T_2
    tau_1, tau_2 = rng.randrange(R), rng.randrange(R)
    T_1 = backend.g1_msm((G, H), (t_1, tau_1))
    T_2 = backend.g1_msm((G, H), (t_2, tau_2))
    transcript.append_point(k.RP_LABEL_T_1, T_1, backend)
    transcript.append_point(k.RP_LABEL_T_2, T_2, backend)
    x = transcript.challenge_scalar(k.RP_LABEL_X)
    # 7. l, r, t_hat, tau_x, mu
    l_vec = [(a + b * x) % R for a, b in zip(l0, s_L)]
    r_vec = [(a + b * x) % R for a, b in zip(r0, r1)]
    t_hat = inner(l_vec, r_vec)
    z_pow = _powers(z, m_pad)
    tau_x = (tau_2 * x * x + tau_1 * x + zz * inner(z_pow, gamma)) % R
    mu = (alpha + rho * x) % R
    transcript.append_scalar(k.RP_LABEL_TAU_X, tau_x)
    transcript.append_scalar(k.RP_LABEL_MU, mu)
    transcript.append_scalar(k.RP_LABEL_T_HAT, t_hat)
    w = transcript.challenge_scalar(k.RP_LABEL_W)
    # 8. the inner-product argument on G_vec, y^{-i}·H_vec, Q = w·u
    ipp = inner_product.prove(
        transcript, backend,
        Q_base=bases.u, Q_factor=w,
        G_vec=G_vec, H_vec=H_vec,
        G_factors=[1] * N, H_factors=_powers(pow(y, -1, R), N),
        a=l_vec, b=r_vec,
        prepared=bases.prepared,
    )
    return RangeProof(A, S, T_1, T_2, tau_x, mu, t_hat, ipp), commitments


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
        # 1. the transcript, as the prover wrote it
        _open_transcript(transcript, backend, commitments, n, m, m_pad)
        transcript.append_point(k.RP_LABEL_A, proof.A, backend)
        transcript.append_point(k.RP_LABEL_S, proof.S, backend)
        y = transcript.challenge_scalar(k.RP_LABEL_Y)
        z = transcript.challenge_scalar(k.RP_LABEL_Z)
        transcript.append_point(k.RP_LABEL_T_1, proof.T_1, backend)
        transcript.append_point(k.RP_LABEL_T_2, proof.T_2, backend)
        x = transcript.challenge_scalar(k.RP_LABEL_X)
        transcript.append_scalar(k.RP_LABEL_TAU_X, proof.tau_x)
        transcript.append_scalar(k.RP_LABEL_MU, proof.mu)
        transcript.append_scalar(k.RP_LABEL_T_HAT, proof.t_hat)
        w = transcript.challenge_scalar(k.RP_LABEL_W)
        x_sq, x_inv_sq, s = inner_product.verification_scalars(proof.ipp, N, transcript, backend)
    except IdentityPointError as e:
        raise VerificationError(f"range proof: {e}") from e
    if y == 0:
        raise VerificationError("range proof: challenge y is zero")
    # 2–3. one MSM
    bases = RangeProofBases.get(backend, N, pedersen)
    c = secrets.randbelow(R - 1) + 1  # the verifier's own: the prover cannot steer it
    a, b, zz = proof.ipp.a, proof.ipp.b, z * z % R
    d = _d(z, n, m_pad)
    y_inv_pow = _powers(pow(y, -1, R), N)
    scalars = [(-z - a * s_i) % R for s_i in s]
    scalars += [(z + yi * (zz * d[i] - b * s[N - 1 - i])) % R for i, yi in enumerate(y_inv_pow)]
    scalars += [
        w * (proof.t_hat - a * b) % R,  # u
        c * (proof.t_hat - delta(y, z, n, m_pad)) % R,  # G
        (c * proof.tau_x - proof.mu) % R,  # H
    ]
    extra_points = [proof.A, proof.S, proof.T_1, proof.T_2, *proof.ipp.L_vec, *proof.ipp.R_vec, *commitments]
    extra_scalars = [1, x, -c * x % R, -c * x * x % R, *x_sq, *x_inv_sq]
    extra_scalars += [-c * zz * zj % R for zj in _powers(z, m)]
    mega_check = backend.g1_msm_prepared(bases.prepared, scalars, extra_points, extra_scalars)
    if not backend.g1_is_identity(mega_check):
        raise VerificationError("range proof does not hold")
