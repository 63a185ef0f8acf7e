r"""The holder's side of the revocation accumulator: witness updates from public events, and the witness check.

Notation as in :mod:`circuits.accumulator.accumulator`: the holder owns handle ``y``
and witness ``C`` with ``(y + α)·C = V``; the ledger publishes revocation events
``(y_1, V_1), …, (y_k, V_k)`` with ``V_j = (y_j + α)^{-1}·V_{j-1}`` and ``V_0 = V``.

Relation checked (in the clear, by the holder)::

    R = { (V, Q; y, C) :  e(C, Q + y·P2) = e(V, P2) }

Holder steps (never contacting the issuer; only ``y_j`` and ``V_j`` are used):

1. One event: ``C' = (y_j − y)^{-1}·(C − V_j)``. If ``y_j = y`` the holder's own handle
   was revoked: :class:`~circuits.accumulator.accumulator.RevokedError`, never a witness.
2. ``k`` events at once, composed over scalars (derivation in circuits/notes/accumulator.md)::

       C_k = S_1·C − Σ_{j=1..k} S_j·V_j,   S_j = (∏_{l=j..k} (y_l − y))^{-1}

   The ``S_j`` cost one inversion (of the full product) and ``2k`` field multiplications:
   ``S_{j+1} = S_j·(y_j − y)``. Then ONE multi-scalar multiplication over ``k + 1``
   points. For ``k < 16`` the step-by-step form (``k`` multiplications, one fewer than
   the MSM's ``k + 1``) is used instead, with ``(y_j − y)^{-1} = S_j·∏_{l>j}(y_l − y)``
   from the same single inversion. Both give the same point (tested).
3. :func:`verify_witness`: ``e(C, Q) · e(y·C − V, P2) = 1`` (one G1 multiplication, a
   two-pair pairing check), which is ``e(C, Q + y·P2) = e(V, P2)`` without a G2 multiplication.

Events that many witnesses will consume (a wallet holding several credentials of one
registry) can be decoded and handed to the backend once with :func:`prepare_events`;
the MSM then reuses the converted bases.

>>> from circuits.backend import get_backend
>>> from circuits.accumulator.accumulator import setup_registry, issue_witness, revoke, handle
>>> be = get_backend()
>>> sk, reg = setup_registry(b"doc", 4, backend=be)
>>> y = handle(b"doc", 0)
>>> C = issue_witness(sk, reg.V0, y, backend=be)
>>> event = revoke(sk, reg.V0, handle(b"doc", 1), backend=be)
>>> C2 = update_witness(C, y, [event], backend=be)
>>> verify_witness(C2, y, event.V, reg.Q, backend=be)
>>> update_witness(C, handle(b"doc", 1), [event], backend=be)
Traceback (most recent call last):
...
circuits.accumulator.accumulator.RevokedError: handle was revoked by event 0

See circuits/notes/accumulator.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from circuits.accumulator.accumulator import RevocationEvent, RevokedError
from circuits.backend import GroupBackend
from circuits.backend.interface import G1, G2
from circuits.constants import R
from circuits.errors import VerificationError

#: Below this many events the step-by-step update (k multiplications) beats one MSM of k + 1 points.
SEQUENTIAL_BELOW = 16


@dataclass(frozen=True, eq=False)
class PreparedEvents:
    """Consecutive revocation events with their values converted once for the backend's MSM."""

    ys: tuple[int, ...]
    Vs: tuple[G1, ...]
    bases: Any  # backend.g1_msm_prepare(Vs)

    def __len__(self) -> int:
        return len(self.ys)


def prepare_events(events: Sequence[RevocationEvent], *, backend: GroupBackend) -> PreparedEvents:
    """Hold ``events`` (in ledger order) ready for many :func:`update_witness` calls."""
    events = list(events)
    Vs = tuple(e.V for e in events)
    return PreparedEvents(tuple(e.y % R for e in events), Vs, backend.g1_msm_prepare(Vs))


def _coefficients(y: int, ys: Sequence[int]) -> tuple[list[int], list[int]]:
    """``(S_1..S_k, P_2..P_{k+1})``: ``S_j = (∏_{l≥j} e_l)^{-1}``, ``P_j = ∏_{l≥j} e_l``, ``e_l = y_l − y``."""
    diffs = [(yj - y) % R for yj in ys]
    for j, d in enumerate(diffs):
        if d == 0:
            raise RevokedError(f"handle was revoked by event {j}")
    k = len(diffs)
    suffix = [1] * (k + 1)  # suffix[j] = ∏_{l≥j} e_l (0-based), suffix[k] = 1
    for j in range(k - 1, -1, -1):
        suffix[j] = suffix[j + 1] * diffs[j] % R
    S = [0] * k
    s = pow(suffix[0], -1, R)
    for j in range(k):
        S[j] = s
        s = s * diffs[j] % R
    return S, suffix[1:]


def update_witness(C: G1, y: int, events: Sequence[RevocationEvent] | PreparedEvents, *, backend: GroupBackend) -> G1:
    """Steps 1–2: the witness after ``events`` (in ledger order), from public data only.

    Raises :class:`RevokedError` if one of the events removes ``y`` itself. The result is
    not checked here (that costs a pairing); call :func:`verify_witness` against the
    latest value when it matters.
    """
    if isinstance(events, PreparedEvents):
        ys, Vs, bases = events.ys, events.Vs, events.bases
    else:
        events = list(events)
        ys, Vs, bases = tuple(e.y for e in events), tuple(e.V for e in events), None
    if not ys:
        return C
    S, tail = _coefficients(y % R, ys)
    if len(ys) < SEQUENTIAL_BELOW:
        for Vj, s, t in zip(Vs, S, tail, strict=True):
            C = backend.g1_mul(backend.g1_add(C, backend.g1_neg(Vj)), s * t % R)
        return C
    neg = [(-s) % R for s in S]
    if bases is not None:
        return backend.g1_msm_prepared(bases, neg, [C], [S[0]])
    return backend.g1_msm([C, *Vs], [S[0], *neg])


def verify_witness(C: G1, y: int, V: G1, Q: G2, *, backend: GroupBackend) -> None:
    """Step 3: ``e(C, Q + y·P2) = e(V, P2)``, or :class:`~circuits.errors.VerificationError`."""
    if backend.g1_is_identity(C):
        raise VerificationError("witness is the identity")
    D = backend.g1_add(backend.g1_mul(C, y % R), backend.g1_neg(V))
    if not backend.pairing_check([(C, Q), (D, backend.g2_generator())]):
        raise VerificationError("witness does not match the accumulator value")
