r"""Statement: a linear predicate ``Σ c_i·a_i op t`` over hidden attributes, one range value per bound.

Every attribute of a term has its Pedersen commitment ``C_i = a_i·G + s_i·H``, bound to its
signed message by the batched opening (:mod:`circuits.statements.opening`). Commitments
are additive, so the combination needs no proof of its own::

    C_L = Σ c'_i·C_i = (Σ c'_i·a_i)·G + (Σ c'_i·s_i)·H

and each bound of the predicate is one more value of the presentation's one Bulletproofs+
aggregate (:mod:`circuits.statements.range`)::

    ≥ t:  V = C_L − T·G   proves  Σ c'_i·a_i − T ∈ [0, 2^n)
    ≤ t:  V = T·G − C_L   proves  T − Σ c'_i·a_i ∈ [0, 2^n)

(``=`` is ``≥ t`` and ``≤ t``; ``between`` its two bounds). The verifier derives ``C_L``
and ``V`` from the bound ``C_i`` and the request; nothing new travels on the wire.

Scaling: decimals of different scales are brought to the largest scale ``S`` of the terms
by the coefficients, ``c'_i = c_i·10^{S − s_i}`` (``int`` and ``date`` have scale 0; a date
counts days since 1970-01-01), and the threshold becomes the integer ``t·10^S``, rounded
in the direction that keeps the predicate's meaning (``≥``: up, ``≤``: down; ``=`` with a
``t`` finer than ``S`` is refused as impossible). Encoded messages carry ``+2^63``
(:mod:`circuits.attributes`), so ``T = t·10^S + 2^63·Σ c'_i``.

Soundness against wrap-around modulo ``r``: circuits/notes/linear.md (``|Σ c'_i·v_i − t| <
2^191``, far below ``r − 2^64``).

Transcript (this statement's only writer; the request digest binds the predicate already,
this records what the range values stand for)::

    dom-sep(DOMSEP_LINEAR_PREDICATE, terms) · (linear-term I2OSP(i, 8) ‖ c'_i signed 16 bytes)_terms
        · linear-combination C_L
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from circuits import constants as k
from circuits.attributes import OFFSET, AttributeType
from circuits.backend import GroupBackend
from circuits.backend.interface import G1
from circuits.constants import R
from circuits.credentials import LinearPredicate, PresentationRequest, Schema
from circuits.errors import ParameterError
from circuits.statements.base import PresentationRejected, ProverState, Responses, Statement, VerifierState
from circuits.transcript import Transcript

#: The attribute kinds a linear predicate combines (``bool`` and ``string`` are refused).
LINEAR_KINDS = ("int", "decimal", "date")


@dataclass(frozen=True)
class LinearSpec:
    """One linear predicate of the plan: ``(commitment index, scaled coefficient)`` terms and its text."""

    terms: tuple[tuple[int, int], ...]
    text: str


@dataclass(frozen=True)
class LinearBound:
    """One bound of a linear predicate over the scaled integers ``v`` (``Σ c'·v ≥ t`` or ``≤ t``)."""

    lower: bool
    t: int  # threshold at the common scale, inside (low, high] (≥) or [low, high) (≤) of the combination
    bits: int  # range-proof size n holding every true statement, or 64 (then the prover checks D < 2^64)
    offset: int  # 2^63·Σ c': encoded T = t + offset


def scaled(types: list[AttributeType], coefs: list[int]) -> tuple[list[int], int]:
    """Coefficients at the terms' common scale ``S = max scale``: ``c'_i = c_i·10^{S − s_i}``, and ``S``."""
    for t in types:
        if t.kind not in LINEAR_KINDS:
            raise ParameterError(f"a linear predicate combines int, decimal and date attributes, not {t}")
    scale = max(t.scale for t in types)
    return [c * 10 ** (scale - t.scale) for t, c in zip(types, coefs, strict=True)], scale


def bounds(pred: LinearPredicate, types: list[AttributeType]) -> list[LinearBound]:
    """The range statements ``pred`` needs over attributes of ``types`` (one per bound; ``=`` two).

    ``low``/``high`` are the least and greatest ``Σ c'_i·v_i`` values of the types allow; a
    bound every such value meets needs no statement and is left out (a ``≥`` below ``low``);
    so every threshold kept lies in ``[low, high]``, which the wrap-around bound uses.
    Raises :class:`~circuits.statements.base.PresentationRejected` (``predicate_impossible``)
    when no values of the types can meet it.
    """
    coefs, scale = scaled(types, [c for _, c in pred.terms])
    low = sum(c * (t.value_range[0] if c > 0 else t.value_range[1]) for t, c in zip(types, coefs, strict=True))
    high = sum(c * (t.value_range[1] if c > 0 else t.value_range[0]) for t, c in zip(types, coefs, strict=True))
    offset = OFFSET * sum(coefs)
    out = []
    for op, value in pred.bounds:
        x = value.scaleb(scale)
        if op == "=" and x != x.to_integral_value():
            raise PresentationRejected(
                "predicate_impossible", f"{pred.describe()}: {value} is finer than scale {scale}"
            )
        sides = [(">=", x), ("<=", x)] if op == "=" else [(op, x)]
        for side, v in sides:
            lower = side in (">=", ">")
            t = _integer_threshold(side, v)
            if (t > high) if lower else (t < low):
                raise PresentationRejected("predicate_impossible", f"no values can make {pred.describe()}")
            if (t <= low) if lower else (t >= high):
                continue  # every value of the types meets this bound: nothing to prove
            span = high - t if lower else t - low
            bits = next((n for n in k.RANGE_PROOF_BITSIZES if span < 1 << n), k.RANGE_PROOF_BITSIZES[-1])
            out.append(LinearBound(lower, t, bits, offset))
    return out


def _integer_threshold(op: str, x: Decimal) -> int:
    """``Σ ≥ x`` ⇔ ``Σ ≥ ⌈x⌉``, ``> x`` ⇔ ``≥ ⌊x⌋ + 1``, ``≤ x`` ⇔ ``≤ ⌊x⌋``, ``< x`` ⇔ ``≤ ⌈x⌉ − 1``."""
    if op == ">=":
        return int(x.to_integral_value(ROUND_CEILING))
    if op == ">":
        return int(x.to_integral_value(ROUND_FLOOR)) + 1
    if op == "<=":
        return int(x.to_integral_value(ROUND_FLOOR))
    return int(x.to_integral_value(ROUND_CEILING)) - 1


def resolve(
    request: PresentationRequest, pred: LinearPredicate, schema_of: Callable[[int], Schema]
) -> list[tuple[int, int, AttributeType]]:
    """Each term as ``(query index, message index, attribute type)``; ``schema_of(ci)`` gives the schema."""
    qids = [q.id for q in request.queries]
    out = []
    for ref, _ in pred.terms:
        qid, _, name = ref.partition(".")
        ci = qids.index(qid)
        schema = schema_of(ci)
        spec = schema.attribute(name)
        if name in request.queries[ci].disclose:
            raise ParameterError(f"{ref} is disclosed; a linear predicate combines hidden attributes")
        out.append((ci, schema.index(name), spec.type))
    return out


def combination(be: GroupBackend, commitments: Sequence[G1], spec: LinearSpec) -> G1:
    """``C_L = Σ c'_i·C_i`` (public: the commitments are on the wire)."""
    return be.g1_msm([commitments[i] for i, _ in spec.terms], [c % R for _, c in spec.terms], public=True)


class LinearCombination(Statement):
    tag = k.DOMSEP_LINEAR_PREDICATE

    def __init__(self, index: int, spec: LinearSpec) -> None:
        self.index, self.spec = index, spec

    def absorb(self, t: Transcript, be: GroupBackend, C: G1) -> None:
        t.domain_sep(self.tag, len(self.spec.terms))
        for commit, coef in self.spec.terms:
            t.append(k.PRES_LABEL_LINEAR_TERM, commit.to_bytes(8, "big") + coef.to_bytes(16, "big", signed=True))
        t.append_point(k.PRES_LABEL_LINEAR_COMBINATION, C, be, allow_identity=True)

    def prove(self, p: ProverState, t: Transcript) -> Callable[[int, Responses], None]:
        C = combination(p.be, p.commitments, self.spec)
        p.combined.append(C)
        self.absorb(t, p.be, C)
        return lambda c, out: None

    def replay(self, v: VerifierState, t: Transcript) -> None:
        C = combination(v.be, v.presentation.commitments, self.spec)
        v.combined.append(C)
        self.absorb(t, v.be, C)
