r"""One randomness convention for every prover in zkcred (DESIGN §5, STYLE §2.2).

An :data:`Rng` is a callable ``rng(n) -> n bytes``, exactly the shape of
:func:`secrets.token_bytes`, which is the default everywhere (issuance, presentations,
range proofs, the accumulator). Every function that draws randomness takes it as the
keyword ``rng=`` and draws scalars only through :func:`random_scalar` (48 bytes reduced
mod r: RFC 9380's L = 48, bias ≤ 2^-128), so one rng threads through a whole protocol
run in a fixed order.

:func:`seeded` gives a deterministic rng (SHAKE-256 of a DST, the seed and a call
counter) for tests and for frozen compatibility vectors (``tests/compat/``): with it a
presentation is a pure function of its inputs, so it can be regenerated bit for bit.
Never use it for anything a real holder or issuer sends.

The BBS draft's own interface keeps its ``random_scalars=`` parameter (the draft's
mocked ``calculate_random_scalars``, which its fixtures need); zkcred's callers feed it
from an rng through :func:`circuits.bbs.core.calculate_random_scalars`.

>>> a, b = seeded(b"doc"), seeded(b"doc")
>>> random_scalar(a) == random_scalar(b) and a(5) == b(5)
True
>>> 0 < random_scalar() < R
True
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable

from circuits.constants import SEEDED_RNG_DST, R

Rng = Callable[[int], bytes]

#: The default: the operating system's CSPRNG.
DEFAULT_RNG: Rng = secrets.token_bytes

_SCALAR_DRAW = 48


def random_scalar(rng: Rng = secrets.token_bytes) -> int:
    """A uniform non-zero scalar: 48 bytes of ``rng`` reduced mod r (redrawn on 0)."""
    while True:
        s = int.from_bytes(rng(_SCALAR_DRAW), "big") % R
        if s:
            return s


def random_scalars(count: int, rng: Rng = secrets.token_bytes) -> list[int]:
    """``count`` scalars from :func:`random_scalar`, in order."""
    return [random_scalar(rng) for _ in range(count)]


class _Seeded:
    """``rng(n)``: SHAKE-256(DST ‖ len(seed) ‖ seed ‖ counter) truncated to n bytes; counter += 1."""

    __slots__ = ("_prefix", "_counter")

    def __init__(self, seed: bytes) -> None:
        self._prefix = SEEDED_RNG_DST + len(seed).to_bytes(8, "big") + seed
        self._counter = 0

    def __call__(self, n: int) -> bytes:
        out = hashlib.shake_256(self._prefix + self._counter.to_bytes(8, "big")).digest(n)
        self._counter += 1
        return out

    def __repr__(self) -> str:
        return "seeded-rng(<deterministic: tests only>)"


def seeded(seed: bytes | str | int) -> Rng:
    """A deterministic rng for tests and frozen vectors (never for real credentials)."""
    if isinstance(seed, int):
        seed = seed.to_bytes(32, "big")
    elif isinstance(seed, str):
        seed = seed.encode()
    if not isinstance(seed, (bytes, bytearray)):
        raise TypeError("seed must be bytes, str or int")
    return _Seeded(bytes(seed))
