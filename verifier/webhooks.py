"""Webhooks: a lender's verdicts POSTed to its endpoints, signed, at least once, from a durable outbox.

**Registration** (``POST /webhooks``, lender API key): a URL and the events to receive —
``request.verified``, ``request.rejected``, ``request.expired`` (default: all). The URL must be
``http(s)``, without credentials or fragment, on a host the operator allows
(``ZKCRED_VERIFIER_WEBHOOK_HOSTS``: names, ``*.suffix`` wildcards, IP addresses and networks;
default loopback only), and ``https`` unless the host is loopback: a verdict carries the
disclosed attributes. The answer carries the endpoint's signing secret ``whsec_…``, shown
once. A lender has at most :data:`MAX_ENDPOINTS` endpoints.

**Signatures** follow Standard Webhooks (https://www.standardwebhooks.com/): each POST has
``webhook-id`` (the message id, the same on every retry: receivers dedupe on it),
``webhook-timestamp`` (Unix seconds of this attempt) and ``webhook-signature:
v1,<base64 HMAC-SHA256(secret, "<id>.<timestamp>.<body>")>``, where the secret is the
base64 after ``whsec_``. The ``standardwebhooks`` package (no dependencies, the
specification's own Python library) signs; :func:`verify_webhook` is the receiver's side,
for lenders.

**The body** is fixed when the event is queued, so every attempt sends the same bytes::

    {"type": "request.verified", "timestamp": "<verdict time, ISO 8601>",
     "data": {"id": "<request id>", "status": "verified", "verdict": {…as GET /requests/{id}}}}

**Durable, at least once, never in a verification's way.** :func:`enqueue` writes one
``verifier_webhook_deliveries`` row per subscribed endpoint *in the transaction that records
the verdict* (``verifier.db.SqlRequestStore``): a verdict is never without its deliveries,
nor a delivery without its verdict, and nothing is sent while the request waits. A
:class:`Webhooks` dispatcher — a ``servicekit.outbox.DeliveryLoop`` thread in each service
process — then:

1. marks pending requests past their expiry ``expired`` (for lenders with an endpoint
   subscribed to ``request.expired``), with their deliveries, in one transaction per batch;
2. **claims** due rows: one ``UPDATE … SET lease_until_ms, lease_owner WHERE id IN (SELECT …
   FOR UPDATE SKIP LOCKED) AND <still due and unleased>``, so of several workers on
   PostgreSQL each row goes to one (SQLite: one writer at a time, the same conditions);
3. POSTs each claimed row (httpx, :attr:`WebhookPolicy.timeout`, no redirects followed, a
   small thread pool) and records the attempt: ``delivered`` on a 2xx; otherwise the next
   attempt after :func:`servicekit.outbox.backoff` (``retry_base`` · 2^(n−1), capped at
   ``retry_max``, jittered to [½, 1] of it), and ``failed`` after ``max_attempts``.

A worker that dies holding a lease (a crash, a restart) loses it after
:attr:`WebhookPolicy.lease_ms`; another worker, or the restarted one, delivers the row
again — the same id and body, so a receiver sees a duplicate at worst, never a different
verdict. The log (``GET /webhooks/{id}/deliveries``) keeps every row and attempt.
"""

from __future__ import annotations

import base64
import datetime as _dt
import ipaddress
import itertools
import json
import logging
import secrets
import threading
import time as _time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import Connection, Engine, func, insert, or_, select, update
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from servicekit.outbox import DeliveryLoop, Step, backoff, crash_point
from verifier.config import DEFAULT_WEBHOOK_HOSTS
from verifier.errors import ErrorKind, VerifierError
from verifier.models import (
    WEBHOOK_EVENTS,
    RequestRow,
    WebhookAttemptRow,
    WebhookDeliveryRow,
    WebhookEndpointRow,
)

__all__ = [
    "WEBHOOK_EVENTS",
    "WebhookPolicy",
    "WebhookVerificationError",
    "Webhooks",
    "enqueue",
    "new_secret",
    "parse_host_patterns",
    "sign",
    "verify_webhook",
]

logger = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
MAX_ENDPOINTS = 16  # per lender
MAX_URL = 2048
BATCH = 8  # rows claimed (and POSTed concurrently) per step
LOG_LIMIT = 100  # deliveries per page of the log
USER_AGENT = "zkcred-verifier-webhooks/1"
EVENT_OF_STATUS = {"verified": "request.verified", "rejected": "request.rejected", "expired": "request.expired"}
EXPIRED_VERDICT = {"verified": False, "disclosed": {}, "predicates": [], "reason": "expired"}

