r"""Statement: hidden messages are equal — across credentials too (same link secret, requested equalities).

Relation, for a group ``(k_1, j_1), …, (k_n, j_n)`` of (credential, hidden message)::

    PK{ (m) :  m_{k_1, j_1} = … = m_{k_n, j_n} = m }

No first message of its own: the prover gives every member the same blinding ``m̃``, so
the BBS proofs' responses ``m̂ = m̃ + c·m`` are equal, and the verifier checks they are.
Two accepting transcripts with ``c ≠ c'`` extract each member's message as
``(m̂ − m̂')/(c − c')`` — the same value for every member.

Transcript (this statement's only writer) — the group's shape, for the record of what
was proven (the request digest binds it already)::

    dom-sep(DOMSEP_EQUALITY, n) · (equal-member I2OSP(k, 8) ‖ I2OSP(j, 8))_{n members}
"""

from __future__ import annotations

from collections.abc import Callable

from circuits import constants as k
from circuits.statements.base import PresentationRejected, ProverState, Responses, Statement, VerifierState
from circuits.transcript import Transcript


class Equality(Statement):
    tag = k.DOMSEP_EQUALITY

    def __init__(self, group: list[tuple[int, int]]) -> None:
        self.group = group

    def absorb(self, t: Transcript) -> None:
        t.domain_sep(self.tag, len(self.group))
        for ci, idx in self.group:
            t.append(k.PRES_LABEL_EQUAL_MEMBER, ci.to_bytes(8, "big") + idx.to_bytes(8, "big"))

    def prove(self, p: ProverState, t: Transcript) -> Callable[[int, Responses], None]:
        if len({p.tilde[ci][idx] for ci, idx in self.group}) != 1:  # pragma: no cover - create_presentation shares them
            raise ValueError("equal messages must share one blinding")
        self.absorb(t)
        return lambda c, out: None

    def replay(self, v: VerifierState, t: Transcript) -> None:
        if len({v.m_hat(ci, idx) for ci, idx in self.group}) != 1:
            raise PresentationRejected("equality", "hidden values that must be equal are not")
        self.absorb(t)
