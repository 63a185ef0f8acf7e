"""The wallet checks a request before it proves: :class:`VerifiedRequest` and :func:`verify_request`.

``Wallet.fetch_request(url)`` fetches a request document and hands it here with the
wallet's ledger client. Nothing is proven or sent unless every check holds; the first that
fails raises :class:`RequestRefused` (one line, a stable ``reason``):

1. ``malformed`` — the document is not a ``zkcred-request/v1`` object with exactly the
   signed fields (``ledger.verifiers.SignedRequestDocument``), or its request does not parse;
2. ``unregistered-verifier`` — the ledger entry it names (``registration_seq``) is not the
   ``verifier_registration`` of its ``verifier_id`` (read through the pinned ledger key,
   the witness policy's checkpoint and inclusion proofs, rotations applied), or the wallet
   has no pinned ledger to check it against;
3. ``bad-signature`` — the document is not signed by the registered (current) key: a
   document altered in transit, or a deployment claiming another's id;
4. ``origin-mismatch`` — the URL it was fetched from, or the ``presentation_url`` it names,
   is not on one of the registered origins;
5. ``verifier-mismatch`` — the presentation request names another verifier id than the
   registered one (the proof's transcript binds that id);
6. ``unknown-lender`` — a pseudonym context is not ``<verifier id>/<lender>[/<campaign>]`` of
   this verifier and the signed lender (``verifier.service.lender_context``);
7. ``expired`` — ``expires_at`` has passed.

The result carries what the holder is shown before consenting (who, why, what, until when).
"""

from __future__ import annotations

import datetime as _dt
import urllib.parse
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from circuits.credentials import PresentationRequest
from circuits.errors import ZkCredError
from ledger.entries import canonical_origin
from ledger.errors import LedgerError
from ledger.verifiers import (
    VerifierRecord,
    VerifierUnknown,
    parse_request_document,
    resolve_verifier,
    verify_request_document,
)
from wallet.core import PseudonymScope
from wallet.store import Store, WalletError

#: reason code → what it means (stable: apps switch on these).
REFUSALS = {
    "malformed": "the request document is not a signed zkcred request",
    "unregistered-verifier": "the verifier it names is not registered on the ledger",
    "bad-signature": "the document is not signed by the verifier's registered key",
    "origin-mismatch": "the document was not served from (or does not answer to) a registered origin",
    "verifier-mismatch": "the presentation request names another verifier",
    "unknown-lender": "a pseudonym context is not this verifier's context for the signed lender",
    "expired": "the request has expired",
}


class RequestRefused(WalletError):
    """The wallet refuses a request document before proving; ``reason`` is one of :data:`REFUSALS`."""

    def __init__(self, reason: str, detail: str) -> None:
        assert reason in REFUSALS
        super().__init__(f"refused ({reason}): {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class VerifierInfo:
    """The verifier's registration as the wallet verified it on the ledger."""

    verifier_id: str  # verifier-<hex>, derived from its first key
    name: str  # the display name it registered
    origins: tuple[str, ...]  # the web origins it registered
    registration_seq: int  # the ledger entry of its registration
    key: str  # hex of the Ed25519 key that signed the document (current after rotations)

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "origins": list(self.origins)}


@dataclass(frozen=True)
class VerifiedRequest:
    """A request document every check of this module passed: who asks, why, what, where, until when.

    ``request`` holds what is asked: per query, the accepted credential definitions, the
    attributes disclosed (``disclose``), the statements proven without their values
    (``predicates``, linear predicates, equalities) and the ``pseudonym_context``;
    ``pseudonym_scopes`` names the lender (and campaign) each context belongs to.
    """

    url: str  # the URL the document was fetched from
    origin: str  # its origin: one of verifier.origins
    verifier: VerifierInfo
    lender: str  # the lender's display name, as the verifier signed it
    purpose: str | None  # the lender's purpose, as the verifier signed it (None: none given)
    request_id: str
    request: PresentationRequest
    presentation_url: str  # where the presentation goes (on a registered origin)
    issued_at: _dt.datetime
    expires_at: _dt.datetime
    max_staleness: int  # seconds: how old a revocation view the verifier accepts
    pseudonym_scopes: tuple[PseudonymScope, ...]
    document: Mapping[str, Any]  # the signed document as received

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "origin": self.origin,
            "verifier": self.verifier.to_json(),
            "lender": self.lender,
            "purpose": self.purpose,
            "request_id": self.request_id,
            "request": self.request.to_json(),
            "presentation_url": self.presentation_url,
            "issued_at": _iso(self.issued_at),
            "expires_at": _iso(self.expires_at),
            "max_staleness": self.max_staleness,
            "pseudonym_scopes": [s.to_json() for s in self.pseudonym_scopes],
        }


def _iso(t: _dt.datetime) -> str:
    return t.isoformat(timespec="seconds").replace("+00:00", "Z")


def _time(value: str, field: str) -> _dt.datetime:
    try:
        t = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise RequestRefused("malformed", f"the request document's {field} {value!r} is not an ISO 8601 time") from None
    if t.tzinfo is None:
        raise RequestRefused("malformed", f"the request document's {field} {value!r} has no time zone")
    return t


def _origin(url: str, what: str) -> str:
    try:
        return canonical_origin(url)
    except ValueError:
        raise RequestRefused("origin-mismatch", f"{what} {url!r} is not an http(s) URL") from None


