r"""Pedersen commitments over G1: ``C = v·G + s·H``.

Relation opened in zero knowledge by the protocols above this module (Camenisch–Stadler):

.. math:: PK\{(v, s): C = v·G + s·H\}

- ``G`` and ``H`` are RFC 9380 hash_to_curve outputs (``BLS12381G1_XMD:SHA-256_SSWU_RO_``)
  of the messages ``"G"`` and ``"H"`` under ``constants.PEDERSEN_GENERATOR_DST``: nobody
  knows ``log_G H``, so a commitment is *binding* under the discrete-logarithm
  assumption, and *perfectly hiding* for a uniform blinding ``s``.
- Commitments add: ``commit(v1, s1) + commit(v2, s2) = commit(v1 + v2, s1 + s2)``, which
  is how a predicate turns "a ≥ t" into a range proof on ``C − t·G`` (same blinding).

Steps: ``commit`` is one two-term MSM; there is no transcript here (callers append the
commitment where their protocol says). See circuits/notes/range-proof.md.

>>> from circuits.backend import get_backend
>>> pg = PedersenGens.default(get_backend())
>>> be = pg.backend
>>> be.g1_eq(be.g1_add(pg.commit(2, 10), pg.commit(3, 20)), pg.commit(5, 30))
True
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from circuits import constants as k
from circuits.backend import GroupBackend
from circuits.backend.interface import G1
from circuits.hashing import XMD_SHA256


@dataclass(frozen=True, eq=False)
class PedersenGens:
    """The two bases of a Pedersen commitment: ``G`` for the value, ``H`` for the blinding."""

    backend: GroupBackend = field(repr=False)
    G: G1
    H: G1

    @classmethod
    def default(cls, backend: GroupBackend) -> PedersenGens:
        """zkcred's generators (hash_to_curve with ``PEDERSEN_GENERATOR_DST``), cached per backend."""
        return _default(backend)

    def commit(self, value: int, blinding: int) -> G1:
        """``value·G + blinding·H`` (both taken mod r)."""
        return self.backend.g1_msm((self.G, self.H), (value % k.R, blinding % k.R))


@functools.cache
def _default(backend: GroupBackend) -> PedersenGens:
    h2c = XMD_SHA256.hash_to_g1
    gens = PedersenGens(
        backend,
        h2c(backend, k.PEDERSEN_G_LABEL, k.PEDERSEN_GENERATOR_DST),
        h2c(backend, k.PEDERSEN_H_LABEL, k.PEDERSEN_GENERATOR_DST),
    )
    backend.g1_mark_fixed(gens.G)
    backend.g1_mark_fixed(gens.H)
    return gens
