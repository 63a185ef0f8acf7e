"""The verifier's one domain error: ``VerifierError(kind, detail, slug=…)``.

Kinds follow anoncreds-rs ``ErrorKind`` (STYLE §2.4) plus what a service needs. The HTTP
layer maps a kind to a status in ONE handler (``verifier.api``); the domain code never
imports HTTP. ``slug`` names the RFC 9457 problem type
(``https://zkcred.dev/problems/<slug>``) and is stable; ``detail`` never contains a secret.

A *rejected presentation* is not an error: it is a verdict (``verified: false`` with a
reason code, see ``verifier.service.REASONS``).
"""

from __future__ import annotations

import enum


class ErrorKind(enum.Enum):
    INPUT = "input"  # well-formed request, unacceptable content
    UNAUTHORIZED = "unauthorized"  # no API key
    FORBIDDEN = "forbidden"  # a key that is not valid, or not for this request
    NOT_FOUND = "not_found"
    REPLAY = "replay"  # the request was already answered: its nonce is spent
    LEDGER_UNAVAILABLE = "ledger_unavailable"  # the ledger could not be read or did not verify


STATUS = {
    ErrorKind.INPUT: 422,
    ErrorKind.UNAUTHORIZED: 401,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.REPLAY: 409,
    ErrorKind.LEDGER_UNAVAILABLE: 503,
}

_DEFAULT_SLUGS = {
    ErrorKind.INPUT: "invalid-input",
    ErrorKind.UNAUTHORIZED: "unauthorized",
    ErrorKind.FORBIDDEN: "forbidden",
    ErrorKind.NOT_FOUND: "not-found",
    ErrorKind.REPLAY: "replay",
    ErrorKind.LEDGER_UNAVAILABLE: "ledger-unavailable",
}

TITLES = {
    ErrorKind.INPUT: "Invalid input",
    ErrorKind.UNAUTHORIZED: "Authentication required",
    ErrorKind.FORBIDDEN: "Forbidden",
    ErrorKind.NOT_FOUND: "Not found",
    ErrorKind.REPLAY: "Request already answered",
    ErrorKind.LEDGER_UNAVAILABLE: "Ledger unavailable",
}


class VerifierError(Exception):
    def __init__(self, kind: ErrorKind, detail: str, *, slug: str | None = None) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.slug = slug or _DEFAULT_SLUGS[kind]

    @property
    def status(self) -> int:
        return STATUS[self.kind]

    @property
    def title(self) -> str:
        return TITLES[self.kind]
