"""The holder's wallet: link secret, credentials, presentations, ledger following.

The wallet meets the services only over HTTP (httpx) and the wire types of
``circuits.credentials`` / ``circuits.presentation`` (docs/api.md). Role verbs follow
anoncreds-rs: ``accept_offer`` = create_credential_request + process_credential.

- ``accept_offer(offer)``: commit to the link secret (blind BBS), send the commitment
  with the offer's one-time token, verify what comes back (signature over every
  message, and the revocation witness against the accumulator) before storing it.
- ``prepare(request)`` → a :class:`wallet.consent.ConsentSummary` (who asks, why, each
  disclosed value, each proven statement as a sentence, the pseudonym, which credential
  and issuer answer, the expiry) and nothing sent; ``present(summary.approve())`` proves,
  ``submit(summary.approve())`` also posts and returns the verdict. ``present`` and
  ``submit`` take nothing but an approval (``wallet.consent``: presenting without the
  summary is impossible). Per query the wallet picks a credential that satisfies it — or
  says exactly which predicate no credential meets.
- An expired request is refused before any cryptography runs (in ``prepare`` and again at
  ``submit``). A revocable credential whose ledger view (its last sync, or its issuance) is
  older than the request's ``max_staleness`` is synced in ``prepare``; a ``stale``
  verdict — the verifier's ledger moved on after the sync — is answered by one sync and
  one retry (the verifier only spends a request on a verified presentation, so the retry
  is against the same request).
- Pseudonyms: a query with a ``pseudonym_context`` gets the holder's pseudonym for that
  context (derived from the link secret: the same for every presentation to that
  context, unlinkable across contexts). :func:`pseudonym_scopes` reads a request's
  contexts and, for zkcred verifiers (``"<verifier_id>/<lender>[/<campaign>]"``,
  percent-encoded parts, docs/api.md), the lender and campaign they belong to.
- Escrow: a query with an ``escrow`` clause gets the hidden attribute encrypted to the
  auditor it names (:mod:`circuits.escrow`). A verified presentation's escrow is recorded
  (:meth:`Wallet.escrows`: auditor, label, request, the ciphertext's id); ``sync()`` looks
  for the auditor's decryption record on the ledger (``ledger.escrow``: signed by the
  auditor's registered key, naming this ciphertext, request and label — any other record
  is refused) and marks the escrow opened, with the date and reason.
- ``sync()``: read revocation entries from the ledger (checked against its signed tree
  head when the ledger key is pinned) and update every witness — never asking the
  issuer; a credential whose handle was revoked is marked revoked.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import itertools
import logging
import secrets
import time
import time as _time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from circuits import accumulator as acc
from circuits.backend import GroupBackend, get_backend
from circuits.bbs.pseudonym import zkcred_context_point
from circuits.codec import b64d, b64e
from circuits.constants import G1_BYTES
from circuits.credentials import Credential, CredentialDefinition, PresentationRequest
from circuits.errors import ZkCredError
from circuits.issuance import create_credential_request, create_link_secret, process_credential
from circuits.presentation import (
    RevocationWitness,
    UnsatisfiableError,
    check_satisfiable,
    create_presentation,
)
from servicekit import deeplinks
from wallet import consent
from wallet.consent import Approval, ConsentSummary
from wallet.store import Store, WalletError

if TYPE_CHECKING:
    from ledger.policy import Policy
    from wallet.requests import VerifiedRequest

log = logging.getLogger("zkcred.wallet")

#: the most combinations of credentials (one per query) the wallet tries for a multi-credential request
MAX_COMBINATIONS = 10_000


class OfferRejected(WalletError):
    """The issuer refused the request, or what it sent does not verify."""


class NoMatchingCredential(WalletError):
    """No stored credential can answer the request; ``reason`` names the failing statement."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CredentialSummary:
    id: str
    definition_id: str
    issuer_id: str
    schema: str
    values: dict
    expiry: str
    status: str
    revocation_height: int | None
    superseded_by: str | None = None  # the issuer rotated its key: the definition that replaces this one
    issuer_name: str | None = None  # its issuer's registered name on the ledger, once the wallet looked it up

    def to_json(self) -> dict:
        return self.__dict__.copy()


@dataclass(frozen=True)
class PseudonymScope:
    """Whom a presentation's pseudonym is for: the query's context and, when it follows the
    zkcred verifier's form ``"<verifier_id>/<lender>[/<campaign>]"``, that lender and campaign."""

    query_id: str
    context: str
    verifier_id: str
    lender: str | None
    campaign: str | None

    def describe(self) -> str:
        if self.lender is None:
            return f"context {self.context!r} (not a lender context of {self.verifier_id!r})"
        who = f"lender {self.lender!r} at {self.verifier_id}"
        return who if self.campaign is None else f"{who}, campaign {self.campaign!r}"

    def to_json(self) -> dict:
        return self.__dict__.copy()


def pseudonym_scopes(request: PresentationRequest | Mapping[str, Any]) -> list[PseudonymScope]:
    """The pseudonym contexts a request asks for, one per query that asks, with their lender."""
    if not isinstance(request, PresentationRequest):
        request = PresentationRequest.from_json(request)
    scopes = []
    for q in request.queries:
        if q.pseudonym_context is None:
            continue
        lender = campaign = None
        prefix = request.verifier_id + "/"
        if q.pseudonym_context.startswith(prefix):
            parts = q.pseudonym_context[len(prefix) :].split("/")
            if 1 <= len(parts) <= 2 and all(parts):
                lender = urllib.parse.unquote(parts[0])
                campaign = urllib.parse.unquote(parts[1]) if len(parts) == 2 else None
        scopes.append(PseudonymScope(q.id, q.pseudonym_context, request.verifier_id, lender, campaign))
    return scopes


