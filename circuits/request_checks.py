"""Can any credential answer this request? Checked when a request is made (issue 13 item 2).

:func:`check_answerable` refuses — with :class:`UnanswerableRequest`, whose message names
the attribute and what is wrong — a query that no credential of a definition it accepts
could ever satisfy, before any holder tries:

1. an attribute (disclosed or in a predicate) the definition's schema does not have;
2. a value of the wrong type or outside the attribute type's range (``int`` 64-bit,
   ``int(a..b)`` its declared bounds, ``date``, ``decimal(s)`` at most ``s`` places for
   ``!=``/``in``/``not_in`` values, ``bool``); an order predicate on a string or bool;
3. ``between [low, high]`` with ``low > high``;
4. contradictory predicates on one attribute: the intersection of its ranges (with the
   type's own range) is empty — ``income >= 1`` with ``income <= 0``, ``income >= 2^100``
   — or every value an ``in`` set allows is outside that range or excluded by
   ``!=``/``not_in`` (and a range fully covered by exclusions, such as a ``bool`` that
   is ``!= true`` and ``!= false``);
5. sets over :data:`MAX_SET_VALUES` values (``CredentialQuery`` refuses them too);
6. an escrow clause naming an attribute the schema does not have;
7. more range statements than one presentation proves: one per bound of each order
   predicate on a hidden attribute, plus the expiry statement, at most
   ``RANGE_PROOF_MAX_AGGREGATION`` (64) in the one aggregate — refused, never split. A
   multi-credential request has one aggregate for all its queries: their counts add up,
   and each linear predicate's bounds are values in it too;
8. equalities between queries (``tax.company_id == bank.company_id``, issue 13 item 1):
   a side whose attribute some accepted definition of its query lacks, or that the query
   discloses (disclosed values are compared in the clear by whoever reads them), or two
   sides whose types differ for some pair of accepted definitions (an equality is proven
   on the encoded values, so ``int`` and ``int(0..100)`` or ``date`` and ``int`` are not
   comparable). Unknown query names are refused earlier, by
   :class:`~circuits.credentials.PresentationRequest` itself;
9. a linear predicate (:func:`check_linear`) over an attribute a definition lacks, that is
   disclosed, or not an ``int``/``decimal``/``date``; or one that no values of the
   attributes' types can meet (``income − debt ≥ t`` beyond the largest difference), for
   every choice of accepted definitions. Its terms may name attributes of several queries
   (``40*tax.income - 100*bank.monthly_debt >= 0``).

Pure: no I/O; the verifier calls it on ``POST /requests`` and a wallet may call it too.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field

from circuits import constants as k
from circuits.attributes import OFFSET, threshold
from circuits.credentials import CredentialDefinition, CredentialQuery, PresentationRequest, Schema
from circuits.errors import ParameterError, ZkCredError

__all__ = [
    "MAX_SET_VALUES",
    "UnanswerableRequest",
    "check_answerable",
    "check_equalities",
    "check_linear",
    "check_query",
    "range_statements",
]

#: Past this many choices of definitions for a linear predicate's queries, only each term is checked.
MAX_LINEAR_CHOICES = 256

#: the most values an ``in`` / ``not_in`` predicate may list (``circuits.credentials.Predicate``).
MAX_SET_VALUES = 64

_ORDER = (">=", ">", "<=", "<", "between")


class UnanswerableRequest(ParameterError):
    """No credential of the definition could answer the query; the message says why."""


@dataclass
class _Allowed:
    """What the predicates on one attribute still allow: an encoded interval, a set, exclusions."""

    lo: int
    hi: int
    only: set[int] | None = None
    excluded: set[int] = field(default_factory=set)


def check_answerable(request: PresentationRequest, definitions: Mapping[str, CredentialDefinition]) -> None:
    """Raise :class:`UnanswerableRequest` unless every query could be answered by a credential of
    each definition it accepts (``definitions``: id → definition, every accepted id present)."""
    for query in request.queries:
        for definition_id in query.credential_definitions:
            check_query(request, query, definitions[definition_id])
    check_equalities(request, definitions)
    linear_ranges = check_linear(request, definitions)
    ranges = sum(range_statements(q) for q in request.queries) + linear_ranges
    if ranges > k.RANGE_PROOF_MAX_AGGREGATION:
        across = f" over its {len(request.queries)} queries" if len(request.queries) > 1 else ""
        linear = ", and each bound of a linear predicate" if linear_ranges else ""
        raise UnanswerableRequest(
            f"the request needs {ranges} range statements{across} (one per bound of each order predicate on a "
            f"hidden attribute{linear}, plus one expiry per query); one presentation proves at most "
            f"{k.RANGE_PROOF_MAX_AGGREGATION}"
        )


def check_linear(request: PresentationRequest, definitions: Mapping[str, CredentialDefinition]) -> int:
    """Refuse a linear predicate no credentials of the definitions its queries accept could meet (item 9);
    return how many range statements (bounds) the request's linear predicates add to the one aggregate."""
    from circuits.statements import linear_predicate
    from circuits.statements.base import PresentationRejected

    qids = [q.id for q in request.queries]
    ranges = 0
    for lp in request.linear:
        text = lp.describe()
        used = sorted({qids.index(ref.partition(".")[0]) for ref, _ in lp.terms})
        choices = list(
            itertools.islice(
                itertools.product(*(request.queries[ci].credential_definitions for ci in used)), MAX_LINEAR_CHOICES + 1
            )
        )
        met, count = False, 0
        for choice in choices[:MAX_LINEAR_CHOICES]:
            chosen = dict(zip(used, (definitions[i] for i in choice), strict=True))
            try:
                terms = linear_predicate.resolve(request, lp, functools.partial(_schema, chosen))
                count = max(count, len(linear_predicate.bounds(lp, [t for _, _, t in terms])))
                met = True
            except PresentationRejected:
                continue
            except ZkCredError as e:
                raise UnanswerableRequest(f"{text}: {e}") from None
        if not met and len(choices) <= MAX_LINEAR_CHOICES:
            raise UnanswerableRequest(f"no credentials could meet {text}: no values of the attributes' types do")
        ranges += count
    return ranges


