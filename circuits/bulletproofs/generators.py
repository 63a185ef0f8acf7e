"""Nothing-up-my-sleeve generators of the range proof: ``G_vec`` and ``H_vec``.

``G_vec[i] = hash_to_curve("G_vec" || I2OSP(i, 8))`` and ``H_vec[i]`` likewise with
``"H_vec"``, under ``constants.BULLETPROOFS_GENERATOR_DST``
(RFC 9380 ``BLS12381G1_XMD:SHA-256_SSWU_RO_``). Each generator depends on its index
only, so the lists are *prefix-stable*: a proof over ``N`` bits uses the first ``N`` of
each, whatever else was generated before (bulletproofs ``generators.rs`` does the same
with its SHAKE chains). Nobody knows a discrete-log relation between any two of them,
nor with the Pedersen ``G``, ``H`` (another DST) — the binding of ``A``, ``S`` and of the
inner-product argument rests on that.

:class:`RangeProofBases` bundles, for one ``N = n·m``, the bases of every MSM in a range
proof — ``G_vec[:N] ‖ H_vec[:N] ‖ [G, H]`` — prepared once per backend
(``g1_msm_prepare``: with the ``fast`` extra, their arkworks twins), so each proof only
converts its own handful of points. See circuits/notes/range-proof.md.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import Any

from circuits import constants as k
from circuits.backend import GroupBackend
from circuits.backend.interface import G1
from circuits.hashing import XMD_SHA256, i2osp
from circuits.pedersen import PedersenGens

_lock = threading.Lock()
_vectors: dict[tuple[str, bytes], list[G1]] = {}


def _vector(backend: GroupBackend, label: bytes, count: int) -> list[G1]:
    """The first ``count`` generators of the chain ``label`` (grown on demand, cached per backend)."""
    with _lock:
        chain = _vectors.setdefault((backend.name, label), [])
        for i in range(len(chain), count):
            chain.append(XMD_SHA256.hash_to_g1(backend, label + i2osp(i, 8), k.BULLETPROOFS_GENERATOR_DST))
        return chain[:count]


def G_vec(backend: GroupBackend, count: int) -> list[G1]:
    return _vector(backend, k.BULLETPROOFS_G_VEC_LABEL, count)


def H_vec(backend: GroupBackend, count: int) -> list[G1]:
    return _vector(backend, k.BULLETPROOFS_H_VEC_LABEL, count)


@dataclass(frozen=True, eq=False)
class RangeProofBases:
    """Every base of a range proof over ``N`` bits, prepared in the order ``G_vec ‖ H_vec ‖ [G, H]``."""

    N: int
    G_vec: tuple[G1, ...]
    H_vec: tuple[G1, ...]
    pedersen: PedersenGens
    prepared: Any

    @property
    def G_index(self) -> int:
        return 2 * self.N

    @property
    def H_index(self) -> int:
        return 2 * self.N + 1

    @classmethod
    def get(cls, backend: GroupBackend, N: int, pedersen: PedersenGens) -> RangeProofBases:
        """Cached per (backend, N, Pedersen generators): preparing costs ~45 µs a base with arkworks."""
        return _bases(backend, N, pedersen)


@functools.lru_cache(maxsize=64)
def _bases(backend: GroupBackend, N: int, pedersen: PedersenGens) -> RangeProofBases:
    gs, hs = tuple(G_vec(backend, N)), tuple(H_vec(backend, N))
    prepared = backend.g1_msm_prepare((*gs, *hs, pedersen.G, pedersen.H))
    return RangeProofBases(N, gs, hs, pedersen, prepared)