@dataclass(frozen=True)
class EscrowRecord:
    """An attribute this wallet escrowed in a verified presentation, and whether the auditor opened it."""

    id: str  # SHA-256 (hex) of the ciphertext C1 ‖ C2: how a decryption record names it
    auditor: str
    attribute: str
    label: str
    request_id: str
    verifier_id: str
    escrowed_at: str  # ISO date
    opened: dict | None = None  # {"seq", "date", "reason"} from the auditor's record on the ledger

    def describe(self) -> str:
        state = f"opened on {self.opened['date']} ({self.opened['reason']})" if self.opened else "not opened"
        return f"{self.attribute} escrowed with {self.auditor} for {self.label} — {state}"

    def to_json(self) -> dict:
        return self.__dict__.copy()


def escrow_notices(request: PresentationRequest | Mapping[str, Any]) -> list[str]:
    """What a holder consents to when a request asks for escrow: one sentence per query that asks."""
    if not isinstance(request, PresentationRequest):
        request = PresentationRequest.from_json(request)
    return [
        f"{q.escrow.attribute} — not revealed, but encrypted to auditor {q.escrow.auditor} for {q.escrow.label}: "
        "only that auditor can open it, and every opening is published on the ledger"
        for q in request.queries
        if q.escrow is not None
    ]


def escrow_records(request: PresentationRequest, presentation: Mapping[str, Any], today: str) -> list[EscrowRecord]:
    """The escrows of ``presentation`` (its own ciphertexts, not the verifier's word for them)."""
    out = []
    for q, cp in zip(request.queries, presentation.get("credentials", []), strict=False):
        if q.escrow is None or "escrow" not in cp:
            continue
        ciphertext = b64d(cp["escrow"])[: 2 * G1_BYTES]  # C1 ‖ C2 ‖ r̂
        c = q.escrow
        digest = hashlib.sha256(ciphertext).hexdigest()
        out.append(EscrowRecord(digest, c.auditor, c.attribute, c.label, c.request_id, request.verifier_id, today))
    return out


@dataclass(frozen=True)
class Presented:
    """A presentation, the ids of the credentials it uses (one per query, in query order), and the
    pseudonym contexts it answers."""

    presentation: dict
    credentials: list[str]
    pseudonyms: list[PseudonymScope]
    queries: list[str] = field(default_factory=list)  # the request's query ids, in order

    @property
    def chosen(self) -> dict[str, str]:
        """Query id → the id of the credential that answers it."""
        return dict(zip(self.queries, self.credentials, strict=True))


@dataclass(frozen=True)
class Submitted:
    """The verifier's verdict on a presentation, the pseudonym contexts it used, and what was sent."""

    verdict: dict
    pseudonyms: list[PseudonymScope]
    chosen: dict[str, str] = field(default_factory=dict)  # query id → the credential id that answered it
    presentation: dict | None = None  # the presentation posted (the last one, after a stale retry)


@dataclass(frozen=True)
class _Prepared:
    """What a consent summary showed, kept by the wallet under the summary's ticket."""

    request: PresentationRequest
    verified: VerifiedRequest | None  # None: a bare request, to present() only
    source: str | None
    credentials: list[str]


#: Summaries a wallet keeps waiting for approval; older ones lapse (prepare again).
MAX_PREPARED = 64


def _requester(request: PresentationRequest, verified: VerifiedRequest | None, source: str | None) -> consent.Requester:
    """Who asks: as the ledger registration says (a checked request), else only the request's own claim."""
    if verified is None:
        origin = None
        if source and source.startswith(("http://", "https://")):
            parts = urllib.parse.urlsplit(source)
            origin = f"{parts.scheme}://{parts.netloc}"
        return consent.Requester(verifier_id=request.verifier_id, origin=origin)
    return consent.Requester(
        verifier_id=verified.verifier.verifier_id,
        verifier_name=verified.verifier.name,
        lender=verified.lender,
        origin=verified.origin,
        registration_seq=verified.verifier.registration_seq,
        purpose=verified.purpose,
    )


class HttpRouter:
    """Chooses an ``httpx.Client`` per URL: injected ones by base-URL prefix, else a default."""

    def __init__(self, clients: Mapping[str, httpx.Client] | None = None, timeout: float = 30.0) -> None:
        self._clients = dict(clients or {})
        self._default = httpx.Client(timeout=timeout)

    def client(self, url: str) -> httpx.Client:
        for base, c in self._clients.items():
            if url.startswith(base):
                return c
        return self._default

    def request(self, method: str, url: str, **kw) -> httpx.Response:
        return self.client(url).request(method, url, **kw)


def _problem(response: httpx.Response) -> str:
    """An error answer as ``title: detail (status, URL)`` (an RFC 9457 problem, or whatever came)."""
    where = f"{response.status_code}, {response.request.url}"
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and (body.get("title") or body.get("detail")):
        title, detail = body.get("title") or response.reason_phrase, body.get("detail") or ""
        return f"{title}: {detail} ({where})" if detail and detail != title else f"{title} ({where})"
    return f"{response.reason_phrase or 'HTTP error'} ({where})"


