r"""The zero-knowledge weighted inner-product argument of Bulletproofs+ (Chung et al. 2020, §3, Protocol 1).

Relation, for generators ``G'_i = f_i·G_i`` (known factors ``f``, so that folded
generators need one multiplication each), ``H_i``, the Pedersen pair ``g``, ``h`` and a
weight ``y``:

.. math:: PK\{(\mathbf{a}, \mathbf{b} \in \mathbb{Z}_r^N, α):
          P = \langle \mathbf{a}, \mathbf{G}' \rangle + \langle \mathbf{b}, \mathbf{H} \rangle
              + (\mathbf{a} ⊙_y \mathbf{b})·g + α·h\}

with the weighted inner product ``a ⊙_y b = Σ_i y^{i+1}·a_i·b_i`` (0-indexed; the paper's
``y^i`` 1-indexed). Additive notation, as in circuits/notes/range-proof.md.

Prover, while ``n > 1`` (``1``/``2`` are the halves, ``ĥ = n/2``):

1. ``c_L = a_1 ⊙_y b_2``, ``c_R = (y^ĥ·a_2) ⊙_y b_1``; fresh ``d_L``, ``d_R``;
   ``L = <y^{−ĥ}·a_1, G'_2> + <b_2, H_1> + c_L·g + d_L·h``,
   ``R = <y^ĥ·a_2, G'_1> + <b_1, H_2> + c_R·g + d_R·h``.
2. Append ``L``, ``R``; draw ``e``.
3. ``a ← e·a_1 + y^ĥ e⁻¹·a_2``, ``b ← e⁻¹·b_1 + e·b_2``, ``α ← α + e²·d_L + e⁻²·d_R``,
   ``G' ← e⁻¹·G'_1 + e·y^{−ĥ}·G'_2``, ``H ← e·H_1 + e⁻¹·H_2``.

Then, at ``n = 1``, with fresh ``r, s, δ, η``: ``A = r·G' + s·H + y(r·b + s·a)·g + δ·h``,
``B = (r·y·s)·g + η·h``; append them, draw ``e``; send ``r' = r + a·e``, ``s' = s + b·e``,
``δ' = η + δ·e + α·e²``.

Verifier: ``e²·P + e·A + B = (r'e)·G' + (s'e)·H + (r'·y·s')·g + δ'·h`` with ``P``, ``G'``,
``H`` folded. Unrolled (``s_i = ∏_k e_k^{±1}``, ``+1`` iff the bit of ``i`` that round
``k`` splits on is set): the folded ``G' = Σ_i y^{−i}·s_i·G'_i``, ``H = Σ_i s_i⁻¹·H_i``
(``s_i⁻¹ = s_{N−1−i}``), ``P ← P + Σ_k (e_k²·L_k + e_k⁻²·R_k)``.
:func:`verification_scalars` returns ``e_k²``, ``e_k⁻²``, ``s`` and ``e`` so that the range
proof folds the check into its own single MSM; :func:`verify` is the standalone check.

Transcript order: ``domain_sep(DOMSEP_INNER_PRODUCT, N)``, then per round ``L``, ``R``
(identity refused) and ``e``; then ``A``, ``B`` and the final ``e``.

Implementation notes (departures in *how*, not *what*):

- Folded generators are kept as ``f_i·P_i`` (a scalar factor and a point), so a fold
  costs one scalar multiplication per new generator instead of two:
  ``c_1f_1·P_1 + c_2f_2·P_2 = (c_1f_1)·(P_1 + (c_2f_2/c_1f_1)·P_2)``.
- The first round's ``L`` and ``R`` are MSMs over the original generators, through the
  caller's prepared bases (``G_vec ‖ H_vec ‖ [g, h]``); later rounds use ``g1_msm``.
  After the last round nothing is folded.

See circuits/notes/range-proof.md for the why and the cost.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from circuits import constants as k
from circuits.backend import GroupBackend
from circuits.backend.interface import G1
from circuits.bbs.core import g1_from_bytes_nonidentity, scalar_from_bytes, scalar_to_bytes
from circuits.errors import EncodingError, ParameterError, VerificationError
from circuits.rng import Rng, random_scalar
from circuits.transcript import Transcript

R = k.R


def weighted_inner(a: Sequence[int], b: Sequence[int], y: int) -> int:
    """``a ⊙_y b = Σ_i y^{i+1}·a_i·b_i``."""
    acc, w = 0, 1
    for x, z in zip(a, b, strict=True):
        w = w * y % R
        acc += w * x * z
    return acc % R


def _inv(x: int) -> int:
    if x % R == 0:
        raise VerificationError("a challenge is zero")
    return pow(x, -1, R)


def log2_exact(N: int) -> int:
    """log2(N) for a power of two N ≥ 1, else ParameterError."""
    if N < 1 or N & (N - 1):
        raise ParameterError(f"the inner-product argument needs a power of two, got {N}")
    return N.bit_length() - 1


@dataclass(frozen=True)
class WeightedInnerProductProof:
    """``L_k``, ``R_k`` of each round, the last round's ``A``, ``B`` and the scalars ``r'``, ``s'``, ``δ'``."""

    L_vec: tuple[G1, ...]
    R_vec: tuple[G1, ...]
    A: G1
    B: G1
    r: int
    s: int
    delta: int

    @staticmethod
    def size(N: int) -> int:
        return (2 * log2_exact(N) + 2) * k.G1_BYTES + 3 * k.SCALAR_BYTES

    def to_bytes(self, backend: GroupBackend) -> bytes:
        """``L_0 ‖ R_0 ‖ … ‖ L_{K-1} ‖ R_{K-1} ‖ A ‖ B ‖ r' ‖ s' ‖ δ'`` (compressed points, 32-byte scalars)."""
        points = (*(P for pair in zip(self.L_vec, self.R_vec, strict=True) for P in pair), self.A, self.B)
        return b"".join(backend.g1_to_bytes(P) for P in points) + b"".join(
            scalar_to_bytes(x) for x in (self.r, self.s, self.delta)
        )

    @classmethod
    def from_bytes(
        cls, backend: GroupBackend, data: bytes, N: int, *, msm_only: bool = False
    ) -> WeightedInnerProductProof:
        """Strict: exact length, canonical points in G1 other than the identity, scalars < r.

        ``msm_only``: the proof is only going to be verified, so its points are decoded with
        :meth:`~circuits.backend.interface.GroupBackend.g1_from_bytes_msm` (as strict).
        """
        if len(data) != cls.size(N):
            raise EncodingError(f"an inner-product proof for N={N} is {cls.size(N)} bytes, got {len(data)}")
        K, g = log2_exact(N), k.G1_BYTES
        points = [
            g1_from_bytes_nonidentity(backend, data[i * g : (i + 1) * g], msm_only=msm_only) for i in range(2 * K + 2)
        ]
        end = (2 * K + 2) * g
        r, s, delta = (
            scalar_from_bytes(data[end + i * k.SCALAR_BYTES : end + (i + 1) * k.SCALAR_BYTES]) for i in range(3)
        )
        return cls(tuple(points[0 : 2 * K : 2]), tuple(points[1 : 2 * K : 2]), points[-2], points[-1], r, s, delta)


