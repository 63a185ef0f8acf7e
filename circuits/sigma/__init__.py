r"""Sigma protocols: draft-irtf-cfrg-sigma-protocols' engine, and scalar helpers every statement shares.

- The draft's engine over BLS12-381 G1 (``LinearRelation`` with instance validation and
  serialization, batchable/compact NARG strings, batch verification) lives in
  :mod:`~circuits.sigma.linear_relation`, :mod:`~circuits.sigma.narg`,
  :mod:`~circuits.sigma.codec` and :mod:`~circuits.sigma.duplex_sponge`, re-exported here;
  see circuits/notes/sigma-protocols.md.
- The statements of a presentation (Pedersen openings, ≠, set membership, equality,
  accumulator membership, pseudonyms) live in :mod:`circuits.statements`, one module
  each, on one interface; this package keeps the scalar helpers they and the range
  proofs share (:func:`powers`, :func:`random_scalar`).

Randomness follows zkcred's one convention (:mod:`circuits.rng`): ``rng(n) -> n bytes``.
"""

from __future__ import annotations

import secrets

from circuits.constants import R
from circuits.rng import Rng
from circuits.rng import random_scalar as _random_scalar


def powers(x: int, count: int, start: int = 1) -> list[int]:
    """``start·x^0, start·x^1, …, start·x^{count−1}`` mod r (challenge weights, y- and z-vectors)."""
    out, acc = [], start % R
    for _ in range(count):
        out.append(acc)
        acc = acc * x % R
    return out


def random_scalar(rng: Rng = secrets.token_bytes) -> int:
    """A uniform non-zero scalar (48 bytes of ``rng`` reduced mod r): :func:`circuits.rng.random_scalar`."""
    return _random_scalar(rng)


# draft-irtf-cfrg-sigma-protocols + draft-irtf-cfrg-fiat-shamir over BLS12-381 G1 (re-exported;
# the engine lives in linear_relation.py, narg.py, codec.py and duplex_sponge.py).
from circuits.sigma.linear_relation import GENERATOR, Equation, LinearRelation  # noqa: E402
from circuits.sigma.narg import (  # noqa: E402
    batch_verify,
    prove_batchable,
    prove_compact,
    verify_batchable,
    verify_compact,
    verify_narg,
)

__all__ = [
    "GENERATOR",
    "Equation",
    "LinearRelation",
    "batch_verify",
    "powers",
    "prove_batchable",
    "prove_compact",
    "random_scalar",
    "verify_batchable",
    "verify_compact",
    "verify_narg",
]
