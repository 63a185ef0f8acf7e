r"""The one interface every statement of a presentation implements, and the state it shares.

A statement (:class:`Statement`) declares

- ``tag`` — its protocol tag (a ``DOMSEP_*`` of :mod:`circuits.constants`), appended
  under ``dom-sep`` before anything else it appends;
- ``absorb(t, …)`` — its transcript contribution, the one place its labels and their
  order are written; the prover calls it with the values it computed, the verifier with
  the values it recomputed;
- ``prove(p, t)`` — the prover contribution: compute the first message from the
  witnesses in :class:`ProverState` and ``absorb`` it; return ``respond(c, out)``, which
  writes the responses for the one challenge into the presentation being built;
- ``replay(v, t)`` — the verifier contribution: recompute the first message from the
  responses and the challenge (reading shared responses such as a BBS ``m̂`` from
  :class:`VerifierState`), ``absorb`` it, and queue any pairing equation; raise
  :class:`PresentationRejected` with a stable code when the statement cannot hold.

:func:`circuits.presentation.create_presentation` and
:func:`~circuits.presentation.verify_presentation` are two loops over one list of such
statements (the plan, :mod:`circuits.statements.plan`), so the transcript order is
written once.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from circuits.backend import GroupBackend
from circuits.backend.interface import G1, G2
from circuits.errors import ParameterError, VerificationError
from circuits.rng import Rng
from circuits.transcript import Transcript

if TYPE_CHECKING:
    from circuits.bbs.core import ProofInitResult
    from circuits.presentation import RevocationWitness
    from circuits.statements.plan import Plan
    from circuits.wire import NotEqualProof, Presentation, SetMembershipProof


class UnsatisfiableError(ParameterError):
    """The holder's credentials cannot meet the request; ``reason`` names what fails."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PresentationRejected(VerificationError):
    """Verification failed; ``code`` is a stable reason code for APIs."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


@dataclass
class ProverState:
    """The witnesses and shared blindings of one presentation run (never serialised or logged)."""

    be: GroupBackend
    rng: Rng
    G: G1
    H: G1
    plan: Plan
    msgs: list[list[int]]  # per credential: every message scalar
    signatures: list[bytes]  # per credential: its BBS signature (A, e)
    tilde: list[dict[int, int]]  # per credential: the one blinding m̃ of each hidden message
    revocation: dict[int, RevocationWitness]  # credential -> its non-revocation witness
    link_secret: int
    blindings: list[int] = field(default_factory=list)  # s_i of the commitments C_i
    commitments: list[G1] = field(default_factory=list)  # C_i = m·G + s_i·H
    first_init: ProofInitResult | None = None  # credential 1's BBS ProofInit (the one challenge hashes it)
    combined: list[G1] = field(default_factory=list)  # C_L = Σ c'_i·C_i per linear predicate

    def __repr__(self) -> str:
        return "ProverState(<secret>)"


@dataclass
class Responses:
    """What the prover's statements write, field by field, into the wire :class:`~circuits.wire.Presentation`."""

    credentials: list[dict[str, Any]]
    commitments: tuple[G1, ...] = ()
    openings: tuple[int, ...] = ()
    range_proof: bytes = b""
    not_equal: list[NotEqualProof] = field(default_factory=list)
    sets: list[SetMembershipProof] = field(default_factory=list)


@dataclass
class VerifierState:
    """What the verifier's statements read (the presentation, derived public values) and queue."""

    be: GroupBackend
    G: G1
    H: G1
    plan: Plan
    presentation: Presentation
    c: int
    disclosed: list[list[int]]  # per credential: the disclosed message scalars, re-encoded by the verifier
    accumulator_at: Callable[[str, int], bytes] | None
    query_ids: list[str]
    pairings: list[tuple[G1, G2, G1, str]] = field(default_factory=list)  # (X, Y, Z, reason): e(X,Y)=e(Z,P2)
    first_init: ProofInitResult | None = None
    revocation_heights: dict[str, int] = field(default_factory=dict)
    pseudonyms: dict[str, str] = field(default_factory=dict)  # query id -> b64 of the pseudonym
    combined: list[G1] = field(default_factory=list)  # C_L = Σ c'_i·C_i per linear predicate, derived
    escrows: dict[str, Any] = field(default_factory=dict)  # query id -> circuits.escrow.Escrowed

    def m_hat(self, ci: int, index: int) -> int:
        """The BBS proof's response for hidden message ``index`` of credential ``ci`` (the shared ``m̂``)."""
        return self.presentation.credentials[ci].m_hat[self.plan.hidden_position(ci, index)]


class Statement(abc.ABC):
    """One statement of a presentation; see the module docstring for the contract.

    Subclasses also define ``absorb(t, …)``, the one writer of their transcript labels,
    which both ``prove`` and ``replay`` call (its arguments differ per statement).
    """

    tag: ClassVar[bytes]

    @abc.abstractmethod
    def prove(self, p: ProverState, t: Transcript) -> Callable[[int, Responses], None]:
        """Compute and absorb the first message; return ``respond(c, out)``."""

    @abc.abstractmethod
    def replay(self, v: VerifierState, t: Transcript) -> None:
        """Recompute and absorb the first message from the responses and ``c``; queue pairings."""


def reject_on(code: str, fn: Callable[[], Any]) -> Any:
    """Run ``fn``; turn any :class:`~circuits.errors.ZkCredError` into :class:`PresentationRejected` (``code``)."""
    from circuits.errors import ZkCredError

    try:
        return fn()
    except PresentationRejected:
        raise
    except ZkCredError as e:
        raise PresentationRejected(code, str(e)) from None