_E = WebhookEndpointRow.__table__.c  # type: ignore[attr-defined]
_D = WebhookDeliveryRow.__table__.c  # type: ignore[attr-defined]
_A = WebhookAttemptRow.__table__.c  # type: ignore[attr-defined]
_R = RequestRow.__table__.c  # type: ignore[attr-defined]


# ------------------------------------------------------------------ signing (both sides)


def new_secret() -> str:
    """A fresh endpoint secret: ``whsec_`` + base64 of 32 random bytes (Standard Webhooks: 24–64)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` over ``<message_id>.<timestamp>.<body>`` (the ``webhook-signature`` value)."""
    return Webhook(secret).sign(message_id, _dt.datetime.fromtimestamp(timestamp, _dt.UTC), body.decode())


def signed_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def verify_webhook(secret: str, headers: Mapping[str, str], body: bytes | str) -> Any:
    """For a lender's receiver: check a delivery's signature and timestamp; return the parsed event.

    ``headers`` as received (any case); ``body`` the raw bytes, before any JSON parsing.
    Raises :class:`WebhookVerificationError` for a missing or malformed header, a timestamp
    more than 5 minutes away from now (replays), or no matching ``v1`` signature. Several
    space-separated signatures are accepted (a secret being rotated)::

        event = verify_webhook(secret, request.headers, await request.body())
        if event["type"] == "request.verified": ...

    Deduplicate on ``headers["webhook-id"]``: delivery is at least once.

    >>> secret = new_secret()
    >>> body = b'{"type":"request.verified"}'
    >>> now = int(_time.time())
    >>> verify_webhook(secret, signed_headers(secret, "msg_1", now, body), body)["type"]
    'request.verified'
    >>> verify_webhook(new_secret(), signed_headers(secret, "msg_1", now, body), body)
    Traceback (most recent call last):
    ...
    standardwebhooks.webhooks.WebhookVerificationError: No matching signature found
    """
    try:
        webhook = Webhook(secret)
    except Exception as e:  # not whsec_<base64>
        raise WebhookVerificationError("the secret is not a whsec_… webhook secret") from e
    try:
        return webhook.verify(body, {str(k): str(v) for k, v in headers.items()})
    except WebhookVerificationError:
        raise
    except (ValueError, TypeError) as e:  # the library's own parsing: a header without "v1,", bad base64 …
        raise WebhookVerificationError("malformed webhook headers or body") from e


# ------------------------------------------------------------------ the operator's policy


HostPattern = str | ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_host_patterns(items: Sequence[str]) -> tuple[str, ...]:
    """Normalise the allowed-host setting: lower-case names, ``*.suffix`` wildcards, IPs and CIDR networks.

    >>> parse_host_patterns([" LocalHost ", "127.0.0.0/8", "*.Lender.example", "::1"])
    ('localhost', '127.0.0.0/8', '*.lender.example', '::1/128')
    """
    out = []
    for raw in items:
        item = raw.strip().lower()
        if not item:
            continue
        try:
            out.append(str(ipaddress.ip_network(item, strict=False)))
            continue
        except ValueError:
            pass
        name = item[2:] if item.startswith("*.") else item
        labels = name.split(".")
        if (
            not name
            or any(not label or len(label) > 63 for label in labels)
            or not all(c.isalnum() or c == "-" for c in name.replace(".", ""))
        ):
            raise ValueError(f"{raw.strip()!r} is not a host name, *.suffix wildcard, IP address or network")
        out.append(item)
    return tuple(out)


