r"""The inner-product argument of Bulletproofs (Bünz et al. 2018, §3, Protocol 2).

Relation, for generators ``G_i' = g_i·G_i``, ``H_i' = h_i·H_i`` (known factors ``g``, ``h``)
and ``Q``, with ``N`` a power of two:

.. math:: PK\{(\mathbf{a}, \mathbf{b} \in \mathbb{Z}_r^N):
          P = \langle \mathbf{a}, \mathbf{G}' \rangle + \langle \mathbf{b}, \mathbf{H}' \rangle
              + \langle \mathbf{a}, \mathbf{b} \rangle · Q\}

(Additive notation throughout, as in circuits/notes/range-proof.md.) The range proof
uses it with ``g = 1``, ``h_i = y^{-i}``, ``Q = w·u``; the factors let the prover work on
the original, prepared generators instead of computing ``y^{-i}·H_i``.

Prover, while ``n > 1`` (``lo``/``hi`` are the halves, ``n' = n/2``):

1. ``c_L = <a_lo, b_hi>``, ``c_R = <a_hi, b_lo>``;
   ``L = <a_lo, G'_hi> + <b_hi, H'_lo> + c_L·Q``, ``R = <a_hi, G'_lo> + <b_lo, H'_hi> + c_R·Q``.
2. Append ``L``, ``R``; draw ``x``.
3. ``a ← x·a_lo + x⁻¹·a_hi``, ``b ← x⁻¹·b_lo + x·b_hi``,
   ``G' ← x⁻¹·G'_lo + x·G'_hi``, ``H' ← x·H'_lo + x⁻¹·H'_hi``.

Then send the final ``a``, ``b`` (length 1).

Verifier: replay the transcript for the ``x_k``; with ``s_i = ∏_k x_k^{±1}`` (``+1`` iff
the bit of ``i`` that round ``k`` splits on is set) the unrolled check is
``P + Σ_k (x_k²·L_k + x_k⁻²·R_k) = a·Σ s_i·G'_i + b·Σ s_i⁻¹·H'_i + a·b·Q``, one MSM.
:func:`verification_scalars` returns the ``x_k²``, ``x_k⁻²`` and ``s`` so that the range
proof folds this check into its own single MSM.

Transcript order: ``domain_sep(DOMSEP_INNER_PRODUCT, N)``, then per round ``L``, ``R``
(identity refused) and the challenge ``x_ipa``.

Implementation notes (departures in *how*, not *what*):

- Folded generators are kept as ``f_i·P_i`` (a scalar factor and a point), so a fold
  costs one scalar multiplication per new generator instead of two:
  ``x⁻¹f_lo·P_lo + x·f_hi·P_hi = (x⁻¹f_lo)·(P_lo + (x²f_hi/f_lo)·P_hi)``.
- The first round's ``L`` and ``R`` are MSMs over the original generators, through the
  caller's prepared bases (``G_vec ‖ H_vec ‖ [Q_base]``); later rounds use ``g1_msm``.
  After the last round nothing is folded.

See circuits/notes/range-proof.md for the why and the cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from circuits import constants as k
from circuits.backend import GroupBackend
from circuits.backend.interface import G1
from circuits.bbs.core import g1_from_bytes_nonidentity, scalar_from_bytes, scalar_to_bytes
from circuits.errors import EncodingError, ParameterError, VerificationError
from circuits.transcript import Transcript

R = k.R


def inner(a: Sequence[int], b: Sequence[int]) -> int:
    return sum(x * y for x, y in zip(a, b, strict=True)) % R


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
class InnerProductProof:
    """``L_k``, ``R_k`` of each round, and the final scalars ``a``, ``b``."""

    L_vec: tuple
    R_vec: tuple
    a: int
    b: int

    @staticmethod
    def size(N: int) -> int:
        return 2 * log2_exact(N) * k.G1_BYTES + 2 * k.SCALAR_BYTES

    def to_bytes(self, backend: GroupBackend) -> bytes:
        """``L_0 ‖ R_0 ‖ … ‖ L_{K-1} ‖ R_{K-1} ‖ a ‖ b`` (compressed points, 32-byte scalars)."""
        rounds = (backend.g1_to_bytes(P) for pair in zip(self.L_vec, self.R_vec, strict=True) for P in pair)
        return b"".join(rounds) + scalar_to_bytes(self.a) + scalar_to_bytes(self.b)

    @classmethod
    def from_bytes(cls, backend: GroupBackend, data: bytes, N: int) -> InnerProductProof:
        """Strict: exact length, canonical points in G1 other than the identity, scalars < r."""
        if len(data) != cls.size(N):
            raise EncodingError(f"an inner-product proof for N={N} is {cls.size(N)} bytes, got {len(data)}")
        K, g = log2_exact(N), k.G1_BYTES
        points = [g1_from_bytes_nonidentity(backend, data[i * g : (i + 1) * g]) for i in range(2 * K)]
        end = 2 * K * g
        a = scalar_from_bytes(data[end : end + k.SCALAR_BYTES])
        b = scalar_from_bytes(data[end + k.SCALAR_BYTES :])
        return cls(tuple(points[0::2]), tuple(points[1::2]), a, b)


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


def _fold(backend: GroupBackend, P: list, f: list[int], c_lo: int, c_hi: int) -> tuple[list, list[int]]:
    """``c_lo·f_lo·P_lo + c_hi·f_hi·P_hi`` as ``f'·P'``: one multiplication per element."""
    h = len(P) // 2
    factors = [c_lo * f_lo % R for f_lo in f[:h]]
    ratios = [c_hi * f_hi * inv % R for f_hi, inv in zip(f[h:], batch_invert(factors))]
    points = [backend.g1_add(P[i], backend.g1_mul(P[h + i], ratios[i])) for i in range(h)]
    return points, factors


def prove(
    transcript: Transcript,
    backend: GroupBackend,
    *,
    Q_base: G1,
    Q_factor: int,
    G_vec: Sequence[G1],
    H_vec: Sequence[G1],
    G_factors: Sequence[int],
    H_factors: Sequence[int],
    a: Sequence[int],
    b: Sequence[int],
    prepared: Any = None,
) -> InnerProductProof:
    """Prove ``P = <a, G'> + <b, H'> + <a, b>·Q`` with ``G'_i = G_factors[i]·G_vec[i]`` etc., ``Q = Q_factor·Q_base``.

    ``prepared``, if given, is a ``g1_msm_prepare`` handle whose first ``2N + 1`` bases
    are ``G_vec ‖ H_vec ‖ [Q_base]``.
    """
    N = len(G_vec)
    if not (len(H_vec) == len(G_factors) == len(H_factors) == len(a) == len(b) == N):
        raise ParameterError("inner-product argument: vectors of different lengths")
    log2_exact(N)
    transcript.domain_sep(k.DOMSEP_INNER_PRODUCT, N)
    G, H, gf, hf = list(G_vec), list(H_vec), [f % R for f in G_factors], [f % R for f in H_factors]
    a, b = [x % R for x in a], [x % R for x in b]
    L_vec, R_vec = [], []
    n = N
    while n > 1:
        h = n // 2
        c_L, c_R = inner(a[:h], b[h:]), inner(a[h:], b[:h])
        L_g = [x * f % R for x, f in zip(a[:h], gf[h:])]  # on G_hi
        L_h = [x * f % R for x, f in zip(b[h:], hf[:h])]  # on H_lo
        R_g = [x * f % R for x, f in zip(a[h:], gf[:h])]  # on G_lo
        R_h = [x * f % R for x, f in zip(b[:h], hf[h:])]  # on H_hi
        if n == N and prepared is not None:
            zeros = [0] * h
            L = backend.g1_msm_prepared(prepared, [*zeros, *L_g, *L_h, *zeros, c_L * Q_factor])
            R_ = backend.g1_msm_prepared(prepared, [*R_g, *zeros, *zeros, *R_h, c_R * Q_factor])
        else:
            L = backend.g1_msm([*G[h:], *H[:h], Q_base], [*L_g, *L_h, c_L * Q_factor])
            R_ = backend.g1_msm([*G[:h], *H[h:], Q_base], [*R_g, *R_h, c_R * Q_factor])
        transcript.append_point(k.IPA_LABEL_L, L, backend)
        transcript.append_point(k.IPA_LABEL_R, R_, backend)
        L_vec.append(L)
        R_vec.append(R_)
        x = transcript.challenge_scalar(k.IPA_LABEL_X)
        x_inv = _inv(x)
        a = [(lo * x + hi * x_inv) % R for lo, hi in zip(a[:h], a[h:])]
        b = [(lo * x_inv + hi * x) % R for lo, hi in zip(b[:h], b[h:])]
        if h > 1:
            G, gf = _fold(backend, G, gf, x_inv, x)
            H, hf = _fold(backend, H, hf, x, x_inv)
        n = h
    return InnerProductProof(tuple(L_vec), tuple(R_vec), a[0], b[0])


def verification_scalars(
    proof: InnerProductProof, N: int, transcript: Transcript, backend: GroupBackend
) -> tuple[list[int], list[int], list[int]]:
    """Replay the transcript; return ``(x_k², x_k⁻², s)`` with ``s_i = ∏_k x_k^{±1}`` (see the module doc)."""
    K = log2_exact(N)
    if len(proof.L_vec) != K or len(proof.R_vec) != K:
        raise VerificationError(f"an inner-product proof for N={N} has {K} rounds")
    transcript.domain_sep(k.DOMSEP_INNER_PRODUCT, N)
    xs = []
    for L, R_ in zip(proof.L_vec, proof.R_vec):
        transcript.append_point(k.IPA_LABEL_L, L, backend)
        transcript.append_point(k.IPA_LABEL_R, R_, backend)
        xs.append(transcript.challenge_scalar(k.IPA_LABEL_X))
    x_inv = batch_invert(xs)
    x_sq = [x * x % R for x in xs]
    x_inv_sq = [x * x % R for x in x_inv]
    # s_0 = ∏ x_k⁻¹; setting bit j of i (split on in round K−1−j) turns x⁻¹ into x: multiply by x².
    s = [1] * N
    for xi in x_inv:
        s[0] = s[0] * xi % R
    for i in range(1, N):
        j = i.bit_length() - 1
        s[i] = s[i - (1 << j)] * x_sq[K - 1 - j] % R
    return x_sq, x_inv_sq, s


def verify(
    transcript: Transcript,
    backend: GroupBackend,
    proof: InnerProductProof,
    P: G1,
    *,
    Q: G1,
    G_vec: Sequence[G1],
    H_vec: Sequence[G1],
    G_factors: Sequence[int],
    H_factors: Sequence[int],
) -> None:
    """Standalone check of the unrolled equation in one MSM (the range proof inlines it instead)."""
    N = len(G_vec)
    x_sq, x_inv_sq, s = verification_scalars(proof, N, transcript, backend)
    a, b = proof.a, proof.b
    scalars = [a * s[i] * G_factors[i] for i in range(N)]
    scalars += [b * s[N - 1 - i] * H_factors[i] for i in range(N)]
    scalars += [a * b, -1, *(-x for x in x_sq), *(-x for x in x_inv_sq)]
    points = [*G_vec, *H_vec, Q, P, *proof.L_vec, *proof.R_vec]
    if not backend.g1_is_identity(backend.g1_msm(points, scalars)):
        raise VerificationError("inner-product argument does not hold")