def batch_invert(xs: Sequence[int]) -> list[int]:
    """Montgomery's trick: every inverse for one ``pow`` (zero → VerificationError)."""
    prefix, acc = [], 1
    for x in xs:
        prefix.append(acc)
        acc = acc * x % R
    inv = _inv(acc)
    out = [0] * len(xs)
    for i in range(len(xs) - 1, -1, -1):
        out[i] = inv * prefix[i] % R
        inv = inv * xs[i] % R
    return out


def _fold(backend: GroupBackend, P: list[G1], f: list[int], c_lo: int, c_hi: int) -> tuple[list[G1], list[int]]:
    """``c_lo·f_lo·P_lo + c_hi·f_hi·P_hi`` as ``f'·P'``: one multiplication per element."""
    h = len(P) // 2
    factors = [c_lo * f_lo % R for f_lo in f[:h]]
    ratios = [c_hi * f_hi * inv % R for f_hi, inv in zip(f[h:], batch_invert(factors), strict=True)]
    points = [backend.g1_add(P[i], backend.g1_mul(P[h + i], ratios[i])) for i in range(h)]
    return points, factors


def prove(
    transcript: Transcript,
    backend: GroupBackend,
    *,
    G_vec: Sequence[G1],
    H_vec: Sequence[G1],
    g: G1,
    h: G1,
    a: Sequence[int],
    b: Sequence[int],
    alpha: int,
    y: int,
    G_factors: Sequence[int] | None = None,
    prepared: Any = None,
    rng: Rng = secrets.token_bytes,
) -> WeightedInnerProductProof:
    """Prove ``P = <a, G'> + <b, H> + (a ⊙_y b)·g + α·h`` with ``G'_i = G_factors[i]·G_vec[i]``.

    ``prepared``, if given, is a ``g1_msm_prepare`` handle whose first ``2N + 2`` bases
    are ``G_vec ‖ H_vec ‖ [g, h]``. ``rng`` is zkcred's one rng convention (:mod:`circuits.rng`).
    """
    N = len(G_vec)
    G_factors = [1] * N if G_factors is None else G_factors
    if not (len(H_vec) == len(G_factors) == len(a) == len(b) == N):
        raise ParameterError("inner-product argument: vectors of different lengths")
    log2_exact(N)
    if y % R == 0:
        raise ParameterError("the weight y is zero")
    transcript.domain_sep(k.DOMSEP_INNER_PRODUCT, N)
    G, H, gf, hf = list(G_vec), list(H_vec), [f % R for f in G_factors], [1] * N
    a, b, alpha = [x % R for x in a], [x % R for x in b], alpha % R
    L_vec, R_vec = [], []
    n = N
    while n > 1:
        half = n // 2
        y_half = pow(y, half, R)
        y_half_inv = pow(y_half, -1, R)
        c_L = weighted_inner(a[:half], b[half:], y)
        c_R = y_half * weighted_inner(a[half:], b[:half], y) % R
        d_L, d_R = random_scalar(rng), random_scalar(rng)
        L_g = [x * y_half_inv * f % R for x, f in zip(a[:half], gf[half:], strict=True)]  # on G_2
        L_h = [x * f % R for x, f in zip(b[half:], hf[:half], strict=True)]  # on H_1
        R_g = [x * y_half * f % R for x, f in zip(a[half:], gf[:half], strict=True)]  # on G_1
        R_h = [x * f % R for x, f in zip(b[:half], hf[half:], strict=True)]  # on H_2
        if n == N and prepared is not None:
            zeros = [0] * half
            L = backend.g1_msm_prepared(prepared, [*zeros, *L_g, *L_h, *zeros, c_L, d_L])
            R_ = backend.g1_msm_prepared(prepared, [*R_g, *zeros, *zeros, *R_h, c_R, d_R])
        else:
            L = backend.g1_msm([*G[half:], *H[:half], g, h], [*L_g, *L_h, c_L, d_L])
            R_ = backend.g1_msm([*G[:half], *H[half:], g, h], [*R_g, *R_h, c_R, d_R])
        transcript.append_point(k.IPA_LABEL_L, L, backend)
        transcript.append_point(k.IPA_LABEL_R, R_, backend)
        L_vec.append(L)
        R_vec.append(R_)
        e = transcript.challenge_scalar(k.IPA_LABEL_E)
        e_inv = _inv(e)
        a = [(x1 * e + x2 * y_half * e_inv) % R for x1, x2 in zip(a[:half], a[half:], strict=True)]
        b = [(x1 * e_inv + x2 * e) % R for x1, x2 in zip(b[:half], b[half:], strict=True)]
        alpha = (alpha + e * e * d_L + e_inv * e_inv * d_R) % R
        if half > 1:
            G, gf = _fold(backend, G, gf, e_inv, e * y_half_inv)
            H, hf = _fold(backend, H, hf, e, e_inv)
        else:  # the last fold is only needed as factors of the single remaining points
            G, gf = [G[0], G[1]], [gf[0] * e_inv % R, gf[1] * e * y_half_inv % R]
            H, hf = [H[0], H[1]], [hf[0] * e % R, hf[1] * e_inv % R]
        n = half
    # n = 1: the zero-knowledge last step. G' and H are Σ f_i·P_i over at most two points.
    a0, b0 = a[0], b[0]
    r, s, delta, eta = (random_scalar(rng) for _ in range(4))
    A = backend.g1_msm([*G, *H, g, h], [*(r * f for f in gf), *(s * f for f in hf), y * (r * b0 + s * a0), delta])
    B = backend.g1_msm([g, h], [r * y % R * s, eta])
    transcript.append_point(k.WIP_LABEL_A, A, backend)
    transcript.append_point(k.WIP_LABEL_B, B, backend)
    e = transcript.challenge_scalar(k.WIP_LABEL_E)
    return WeightedInnerProductProof(
        tuple(L_vec), tuple(R_vec), A, B, (r + a0 * e) % R, (s + b0 * e) % R, (eta + delta * e + alpha * e * e) % R
    )


