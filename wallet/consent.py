"""Consent: what the holder sees before anything leaves the wallet, and the only way to present.

The flow (SDK)::

    summary = wallet.prepare(request_url)        # fetch, check, choose credentials; nothing is sent
    show(summary)                                 # who, why, what leaves, which credential, expiry
    verdict = wallet.submit(summary.approve())    # or wallet.present(summary.approve()): the bare proof

:meth:`Wallet.prepare <wallet.core.Wallet.prepare>` returns a :class:`ConsentSummary` —

- **who** asks (:class:`Requester`: the lender, the verifier's id and registered name, the
  origin the request came from, the ledger seq of the verifier's registration) and **why**
  (the lender's purpose), and until when (the request's expiry);
- each **disclosed** attribute *with its value* (:class:`Disclosed`);
- each statement **proven** without its value, as a sentence (:class:`Proven`, :func:`sentence`);
- the **pseudonym** the lender will see and its context (:class:`PseudonymUse`);
- which **credential** answers each query, named by its issuer's *registered* name on the
  ledger (:class:`CredentialUse`).

Presenting without it is impossible, not merely discouraged: ``Wallet.present`` and
``Wallet.submit`` take only an :class:`Approval`; an ``Approval`` is minted by
:meth:`ConsentSummary.approve` alone (its constructor refuses anyone without this module's
private mint), carries the one-time ticket of a summary *that wallet* prepared, and is spent
by its first use. The wallet then proves exactly the request with exactly the credentials
the summary showed — a credential revoked in between is a refusal, never a silent swap.

Extension point — a new kind of proven statement (multi-credential equalities, linear
predicates, escrow, …) is rendered in **one place**, :func:`sentence`: add a ``case`` for
your statement type there (the sentence must say what is proven and end with
:data:`NOT_REVEALED` when a value stays hidden), and yield your statements from
:func:`proven_statements`. Everything that shows a summary (``zkcred wallet present``'s
panel, ``--json``, the demo) takes the sentence from there.

:class:`OfferSummary` is the same for an issuer's offer (``zkcred wallet accept``): the
issuer's registered name, the attributes and values to be signed, the offer's expiry.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from circuits.credentials import CredentialQuery, LinearPredicate, Predicate, PresentationRequest, Schema

#: How every sentence about a hidden value ends.
NOT_REVEALED = "value not revealed"

_MINT = object()  # only ConsentSummary.approve holds it: no other code can construct an Approval


@dataclass(frozen=True)
class Requester:
    """Who asks: as far as the wallet could check it (``registration_seq`` None: not on the ledger)."""

    verifier_id: str
    verifier_name: str | None = None
    lender: str | None = None
    origin: str | None = None
    registration_seq: int | None = None
    purpose: str | None = None

    def describe(self) -> str:
        """One line: ``'Lender A' at verifier 'ACME Verifier' (v1…), http://…, registered at ledger seq 4``."""
        at = f"verifier {self.verifier_name!r} ({self.verifier_id})" if self.verifier_name else self.verifier_id
        who = f"{self.lender!r} at {at}" if self.lender else at
        where = f", {self.origin}" if self.origin else ""
        seq = (
            f", registered at ledger seq {self.registration_seq}"
            if self.registration_seq is not None
            else ", not checked against the ledger"
        )
        return who + where + seq


@dataclass(frozen=True)
class Disclosed:
    """An attribute the verifier will read, with the value it will read."""

    query_id: str
    attribute: str
    value: Any


@dataclass(frozen=True)
class Proven:
    """A statement proven about hidden values; ``text`` is its :func:`sentence`."""

    query_id: str
    kind: str
    text: str


@dataclass(frozen=True)
class PseudonymUse:
    """The pseudonym the lender will see (base64url of the G1 point) and whom its context is for."""

    query_id: str
    context: str
    pseudonym: str
    scope: str  # PseudonymScope.describe(): "lender 'L' at v" or "context … (not a lender context of v)"
    lender: str | None = None
    campaign: str | None = None