def range_statements(query: CredentialQuery) -> int:
    """How many range statements a credential answering ``query`` adds to the one aggregate."""
    return 1 + sum(
        (2 if p.op == "between" else 1)
        for p in query.predicates
        if p.op in _ORDER and p.attribute not in query.disclose
    )


def _schema(chosen: Mapping[int, CredentialDefinition], ci: int) -> Schema:
    return chosen[ci].schema


def check_equalities(request: PresentationRequest, definitions: Mapping[str, CredentialDefinition]) -> None:
    """Raise :class:`UnanswerableRequest` unless every equality compares two hidden attributes that every
    accepted definition of their queries has, with one type for every combination of definitions."""
    for pair in request.equalities:
        sides = []
        for ref in pair:
            query_id, _, name = ref.partition(".")
            query = request.query(query_id)
            if name in query.disclose:
                raise UnanswerableRequest(
                    f"equality {pair[0]} == {pair[1]}: {ref} is disclosed; equalities are proven on hidden "
                    "attributes (compare disclosed values in the clear, or do not disclose it)"
                )
            types = set()
            for definition_id in query.credential_definitions:
                d = definitions[definition_id]
                if name not in {a.name for a in d.schema.attributes}:
                    raise UnanswerableRequest(
                        f"equality {pair[0]} == {pair[1]}: {d.id} (query {query_id}) has no attribute {name!r} "
                        f"in schema {d.schema.name}"
                    )
                types.add(str(d.schema.attribute(name).type))
            sides.append(types)
        if len(sides[0] | sides[1]) != 1:
            raise UnanswerableRequest(
                f"equality {pair[0]} == {pair[1]}: the attributes' types differ "
                f"({', '.join(sorted(sides[0]))} vs {', '.join(sorted(sides[1]))}); an equality needs one type"
            )


def check_query(request: PresentationRequest, query: CredentialQuery, d: CredentialDefinition) -> None:
    """:func:`check_answerable` for one query and one definition it accepts."""
    names = {a.name for a in d.schema.attributes}
    for name in (*query.disclose, *(() if query.escrow is None else (query.escrow.attribute,))):
        if name not in names:
            raise UnanswerableRequest(f"{d.id}: no attribute {name!r} in schema {d.schema.name}")
    allowed: dict[str, _Allowed] = {}
    for p in query.predicates:
        if p.attribute not in names:
            raise UnanswerableRequest(f"{d.id}: no attribute {p.attribute!r} in schema {d.schema.name}")
        t = d.schema.attribute(p.attribute).type
        if t.numeric:
            lo, hi = (v + OFFSET for v in t.value_range)
        else:
            lo, hi = 0, 0  # strings: no order, only equality and sets
        a = allowed.setdefault(p.attribute, _Allowed(lo, hi))
        what = f"{p.attribute} {p.op}"
        try:
            if p.op in _ORDER:
                if not t.numeric or t.kind == "bool":
                    raise UnanswerableRequest(
                        f"{what}: an order predicate needs an int, date or decimal attribute, not {t}"
                    )
                bounds = [(">=", p.value[0]), ("<=", p.value[1])] if p.op == "between" else [(p.op, p.value)]
                if p.op == "between" and threshold(t, p.value[0], "<=") > threshold(t, p.value[1], "<="):
                    raise UnanswerableRequest(f"{what}: the lower bound is above the upper bound")
                for op, value in bounds:
                    bound = threshold(t, value, op)
                    if op in (">=", ">"):
                        a.lo = max(a.lo, bound)
                    else:
                        a.hi = min(a.hi, bound)
            else:
                values = p.value if isinstance(p.value, tuple) else (p.value,)
                if len(values) > MAX_SET_VALUES:
                    raise UnanswerableRequest(f"{what}: at most {MAX_SET_VALUES} values")
                scalars = {t.encode(v) for v in values}
                if p.op == "in":
                    a.only = scalars if a.only is None else a.only & scalars
                else:
                    a.excluded |= scalars
        except UnanswerableRequest:
            raise
        except (ZkCredError, TypeError, ValueError, ArithmeticError) as e:
            raise UnanswerableRequest(f"{d.id}: {what}: {e}") from None
    for name, a in allowed.items():
        numeric = d.schema.attribute(name).type.numeric
        if numeric and a.lo > a.hi:
            raise UnanswerableRequest(f"{d.id}: the predicates on {name} admit no value of its type together")
        if a.only is not None:
            left = {s for s in a.only if s not in a.excluded and (not numeric or a.lo <= s <= a.hi)}
            if not left:
                raise UnanswerableRequest(
                    f"{d.id}: the predicates on {name} admit no value together "
                    "(every listed value is out of range or excluded)"
                )
        elif numeric and a.hi - a.lo + 1 <= len(a.excluded) and all(s in a.excluded for s in range(a.lo, a.hi + 1)):
            raise UnanswerableRequest(f"{d.id}: the predicates on {name} exclude every value of its range")
    ranges = range_statements(query)
    if ranges > k.RANGE_PROOF_MAX_AGGREGATION:
        raise UnanswerableRequest(
            f"{d.id}: the request needs {ranges} range statements (one per bound of each order predicate on a "
            f"hidden attribute, plus the expiry); one presentation proves at most {k.RANGE_PROOF_MAX_AGGREGATION}"
        )