def _host_allowed(host: str, patterns: Sequence[str]) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for pattern in patterns:
        if "/" in pattern:
            if address is not None and address in ipaddress.ip_network(pattern):
                return True
        elif pattern.startswith("*."):
            if address is None and host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif host == pattern:
            return True
    return False


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class WebhookPolicy:
    """What the operator configured (``verifier.config.Settings.webhook_*``, docs/configuration.md)."""

    hosts: tuple[str, ...] = DEFAULT_WEBHOOK_HOSTS
    max_attempts: int = 12
    retry_base: float = 5.0
    retry_max: float = 3600.0
    timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: Any) -> WebhookPolicy:
        return cls(
            hosts=tuple(settings.webhook_hosts),
            max_attempts=settings.webhook_max_attempts,
            retry_base=settings.webhook_retry_base,
            retry_max=settings.webhook_retry_max,
            timeout=settings.webhook_timeout,
        )

    @property
    def lease_ms(self) -> int:
        """How long a claimed row is a worker's: a whole batch of POSTs at the timeout, and a margin."""
        return int((2 * self.timeout + 5) * 1000)

    def check_url(self, url: str) -> str:
        """The URL if a webhook may go there, else ``VerifierError`` (422) saying why."""

        def refuse(slug: str, detail: str) -> VerifierError:
            return VerifierError(ErrorKind.INPUT, detail, slug=slug)

        if len(url) > MAX_URL or any(c.isspace() or ord(c) < 32 for c in url):
            raise refuse("invalid-webhook-url", f"a webhook URL is at most {MAX_URL} characters, without spaces")
        try:
            parts = urllib.parse.urlsplit(url)
            parts.port  # noqa: B018 - raises on a malformed port
        except ValueError:
            raise refuse("invalid-webhook-url", "the webhook URL does not parse") from None
        if parts.scheme not in ("http", "https"):
            raise refuse("invalid-webhook-url", "a webhook URL is http:// or https://")
        if not parts.hostname:
            raise refuse("invalid-webhook-url", "the webhook URL has no host")
        if parts.username is not None or parts.password is not None:
            raise refuse("invalid-webhook-url", "no user:password@ in a webhook URL: deliveries are signed instead")
        if parts.fragment:
            raise refuse("invalid-webhook-url", "no #fragment in a webhook URL")
        host = parts.hostname.rstrip(".")
        if not _host_allowed(host, self.hosts):
            raise refuse(
                "webhook-host-not-allowed",
                "this verifier does not send webhooks to that host (its operator lists the allowed hosts "
                "in ZKCRED_VERIFIER_WEBHOOK_HOSTS)",
            )
        if parts.scheme != "https" and not _is_loopback(host):
            raise refuse("invalid-webhook-url", "a webhook URL off loopback is https:// (verdicts carry personal data)")
        return url


# ------------------------------------------------------------------ queueing (in the verdict's transaction)


