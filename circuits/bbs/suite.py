"""BBS ciphersuites and their generators (draft-irtf-cfrg-bbs-signatures §4.1.1, §7).

A :class:`Ciphersuite` names its expander and identifiers; everything else (P1, the
message generators for any ``api_id``) is derived, by the draft's ``create_generators``,
and cached per backend — generator chains are prefix-stable, so one list grows on demand.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from circuits import constants as k
from circuits.backend import GroupBackend
from circuits.backend.interface import G1
from circuits.hashing import XMD_SHA256, XOF_SHAKE256, Expander, i2osp


@dataclass
class _GeneratorState:
    """create_generators' running state for one (backend, api_id, seed): the last ``v`` and the points so far."""

    v: bytes
    points: list[G1] = field(default_factory=list)


@dataclass(frozen=True)
class Ciphersuite:
    """One BBS ciphersuite: identifiers, expander, and cached derived points."""

    ciphersuite_id: bytes
    expander: Expander
    _cache: dict[tuple[str, bytes, bytes], _GeneratorState] = field(
        default_factory=dict, compare=False, repr=False, hash=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False, hash=False)

    @property
    def api_id(self) -> bytes:
        """The octet-string interface's api_id: ciphersuite_id || "H2G_HM2S_"."""
        return self.ciphersuite_id + k.BBS_H2G_HM2S

    def hash_to_scalar(self, msg: bytes, dst: bytes) -> int:
        return self.expander.hash_to_scalar(msg, dst, k.BBS_EXPAND_LEN)

    def expand(self, msg: bytes, dst: bytes, n: int) -> bytes:
        return self.expander.expand(msg, dst, n)

    def create_generators(
        self, backend: GroupBackend, count: int, api_id: bytes | None = None, seed: bytes | None = None
    ) -> list[G1]:
        """Draft §4.1.1 create_generators(count, generator_seed, api_id), cached.

        ``seed`` defaults to ``api_id || "MESSAGE_GENERATOR_SEED"``.
        """
        api_id = self.api_id if api_id is None else api_id
        seed = api_id + k.BBS_MESSAGE_GENERATOR_SEED if seed is None else seed
        key = (backend.name, api_id, seed)
        with self._lock:
            state = self._cache.get(key)
            if state is None:
                seed_dst = api_id + k.BBS_SIG_GENERATOR_SEED
                v = self.expand(seed, seed_dst, k.BBS_EXPAND_LEN)
                state = self._cache[key] = _GeneratorState(v)
            points = state.points
            seed_dst = api_id + k.BBS_SIG_GENERATOR_SEED
            gen_dst = api_id + k.BBS_SIG_GENERATOR_DST
            while len(points) < count:
                i = len(points) + 1
                state.v = self.expand(state.v + i2osp(i, 8), seed_dst, k.BBS_EXPAND_LEN)
                point = self.expander.hash_to_g1(backend, state.v, gen_dst)
                backend.g1_mark_fixed(point)
                points.append(point)
            return points[:count]

    def p1(self, backend: GroupBackend) -> G1:
        """The suite's base point P1 (draft §7: create_generators(1, BP seed))."""
        api_id = self.api_id
        return self.create_generators(backend, 1, api_id, api_id + k.BBS_BP_MESSAGE_GENERATOR_SEED)[0]


SHA256 = Ciphersuite(k.BBS_SHA256_CIPHERSUITE_ID, XMD_SHA256)
SHAKE256 = Ciphersuite(k.BBS_SHAKE256_CIPHERSUITE_ID, XOF_SHAKE256)
