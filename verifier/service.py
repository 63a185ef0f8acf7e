"""The verifier's domain logic: lender API keys, presentation requests, verdicts (no HTTP).

Role verbs after anoncreds-rs ``services/verifier.rs``: :meth:`VerifierService.create_request`
(``generate_nonce`` + the request), :meth:`~VerifierService.submit_presentation`
(``verify_presentation`` + the single-use rule). Cryptography is
:func:`circuits.presentation.verify_presentation`; keys and accumulator values come from a
:class:`verifier.resolver.Resolver`; state lives behind a :class:`RequestStore`
(``verifier.db.SqlRequestStore``).

**A request** has one query with id ``"credential"`` (the one-query form) or several named
queries with equalities between them (a multi-credential request, issue 13: one credential
per query, all of one holder — the proof always shows the same link secret in each), a
fresh 32-byte nonce from :mod:`secrets`, ``verifier_id`` = this verifier's registered id
(``verifier.identity``: derived from its key, so the proof's transcript binds the id a
wallet checked on the ledger), an optional ``purpose`` from the lender, ``today`` = the
current UTC date (every presentation proves its credentials have not expired by then), an
expiry, and ``max_staleness`` seconds (how old an accumulator value a holder may use,
``verifier.resolver`` step 5). It is checked when made
(:func:`circuits.request_checks.check_answerable`). The verdict of the one-query form is
flat (``disclosed: {name: value}``); a multi-credential request's reports each query
(``disclosed: {query: {…}}``, ``queries: {query: {definition_id, disclosed, predicates}}``).

**Answering a request** (``submit_presentation``):

1. unknown request → ``NOT_FOUND``; already answered → ``REPLAY`` (HTTP 409);
2. past its expiry → the verdict ``{verified: false, reason: "expired"}`` is recorded
   (status ``expired``);
3. the presentation is parsed strictly (``Presentation.from_json``: canonical encodings,
   points on the curve, in the subgroup and not the identity, scalars < r); a
   presentation that does not parse gets the verdict ``malformed``;
4. the definitions it names are resolved — only those the request accepts — and the
   proof is verified;
5. **only a verified presentation spends the request** (issue 12): its verdict is
   recorded by ONE conditional update (``status = 'pending'`` → ``verified``). If another
   worker recorded one first, this call raises ``REPLAY`` and its verdict is discarded: a
   nonce is accepted at most once, across processes and machines sharing the database.
6. a presentation that does not verify (``malformed``, ``invalid_proof``, ``stale``, …)
   gets its verdict and leaves the request pending — whoever sent it: the request URL is
   not a secret worth the lender's request, and a holder whose wallet was behind the
   ledger retries after syncing. Each such attempt is counted atomically
   (``RequestStore.record_failed_attempt``); the one that reaches ``max_attempts``
   (default :data:`DEFAULT_MAX_ATTEMPTS`) rejects the request for good: status
   ``rejected``, verdict reason ``too-many-attempts`` (also the answer to that attempt).

If the ledger cannot be read (step 4) nothing is recorded: ``LEDGER_UNAVAILABLE`` (503)
and the holder may retry; it is not an attempt.

**Signed documents** (issue 12): :meth:`VerifierService.signed_document` is what a holder
fetches, signed by the verifier's registered key (``ledger.verifiers``).

**Pseudonyms** (issue 8). A request may ask for the holder's pseudonym scoped to the
lender: ``pseudonym=True`` sets the query's ``pseudonym_context`` to
:func:`lender_context` ``(verifier_id, lender)`` = ``"<verifier_id>/<lender>"``, and
``pseudonym="<campaign>"`` to ``"<verifier_id>/<lender>/<campaign>"`` (lender and campaign
percent-encoded, so ``/`` never appears inside a part and no two (lender, campaign) pairs
share a context). The context is derived from the authenticated lender, never taken
from the caller, so lender B cannot ask for lender A's context and so cannot obtain A's
pseudonym of anyone. A verified presentation's pseudonym is recorded with the verdict
(same transaction); :meth:`VerifierService.pseudonym_status` reports whether the lender
verified it earlier, :meth:`VerifierService.pseudonym_records` lists a lender's requests
carrying it — never another lender's (FORBIDDEN, whether or not another lender holds it).

**Reason codes** (:data:`REASONS`) are stable and coarse: the verdict says *that* the
proof failed, not which internal check did (the detail goes to the log).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import logging
import secrets
import time as _time
import unicodedata
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from circuits.backend import GroupBackend
from circuits.codec import b64d, b64e
from circuits.credentials import (
    CredentialDefinition,
    CredentialQuery,
    EscrowClause,
    Predicate,
    PresentationRequest,
    canonical_json,
)
from circuits.errors import ParameterError, VerificationError, ZkCredError
from circuits.presentation import Presentation, PresentationRejected, VerifiedPresentation, verify_presentation
from circuits.request_checks import check_answerable
from circuits.request_language import group_predicates, parse_equality, parse_linear, parse_reference
from verifier.config import DEFAULT_MAX_ATTEMPTS  # presentations that do not verify before a request is rejected
from verifier.errors import ErrorKind, VerifierError
from verifier.identity import VerifierIdentity
from verifier.models import CAMPAIGN_MAX, MAX_EXPIRES_IN, MAX_STALENESS, PURPOSE_MAX
from verifier.resolver import (
    DefinitionMismatch,
    LedgerUnavailable,
    Resolver,
    ResolverError,
    StaleAccumulator,
    UnknownAuditor,
    UnknownDefinition,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine

logger = logging.getLogger(__name__)

QUERY_ID = "credential"


NONCE_BYTES = 32
API_KEY_PREFIX = "zkv_"

#: reason code → what it means. Stable: lenders and wallets switch on these.
REASONS = {
    "expired": "the request expired before the presentation arrived",
    "malformed": "the presentation is not a well-formed encoding (bad JSON shape, points or scalars)",
    "definition_not_accepted": "the credential definition is not one the request accepts, or not on the ledger",
    "invalid_proof": "the proof does not verify for this request",
    "revocation": "the non-revocation proof does not hold against the ledger's accumulator",
    "stale": "the accumulator value used is older than the request's max_staleness",
    "too-many-attempts": "the request had max_attempts presentations that did not verify; it is rejected for good",
}

# circuits.presentation.PresentationRejected.code → our coarse reason.
_REASON_OF_CODE = {
    "unknown_definition": "definition_not_accepted",
    "definition_not_accepted": "definition_not_accepted",
    "revocation": "revocation",
    "stale_accumulator": "stale",
}


def _now_ms(now: float) -> int:
    return int(now * 1000)


def iso_utc(ms: int) -> str:
    return _dt.datetime.fromtimestamp(ms / 1000, _dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def lender_context(verifier_id: str, lender: str, campaign: str | None = None) -> str:
    """The pseudonym context of ``lender`` (and optionally one of its campaigns) at this verifier."""
    parts = [verifier_id, urllib.parse.quote(lender, safe="")]
    if campaign is not None:
        parts.append(urllib.parse.quote(campaign, safe=""))
    return "/".join(parts)


def _displayable(text: str) -> bool:
    """No control or format characters (newlines, ANSI escapes, bidi overrides): text a wallet shows."""
    return not any(unicodedata.category(ch)[0] == "C" for ch in text)


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def create_api_key(*, store: RequestStore, lender: str, now: float) -> str:
    """A new API key for ``lender``; returned once, stored only as its SHA-256 (no ledger needed)."""
    lender = lender.strip()
    if not 0 < len(lender) <= 128 or not _displayable(lender):
        raise VerifierError(ErrorKind.INPUT, "a lender name is 1–128 characters, without control or format characters")
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    store.add_api_key(lender=lender, key_hash=hash_api_key(key), prefix=key[:10], created_ms=_now_ms(now))
    logger.info("create_api_key >>> lender=%s prefix=%s", lender, key[:10])
    return key


def revoke_api_keys(*, store: RequestStore, key: str | None = None, lender: str | None = None, now: float) -> int:
    """Revoke one API key (given by its value) or every key of ``lender``; the number revoked."""
    if (key is None) == (lender is None):
        raise VerifierError(ErrorKind.INPUT, "revoke by key or by lender, not both and not neither")
    count = store.revoke_api_keys(
        key_hash=hash_api_key(key) if key is not None else None,
        lender=lender.strip() if lender is not None else None,
        revoked_ms=_now_ms(now),
    )
    logger.info("revoke_api_keys >>> %d revoked", count)
    return count


# Records and the store Protocol -------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    verified: bool
    disclosed: dict[str, Any]
    predicates: list[str]
    reason: str | None
    pseudonym: str | None = None  # b64url G1 point of a verified presentation; recorded, not in the verdict JSON
    escrow: dict[str, Any] | None = None  # circuits.escrow.Escrowed JSON: the ciphertext and its id (digest)
    # per query {definition_id, disclosed, predicates}: only for requests made with ``queries`` (not the one-query form)
    queries: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out = {
            "verified": self.verified,
            "disclosed": self.disclosed,
            "predicates": self.predicates,
            "reason": self.reason,
        }
        if self.escrow is not None:
            out["escrow"] = self.escrow
        if self.queries is not None:
            out["queries"] = self.queries
        return out

    @classmethod
    def rejected(cls, reason: str) -> Verdict:
        assert reason in REASONS
        return cls(False, {}, [], reason)


@dataclass(frozen=True)
class RequestRecord:
    id: str
    lender: str
    request: PresentationRequest
    status: str
    created_ms: int
    expires_ms: int
    max_staleness: int
    verdict: Verdict | None = None
    purpose: str | None = None  # the lender's, shown to the holder (signed into the document)

    @property
    def nonce_b64(self) -> str:
        return b64e(self.request.nonce)

    @property
    def request_json(self) -> str:
        return canonical_json(self.request.to_json()).decode()

    def status_at(self, now_ms: int) -> str:
        """The stored status, or ``expired`` for a pending request past its expiry."""
        return "expired" if self.status == "pending" and now_ms >= self.expires_ms else self.status

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> RequestRecord:
        v = row.get("verdict")
        return cls(
            id=row["id"],
            lender=row["lender"],
            request=PresentationRequest.from_json(json.loads(row["request_json"])),
            status=row["status"],
            created_ms=row["created_ms"],
            expires_ms=row["expires_ms"],
            max_staleness=row["max_staleness"],
            verdict=None if v is None else Verdict(**v),  # the stored JSON is ``Verdict.to_json``
            purpose=row.get("purpose"),
        )


class RequestStore(Protocol):
    engine: Engine  # the readiness probe runs SELECT 1 on it

    def add_api_key(self, *, lender: str, key_hash: str, prefix: str, created_ms: int) -> None: ...

    def lender_for_key(self, *, key_hash: str) -> str | None: ...

    def revoke_api_keys(self, *, key_hash: str | None = None, lender: str | None = None, revoked_ms: int) -> int: ...

    def insert_request(self, record: RequestRecord) -> None: ...

    def get_request(self, *, request_id: str) -> dict[str, Any] | None: ...

    def finish_request(
        self,
        *,
        request_id: str,
        status: str,
        verdict: dict[str, Any],
        answered_ms: int,
        pseudonym: dict[str, str] | None = None,
    ) -> bool: ...

    def record_failed_attempt(
        self, *, request_id: str, max_attempts: int, verdict: dict[str, Any], answered_ms: int
    ) -> str: ...

    def list_requests(self, *, lender: str, limit: int = 100) -> list[dict[str, Any]]: ...

    def pseudonym_of(self, *, request_id: str) -> dict[str, Any] | None: ...

    def pseudonym_records(
        self, *, lender: str, pseudonym: str, before_seq: int | None = None
    ) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class PseudonymStatus:
    """What the lender learns about a request's pseudonym (``value`` etc. once verified)."""

    context: str
    value: str | None
    seen_before: bool | None
    earlier_requests: list[str] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "pseudonym_context": self.context,
            "pseudonym": self.value,
            "seen_before": self.seen_before,
            "earlier_requests": self.earlier_requests,
        }