def check_contexts(request: PresentationRequest, verifier_id: str, lender: str) -> tuple[PseudonymScope, ...]:
    """Every pseudonym context must be ``<verifier_id>/<lender>[/<campaign>]`` (parts percent-encoded)."""
    prefix = f"{verifier_id}/{urllib.parse.quote(lender, safe='')}"
    scopes = []
    for q in request.queries:
        context = q.pseudonym_context
        if context is None:
            continue
        rest = context[len(prefix) :] if context.startswith(prefix) else None
        campaign: str | None = None
        if rest is None or (rest and (not rest.startswith("/") or "/" in rest[1:] or len(rest) == 1)):
            raise RequestRefused(
                "unknown-lender",
                f"query {q.id!r} asks for a pseudonym in context {context!r}, which is not verifier "
                f"{verifier_id}'s context for lender {lender!r}",
            )
        if rest:
            campaign = urllib.parse.unquote(rest[1:])
        scopes.append(PseudonymScope(q.id, context, verifier_id, lender, campaign))
    return tuple(scopes)


def verify_request(
    unverified: Any,
    *,
    url: str,
    ledger: Any,
    now: float,
    registrations: MutableMapping[str, VerifierRecord] | None = None,
) -> VerifiedRequest:
    """Check a request document fetched from ``url`` (module docstring); ``ledger`` is a
    ``ledger.client.LedgerClient`` pinning the ledger key (None: refused, nothing to check against).

    ``registrations``: verifier id → its registration as verified before (the wallet keeps them
    in its store); a known one is brought up to date from the entries after its checkpoint
    (a consistency proof first) instead of from its registration on, and stored back.
    """
    try:
        doc = parse_request_document(unverified)
    except ValueError as e:
        raise RequestRefused("malformed", f"{url} did not serve a signed request document ({e})") from None
    origin = _origin(url, "the request URL")
    if ledger is None:
        raise RequestRefused(
            "unregistered-verifier",
            "cannot check who is asking: no ledger with a pinned key (set ZKCRED_LEDGER_URL and "
            "ZKCRED_LEDGER_PUBLIC_KEY)",
        )
    try:
        known = registrations.get(doc.verifier_id) if registrations is not None else None
        record = resolve_verifier(ledger, doc.verifier_id, registration_seq=doc.registration_seq, known=known)
    except VerifierUnknown as e:
        raise RequestRefused("unregistered-verifier", f"{url}: {e.detail}") from None
    except LedgerError as e:
        raise RequestRefused(
            "unregistered-verifier", f"cannot check verifier {doc.verifier_id} on the ledger: {e.detail}"
        ) from None
    if registrations is not None:
        registrations[doc.verifier_id] = record  # what the ledger says, whatever this document is worth
    try:
        verify_request_document(unverified, record.key)
    except LedgerError:
        raise RequestRefused(
            "bad-signature",
            f"{url}: the request document is not signed by the registered key of {doc.verifier_id} "
            f"({record.name!r}): altered in transit, or not that verifier's",
        ) from None
    if origin not in record.origins:
        raise RequestRefused(
            "origin-mismatch",
            f"{url} is not on an origin verifier {record.name!r} registered ({', '.join(record.origins)})",
        )
    if _origin(doc.presentation_url, "the presentation URL") not in record.origins:
        raise RequestRefused(
            "origin-mismatch",
            f"the presentation URL {doc.presentation_url} is not on an origin verifier {record.name!r} registered",
        )
    try:
        request = PresentationRequest.from_json(doc.request)
    except (ZkCredError, KeyError, TypeError, ValueError) as e:
        raise RequestRefused("malformed", f"{url}: the presentation request does not parse ({e})") from None
    if request.verifier_id != record.verifier_id:
        raise RequestRefused(
            "verifier-mismatch",
            f"the presentation request names verifier {request.verifier_id!r}, the document {record.verifier_id}",
        )
    scopes = check_contexts(request, record.verifier_id, doc.lender)
    issued, expires = _time(doc.issued_at, "issued_at"), _time(doc.expires_at, "expires_at")
    if now >= expires.timestamp():
        raise RequestRefused("expired", f"{url} expired at {doc.expires_at}; ask the lender for a new request")
    info = VerifierInfo(record.verifier_id, record.name, record.origins, record.seq, record.key.hex())
    return VerifiedRequest(
        url=url,
        origin=origin,
        verifier=info,
        lender=doc.lender,
        purpose=doc.purpose,
        request_id=doc.id,
        request=request,
        presentation_url=doc.presentation_url,
        issued_at=issued,
        expires_at=expires,
        max_staleness=doc.max_staleness,
        pseudonym_scopes=scopes,
        document=dict(unverified),
    )


class StoredRegistrations(MutableMapping[str, VerifierRecord]):
    """The registrations a wallet verified, in its encrypted store (kind ``verifier``)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __getitem__(self, verifier_id: str) -> VerifierRecord:
        data = self._store.get("verifier", verifier_id)
        if data is None:
            raise KeyError(verifier_id)
        return VerifierRecord.from_json(data)

    def __setitem__(self, verifier_id: str, record: VerifierRecord) -> None:
        self._store.put("verifier", verifier_id, record.to_json())

    def __delitem__(self, verifier_id: str) -> None:
        self._store.delete("verifier", verifier_id)

    def __iter__(self) -> Iterator[str]:
        return iter([rid for rid, _ in self._store.all("verifier")])

    def __len__(self) -> int:
        return len(self._store.all("verifier"))
