r"""Revocation: a positive pairing-based accumulator with unlinkable membership proofs (DESIGN §6).

Modules:

- :mod:`~circuits.accumulator.accumulator` — issuer: handles ``y_i``, :func:`setup_registry`
  (``Q = α·P2``, ``V0 = ∏(y_i + α)·P1``, no tails file), :func:`issue_witness`,
  :func:`revoke`, :func:`revoke_batch`, the public :class:`RevocationEvent`.
- :mod:`~circuits.accumulator.witness` — holder: :func:`update_witness` from public
  events only (``C' = (y_j − y)^{-1}·(C − V_j)``, k events composed into one MSM),
  :func:`verify_witness` (``e(C, Q + y·P2) = e(V, P2)``).
- :mod:`~circuits.accumulator.proof` — :class:`MembershipProver` /
  :func:`verify_init` / :func:`check_pairing`, composable under one Fiat–Shamir
  challenge with ŷ shared with the BBS proof; standalone :func:`prove` / :func:`verify`.

Relation (Camenisch–Stadler)::

    PK{ (r, y) :  B̄ = r·V − y·C̄ }  with  e(C̄, Q) = e(B̄, P2),  C̄ ≠ 1

Papers: L. Nguyen, "Accumulators from Bilinear Pairings and Applications", CT-RSA 2005;
G. Vitto, A. Biryukov, "Dynamic Universal Accumulator with Batch Update over Bilinear
Groups", CT-RSA 2022. The math and the design choices: circuits/notes/accumulator.md.
"""

from circuits.accumulator.accumulator import (
    RegistryPublic,
    RegistrySecret,
    RevocationEvent,
    RevokedError,
    handle,
    handles,
    issue_witness,
    revoke,
    revoke_batch,
    setup_registry,
)
from circuits.accumulator.proof import (
    MembershipCommitments,
    MembershipProof,
    MembershipProver,
    StandaloneMembershipProof,
    check_pairing,
    prove,
    verify,
    verify_init,
)
from circuits.accumulator.witness import PreparedEvents, prepare_events, update_witness, verify_witness

__all__ = [
    "MembershipCommitments",
    "MembershipProof",
    "MembershipProver",
    "PreparedEvents",
    "RegistryPublic",
    "RegistrySecret",
    "RevocationEvent",
    "RevokedError",
    "StandaloneMembershipProof",
    "check_pairing",
    "handle",
    "handles",
    "issue_witness",
    "prepare_events",
    "prove",
    "revoke",
    "revoke_batch",
    "setup_registry",
    "update_witness",
    "verify",
    "verify_init",
    "verify_witness",
]