def _ms_iso(ms: int) -> str:
    return _dt.datetime.fromtimestamp(ms / 1000, _dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _ms_iso_or_none(ms: int | None) -> str | None:
    return None if ms is None else _ms_iso(ms)


def enqueue(conn: Connection, *, request_id: str, status: str, verdict: Mapping[str, Any], at_ms: int) -> int:
    """Queue the event of a request's final ``status`` for each subscribed endpoint; the rows queued.

    Call it inside the transaction that records the verdict. Costs one indexed read when the
    lender has no endpoint.
    """
    event = EVENT_OF_STATUS.get(status)
    if event is None:
        return 0
    lender = conn.execute(select(_R.lender).where(_R.id == request_id)).scalar_one_or_none()
    if lender is None:
        return 0
    endpoints = conn.execute(
        select(_E.id, _E.events).where(_E.lender == lender, _E.deleted_ms.is_(None)).order_by(_E.id)
    ).all()
    targets = [endpoint_id for endpoint_id, events in endpoints if event in events.split(",")]
    if not targets:
        return 0
    body = json.dumps(
        {
            "type": event,
            "timestamp": _ms_iso(at_ms),
            "data": {"id": request_id, "status": status, "verdict": dict(verdict)},
        },
        separators=(",", ":"),
        sort_keys=True,
    )
    message_id = "msg_" + secrets.token_urlsafe(18)
    conn.execute(
        insert(WebhookDeliveryRow),
        [
            {
                "message_id": message_id,
                "endpoint_id": endpoint_id,
                "lender": lender,
                "event": event,
                "request_id": request_id,
                "payload": body,
                "status": "pending",
                "attempts": 0,
                "next_attempt_ms": at_ms,
                "created_ms": at_ms,
            }
            for endpoint_id in targets
        ],
    )
    return len(targets)


# ------------------------------------------------------------------ the registry, the log, the dispatcher


@dataclass(frozen=True)
class _Claimed:
    id: int
    message_id: str
    payload: str
    attempts: int
    url: str
    secret: str
    token: str


class Webhooks:
    """Endpoints, the delivery log and the dispatcher of one verifier database (module docstring)."""

    def __init__(
        self,
        engine: Engine,
        policy: WebhookPolicy | None = None,
        *,
        clock: Callable[[], float] = _time.time,
        transport: httpx.BaseTransport | None = None,
        idle: float = 0.5,
    ) -> None:
        self.engine = engine
        self.policy = policy or WebhookPolicy()
        self.clock = clock
        self._transport = transport
        self._owner = secrets.token_hex(6)
        self._claims = itertools.count()
        self._loop = DeliveryLoop(self.deliver_due, name="verifier-webhooks", idle=idle)
        self._http: httpx.Client | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    # -------------------------------------------------------------- endpoints

    def register(
        self, *, lender: str, url: str, events: Sequence[str] = WEBHOOK_EVENTS, description: str = ""
    ) -> tuple[dict[str, Any], str]:
        """A new endpoint of ``lender``: (its public view, its secret — returned only here)."""
        url = self.policy.check_url(url)
        if not events:
            raise VerifierError(ErrorKind.INPUT, "events: at least one of " + ", ".join(WEBHOOK_EVENTS))
        unknown = [e for e in events if e not in WEBHOOK_EVENTS]
        if unknown:
            raise VerifierError(
                ErrorKind.INPUT, "events: each one of " + ", ".join(WEBHOOK_EVENTS), slug="invalid-webhook-events"
            )
        if len(set(events)) != len(events):
            raise VerifierError(ErrorKind.INPUT, "events: each at most once", slug="invalid-webhook-events")
        secret = new_secret()
        row = {
            "id": "ep_" + secrets.token_urlsafe(12),
            "lender": lender,
            "url": url,
            "events": ",".join(e for e in WEBHOOK_EVENTS if e in events),
            "description": description,
            "secret": secret,
            "created_ms": self._now_ms(),
        }
        with self.engine.begin() as conn:
            count = conn.execute(
                select(func.count()).select_from(WebhookEndpointRow).where(_E.lender == lender, _E.deleted_ms.is_(None))
            ).scalar_one()
            if count >= MAX_ENDPOINTS:
                raise VerifierError(
                    ErrorKind.INPUT,
                    f"a lender has at most {MAX_ENDPOINTS} webhook endpoints; delete one first",
                    slug="too-many-webhooks",
                )
            conn.execute(insert(WebhookEndpointRow).values(**row))
        logger.info("webhook >>> lender=%s endpoint=%s events=%s", lender, row["id"], row["events"])
        return _endpoint_view(row), secret

    def endpoints(self, *, lender: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(WebhookEndpointRow)
                .where(_E.lender == lender, _E.deleted_ms.is_(None))
                .order_by(_E.created_ms, _E.id)
            ).mappings()
            return [_endpoint_view(r) for r in rows]

    def endpoint(self, *, lender: str, endpoint_id: str) -> dict[str, Any]:
        """One of ``lender``'s endpoints (NOT_FOUND for a deleted one or another lender's: nothing leaks)."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    select(WebhookEndpointRow).where(_E.id == endpoint_id, _E.lender == lender, _E.deleted_ms.is_(None))
                )
                .mappings()
                .first()
            )
        if row is None:
            raise VerifierError(ErrorKind.NOT_FOUND, "no such webhook endpoint")
        return _endpoint_view(row)

    def delete(self, *, lender: str, endpoint_id: str) -> None:
        """Delete an endpoint; its pending deliveries are ``cancelled`` (same transaction)."""
        now = self._now_ms()
        with self.engine.begin() as conn:
            done = conn.execute(
                update(WebhookEndpointRow)
                .where(_E.id == endpoint_id, _E.lender == lender, _E.deleted_ms.is_(None))
                .values(deleted_ms=now)
            )
            if done.rowcount != 1:
                raise VerifierError(ErrorKind.NOT_FOUND, "no such webhook endpoint")
            conn.execute(
                update(WebhookDeliveryRow)
                .where(_D.endpoint_id == endpoint_id, _D.status == "pending")
                .values(status="cancelled", lease_owner=None, lease_until_ms=None, last_error="endpoint deleted")
            )
        logger.info("webhook deleted >>> lender=%s endpoint=%s", lender, endpoint_id)

    # -------------------------------------------------------------- the log

    def deliveries(
        self,
        *,
        lender: str,
        endpoint_id: str,
        status: str | None = None,
        request_id: str | None = None,
        limit: int = LOG_LIMIT,
    ) -> list[dict[str, Any]]:
        """An endpoint's deliveries, newest first, each with its attempts (oldest first)."""
        self.endpoint(lender=lender, endpoint_id=endpoint_id)  # 404 unless it is this lender's
        query = select(WebhookDeliveryRow).where(_D.endpoint_id == endpoint_id)
        if status is not None:
            query = query.where(_D.status == status)
        if request_id is not None:
            query = query.where(_D.request_id == request_id)
        with self.engine.connect() as conn:
            rows = list(conn.execute(query.order_by(_D.id.desc()).limit(limit)).mappings())
            attempts: dict[int, list[dict[str, Any]]] = {r["id"]: [] for r in rows}
            if rows:
                for a in conn.execute(
                    select(WebhookAttemptRow).where(_A.delivery_id.in_(list(attempts))).order_by(_A.id)
                ).mappings():
                    attempts[a["delivery_id"]].append(
                        {
                            "attempt": a["attempt"],
                            "at": _ms_iso(a["at_ms"]),
                            "duration_ms": a["duration_ms"],
                            "status_code": a["status_code"],
                            "error": a["error"],
                        }
                    )
        return [
            {
                "id": r["id"],
                "message_id": r["message_id"],
                "event": r["event"],
                "request_id": r["request_id"],
                "status": r["status"],
                "attempts": r["attempts"],
                "created_at": _ms_iso(r["created_ms"]),
                "next_attempt_at": _ms_iso(r["next_attempt_ms"]) if r["status"] == "pending" else None,
                "delivered_at": _ms_iso_or_none(r["delivered_ms"]),
                "last_status_code": r["last_status_code"],
                "last_error": r["last_error"],
                "payload": json.loads(r["payload"]),
                "attempt_log": attempts[r["id"]],
            }
            for r in rows
        ]

    def pending_count(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(WebhookDeliveryRow).where(_D.status == "pending")
                ).scalar_one()
            )

    # -------------------------------------------------------------- the dispatcher

    def start(self) -> None:
        """Deliver from a daemon thread of this process until :meth:`stop` (every worker runs one)."""
        self._loop.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._loop.stop(timeout)
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
            if self._http is not None:
                self._http.close()
                self._http = None

    def wake(self) -> None:
        self._loop.wake()

    def deliver_due(self) -> Step:
        """One step: expire what is due, claim a batch of due rows, POST them, record the outcomes."""
        now = self._now_ms()
        self.expire_due(now_ms=now)
        claimed = self._claim(now)
        if not claimed:
            return Step.IDLE
        crash_point("webhook:claimed")
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(BATCH, thread_name_prefix="webhook-post")
            pool = self._pool
        list(pool.map(self._attempt, claimed))
        return Step.BUSY if len(claimed) == BATCH else Step.IDLE

    def expire_due(self, *, now_ms: int) -> int:
        """Mark ``expired`` the pending requests past their expiry of lenders subscribed to ``request.expired``.

        Only requests that expired after such an endpoint was created (no flood of old
        requests when a lender subscribes). Each is one conditional update (still pending →
        expired) with its deliveries, so a presentation racing it is refused, or wins, whole.
        """
        with self.engine.connect() as conn:
            subscribed = conn.execute(
                select(_E.lender, func.min(_E.created_ms))
                .where(_E.deleted_ms.is_(None), _E.events.contains("request.expired"))
                .group_by(_E.lender)
            ).all()
        expired = 0
        for lender, since in subscribed:
            with self.engine.begin() as conn:
                ids = (
                    conn.execute(
                        select(_R.id)
                        .where(
                            _R.lender == lender,
                            _R.status == "pending",
                            _R.expires_ms <= now_ms,
                            _R.expires_ms >= since,
                        )
                        .order_by(_R.id)
                        .limit(100)
                    )
                    .scalars()
                    .all()
                )
                verdict = json.dumps(EXPIRED_VERDICT, separators=(",", ":"))
                for request_id in ids:
                    done = conn.execute(
                        update(RequestRow)
                        .where(_R.id == request_id, _R.status == "pending")
                        .values(status="expired", verdict_json=verdict, answered_ms=now_ms)
                    )
                    if done.rowcount == 1:
                        enqueue(conn, request_id=request_id, status="expired", verdict=EXPIRED_VERDICT, at_ms=now_ms)
                        expired += 1
        if expired:
            logger.info("expired %d pending requests past their expiry (webhook subscribers)", expired)
        return expired

    def _claim(self, now: int) -> list[_Claimed]:
        token = f"{self._owner}-{next(self._claims)}"
        due = (
            _D.status == "pending",
            _D.next_attempt_ms <= now,
            or_(_D.lease_until_ms.is_(None), _D.lease_until_ms < now),
        )
        with self.engine.connect() as conn:  # a read first: an idle poll never takes SQLite's write lock
            if conn.execute(select(_D.id).where(*due).limit(1)).first() is None:
                return []
        pick = select(_D.id).where(*due).order_by(_D.next_attempt_ms, _D.id).limit(BATCH)
        if self.engine.dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        with self.engine.begin() as conn:
            conn.execute(
                update(WebhookDeliveryRow)
                .where(_D.id.in_(pick), *due)
                .values(lease_until_ms=now + self.policy.lease_ms, lease_owner=token)
            )
            rows = conn.execute(
                select(_D.id, _D.message_id, _D.payload, _D.attempts, _E.url, _E.secret)
                .join(WebhookEndpointRow, _E.id == _D.endpoint_id)
                .where(_D.lease_owner == token)
            ).all()
        return [_Claimed(*row, token=token) for row in rows]  # type: ignore[misc]

    def _client(self) -> httpx.Client:
        with self._lock:
            if self._http is None:
                self._http = httpx.Client(
                    timeout=self.policy.timeout,
                    follow_redirects=False,
                    transport=self._transport,
                    limits=httpx.Limits(max_connections=BATCH * 2),
                )
            return self._http

    def _attempt(self, row: _Claimed) -> None:
        """POST one claimed row and record the outcome (never raises: a failure is a retry)."""
        body = row.payload.encode()
        started = self._now_ms()
        t0 = _time.perf_counter()
        status_code: int | None = None
        error: str | None = None
        try:
            headers = signed_headers(row.secret, row.message_id, started // 1000, body)
            with self._client().stream("POST", row.url, content=body, headers=headers) as response:
                status_code = response.status_code
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
        except httpx.TimeoutException:
            error = f"timed out after {self.policy.timeout:g} s"
        except httpx.HTTPError as e:
            error = f"{type(e).__name__}: could not deliver"
        except Exception as e:  # a bug must cost a retry, not the dispatcher
            logger.exception("webhook %d: delivery failed unexpectedly", row.id)
            error = f"{type(e).__name__}"
        duration = int((_time.perf_counter() - t0) * 1000)
        if error is None:
            crash_point("webhook:delivered")  # POSTed, not yet marked: the restart delivers it again
        try:
            self._record(row, started=started, duration=duration, status_code=status_code, error=error)
        except Exception:  # the database away: the lease runs out and the row is delivered again
            logger.exception("webhook %d: could not record the attempt", row.id)

    def _record(
        self, row: _Claimed, *, started: int, duration: int, status_code: int | None, error: str | None
    ) -> None:
        attempt = row.attempts + 1
        now = self._now_ms()
        values: dict[str, Any] = {
            "attempts": attempt,
            "lease_owner": None,
            "lease_until_ms": None,
            "last_attempt_ms": started,
            "last_status_code": status_code,
            "last_error": error,
        }
        if error is None:
            values.update(status="delivered", delivered_ms=now)
            outcome = "delivered"
        elif attempt >= self.policy.max_attempts:
            values.update(status="failed")
            outcome = "failed"
        else:
            wait = backoff(attempt, base=self.policy.retry_base, cap=self.policy.retry_max)
            values.update(next_attempt_ms=now + int(wait * 1000))
            outcome = f"retry in {wait:.1f} s"
        with self.engine.begin() as conn:
            conn.execute(
                update(WebhookDeliveryRow)
                .where(_D.id == row.id, _D.lease_owner == row.token, _D.status == "pending")
                .values(**values)
            )
            conn.execute(
                insert(WebhookAttemptRow).values(
                    delivery_id=row.id,
                    attempt=attempt,
                    at_ms=started,
                    duration_ms=duration,
                    status_code=status_code,
                    error=error,
                )
            )
        level = logging.INFO if error is None else logging.WARNING
        reason = outcome if error is None else f"{error}; {outcome}"
        logger.log(level, "webhook delivery %d (%s) attempt %d: %s", row.id, row.message_id, attempt, reason)


def _endpoint_view(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "url": row["url"],
        "events": row["events"].split(","),
        "description": row["description"],
        "created_at": _ms_iso(row["created_ms"]),
    }