def verification_scalars(
    proof: WeightedInnerProductProof, N: int, transcript: Transcript, backend: GroupBackend
) -> tuple[list[int], list[int], list[int], int]:
    """Replay the transcript; return ``(e_k², e_k⁻², s, e)`` with ``s_i = ∏_k e_k^{±1}`` (see the module doc)."""
    K = log2_exact(N)
    if len(proof.L_vec) != K or len(proof.R_vec) != K:
        raise VerificationError(f"an inner-product proof for N={N} has {K} rounds")
    transcript.domain_sep(k.DOMSEP_INNER_PRODUCT, N)
    es = []
    for L, R_ in zip(proof.L_vec, proof.R_vec, strict=True):
        transcript.append_point(k.IPA_LABEL_L, L, backend)
        transcript.append_point(k.IPA_LABEL_R, R_, backend)
        es.append(transcript.challenge_scalar(k.IPA_LABEL_E))
    transcript.append_point(k.WIP_LABEL_A, proof.A, backend)
    transcript.append_point(k.WIP_LABEL_B, proof.B, backend)
    e = transcript.challenge_scalar(k.WIP_LABEL_E)
    e_inv = batch_invert([*es, e])[:-1]
    e_sq = [x * x % R for x in es]
    e_inv_sq = [x * x % R for x in e_inv]
    # s_0 = ∏ e_k⁻¹; setting bit j of i (split on in round K−1−j) turns e⁻¹ into e: multiply by e².
    s = [1] * N
    for x in e_inv:
        s[0] = s[0] * x % R
    for i in range(1, N):
        j = i.bit_length() - 1
        s[i] = s[i - (1 << j)] * e_sq[K - 1 - j] % R
    return e_sq, e_inv_sq, s, e


