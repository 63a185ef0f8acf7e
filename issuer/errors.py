"""The issuer's one domain error: ``IssuerError(kind, detail, slug=…)``.

Kinds follow anoncreds-rs ``ErrorKind`` (STYLE §2.4), plus the access and availability
kinds a service needs. The HTTP layer maps a kind to a status in ONE handler
(``issuer.api``); the domain code never imports HTTP. ``slug`` names the RFC 9457
problem type (``https://zkcred.dev/problems/<slug>``) and is stable; ``detail`` never
contains a secret (no key material, no token, no attribute value).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any


class ErrorKind(enum.Enum):
    """What went wrong, independent of transport (HTTP status in :data:`STATUS`)."""

    INPUT = "input"  # well-formed request, unacceptable content (schema rules, value ranges, bad bytes)
    UNAUTHORIZED = "unauthorized"  # no credentials at all
    FORBIDDEN = "forbidden"  # credentials given, not valid for this
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"  # duplicate, already used, already revoked
    INVALID_STATE = "invalid_state"  # the object cannot do this (revoke a non-revocable credential)
    REGISTRY_FULL = "registry_full"  # every revocation index of the registry is taken
    EXPIRED = "expired"  # the offer is past its expiry
    LEDGER_REFUSED = "ledger_refused"  # the ledger refused what we published
    LEDGER_UNAVAILABLE = "ledger_unavailable"  # the ledger could not be reached


#: The one kind → HTTP status table (used by the single handler in ``issuer.api``).
STATUS = {
    ErrorKind.INPUT: 422,
    ErrorKind.UNAUTHORIZED: 401,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.INVALID_STATE: 409,
    ErrorKind.REGISTRY_FULL: 409,
    ErrorKind.EXPIRED: 410,
    ErrorKind.LEDGER_REFUSED: 502,
    ErrorKind.LEDGER_UNAVAILABLE: 503,
}

_DEFAULT_SLUGS = {
    ErrorKind.INPUT: "invalid-input",
    ErrorKind.UNAUTHORIZED: "unauthorized",
    ErrorKind.FORBIDDEN: "forbidden",
    ErrorKind.NOT_FOUND: "not-found",
    ErrorKind.CONFLICT: "conflict",
    ErrorKind.INVALID_STATE: "invalid-state",
    ErrorKind.REGISTRY_FULL: "registry-full",
    ErrorKind.EXPIRED: "expired",
    ErrorKind.LEDGER_REFUSED: "ledger-refused",
    ErrorKind.LEDGER_UNAVAILABLE: "ledger-unavailable",
}

_TITLES = {
    ErrorKind.INPUT: "Invalid input",
    ErrorKind.UNAUTHORIZED: "Authentication required",
    ErrorKind.FORBIDDEN: "Forbidden",
    ErrorKind.NOT_FOUND: "Not found",
    ErrorKind.CONFLICT: "Conflict",
    ErrorKind.INVALID_STATE: "Invalid state",
    ErrorKind.REGISTRY_FULL: "Revocation registry full",
    ErrorKind.EXPIRED: "Expired",
    ErrorKind.LEDGER_REFUSED: "Ledger refused the entry",
    ErrorKind.LEDGER_UNAVAILABLE: "Ledger unavailable",
}


class IssuerError(Exception):
    """Every error the issuer's domain logic raises on purpose."""

    def __init__(
        self,
        kind: ErrorKind,
        detail: str,
        *,
        slug: str | None = None,
        extra: Mapping[str, Any] | None = None,
        items: list[tuple[int, IssuerError]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.slug = slug or _DEFAULT_SLUGS[kind]
        self.extra = dict(extra or {})  # members added to the problem (e.g. ``existing_id`` of a 409)
        #: per-item problems of a bulk request, as (index in the request, the item's error)
        self.items = items or []

    @property
    def status(self) -> int:
        return STATUS[self.kind]

    @property
    def title(self) -> str:
        return _TITLES[self.kind]

    def __repr__(self) -> str:
        return f"IssuerError({self.kind.name}, {self.slug!r}, {self.detail!r})"