@dataclass(frozen=True)
class CredentialUse:
    """The stored credential that answers a query, and its issuer as the ledger registers it."""

    query_id: str
    credential_id: str
    schema: str
    issuer_id: str
    issuer_name: str | None  # the registered name; None: the issuer registered none, or no ledger to ask
    issuer_seq: int | None  # the issuer_registration entry; None: not checked against the ledger
    expiry: str

    def issuer(self) -> str:
        if self.issuer_seq is None:
            return f"{self.issuer_id} (not checked against the ledger)"
        name = repr(self.issuer_name) if self.issuer_name else f"{self.issuer_id} (no registered name)"
        return f"{name}, registered at ledger seq {self.issuer_seq}"


@dataclass(frozen=True)
class ConsentSummary:
    """Everything that leaves the wallet if the holder approves (see the module docstring)."""

    requester: Requester
    expires_at: str | None
    disclosed: tuple[Disclosed, ...]
    proven: tuple[Proven, ...]
    pseudonyms: tuple[PseudonymUse, ...]
    credentials: tuple[CredentialUse, ...]
    source: str | None = None  # the URL or file the request came from
    escrows: tuple[str, ...] = ()  # wallet.core.escrow_notices: what is escrowed, to which auditor, for what
    _ticket: str = field(default="", repr=False, compare=False)

    def approve(self) -> Approval:
        """The holder agrees: the one token ``Wallet.present``/``Wallet.submit`` accept (spent on use)."""
        return Approval(self._ticket, self, _mint=_MINT)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        del out["_ticket"]
        return out


class Approval:
    """The holder's yes to one :class:`ConsentSummary`; minted only by :meth:`ConsentSummary.approve`."""

    __slots__ = ("_ticket", "summary")

    def __init__(self, ticket: str, summary: ConsentSummary, *, _mint: object = None) -> None:
        if _mint is not _MINT:
            raise TypeError("an Approval comes only from ConsentSummary.approve(): prepare the request first")
        self._ticket, self.summary = ticket, summary

    def __repr__(self) -> str:
        return "Approval(<ticket>)"


@dataclass(frozen=True)
class NotRevoked:
    """The query's credential is in its issuer's accumulator (a revocable definition)."""

    query_id: str


@dataclass(frozen=True)
class Equality:
    """Two hidden attributes (``"query.attribute"``) are equal, across credentials too."""

    left: str
    right: str


def _value(value: Any, kind: str | None) -> str:
    if isinstance(value, bool) or kind in ("date", "string"):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}".replace(",", " ")  # 50 000: digits grouped, no locale
    return str(value)


def _values(values: Any, kind: str | None) -> str:
    return ", ".join(_value(v, kind) for v in values)


def sentence(statement: Any, schema: Schema | None = None) -> str:
    """A proven statement as one sentence for the holder — THE place to add a statement kind.

    ``schema`` (the answering credential's) types the attribute, so dates read as dates:

    >>> sentence(Predicate("income", ">=", 50000))
    'income is at least 50 000 (value not revealed)'
    >>> sentence(Predicate("country", "in", ["NL", "BE"]))
    'country is one of NL, BE (value not revealed)'
    >>> sentence(NotRevoked("credential"))
    'the credential is not revoked by its issuer'
    >>> sentence(LinearPredicate.parse("40*tax.revenue - 1200*bank.monthly_debt >= 0"))
    '40 × tax.revenue − 1200 × bank.monthly_debt ≥ 0 (value not revealed)'
    >>> sentence(LinearPredicate.parse("40*income - 100*monthly_debt >= 0", "credential"))
    '40 × income − 100 × monthly_debt ≥ 0 (value not revealed)'
    """
    match statement:
        case Predicate(attribute=name, op=op, value=v):
            return f"{name} {_predicate_text(op, v, _attribute_kind(schema, name))} ({NOT_REVEALED})"
        case Equality(left=left, right=right):
            return f"{left} equals {right} ({NOT_REVEALED})"
        case LinearPredicate():
            return f"{_linear_text(statement)} ({NOT_REVEALED})"
        case NotRevoked():
            return "the credential is not revoked by its issuer"
        case _:
            raise TypeError(f"no sentence for {type(statement).__name__}: add a case to wallet.consent.sentence")