def verify(
    transcript: Transcript,
    backend: GroupBackend,
    proof: WeightedInnerProductProof,
    P: G1,
    *,
    G_vec: Sequence[G1],
    H_vec: Sequence[G1],
    g: G1,
    h: G1,
    y: int,
    G_factors: Sequence[int] | None = None,
) -> None:
    """Standalone check of the unrolled equation in one MSM (the range proof inlines it instead)."""
    N = len(G_vec)
    G_factors = [1] * N if G_factors is None else G_factors
    e_sq, e_inv_sq, s, e = verification_scalars(proof, N, transcript, backend)
    ee, y_inv = e * e % R, pow(y, -1, R)
    r_e, s_e = proof.r * e % R, proof.s * e % R
    scalars, w = [], 1
    for i in range(N):  # −r'e·y^{−i}·s_i·f_i on G_i
        scalars.append(-r_e * w * s[i] * G_factors[i] % R)
        w = w * y_inv % R
    scalars += [-s_e * s[N - 1 - i] % R for i in range(N)]
    scalars += [-proof.r * y * proof.s % R, -proof.delta % R, ee, e, 1]
    scalars += [ee * x % R for x in e_sq] + [ee * x % R for x in e_inv_sq]
    points = [*G_vec, *H_vec, g, h, P, proof.A, proof.B, *proof.L_vec, *proof.R_vec]
    if not backend.g1_is_identity(backend.g1_msm(points, scalars, public=True)):
        raise VerificationError("weighted inner-product argument does not hold")
