r"""The plan: what a request means for a given list of credential definitions.

:func:`compile_plan` turns a :class:`~circuits.credentials.PresentationRequest` and the
definitions answering its queries into a :class:`Plan`: which messages each credential
discloses, which hidden messages get a Pedersen commitment, and the list of statements
**in transcript order** — the one place that order is written::

    1. BBS credential 1..K         every BBS first message (ProofInit), before any weight is drawn
    2. commitments + opening       C_i; ρ from the transcript; the batched opening's T
    2b. linear predicates          per predicate: its terms and C_L = Σ c'_i·C_i (no wire field)
    3. range (Bulletproofs+)       one aggregated proof over every range statement (expiry and
                                   each linear predicate's bounds included)
    4. ≠                           one per ≠ value (∉ is a conjunction of ≠)
    5. ∈                           one CDS OR-proof per set
    6. equality                    same link secret across credentials; requested equalities
    7. accumulator membership      per credential whose query asks for non-revocation
    8. pseudonym                   per query with a pseudonym context
    9. escrow                      per query with an escrow clause (ElGamal to an auditor)

then ``ph* = challenge_bytes("ph")`` and the BBS draft's challenge of credential 1 with
``ph*`` (:mod:`circuits.statements.credential`). Prover and verifier both compile the plan
from the request (the verifier from its own copy) and loop over ``plan.statements``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from circuits import constants as k
from circuits.attributes import NUMERIC, OFFSET, AttributeType, threshold
from circuits.credentials import EXPIRY_INDEX, CredentialDefinition, LinearPredicate, PresentationRequest
from circuits.errors import ParameterError, ZkCredError
from circuits.statements import linear_predicate
from circuits.statements.base import PresentationRejected, Statement
from circuits.statements.linear_predicate import LinearSpec

_DATE = AttributeType("date")


@dataclass(frozen=True)
class RangeSpec:
    """``a ≥ t`` (``lower``: value ``a − t``) or ``a ≤ t`` (value ``t − a``) on commitment ``commit``,
    or, with ``linear`` set, on linear predicate ``linear``'s combination ``C_L`` (``commit`` unused)."""

    commit: int
    lower: bool
    t: int  # encoded threshold, inside the attribute type's encoded range (linear: T = t·10^S + 2^63·Σc')
    bits: int  # the range proof's n this statement needs (range_bits)
    linear: int | None = None  # index into Plan.linear


def range_bits(attr_type: AttributeType, lower: bool, t: int) -> int:
    """The smallest range-proof size ``n`` that holds every true ``a ≥ t`` (``lower``) or ``a ≤ t``.

    ``a`` is an encoded value of ``attr_type`` (issuers refuse values outside its
    :attr:`~circuits.attributes.AttributeType.value_range`), so the difference a true
    statement proves in range is at most ``max − t`` (or ``t − min``). Sound for any
    ``n``: ``d ∈ [0, 2^n)`` with ``n ≤ 64`` already implies ``d ≥ 0`` for encodings < 2^64.
    """
    lo, hi = (v + OFFSET for v in attr_type.value_range)
    span = hi - t if lower else t - lo
    return next(n for n in k.RANGE_PROOF_BITSIZES if span < 1 << n)


def _range(attr_type: AttributeType, commit: int, lower: bool, t: int, text: str) -> RangeSpec:
    """The statement ``a ≥ t`` / ``a ≤ t`` with ``t`` clamped into the type's range (refused if none can hold)."""
    lo, hi = (v + OFFSET for v in attr_type.value_range)
    if lower and t > hi or not lower and t < lo:
        raise PresentationRejected("predicate_impossible", f"no {attr_type} value is {text}")
    t = min(max(t, lo), hi)  # a ≥ t for t below the range is a ≥ min: always true, and cheaper
    return RangeSpec(commit, lower, t, range_bits(attr_type, lower, t))