def _linear_text(statement: LinearPredicate) -> str:
    """``40 × income − 100 × monthly_debt ≥ 0`` over one credential (names alone where unambiguous);
    ``40 × tax.revenue − 1200 × bank.monthly_debt ≥ 0`` across credentials (each term's query named)."""
    if len({ref.partition(".")[0] for ref, _ in statement.terms}) > 1:
        return statement.describe()
    return statement.describe(statement.attribute_names())


def _predicate_text(op: str, v: Any, kind: str | None) -> str:
    dated = kind == "date"
    match op:
        case ">=":
            return f"is on or after {_value(v, kind)}" if dated else f"is at least {_value(v, kind)}"
        case ">":
            return f"is after {_value(v, kind)}" if dated else f"is more than {_value(v, kind)}"
        case "<=":
            return f"is on or before {_value(v, kind)}" if dated else f"is at most {_value(v, kind)}"
        case "<":
            return f"is before {_value(v, kind)}" if dated else f"is less than {_value(v, kind)}"
        case "!=":
            return f"is not {_value(v, kind)}"
        case "between":
            return f"is between {_value(v[0], kind)} and {_value(v[1], kind)}"
        case "in":
            return f"is one of {_values(v, kind)}"
        case "not_in":
            return f"is none of {_values(v, kind)}"
    return f"{op} {v}"  # an operator circuits.credentials.OPS gained: add its words above


def _attribute_kind(schema: Schema | None, name: str) -> str | None:
    for a in schema.attributes if schema is not None else ():
        if a.name == name:
            return a.type.kind
    return None


def proven_statements(request: PresentationRequest, query: CredentialQuery, revocable: bool) -> Iterator[Any]:
    """What a query proves besides its disclosures, as the statement objects :func:`sentence` renders.

    Equalities and linear predicates are yielded with the first query they name (once per request)."""
    yield from query.predicates
    if query.non_revoked and revocable:
        yield NotRevoked(query.id)
    for left, right in request.equalities:
        if left.partition(".")[0] == query.id:
            yield Equality(left, right)
    for linear in request.linear:
        if linear.terms[0][0].partition(".")[0] == query.id:
            yield linear


def _kind(statement: Any) -> str:
    if isinstance(statement, Predicate):
        return f"predicate {statement.op}"
    if isinstance(statement, LinearPredicate):
        return "linear predicate"
    return type(statement).__name__.lower()


def proven(request: PresentationRequest, query: CredentialQuery, schema: Schema, revocable: bool) -> list[Proven]:
    return [Proven(query.id, _kind(s), sentence(s, schema)) for s in proven_statements(request, query, revocable)]


@dataclass(frozen=True)
class OfferSummary:
    """An issuer's offer as the holder sees it before accepting."""

    issuer_id: str
    issuer_name: str | None
    issuer_seq: int | None
    issuer_url: str
    schema: str
    credential_definition_id: str
    attributes: dict[str, Any]
    expires_at: str | None

    def issuer(self) -> str:
        return CredentialUse("", "", self.schema, self.issuer_id, self.issuer_name, self.issuer_seq, "").issuer()

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def offer_summary(offer: Mapping[str, Any], registration: tuple[str | None, int] | None) -> OfferSummary:
    """The summary of a parsed offer; ``registration`` is the issuer's (name, seq) on the ledger, if found."""
    d = offer["definition"]
    return OfferSummary(
        issuer_id=d["issuer_id"],
        issuer_name=registration[0] if registration else None,
        issuer_seq=registration[1] if registration else None,
        issuer_url=str(offer.get("issuer_url", "")),
        schema=f"{d['schema']['name']} {d['schema']['version']}",
        credential_definition_id=str(offer.get("credential_definition_id", "")),
        attributes=dict(offer.get("attributes") or {}),
        expires_at=offer.get("expires_at"),
    )