# The service ------------------------------------------------------------------------------------


class VerifierService:
    """Requests and verdicts for lenders; see the module docstring for the rules."""

    def __init__(
        self,
        *,
        store: RequestStore,
        resolver: Resolver,
        verifier_id: str | None = None,
        identity: VerifierIdentity | None = None,
        clock: Callable[[], float] = _time.time,
        backend: GroupBackend | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        if identity is not None:
            if verifier_id not in (None, identity.verifier_id):
                raise ValueError(f"verifier id {verifier_id!r}: this verifier's key makes it {identity.verifier_id}")
            verifier_id = identity.verifier_id
        if verifier_id is None or not 0 < len(verifier_id) <= 256:
            raise ValueError("verifier id: 1–256 characters")
        if not 1 <= max_attempts <= 1000:
            raise ValueError("max_attempts: 1–1000")
        self.max_attempts = max_attempts
        self.store = store
        self.resolver = resolver
        self.verifier_id = verifier_id
        self.identity = identity  # None: not registered, no signed documents (tests of the request logic)
        self.clock = clock
        self.backend = backend

    # ------------------------------------------------------------ API keys

    def create_api_key(self, *, lender: str) -> str:
        """A new API key for ``lender``; returned once, stored only as its SHA-256."""
        return create_api_key(store=self.store, lender=lender, now=self.clock())

    def authenticate(self, *, api_key: str | None) -> str:
        """The lender an API key belongs to; UNAUTHORIZED without a key, FORBIDDEN for an unknown one."""
        if not api_key:
            raise VerifierError(ErrorKind.UNAUTHORIZED, "send Authorization: Bearer <API key>")
        lender = self.store.lender_for_key(key_hash=hash_api_key(api_key))
        if lender is None:
            raise VerifierError(ErrorKind.FORBIDDEN, "unknown or revoked API key")
        return lender

    # ------------------------------------------------------------ requests

    def create_request(
        self,
        *,
        lender: str,
        credential_definitions: Sequence[str] | None = None,
        disclose: Sequence[str] = (),
        predicates: Sequence[dict[str, Any]] = (),
        linear: Sequence[dict[str, Any] | str] = (),
        queries: Sequence[dict[str, Any]] | None = None,
        equalities: Sequence[Any] = (),
        expires_in: int = 600,
        max_staleness: int = 600,
        pseudonym: bool | str = False,
        purpose: str | None = None,
        escrow: Mapping[str, str] | None = None,
        now: float | None = None,
    ) -> RequestRecord:
        """A new presentation request of ``lender`` with a fresh nonce.

        Either the one-query form — ``credential_definitions`` (+ ``disclose``,
        ``predicates``): one query ``"credential"`` — or ``queries``: named queries
        (``{id, credential_definitions, disclose, predicates}``), one credential each, all of
        one holder (the same link secret is always proven), with ``equalities`` between
        their hidden attributes (``"tax.company_id == bank.company_id"``) and top-level
        ``predicates`` naming ``query.attribute`` (:mod:`circuits.request_language`).

        ``pseudonym``: ``True`` asks for the holder's pseudonym for this lender, a string for
        the lender's campaign of that id (module docstring); the context is derived here and
        set on the first query (one link secret: one pseudonym per context).
        ``linear``: ``{terms: [{attr, coef}], op, value}`` predicates or their string form
        (``40*tax.income - 100*bank.monthly_debt >= 0``, :func:`circuits.request_language.parse_linear`);
        a term's ``attr`` is ``query.attribute`` — in the one-query form also a bare attribute
        name (``income``, i.e. ``credential.income``).
        ``escrow``: ``{"auditor", "attribute", "label"}`` asks the holder to encrypt that hidden
        attribute to the auditor registered on the ledger, bound to this request's id and the label;
        with ``queries`` its ``attribute`` is ``query.attribute`` and the clause goes on that query.
        """
        logger.debug("create_request >>> lender=%s definitions=%s", lender, credential_definitions)
        now = self.clock() if now is None else now
        if not 1 <= expires_in <= MAX_EXPIRES_IN:
            raise VerifierError(ErrorKind.INPUT, f"expires_in: 1–{MAX_EXPIRES_IN} seconds")
        if not 0 <= max_staleness <= MAX_STALENESS:
            raise VerifierError(ErrorKind.INPUT, f"max_staleness: 0–{MAX_STALENESS} seconds")
        if purpose is not None:
            purpose = purpose.strip()
            if not 0 < len(purpose) <= PURPOSE_MAX or not _displayable(purpose):
                raise VerifierError(
                    ErrorKind.INPUT, f"purpose: 1–{PURPOSE_MAX} characters, without control or format characters"
                )
        context = self._pseudonym_context(lender, pseudonym)
        request_id = secrets.token_urlsafe(16)
        escrow_query = None
        if escrow is not None and queries is not None:
            try:
                escrow_query, attribute = parse_reference(escrow.get("attribute"))
            except ZkCredError as e:
                raise VerifierError(ErrorKind.INPUT, f"escrow: {e}") from None
            escrow = {**escrow, "attribute": attribute}
        clause = None if escrow is None else self._escrow_clause(escrow, request_id)
        try:
            if queries is None:
                if credential_definitions is None:
                    raise ParameterError("give credential_definitions (one query) or queries (several)")
                if equalities:
                    raise ParameterError("equalities relate named queries: make the request with queries")
                preds = tuple(Predicate(str(p["attribute"]), str(p["op"]), p["value"]) for p in predicates)
                query_list = [
                    CredentialQuery(
                        QUERY_ID,
                        tuple(map(str, credential_definitions)),
                        tuple(map(str, disclose)),
                        preds,
                        pseudonym_context=context,
                        escrow=clause,
                    )
                ]
                pairs: tuple[tuple[str, str], ...] = ()
            else:
                if credential_definitions is not None or disclose:
                    raise ParameterError(
                        "with queries, credential_definitions and disclose go inside each query, not beside them"
                    )
                query_list, pairs = _named_queries(
                    queries, predicates, equalities, context, None if clause is None else (escrow_query, clause)
                )
            request = PresentationRequest(
                secrets.token_bytes(NONCE_BYTES),
                self.verifier_id,
                _dt.datetime.fromtimestamp(now, _dt.UTC).date(),
                tuple(query_list),
                pairs,
                linear=tuple(parse_linear(lp, QUERY_ID if queries is None else None) for lp in linear),
            )
        except (ZkCredError, KeyError, TypeError, ValueError) as e:
            raise VerifierError(ErrorKind.INPUT, str(e)) from None
        definitions = {d: self._definition(d) for q in request.queries for d in q.credential_definitions}
        self._check_answerable(request, definitions)
        now_ms = _now_ms(now)
        record = RequestRecord(
            id=request_id,
            lender=lender,
            request=request,
            status="pending",
            created_ms=now_ms,
            expires_ms=now_ms + expires_in * 1000,
            max_staleness=max_staleness,
            purpose=purpose,
        )
        self.store.insert_request(record)
        return record

    def _pseudonym_context(self, lender: str, pseudonym: bool | str) -> str | None:
        if pseudonym is False:
            return None
        if pseudonym is True:
            context = lender_context(self.verifier_id, lender)
        elif isinstance(pseudonym, str) and 0 < len(pseudonym) <= CAMPAIGN_MAX:
            context = lender_context(self.verifier_id, lender, pseudonym)
        else:
            raise VerifierError(ErrorKind.INPUT, f"pseudonym: true, or a context id of 1–{CAMPAIGN_MAX} characters")
        if len(context.encode()) > 256:
            raise VerifierError(
                ErrorKind.INPUT,
                "the pseudonym context (verifier id / lender / context id) is "
                "longer than 256 bytes; use a shorter context id",
            )
        return context

    def _escrow_clause(self, escrow: Mapping[str, str], request_id: str) -> EscrowClause:
        """The escrow clause: the auditor's key from the ledger, this request's id."""
        try:
            auditor = self.resolver.auditor(str(escrow["auditor"]))
        except UnknownAuditor as e:
            raise VerifierError(ErrorKind.INPUT, e.detail, slug="unknown-auditor") from None
        except LedgerUnavailable as e:
            raise VerifierError(ErrorKind.LEDGER_UNAVAILABLE, e.detail) from None
        try:
            return EscrowClause(
                auditor.id, b64d(auditor.escrow_key), str(escrow["attribute"]), str(escrow["label"]), request_id
            )
        except (ZkCredError, KeyError) as e:
            raise VerifierError(ErrorKind.INPUT, f"escrow: {e}") from None

    def _definition(self, definition_id: str) -> CredentialDefinition:
        try:
            return self.resolver.definition(definition_id)
        except UnknownDefinition:
            raise VerifierError(
                ErrorKind.INPUT, f"no credential definition {definition_id} on the ledger", slug="unknown-definition"
            ) from None
        except DefinitionMismatch:
            raise VerifierError(
                ErrorKind.INPUT,
                f"the ledger's entries for {definition_id} do not match its id",
                slug="definition-mismatch",
            ) from None
        except LedgerUnavailable as e:
            raise VerifierError(ErrorKind.LEDGER_UNAVAILABLE, e.detail) from None

    @staticmethod
    def _check_answerable(request: PresentationRequest, definitions: dict[str, CredentialDefinition]) -> None:
        """Refuse a request no credentials of its definitions could answer (``circuits.request_checks``):
        unknown attributes, values of the wrong type or range, contradictions, equalities between
        attributes a definition lacks or of different types, linear predicates no values could meet,
        more range statements than one proof."""
        try:
            check_answerable(request, definitions)
        except (ZkCredError, TypeError, ValueError, ArithmeticError) as e:
            raise VerifierError(ErrorKind.INPUT, str(e)) from None

    def _record(self, request_id: str) -> RequestRecord:
        row = self.store.get_request(request_id=request_id)
        if row is None:
            raise VerifierError(ErrorKind.NOT_FOUND, "no such request")
        return RequestRecord.from_row(row)

    def get_request(self, *, lender: str, request_id: str) -> RequestRecord:
        """A lender's own request (FORBIDDEN for another lender's)."""
        record = self._record(request_id)
        if record.lender != lender:
            raise VerifierError(ErrorKind.FORBIDDEN, "this request belongs to another lender")
        return record

    def pseudonym_status(self, record: RequestRecord) -> PseudonymStatus | None:
        """The pseudonym part of a lender's view of ``record`` (None if the request asked for none)."""
        context = _pseudonym_context_of(record.request)
        if context is None:
            return None
        row = self.store.pseudonym_of(request_id=record.id) if record.status == "verified" else None
        if row is None:
            return PseudonymStatus(context, None, None, None)
        earlier = self.store.pseudonym_records(lender=record.lender, pseudonym=row["pseudonym"], before_seq=row["seq"])
        return PseudonymStatus(context, row["pseudonym"], bool(earlier), [r["request_id"] for r in earlier])

    def pseudonym_records(self, *, lender: str, pseudonym: str) -> list[dict[str, Any]]:
        """``lender``'s verified requests carrying ``pseudonym``, oldest first.

        FORBIDDEN when ``lender`` has none — whether another lender has or nobody has, so
        the answer never tells one lender what another has seen.
        """
        rows = self.store.pseudonym_records(lender=lender, pseudonym=pseudonym) if len(pseudonym) <= 128 else []
        if not rows:
            raise VerifierError(ErrorKind.FORBIDDEN, "no verified request of yours carries this pseudonym")
        return rows

    def list_requests(self, *, lender: str, limit: int = 100) -> list[RequestRecord]:
        """``lender``'s requests, newest first (never another lender's)."""
        return [RequestRecord.from_row(row) for row in self.store.list_requests(lender=lender, limit=limit)]

    def get_document(self, *, request_id: str) -> RequestRecord:
        """The request as a holder sees it (public: the id is the capability)."""
        return self._record(request_id)

    def signed_document(self, record: RequestRecord, *, presentation_url: str) -> dict[str, Any]:
        """The request document a holder's wallet checks, signed by this verifier's registered key.

        Names this verifier (id, registration seq), the lender, its purpose, the presentation
        request (what is disclosed, what is proven, pseudonym contexts), where to answer, and
        when it was made and expires (``ledger.verifiers``: every field is signed).
        """
        if self.identity is None:
            raise VerifierError(
                ErrorKind.LEDGER_UNAVAILABLE,
                "this verifier is not registered on the ledger: it cannot sign request documents",
                slug="verifier-unregistered",
            )
        return self.identity.sign_document(
            {
                "id": record.id,
                "lender": record.lender,
                "purpose": record.purpose,
                "request": record.request.to_json(),
                "presentation_url": presentation_url,
                "issued_at": iso_utc(record.created_ms),
                "expires_at": iso_utc(record.expires_ms),
                "max_staleness": record.max_staleness,
            }
        )

    # ------------------------------------------------------------ answering

    def submit_presentation(
        self, *, request_id: str, unverified_presentation: Any, now: float | None = None
    ) -> Verdict:
        """Verify a holder's presentation for a request and record the verdict once (module doc)."""
        logger.debug("submit_presentation >>> request=%s", request_id)
        now = self.clock() if now is None else now
        record = self._record(request_id)
        if record.status != "pending":
            raise VerifierError(ErrorKind.REPLAY, "this request was already answered; its nonce is spent")
        if _now_ms(now) >= record.expires_ms:
            return self._finish(record, Verdict.rejected("expired"), now, status="expired")
        verdict = self._verify(record, unverified_presentation, now)
        if not verdict.verified:
            return self._failed_attempt(record, verdict, now)
        return self._finish(record, verdict, now)

    def check_presentation(self, *, request_id: str, unverified_presentation: Any, now: float | None = None) -> Verdict:
        """Dry run: the verdict :meth:`submit_presentation` would reach, with nothing recorded.

        The same decision path (parse, resolve the definitions and accumulator values, verify)
        for a request that exists, but the nonce is not spent, no attempt is counted and no
        pseudonym is stored, so it may be called any number of times (tests, tools). It
        ignores the request's status and expiry: it answers "does this presentation prove
        what the request asks", not "would the request accept an answer now".
        """
        now = self.clock() if now is None else now
        return self._verify(self._record(request_id), unverified_presentation, now)

    def _failed_attempt(self, record: RequestRecord, verdict: Verdict, now: float) -> Verdict:
        """Count a presentation that did not verify; the request stays pending until ``max_attempts``."""
        final = Verdict.rejected("too-many-attempts")
        outcome = self.store.record_failed_attempt(
            request_id=record.id, max_attempts=self.max_attempts, verdict=final.to_json(), answered_ms=_now_ms(now)
        )
        if outcome == "answered":
            raise VerifierError(ErrorKind.REPLAY, "this request was already answered; its nonce is spent")
        logger.info(
            "attempt >>> request=%s reason=%s outcome=%s",
            record.id,
            verdict.reason,
            outcome,
            extra={"verdict": "rejected", "reason": verdict.reason},
        )
        return final if outcome == "rejected" else verdict

    def _finish(self, record: RequestRecord, verdict: Verdict, now: float, *, status: str | None = None) -> Verdict:
        status = status or ("verified" if verdict.verified else "rejected")
        context = _pseudonym_context_of(record.request)
        nym = None
        if verdict.verified and context is not None and verdict.pseudonym is not None:
            nym = {"lender": record.lender, "context": context, "pseudonym": verdict.pseudonym}
        if not self.store.finish_request(
            request_id=record.id, status=status, verdict=verdict.to_json(), answered_ms=_now_ms(now), pseudonym=nym
        ):
            raise VerifierError(ErrorKind.REPLAY, "this request was already answered; its nonce is spent")
        logger.info(
            "verdict >>> request=%s status=%s reason=%s",
            record.id,
            status,
            verdict.reason,
            extra={"verdict": status, "reason": verdict.reason},
        )
        return verdict

    def _verify(self, record: RequestRecord, unverified: Any, now: float) -> Verdict:
        request = record.request
        try:
            presentation = Presentation.from_json(unverified, backend=self.backend)
        except ZkCredError as e:
            logger.info("request %s: malformed presentation: %s", record.id, e)
            return Verdict.rejected("malformed")
        except Exception:  # fail closed on anything a hostile encoding provokes
            logger.exception("request %s: presentation parser failed", record.id)
            return Verdict.rejected("malformed")

        accepted = {d for q in request.queries for d in q.credential_definitions}
        definitions: dict[str, CredentialDefinition] = {}
        for cp in presentation.credentials:
            if cp.definition_id in accepted and cp.definition_id not in definitions:
                try:
                    definitions[cp.definition_id] = self.resolver.definition(cp.definition_id)
                except (UnknownDefinition, DefinitionMismatch) as e:
                    logger.warning("request %s: %s", record.id, e.detail)  # verify_presentation rejects it
                except LedgerUnavailable as e:
                    raise VerifierError(ErrorKind.LEDGER_UNAVAILABLE, e.detail) from None

        refused: list[ResolverError] = []

        def accumulator_at(definition_id: str, height: int) -> bytes:
            try:
                return self.resolver.accumulator_at(definition_id, height, max_staleness=record.max_staleness, now=now)
            except LedgerUnavailable:
                raise
            except ResolverError as e:
                refused.append(e)
                raise VerificationError(e.detail) from None  # → PresentationRejected("stale_accumulator")

        try:
            verified = verify_presentation(
                request, presentation, definitions, accumulator_at=accumulator_at, backend=self.backend
            )
        except LedgerUnavailable as e:
            raise VerifierError(ErrorKind.LEDGER_UNAVAILABLE, e.detail) from None
        except PresentationRejected as e:
            reason = _REASON_OF_CODE.get(e.code, "invalid_proof")
            if e.code == "stale_accumulator" and refused and not isinstance(refused[-1], StaleAccumulator):
                reason = "revocation"  # a height with no value of this registry: not the ledger's accumulator
            logger.info("request %s: rejected (%s): %s", record.id, reason, e)
            return Verdict.rejected(reason)
        except Exception:  # fail closed: a hostile proof must never become a 500 or an acceptance
            logger.exception("request %s: verification failed unexpectedly", record.id)
            return Verdict.rejected("invalid_proof")

        return _verdict(request, presentation, definitions, verified)


def _verdict(
    request: PresentationRequest,
    presentation: Presentation,
    definitions: dict[str, CredentialDefinition],
    verified: VerifiedPresentation,
) -> Verdict:
    """The verified verdict: disclosed values as JSON per query and, for a request made with named
    ``queries``, per query what was proven (the one-query form's verdict keeps its flat shape)."""
    per_query: dict[str, Any] = {}
    for query, proof in zip(request.queries, presentation.credentials, strict=True):
        schema = definitions[proof.definition_id].schema
        per_query[query.id] = {
            "definition_id": proof.definition_id,
            "disclosed": {
                name: schema.attribute(name).type.to_json(value) for name, value in verified.disclosed[query.id].items()
            },
            "predicates": verified.per_query.get(query.id, []),
        }
    pseudonym = next(iter(verified.pseudonyms.values()), None)
    escrowed = next(iter(verified.escrows.values()), None)
    escrow = None if escrowed is None else escrowed.to_json()
    if is_single_form(request):
        return Verdict(True, per_query[QUERY_ID]["disclosed"], list(verified.predicates), None, pseudonym, escrow)
    disclosed = {query_id: view["disclosed"] for query_id, view in per_query.items()}
    return Verdict(True, disclosed, list(verified.predicates), None, pseudonym, escrow, per_query)


def is_single_form(request: PresentationRequest) -> bool:
    """A request of the one-query form: one query, ``"credential"``, no equalities (its verdict is flat)."""
    return len(request.queries) == 1 and request.queries[0].id == QUERY_ID and not request.equalities


def _pseudonym_context_of(request: PresentationRequest) -> str | None:
    """The pseudonym context the request asks for (the verifier sets it on the first query only)."""
    return next((q.pseudonym_context for q in request.queries if q.pseudonym_context is not None), None)


def _named_queries(
    queries: Sequence[dict[str, Any]],
    predicates: Sequence[dict[str, Any]],
    equalities: Sequence[Any],
    context: str | None,
    escrow: tuple[str | None, EscrowClause] | None = None,
) -> tuple[list[CredentialQuery], tuple[tuple[str, str], ...]]:
    """The queries of a multi-credential request: each query's own predicates plus the top-level ones
    that name it (``query.attribute``); the equalities parsed, each side naming a query of the request;
    ``escrow``: (query id, clause) — the clause goes on that query."""
    out = [
        CredentialQuery(  # validates each query (its id a name, definitions listed) before anything refers to it
            str(q["id"]),
            tuple(map(str, q["credential_definitions"])),
            tuple(map(str, q.get("disclose", ()))),
            tuple(Predicate(str(p["attribute"]), str(p["op"]), p["value"]) for p in q.get("predicates", ())),
            pseudonym_context=context if i == 0 else None,
        )
        for i, q in enumerate(queries)
    ]
    ids = [q.id for q in out]
    if len(set(ids)) != len(ids):
        raise ParameterError(f"query ids must be unique: {ids}")
    scoped = group_predicates(predicates, ids)
    out = [dataclasses.replace(q, predicates=q.predicates + tuple(scoped[q.id])) for q in out]
    if escrow is not None:
        if escrow[0] not in ids:
            raise ParameterError(f"escrow of {escrow[0]}.{escrow[1].attribute}: the request has no query {escrow[0]!r}")
        out = [dataclasses.replace(q, escrow=escrow[1]) if q.id == escrow[0] else q for q in out]
    pairs = tuple(parse_equality(e) for e in equalities)
    for pair in pairs:
        for ref in pair:
            if ref.partition(".")[0] not in ids:
                raise ParameterError(
                    f"equality {pair[0]} == {pair[1]}: the request has no query {ref.partition('.')[0]!r} "
                    f"(its queries: {', '.join(ids)})"
                )
    return out, pairs