@dataclass
class Plan:
    definitions: list[CredentialDefinition]
    disclosed: list[list[int]]  # per credential: message indexes, ascending
    commits: list[tuple[int, int]] = field(default_factory=list)  # (credential, message index)
    ranges: list[RangeSpec] = field(default_factory=list)
    not_equal: list[tuple[int, int]] = field(default_factory=list)  # (commit, t scalar)
    sets: list[tuple[int, list[int]]] = field(default_factory=list)  # (commit, [t scalars])
    equal: list[list[tuple[int, int]]] = field(default_factory=list)  # groups of (credential, message index)
    clear_checks: list[tuple[int, int, Any, str]] = field(default_factory=list)  # disclosed predicates
    revoked_checked: list[bool] = field(default_factory=list)
    pseudonym_contexts: list[bytes | None] = field(default_factory=list)
    linear: list[LinearSpec] = field(default_factory=list)
    escrows: list[tuple[int, int, Any]] = field(default_factory=list)  # (credential, message index, EscrowClause)
    statements: list[Statement] = field(default_factory=list)
    _hidden: list[list[int]] = field(default_factory=list)
    _hidden_pos: list[dict[int, int]] = field(default_factory=list)

    def commit_for(self, cred: int, index: int) -> int:
        key = (cred, index)
        if key not in self.commits:
            self.commits.append(key)
        return self.commits.index(key)

    def hidden(self, cred: int) -> list[int]:
        """The hidden message indexes of credential ``cred``, ascending (the order of its ``m̂``)."""
        return self._hidden[cred]

    def hidden_position(self, cred: int, index: int) -> int:
        return self._hidden_pos[cred][index]

    def range_bits(self) -> int:
        """The aggregated range proof's ``n``: the largest any range statement needs."""
        return max(rg.bits for rg in self.ranges)


def scalar_of(attr_type: AttributeType, value: Any) -> int:
    """The message scalar a set element or ≠ value stands for (exact, never rounded)."""
    try:
        return attr_type.encode(value)
    except ZkCredError as e:
        raise ParameterError(f"{value!r} is not a {attr_type} value: {e}") from None


def compile_plan(request: PresentationRequest, definitions: Sequence[CredentialDefinition]) -> Plan:
    """The plan for answering ``request`` with credentials of ``definitions`` (one per query, in order)."""
    if len(definitions) != len(request.queries):
        raise ParameterError("one credential per query")
    plan = Plan(list(definitions), [])
    today = (request.today - _dt.date(1970, 1, 1)).days + OFFSET
    for ci, (query, d) in enumerate(zip(request.queries, definitions, strict=True)):
        if d.id not in query.credential_definitions:
            raise PresentationRejected("definition_not_accepted", f"query {query.id} does not accept {d.id}")
        disclosed = sorted(d.schema.index(name) for name in query.disclose)
        plan.disclosed.append(disclosed)
        hidden = [i for i in range(d.message_count) if i not in set(disclosed)]
        plan._hidden.append(hidden)
        plan._hidden_pos.append({idx: pos for pos, idx in enumerate(hidden)})
        plan.revoked_checked.append(bool(query.non_revoked and d.revocation is not None))
        ctx = query.pseudonym_context
        plan.pseudonym_contexts.append(None if ctx is None else ctx.encode())
        if query.escrow is not None:
            plan.escrows.append((ci, d.schema.index(query.escrow.attribute), query.escrow))
        # Every credential proves it has not expired: expiry ≥ today.
        plan.ranges.append(_range(_DATE, plan.commit_for(ci, EXPIRY_INDEX), True, today, "unexpired"))
        for p in query.predicates:
            spec = d.schema.attribute(p.attribute)
            index = d.schema.index(p.attribute)
            if p.attribute in query.disclose:
                plan.clear_checks.append((ci, index, p, p.describe()))
                continue
            _compile_predicate(plan, ci, index, spec.type, p.op, p.value)
    # Same link secret everywhere, and the requested equalities.
    if len(definitions) > 1:
        plan.equal.append([(ci, d.link_secret_index) for ci, d in enumerate(definitions)])
    qids = [q.id for q in request.queries]
    for left, right in request.equalities:
        group = []
        for ref in (left, right):
            qid, _, name = ref.partition(".")
            ci = qids.index(qid)
            d = definitions[ci]
            if name in request.queries[ci].disclose:
                raise ParameterError(f"{ref} is disclosed; compare disclosed values in the clear")
            group.append((ci, d.schema.index(name)))
        types = {str(definitions[ci].schema.attributes[i - 2].type) for ci, i in group}
        if len(types) != 1:
            raise ParameterError(f"{left} and {right} have different types")
        plan.equal.append(group)
    for lp in request.linear:
        _compile_linear(plan, request, lp)
    plan.statements = _statements(plan)
    return plan


