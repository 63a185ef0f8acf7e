"""The one small interface every BLS12-381 backend implements (DESIGN §2).

Points are opaque values owned by the backend; scalars are Python ``int`` in [0, r).
Callers never touch a backend's point type directly: they go through these methods, so
``blst`` and ``py_ecc`` (and any backend added later) are interchangeable and give
byte-identical outputs — the vector tests run on each.

Decoding is strict everywhere (``*_from_bytes``): the ZCash compressed encoding only,
canonical flag bits, coordinates < p, on the curve, in the prime-order subgroup. The
identity decodes (some protocols need it); protocols that forbid it check with
``*_is_identity`` and raise :class:`~circuits.errors.IdentityPointError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

G1 = Any  # backend-specific point in G1
G2 = Any  # backend-specific point in G2


@runtime_checkable
class GroupBackend(Protocol):
    """G1/G2 arithmetic, strict encodings, hashing to G1 and a pairing-product check."""

    name: str

    def __hash__(self) -> int:
        """Backends are hashable: per-backend caches (generators, Pedersen bases) key on them."""
        ...

    # G1 ---------------------------------------------------------------------------
    def g1_generator(self) -> G1: ...
    def g1_identity(self) -> G1: ...
    def g1_add(self, a: G1, b: G1) -> G1: ...
    def g1_neg(self, a: G1) -> G1: ...
    def g1_mul(self, a: G1, k: int, *, public: bool = False) -> G1: ...
    def g1_msm(self, points: Sequence[G1], scalars: Sequence[int], *, public: bool = False) -> G1:
        """Σ scalars[i]·points[i]; the hot path of range proofs.

        Scalars are treated as secret unless ``public=True`` (the verifier's responses,
        challenges and weights): a backend may then skip zero windows, zero terms and
        multiplications by one (circuits/notes/side-channels.md).
        """
        ...

    def g1_msm_prepare(self, points: Sequence[G1]) -> Any:
        """An opaque handle for bases used in many MSMs (generator lists): convert them once."""
        ...

    def g1_msm_prepared(
        self,
        prepared: Any,
        scalars: Sequence[int],
        extra_points: Sequence[G1] = (),
        extra_scalars: Sequence[int] = (),
        *,
        public: bool = False,
    ) -> G1:
        """Σ scalars[i]·bases[i] + Σ extra_scalars[j]·extra_points[j], in one MSM.

        ``scalars`` may be shorter than the prepared bases (the rest count as zero), so one
        handle serves every prefix; zero scalars cost (almost) nothing. ``extra_points``
        are the few per-call points (a proof's own), converted on the fly.
        """
        ...

    def g1_msm_prepared_is_identity(
        self,
        prepared: Any,
        scalars: Sequence[int],
        extra_points: Sequence[G1] = (),
        extra_scalars: Sequence[int] = (),
    ) -> bool:
        """Is :meth:`g1_msm_prepared` of these (public) scalars the identity? A verifier's check:
        the sum itself is never needed, so a backend may skip bringing it back as a point."""
        ...

    def g1_mark_fixed(self, point: G1) -> None:
        """Hint: ``point`` is long-lived and multiplied often (a backend may precompute for it)."""
        ...

    def g1_eq(self, a: G1, b: G1) -> bool: ...
    def g1_is_identity(self, a: G1) -> bool: ...
    def g1_to_bytes(self, a: G1) -> bytes: ...
    def g1_from_bytes(self, data: bytes) -> G1: ...
    def g1_from_bytes_msm(self, data: bytes) -> G1:
        """:meth:`g1_from_bytes` (as strict) for a point that will only be encoded
        (:meth:`g1_to_bytes`), tested (:meth:`g1_is_identity`) and used as an extra point of
        :meth:`g1_msm_prepared` and its ``is_identity`` variants — a proof's own points in a
        verifier's final check. A backend may keep it in its MSM engine's form (the blst
        backend: arkworks', decoded and checked there, so it is never converted)."""
        ...

    # G2 ---------------------------------------------------------------------------
    def g2_generator(self) -> G2: ...
    def g2_identity(self) -> G2: ...
    def g2_add(self, a: G2, b: G2) -> G2: ...
    def g2_neg(self, a: G2) -> G2: ...
    def g2_mul(self, a: G2, k: int) -> G2: ...
    def g2_eq(self, a: G2, b: G2) -> bool: ...
    def g2_is_identity(self, a: G2) -> bool: ...
    def g2_to_bytes(self, a: G2) -> bytes: ...
    def g2_from_bytes(self, data: bytes) -> G2: ...

    # Hashing and pairing ------------------------------------------------------------
    def hash_to_g1_xmd_sha256(self, msg: bytes, dst: bytes) -> G1:
        """RFC 9380 ``BLS12381G1_XMD:SHA-256_SSWU_RO_`` in one call (native where possible)."""
        ...

    def map_to_g1(self, u0: int, u1: int) -> G1:
        """RFC 9380 §3 hash_to_curve after hash_to_field: clear_cofactor(map(u0) + map(u1))."""
        ...

    def pairing_check(self, pairs: Sequence[tuple[G1, G2]]) -> bool:
        """True iff ∏ e(P_i, Q_i) is the identity of GT."""
        ...
