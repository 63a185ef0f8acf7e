r"""Sigma-protocol helpers shared by every statement.

The statements of a presentation (Pedersen openings, ≠, set membership, equality,
accumulator membership, pseudonyms) live in :mod:`circuits.statements`, one module each,
on one interface; this package keeps the scalar helpers they and the range proofs share
(:func:`powers`, :func:`random_scalar`), and is the home of the
draft-irtf-cfrg-sigma-protocols engine.
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