def _compile_predicate(plan: Plan, ci: int, index: int, attr_type: AttributeType, op: str, value: Any) -> None:
    commit = plan.commit_for(ci, index)
    if op in (">=", ">", "<=", "<", "between"):
        if attr_type.kind not in NUMERIC:
            raise ParameterError(f"{op} needs a numeric attribute, not {attr_type}")
        bounds = [(">=", value[0]), ("<=", value[1])] if op == "between" else [(op, value)]
        for bop, bval in bounds:
            t = threshold(attr_type, bval, bop)
            plan.ranges.append(_range(attr_type, commit, bop in (">=", ">"), t, f"{bop} {bval}"))
    elif op == "!=":
        plan.not_equal.append((commit, scalar_of(attr_type, value)))
    elif op == "not_in":
        for v in value:
            plan.not_equal.append((commit, scalar_of(attr_type, v)))
    elif op == "in":
        plan.sets.append((commit, [scalar_of(attr_type, v) for v in value]))
    else:  # pragma: no cover - Predicate validates ops
        raise ParameterError(op)


def _compile_linear(plan: Plan, request: PresentationRequest, lp: LinearPredicate) -> None:
    """``Σ c_i·a_i op t``: commit to each term's attribute, one range value per bound on ``C_L``."""
    terms = linear_predicate.resolve(request, lp, lambda ci: plan.definitions[ci].schema)
    coefs, _ = linear_predicate.scaled([t for _, _, t in terms], [c for _, c in lp.terms])
    spec = LinearSpec(
        tuple((plan.commit_for(ci, idx), c) for (ci, idx, _), c in zip(terms, coefs, strict=True)), lp.describe()
    )
    plan.linear.append(spec)
    for b in linear_predicate.bounds(lp, [t for _, _, t in terms]):
        plan.ranges.append(RangeSpec(-1, b.lower, b.t + b.offset, b.bits, len(plan.linear) - 1))


def _statements(plan: Plan) -> list[Statement]:
    """The statements in transcript order (see the module docstring): the order is written here only."""
    from circuits.statements.credential import BbsCredential
    from circuits.statements.equality import Equality
    from circuits.statements.escrow import Escrow
    from circuits.statements.linear_predicate import LinearCombination
    from circuits.statements.membership import AccumulatorMembership
    from circuits.statements.not_equal import NotEqual
    from circuits.statements.opening import BatchedOpening
    from circuits.statements.pseudonym import Pseudonym
    from circuits.statements.range import Range
    from circuits.statements.set_membership import SetMembership

    out: list[Statement] = [BbsCredential(ci) for ci in range(len(plan.definitions))]
    if plan.commits:
        out.append(BatchedOpening())
    out += [LinearCombination(j, spec) for j, spec in enumerate(plan.linear)]
    if plan.ranges:
        out.append(Range())
    out += [NotEqual(i, commit, t) for i, (commit, t) in enumerate(plan.not_equal)]
    out += [SetMembership(i, commit, ts) for i, (commit, ts) in enumerate(plan.sets)]
    out += [Equality(group) for group in plan.equal]
    out += [AccumulatorMembership(ci) for ci, asked in enumerate(plan.revoked_checked) if asked]
    out += [Pseudonym(ci, ctx) for ci, ctx in enumerate(plan.pseudonym_contexts) if ctx is not None]
    out += [Escrow(ci, index, clause) for ci, index, clause in plan.escrows]
    return out
