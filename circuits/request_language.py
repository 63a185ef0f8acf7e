"""The request language's cross-query pieces: references ``query.attribute``, equalities, linear predicates.

A multi-credential request names its queries (``tax``, ``bank``, …) and relates them. This
module is the one place those relations are parsed:

- :func:`parse_reference` — ``"tax.company_id"`` → :class:`AttributeRef` ``(query, attribute)``;
  both parts are names (lowercase a-z, 0-9, ``_``, starting with a letter, ≤ 64
  characters), exactly one dot.
- :func:`parse_equality` — ``"tax.company_id == bank.company_id"`` (spaces optional) or the
  wire form ``["tax.company_id", "bank.company_id"]`` → the pair of references, as
  :class:`~circuits.credentials.PresentationRequest` keeps it (``equalities``).
- :func:`parse_scoped_predicate` — a request-level predicate whose ``attribute`` is a
  reference (``{"attribute": "tax.revenue", "op": ">=", "value": 100000}``) → the query
  it belongs to and its :class:`~circuits.credentials.Predicate` on that query.
- :func:`group_predicates` — request-level predicates routed to their queries.
- :func:`parse_linear` — a linear predicate, ``"40*tax.income - 100*bank.monthly_debt >= 0"``
  or ``{"terms": [{"attr": "tax.income", "coef": 40}, …], "op": ">=", "value": 0}`` →
  :class:`~circuits.credentials.LinearPredicate`; each term's attribute a reference (or, in
  a one-query request, a bare attribute name of that query).

Errors are :class:`RequestSyntaxError` (a :class:`~circuits.errors.ParameterError`) whose
message quotes what was written. Whether a query of that name exists, and whether its
definitions have the attribute with a compatible type, is :mod:`circuits.request_checks`'
job (it needs the definitions).

>>> parse_equality("tax.company_id == bank.company_id")
('tax.company_id', 'bank.company_id')
>>> parse_reference("bank.balance")
AttributeRef(query='bank', attribute='balance')
>>> parse_linear("40*tax.income - 100*bank.monthly_debt >= 0").describe()
'40 × tax.income − 100 × bank.monthly_debt ≥ 0'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from circuits.credentials import LinearPredicate, Predicate
from circuits.errors import ParameterError

__all__ = [
    "AttributeRef",
    "RequestSyntaxError",
    "group_predicates",
    "parse_equality",
    "parse_linear",
    "parse_reference",
    "parse_scoped_predicate",
]

_NAME = r"[a-z][a-z0-9_]{0,63}"
_REFERENCE = re.compile(rf"({_NAME})\.({_NAME})")
_EQUALITY = re.compile(r"\s*(\S+?)\s*==\s*(\S+)\s*")


class RequestSyntaxError(ParameterError):
    """A cross-query reference, equality or predicate that does not parse."""


class AttributeRef(NamedTuple):
    """``query.attribute``: an attribute of the credential that answers ``query``."""

    query: str
    attribute: str

    def __str__(self) -> str:
        return f"{self.query}.{self.attribute}"


def parse_reference(text: Any) -> AttributeRef:
    """``"query.attribute"`` → :class:`AttributeRef`; anything else is :class:`RequestSyntaxError`."""
    m = _REFERENCE.fullmatch(text) if isinstance(text, str) else None
    if m is None:
        raise RequestSyntaxError(f"{text!r} is not a reference query.attribute (lowercase names, one dot)")
    return AttributeRef(m[1], m[2])


def parse_equality(value: Any) -> tuple[str, str]:
    """``"a.x == b.y"`` or ``["a.x", "b.y"]`` → ``("a.x", "b.y")`` (two different references)."""
    if isinstance(value, str):
        m = _EQUALITY.fullmatch(value)
        if m is None:
            raise RequestSyntaxError(f"equality {value!r}: write it as query.attribute == query.attribute")
        sides: Sequence[Any] = (m[1], m[2])
    elif isinstance(value, (list, tuple)) and len(value) == 2:
        sides = value
    else:
        raise RequestSyntaxError(f"equality {value!r}: a string 'a.x == b.y' or a pair ['a.x', 'b.y']")
    left, right = (parse_reference(s) for s in sides)
    if left == right:
        raise RequestSyntaxError(f"equality {value!r} compares {left} with itself")
    return str(left), str(right)


def parse_scoped_predicate(data: Mapping[str, Any]) -> tuple[str, Predicate]:
    """``{"attribute": "q.a", "op": …, "value": …}`` → ``("q", Predicate("a", op, value))``."""
    ref = parse_reference(data.get("attribute"))
    try:
        return ref.query, Predicate(ref.attribute, str(data.get("op")), data.get("value"))
    except ParameterError as e:
        raise RequestSyntaxError(f"predicate on {ref}: {e}") from None


def group_predicates(predicates: Iterable[Mapping[str, Any]], queries: Iterable[str]) -> dict[str, list[Predicate]]:
    """Request-level predicates by the query they name (every query present, maybe with none);
    a predicate naming no query of the request is :class:`RequestSyntaxError`."""
    out: dict[str, list[Predicate]] = {q: [] for q in queries}
    for data in predicates:
        query, predicate = parse_scoped_predicate(data)
        if query not in out:
            raise RequestSyntaxError(f"predicate on {query}.{predicate.attribute}: the request has no query {query!r}")
        out[query].append(predicate)
    return out


def parse_linear(data: Any, default_query: str | None = None) -> LinearPredicate:
    """``"40*tax.income - 100*bank.monthly_debt >= 0"`` (:meth:`LinearPredicate.parse`'s form) or
    ``{"terms": [{"attr", "coef"}], "op", "value"}`` → :class:`~circuits.credentials.LinearPredicate`.

    A term's attribute is a reference ``query.attribute``; a bare name (``income``) is
    ``default_query``'s — given for a one-query request, ``None`` (so an error) when the
    request names its queries. Whether the queries exist is the request's check."""
    if isinstance(data, str):
        try:
            predicate = LinearPredicate.parse(data, default_query)
        except ParameterError as e:
            raise RequestSyntaxError(str(e)) from None
    elif isinstance(data, Mapping) and isinstance(data.get("terms"), (list, tuple)):
        terms: list[Any] = []  # LinearPredicate checks each (reference, integer coefficient)
        for term in data["terms"]:
            if not isinstance(term, Mapping):
                raise RequestSyntaxError(f"linear term {term!r}: {{attr, coef}}")
            attr = term.get("attr")
            if isinstance(attr, str) and "." not in attr:
                if default_query is None:
                    raise RequestSyntaxError(f"linear term {attr!r}: name its query (query.{attr})")
                attr = f"{default_query}.{attr}"
            terms.append((attr, term.get("coef")))
        try:
            predicate = LinearPredicate(tuple(terms), str(data.get("op")), data.get("value"))
        except ParameterError as e:
            raise RequestSyntaxError(str(e)) from None
    else:
        raise RequestSyntaxError(f"linear predicate {data!r}: a string or {{terms: [{{attr, coef}}], op, value}}")
    for ref, _ in predicate.terms:
        parse_reference(ref)
    return predicate