def _service_title(http: HttpRouter, base: str) -> str | None:
    """The ``info.title`` of the OpenAPI document at ``base`` (``zkcred issuer`` …), if it has one."""
    try:
        response = http.request("GET", base + "/openapi.json")
        title = response.json().get("info", {}).get("title") if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError):
        return None
    return str(title) if title else None


def request_document_url(source: str) -> str:
    """``source``, or the request document URL of a ``zkcred://present?request_uri=…`` deep link (strict)."""
    try:
        return deeplinks.resolve(source, action="present")
    except deeplinks.DeepLinkError as e:
        raise WalletError(str(e)) from None


def offer_document_url(source: str) -> str:
    """``source``, or the offer URL of a ``zkcred://accept?offer_uri=…`` deep link (strict)."""
    try:
        return deeplinks.resolve(source, action="accept")
    except deeplinks.DeepLinkError as e:
        raise WalletError(str(e)) from None


class Wallet:
    """A holder's wallet over an encrypted local store."""

    def __init__(
        self,
        store: Store,
        *,
        http: HttpRouter | None = None,
        ledger_url: str | None = None,
        ledger_key: bytes | None = None,
        backend: GroupBackend | None = None,
        ledger_policy: Policy | None = None,
        ledger_origin: str | None = None,
        ledger_max_age: float | None = None,
        clock: Callable[[], float] = _time.time,
    ) -> None:
        self._clock = clock
        self._store = store
        self._http = http or HttpRouter()
        self.ledger_url = ledger_url
        self.ledger_key = ledger_key
        self.ledger_policy = ledger_policy  # witnesses + quorum every checkpoint must carry (ledger.policy)
        self.ledger_origin = ledger_origin  # None: ZKCRED_LEDGER_ORIGIN or the default
        self.ledger_max_age = ledger_max_age  # seconds the quorum's cosignatures may be old (None: any)
        self._be = backend or get_backend()
        self._prepared: dict[str, _Prepared] = {}  # consent tickets of summaries not yet approved and used

    def __repr__(self) -> str:
        return f"Wallet({self._store.path})"

    @classmethod
    def create(cls, path, passphrase: str, **kw) -> Wallet:
        store = Store.create(path, passphrase)
        store.put("secret", "link_secret", f"{create_link_secret():064x}")
        return cls(store, **kw)

    @classmethod
    def open(cls, path, passphrase: str, **kw) -> Wallet:
        return cls(Store.open(path, passphrase), **kw)

    def close(self) -> None:
        self._store.close()

    @property
    def _link_secret(self) -> int:
        stored = self._store.get("secret", "link_secret")
        if not isinstance(stored, str):  # written by Wallet.create; a wallet without one is damaged
            raise WalletError("this wallet has no link secret")
        return int(stored, 16)

    # -- issuance ------------------------------------------------------------------------
    def accept_offer(self, offer: Mapping[str, Any]) -> CredentialSummary:
        """Request the offered credential, verify it, store it."""
        try:
            d = CredentialDefinition.from_json(offer["definition"])
            offer_id, token, issuer_url = offer["offer_id"], offer["token"], offer["issuer_url"].rstrip("/")
        except (KeyError, TypeError, ZkCredError) as e:
            raise OfferRejected(f"not an offer: {e}") from None
        if d.id != offer.get("credential_definition_id"):
            raise OfferRejected("the offer's definition does not match its id")
        # The request (and its secret blinding) is kept until the answer is: if the answer is lost
        # (a crash, a timeout), accepting the offer again re-sends the same request, and the
        # issuer answers it with the credential it issued (issuer.service: issuance receipts).
        pending = self._store.get("issuance", offer_id)
        if pending is not None and pending.get("definition_id") == d.id:
            request, blind = b64d(pending["request"]), int(pending["blind"], 16)
        else:
            request, blind = create_credential_request(d, self._link_secret, backend=self._be)
            self._store.put(
                "issuance", offer_id, {"definition_id": d.id, "request": b64e(request), "blind": f"{blind:064x}"}, d.id
            )
        response = self._http.request(
            "POST",
            f"{issuer_url}/credentials",
            json={"offer_id": offer_id, "request": b64e(request)},
            headers={"Authorization": f"Bearer {token}"},
        )
        if 400 <= response.status_code < 500:
            self._store.delete("issuance", offer_id)  # refused for good: a retry starts afresh
        if response.status_code != 201:
            raise OfferRejected(f"issuer refused: {_problem(response)}")
        try:
            body = response.json()
            c = body["credential"]
            if c["definition_id"] != d.id:
                raise OfferRejected("the credential names another definition than the offer")
            expiry = _dt.date.fromisoformat(c["expiry"])
            handle = int(c["revocation_handle"], 16)
            cred = process_credential(
                d,
                b64d(c["signature"]),
                c["values"],
                expiry,
                handle,
                c.get("revocation_index"),
                self._link_secret,
                blind,
                backend=self._be,
            )
            revocation = body.get("revocation")
            if (revocation is None) != (d.revocation is None):
                raise OfferRejected("a revocation witness is missing, or sent for a non-revocable definition")
            if revocation is not None:
                self._check_witness(d, c, handle, revocation)
            cid = body["credential_id"]
            if not isinstance(cid, str) or not cid:
                raise OfferRejected("no credential id")
        except (KeyError, TypeError, ValueError, AttributeError, ZkCredError) as e:
            raise OfferRejected(f"the issued credential does not verify: {e}") from None
        record = {
            "definition": d.to_json(),
            "credential": cred.to_json(),
            "revocation": None
            if revocation is None
            else {
                "registry_id": revocation["registry_id"],
                "index": revocation["index"],
                "witness": revocation["witness"],
                "accumulator": revocation["accumulator"],
                "height": revocation["ledger_seq"],
            },
            "status": "active",
            "checked_at": self._clock(),  # the witness is current as of now (the ledger view's age)
        }
        self._store.put("credential", cid, record, d.id)
        self._store.delete("issuance", offer_id)
        log.info("accepted credential %s of definition %s", cid, d.id)
        return self._summary(cid, record)

    def _check_witness(
        self, d: CredentialDefinition, c: Mapping[str, Any], handle: int, revocation: Mapping[str, Any]
    ) -> None:
        """The witness is for this credential's handle, in this definition's registry, against the value V
        the ledger holds at the height the issuer names (read from the ledger when one is configured)."""
        assert d.revocation is not None
        index = revocation["index"]
        if (
            revocation["registry_id"] != d.revocation.id
            or type(index) is not int
            or c.get("revocation_index") != index
            or not 0 <= index < d.revocation.capacity
            or acc.handle(d.revocation.id.encode(), index) != handle
        ):
            raise OfferRejected("the revocation index, handle or registry is not this credential's")
        V_bytes = b64d(revocation["accumulator"])
        C, V = self._be.g1_from_bytes(b64d(revocation["witness"])), self._be.g1_from_bytes(V_bytes)
        acc.verify_witness(C, handle, V, self._be.g2_from_bytes(d.revocation.Q), backend=self._be)
        seq = revocation["ledger_seq"]
        if type(seq) is not int or seq < 0:
            raise OfferRejected("the accumulator's ledger height is not a height")
        if not self.ledger_url:
            return
        from ledger.errors import LedgerError

        client = self._ledger_client()
        try:
            if self.ledger_key:
                head = client.tree_head()
                for _ in range(20 if self.ledger_policy is not None else 0):
                    if seq < head.size:
                        break
                    time.sleep(0.1)  # the witnesses have not cosigned the issuer's newest entry yet
                    head = client.tree_head()
                if seq >= head.size:
                    raise OfferRejected("the accumulator's ledger height is past the ledger's head")
                doc = client.verified_entry(seq, tree_head=head).to_json()
            else:
                doc = client.fetch_entry(seq)
        except LedgerError as e:
            raise OfferRejected(f"cannot read the accumulator's ledger entry: {e.detail}") from None
        payload = doc.get("payload", {})
        if doc.get("type") == "revocation_registry" and payload.get("cred_def_id") == d.id:
            published = payload.get("v0")
        elif doc.get("type") == "revocation":
            published = (payload.get("values") or [None])[-1]
        else:
            published = None
        if payload.get("registry_id") != d.revocation.id or published is None or b64d(published) != V_bytes:
            raise OfferRejected("the accumulator is not the ledger's value at the height the issuer names")

    # -- listing -------------------------------------------------------------------------
    def _summary(self, cid: str, record: dict) -> CredentialSummary:
        d, c = record["definition"], record["credential"]
        rev = record.get("revocation")
        return CredentialSummary(
            cid,
            c["definition_id"],
            d["issuer_id"],
            f"{d['schema']['name']} {d['schema']['version']}",
            c["values"],
            c["expiry"],
            record["status"],
            rev["height"] if rev else None,
            record.get("superseded_by"),
            (self._store.get("issuer", d["issuer_id"]) or {}).get("name"),
        )

    def credentials(self) -> list[CredentialSummary]:
        return [self._summary(cid, rec) for cid, rec in self._store.all("credential")]

    # -- consent ------------------------------------------------------------------------------
    def prepare(
        self,
        request: str | VerifiedRequest | Mapping[str, Any] | PresentationRequest,
        *,
        source: str | None = None,
        choose: Mapping[str, str] | None = None,
    ) -> ConsentSummary:
        """What answering ``request`` would send, for the holder to approve (wallet.consent); sends nothing.

        ``request`` is a request URL or ``zkcred://present`` deep link (fetched and checked:
        ``fetch_request``), a :class:`~wallet.requests.VerifiedRequest`, or — to ``present()``
        only, there being no checked verifier to ``submit()`` to — a bare presentation request
        (or a document holding one, unchecked). An expired request is refused here; a wallet
        whose ledger view is older than the request's ``max_staleness`` syncs first, so the
        credential shown is one that works. One credential per query (:meth:`choose_credentials`);
        ``choose`` (query id → credential id) is the holder's own pick for some queries.
        """
        from wallet.requests import VerifiedRequest

        verified: VerifiedRequest | None = None
        if isinstance(request, str):
            verified = self.fetch_request(request)
        elif isinstance(request, VerifiedRequest):
            verified = request
        if verified is not None:
            source = verified.url
            self.check_not_expired(verified, verified.url)
            parsed = verified.request
            if self._behind(verified):
                try:
                    self.sync()
                except (WalletError, ZkCredError, httpx.HTTPError) as e:  # the proof may still be fresh enough
                    log.warning("could not sync before presenting (%s); presenting with the witnesses held", e)
        else:
            where = source or "the request"
            if isinstance(request, Mapping) and "request" in request:
                self.check_not_expired(request, where)
                request = request["request"]
            try:
                parsed = request if isinstance(request, PresentationRequest) else PresentationRequest.from_json(request)
            except (KeyError, TypeError, ValueError, ZkCredError) as e:
                raise WalletError(f"{where} is not a presentation request ({type(e).__name__}: {e})") from None
        chosen = self.choose_credentials(parsed, choose)
        ticket = secrets.token_urlsafe(16)
        summary = consent.ConsentSummary(
            requester=_requester(parsed, verified, source),
            expires_at=None if verified is None else str(verified.document.get("expires_at")),
            disclosed=tuple(
                consent.Disclosed(q.id, name, cred.values.get(name))
                for q, (_, _, _, cred) in zip(parsed.queries, chosen, strict=True)
                for name in q.disclose
            ),
            proven=tuple(
                p
                for q, (_, _, d, _) in zip(parsed.queries, chosen, strict=True)
                for p in consent.proven(parsed, q, d.schema, d.revocation is not None)
            ),
            pseudonyms=tuple(
                consent.PseudonymUse(
                    scope.query_id,
                    scope.context,
                    self._pseudonym(scope.context),
                    scope.describe(),
                    scope.lender,
                    scope.campaign,
                )
                for scope in (pseudonym_scopes(parsed) if verified is None else verified.pseudonym_scopes)
            ),
            credentials=tuple(
                consent.CredentialUse(
                    q.id,
                    cid,
                    f"{d.schema.name} {d.schema.version}",
                    d.issuer_id,
                    *self._issuer_name_and_seq(d.issuer_id),
                    cred.expiry.isoformat(),
                )
                for q, (cid, _, d, cred) in zip(parsed.queries, chosen, strict=True)
            ),
            source=source,
            escrows=tuple(escrow_notices(parsed)),
            _ticket=ticket,
        )
        self._prepared[ticket] = _Prepared(parsed, verified, source, [c[0] for c in chosen])
        while len(self._prepared) > MAX_PREPARED:
            del self._prepared[next(iter(self._prepared))]  # the oldest unanswered summary lapses
        return summary

    def _redeem(self, approval: consent.Approval) -> _Prepared:
        """The prepared request an approval answers: this wallet's, and not used before (then spent)."""
        if not isinstance(approval, consent.Approval):
            raise TypeError(
                "present() and submit() take summary.approve(), where summary = wallet.prepare(request): "
                "the holder sees what leaves the wallet first"
            )
        prepared = self._prepared.pop(approval._ticket, None)
        if prepared is None:
            raise WalletError("this approval was already used, or is not for a request this wallet prepared")
        return prepared

    def _pseudonym(self, context: str) -> str:
        """The holder's pseudonym for ``context`` as the verifier will record it (base64url of ``s·OP``)."""
        point = self._be.g1_mul(zkcred_context_point(self._be, context.encode()), self._link_secret)
        return b64e(self._be.g1_to_bytes(point))

    def registered_issuer(self, issuer_id: str) -> tuple[str | None, int] | None:
        """``(registered name, seq)`` of the issuer's ``issuer_registration`` on the ledger; None without a ledger.

        Read through the pinned key when there is one (checkpoint, inclusion, the entry's
        self-signature) and kept in the wallet once found. An issuer the ledger does not know
        is a ``WalletError``: its credentials trace back to no one.
        """
        cached = self._store.get("issuer", issuer_id)
        if cached is not None:
            return cached["name"], cached["seq"]
        if not self.ledger_url:
            return None
        from ledger.entries import parse_entry, verify_entry_signature
        from ledger.errors import LedgerError

        client = self._ledger_client()
        try:
            head = client.tree_head() if self.ledger_key else client.fetch_tree_head()
            seq = 0
            while seq < head.size:
                if self.ledger_key:
                    batch = client.verified_entries(start=seq, limit=500, tree_head=head)
                else:
                    batch = [parse_entry(doc) for doc in client.fetch_entries(start=seq, limit=500)]
                if not batch:
                    break
                for entry in batch:
                    if entry.type == "issuer_registration" and entry.issuer == issuer_id:
                        key = bytes.fromhex(entry.payload["ledger_key"])
                        verify_entry_signature(entry, key)  # self-signed: the key it registers
                        found = {"name": entry.payload.get("name"), "seq": entry.seq}
                        self._store.put("issuer", issuer_id, found)
                        return found["name"], found["seq"]
                seq += len(batch)
        except LedgerError as e:
            raise WalletError(f"cannot read the issuer's registration from the ledger: {e.detail}") from None
        raise WalletError(f"the issuer {issuer_id} is not registered on the ledger at {self.ledger_url}")

    def _issuer_name_and_seq(self, issuer_id: str) -> tuple[str | None, int | None]:
        found = self.registered_issuer(issuer_id)
        return (None, None) if found is None else found

    def review_offer(self, offer: Mapping[str, Any]) -> consent.OfferSummary:
        """What accepting ``offer`` would store, with the issuer's registered name (sends nothing)."""
        try:
            CredentialDefinition.from_json(offer["definition"])
            return consent.offer_summary(offer, self.registered_issuer(offer["definition"]["issuer_id"]))
        except (KeyError, TypeError, ZkCredError) as e:
            raise OfferRejected(f"not an offer: {e}") from None

    # -- presentation ---------------------------------------------------------------------
    def _candidates(self):
        for cid, rec in self._store.all("credential"):
            yield cid, rec, CredentialDefinition.from_json(rec["definition"]), Credential.from_json(rec["credential"])

    def present(self, approval: Approval) -> tuple[dict, list[str]]:
        """(presentation JSON, ids of the credentials used) for the request the holder approved."""
        presented = self.present_detailed(approval)
        return presented.presentation, presented.credentials

    def present_detailed(self, approval: Approval) -> Presented:
        """``present``, also naming the pseudonym contexts used (with a pseudonym wherever a query asks)."""
        prepared = self._redeem(approval)
        return self._prove(prepared.request, prepared.credentials)

    def _prove(self, request: PresentationRequest, credential_ids: list[str]) -> Presented:
        """Prove ``request`` with exactly these credentials (the ones the holder approved)."""
        chosen = []
        for q, cid in zip(request.queries, credential_ids, strict=True):
            rec = self._store.get("credential", cid)
            if rec is None or rec["status"] != "active":
                raise NoMatchingCredential(f"{q.id}: the credential {cid} you approved was revoked or removed since")
            chosen.append(
                (cid, rec, CredentialDefinition.from_json(rec["definition"]), Credential.from_json(rec["credential"]))
            )
        revocation = {}
        for q, (_cid, rec, d, _cred) in zip(request.queries, chosen, strict=True):
            if q.non_revoked and d.revocation is not None:
                r = rec["revocation"]
                revocation[q.id] = RevocationWitness(r["height"], b64d(r["accumulator"]), b64d(r["witness"]))
        try:
            pres = create_presentation(
                request,
                [c[2] for c in chosen],
                [c[3] for c in chosen],
                self._link_secret,
                revocation=revocation,
                backend=self._be,
            )
        except UnsatisfiableError as e:
            raise NoMatchingCredential(e.reason) from None
        scopes = pseudonym_scopes(request)
        for scope in scopes:
            log.info("presenting a pseudonym for %s", scope.describe())
        return Presented(pres.to_json(self._be), [c[0] for c in chosen], scopes, [q.id for q in request.queries])

    def choose_credentials(
        self, request: PresentationRequest, choose: Mapping[str, str] | None = None
    ) -> list[tuple[str, dict, CredentialDefinition, Credential]]:
        """One stored credential per query, in query order, that together answer ``request``.

        Each query's candidates are the active credentials of a definition it accepts that meet
        its own predicates (``choose`` narrows a query to the credential named); then the first
        combination, in the order credentials were stored, that also meets the whole request —
        its equalities between queries (two tax credentials of two companies are never
        combined with the bank credential of only one of them) and its linear predicates
        (``40*tax.income - 100*bank.monthly_debt >= 0``, or over one query's credentials). At most
        :data:`MAX_COMBINATIONS` combinations are tried. ``NoMatchingCredential`` names the
        query (or the equality) no stored credential meets.
        """
        link = self._link_secret
        choose = dict(choose or {})
        unknown = set(choose) - {q.id for q in request.queries}
        if unknown:
            raise WalletError(f"the request has no query {sorted(unknown)[0]!r} to choose a credential for")
        per_query = []
        for q in request.queries:
            reasons, fits = [], []
            for cid, rec, d, cred in self._candidates():
                if d.id not in q.credential_definitions or choose.get(q.id, cid) != cid:
                    continue
                if rec["status"] != "active":
                    reasons.append(f"{q.id}: the credential {cid} of an accepted definition was revoked")
                    continue
                single = PresentationRequest(request.nonce, request.verifier_id, request.today, (q,))
                try:
                    check_satisfiable(single, [d], [cred], link)
                except ZkCredError as e:
                    reasons.append(getattr(e, "reason", str(e)))
                    continue
                fits.append((cid, rec, d, cred))
            if not fits:
                if q.id in choose and not reasons:
                    raise NoMatchingCredential(f"{q.id}: no credential {choose[q.id]} of a definition it accepts")
                if not reasons:
                    raise NoMatchingCredential(f"{q.id}: no credential from an accepted issuer definition")
                raise NoMatchingCredential(reasons[0])
            per_query.append(fits)
        if len(request.queries) == 1 and not request.linear:
            return [per_query[0][0]]
        reason = "no combination of credentials meets the request"
        for combination in itertools.islice(itertools.product(*per_query), MAX_COMBINATIONS):
            try:
                check_satisfiable(request, [c[2] for c in combination], [c[3] for c in combination], link)
            except ZkCredError as e:  # unmet, or definitions a linear predicate cannot combine (types)
                reason = getattr(e, "reason", str(e))
                continue
            return list(combination)
        raise NoMatchingCredential(f"{reason} (no combination of the credentials that fit each query meets it)")

    def fetch_request(self, request_url: str) -> VerifiedRequest:
        """The request document at ``request_url`` (or the URL of a ``zkcred://present`` deep link),
        checked before anything is proven: the verifier's registration on the ledger, its
        signature, the origin, the lender's contexts, the expiry (``wallet.requests``).

        Raises ``RequestRefused`` (a ``WalletError``: one line, a ``reason`` code) on any failure.
        """
        from wallet.requests import RequestRefused, StoredRegistrations, verify_request

        request_url = request_document_url(request_url)
        response = self._http.request("GET", request_url)
        if response.status_code != 200:
            raise WalletError(f"cannot fetch the request: {_problem(response)}")
        try:
            unverified = response.json()
        except ValueError:
            raise RequestRefused("malformed", f"{request_url} did not answer with JSON") from None
        ledger = self._ledger_client() if self.ledger_url and self.ledger_key else None
        return verify_request(
            unverified,
            url=request_url,
            ledger=ledger,
            now=self._clock(),
            registrations=StoredRegistrations(self._store),
        )

    def submit(self, approval: Approval) -> dict:
        """Present the approved request and post it; return the verifier's verdict."""
        return self.submit_detailed(approval).verdict

    def submit_detailed(self, approval: Approval) -> Submitted:
        """``submit``, also naming the pseudonym contexts used.

        Refuses a request that expired while the holder was reading; on a ``stale`` verdict
        syncs and retries once, with the same credentials (a verifier spends a request only
        on a verified presentation, so the retry answers the same request).
        """
        prepared = self._redeem(approval)
        checked = prepared.verified
        if checked is None:
            raise WalletError(
                f"{prepared.source or 'this request'} was not fetched from its verifier and checked "
                "(wallet.prepare(request_url)): there is nowhere verified to send it; present() it instead"
            )
        self.check_not_expired(checked, checked.url)
        submitted = self._post(checked, self._prove(prepared.request, prepared.credentials))
        if submitted.verdict.get("reason") == "stale" and self.ledger_url:
            log.info("the verifier found the accumulator stale: syncing with the ledger and presenting again")
            self.sync()
            self.check_not_expired(checked, checked.url)
            submitted = self._post(checked, self._prove(prepared.request, prepared.credentials))
        return submitted

    def _post(self, checked: VerifiedRequest, presented: Presented) -> Submitted:
        response = self._http.request("POST", checked.presentation_url, json={"presentation": presented.presentation})
        if response.status_code >= 400:
            raise WalletError(f"the verifier refused the presentation: {_problem(response)}")
        verdict = response.json()
        if verdict.get("verified"):
            today = _dt.datetime.fromtimestamp(self._clock(), _dt.UTC).date().isoformat()
            request = checked.request
            for record in escrow_records(request, presented.presentation, today):
                self._store.put("escrow", record.id, record.to_json())
                log.info("escrowed %s", record.describe())
        return Submitted(verdict, presented.pseudonyms, chosen=presented.chosen, presentation=presented.presentation)

    def escrows(self) -> list[EscrowRecord]:
        """Every escrow of a verified presentation, oldest first, with the auditor's opening if synced."""
        records = [EscrowRecord(**rec) for _, rec in self._store.all("escrow")]
        return sorted(records, key=lambda r: (r.escrowed_at, r.id))

    def _check_openings(self, docs: list[dict]) -> int:
        """Mark the escrows a checked decryption record on the ledger opened (``docs``: every entry from 0)."""
        from ledger.errors import EntryRejected
        from ledger.escrow import EscrowView

        view = EscrowView()
        for doc in docs:
            try:
                view.feed(doc)
            except EntryRejected as e:  # a forged or foreign record: refused, never shown as an opening
                log.warning("ledger entry %s refused as an escrow record: %s", doc.get("seq"), e.detail)
        opened = 0
        for record in self.escrows():
            found = view.opening(auditor=record.auditor, ciphertext=record.id)
            if found is None or record.opened is not None:
                continue
            if (found.request_id, found.label) != (record.request_id, record.label):
                log.warning("entry %d names this ciphertext for another request or label: refused", found.seq)
                continue
            date = _dt.datetime.fromtimestamp(found.time / 1000, _dt.UTC).date().isoformat()
            rec = {**record.to_json(), "opened": {"seq": found.seq, "date": date, "reason": found.reason}}
            self._store.put("escrow", record.id, rec)
            opened += 1
        return opened

    def check_not_expired(self, doc: VerifiedRequest | Mapping[str, Any], source: str = "the request") -> None:
        """Raise ``WalletError`` (one line) when the request's ``expires_at`` has passed."""
        expires_at = doc.get("expires_at") if isinstance(doc, Mapping) else doc.document.get("expires_at")
        if expires_at is None:
            return
        try:
            expires = _dt.datetime.fromisoformat(str(expires_at).replace("Z", "+00:00"))
            if expires.tzinfo is None:
                raise ValueError("no time zone")
        except ValueError:
            raise WalletError(f"{source}: expires_at {expires_at!r} is not an ISO 8601 time") from None
        if self._clock() >= expires.timestamp():
            raise WalletError(f"{source} expired at {expires_at}; ask the lender for a new request")

    def _behind(self, checked: VerifiedRequest) -> bool:
        """True if a revocable credential the request could use was last checked against the ledger
        more than the request's ``max_staleness`` seconds ago (and a ledger is configured to sync with)."""
        max_staleness, request = checked.max_staleness, checked.request
        if not self.ledger_url:
            return False
        accepted = {d for q in request.queries for d in q.credential_definitions}
        now = self._clock()
        return any(
            rec.get("revocation")
            and rec["status"] == "active"
            and rec["credential"]["definition_id"] in accepted
            and now - float(rec.get("checked_at", 0)) > max_staleness
            for _, rec in self._store.all("credential")
        )

    # -- following the ledger ---------------------------------------------------------------
    def _ledger_client(self):  # type: ignore[no-untyped-def]
        """The ledger over this wallet's router; checkpoints verified under the pinned key and the policy."""
        from ledger.client import LedgerClient

        base = (self.ledger_url or "").rstrip("/")
        return LedgerClient(
            base,
            ledger_key=self.ledger_key,
            origin=self.ledger_origin,
            policy=self.ledger_policy,
            max_age=self.ledger_max_age,
            http=_Prefixed(self._http, base),
        )

    def sync(self, *, progress: Callable[[int, int], None] | None = None) -> dict:
        """Apply every revocation since each witness's height; note key rotations; return {updated, revoked, height}.

        A ``credential_definition`` entry that ``supersedes`` a stored credential's definition,
        published by the same issuer, is recorded as the credential's ``superseded_by`` (shown
        by ``zkcred wallet list``): the credential keeps working where lenders accept its
        definition; the issuer offers new credentials under the successor.

        With a pinned ledger key every read is checked against the ledger's checkpoint, and with a
        witness policy that checkpoint must carry the quorum: a forked view raises ``WalletError``.
        """
        if not self.ledger_url:
            raise WalletError("no ledger configured (set ZKCRED_LEDGER_URL or pass --ledger)")
        from ledger.errors import LedgerError

        try:
            return self._sync(progress)
        except LedgerError as e:
            raise WalletError(f"the ledger did not verify: {e.detail}") from None

    def _sync(self, progress: Callable[[int, int], None] | None) -> dict:
        from ledger.errors import LedgerError, VerificationFailed

        base = (self.ledger_url or "").rstrip("/")
        client = self._ledger_client()
        synced_at = self._clock()  # the tree head read next is at least this recent
        try:
            head = client.tree_head() if self.ledger_key else client.fetch_tree_head()
        except VerificationFailed:
            raise  # a ledger whose tree head does not verify: that is the news, not a wrong URL
        except (LedgerError, KeyError, TypeError, ValueError) as e:
            # Not a tree head where a ledger serves one: most often the issuer's or verifier's URL.
            title = _service_title(self._http, base)
            what = f"it is the {title}" if title else f"GET /tree-head: {getattr(e, 'detail', None) or e}"
            raise WalletError(
                f"{base} is not a zkcred ledger ({what}); point --ledger or ZKCRED_LEDGER_URL at the ledger's URL"
            ) from None
        every = dict(self._store.all("credential"))
        records = {cid: rec for cid, rec in every.items() if rec.get("revocation")}
        watching = any(r.opened is None for r in self.escrows())  # an auditor's record may come: read from 0
        if not every and not watching:
            return {"updated": 0, "revoked": 0, "height": head.size - 1}
        start = (
            min(
                [rec["revocation"]["height"] for rec in records.values()]
                + [rec.get("synced_height", -1) for cid, rec in every.items() if cid not in records]
                + ([-1] if watching else [])
            )
            + 1
        )
        ledger_docs: list[dict] = []
        events: dict[str, list[tuple[int, list[acc.RevocationEvent], str]]] = {}
        successors: dict[tuple[str, str], str] = {}  # (issuer, old definition id) -> new definition id
        seq = start
        while seq < head.size:
            if self.ledger_key:
                batch = client.verified_entries(start=seq, limit=500, tree_head=head)
                docs = [e.to_json() for e in batch]
            else:
                docs = client.fetch_entries(start=seq, limit=500)
            if not docs:
                break
            if watching:
                ledger_docs += docs
            for doc in docs:
                if doc["type"] == "revocation":
                    p = doc["payload"]
                    # not strict: as before, uneven lists in a ledger document are not refused here
                    evs = [
                        acc.RevocationEvent(_scalar(h), self._be.g1_from_bytes(b64d(v)))
                        for h, v in zip(p["handles"], p["values"], strict=False)
                    ]
                    events.setdefault(p["registry_id"], []).append((doc["seq"], evs, p["values"][-1]))
                elif doc["type"] == "credential_definition" and doc["payload"].get("supersedes"):
                    successors.setdefault((doc["issuer"], doc["payload"]["supersedes"]), doc["payload"]["cred_def_id"])
            seq += len(docs)
            if progress:
                progress(seq - start, head.size - start)
        updated = revoked = 0
        for cid, rec in records.items():
            r = rec["revocation"]
            C = self._be.g1_from_bytes(b64d(r["witness"]))
            y = int(rec["credential"]["revocation_handle"], 16)
            pending = [
                (entry_seq, evs, last)
                for entry_seq, evs, last in events.get(r["registry_id"], [])
                if entry_seq > r["height"]
            ]
            if pending and rec["status"] == "active":
                # All pending events in one update: one inversion and one multi-scalar multiplication.
                try:
                    C = acc.update_witness(C, y, [e for _, evs, _ in pending for e in evs], backend=self._be)
                except acc.RevokedError:
                    rec["status"] = "revoked"
                    revoked += 1
                else:
                    entry_seq, _, last = pending[-1]
                    r.update(witness=b64e(self._be.g1_to_bytes(C)), accumulator=last, height=entry_seq)
                    updated += 1
            rec["checked_at"] = synced_at
            self._store.put("credential", cid, rec, rec["credential"]["definition_id"])
        for cid, rec in every.items():
            successor = successors.get((rec["definition"]["issuer_id"], rec["credential"]["definition_id"]))
            if successor is not None or cid not in records:
                if successor is not None:
                    rec["superseded_by"] = successor
                if cid not in records:
                    rec["synced_height"] = head.size - 1
                self._store.put("credential", cid, rec, rec["credential"]["definition_id"])
        report = {"updated": updated, "revoked": revoked, "height": head.size - 1}
        return {**report, "escrows_opened": self._check_openings(ledger_docs)} if watching else report


def _scalar(text: str) -> int:
    """A revocation handle as the ledger carries it (64 hex digits, or base64url of 32 bytes)."""
    if len(text) == 64:
        try:
            return int(text, 16)
        except ValueError:
            pass
    return int.from_bytes(b64d(text), "big")


class _Prefixed(httpx.Client):
    """Adapts the router to ledger.client's relative paths."""

    def __init__(self, router: HttpRouter, base: str) -> None:
        super().__init__()
        self._router, self._base = router, base

    def request(self, method: str, url, **kw):  # type: ignore[override]
        url = str(url)
        return self._router.request(method, url if "://" in url else self._base + url, **kw)
