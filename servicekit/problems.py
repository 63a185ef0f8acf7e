"""RFC 9457 problem details, written once for the issuer, the verifier and the ledger.

Every error a zkcred service sends is ``application/problem+json``::

    {"type": "https://zkcred.dev/problems/<slug>", "title": …, "status": …, "detail": …,
     "instance": "<path>", "request_id": "<X-Request-ID>", …extensions}

``type`` is stable (clients switch on the slug); ``title`` is fixed per type; ``detail``
says what was wrong in this request and never contains a secret or echoes an input
value (it may be personal data or a token). ``request_id`` is the request's id (also the
``X-Request-ID`` response header), so an operator finds the request's log lines.

:data:`COMMON` is the one table of the types the scaffolding itself sends (malformed or
oversized bodies, schema-invalid requests, unknown routes, bugs) and of the types several
services share (``unauthorized``, ``forbidden``, ``not-found``, …): the same slug has the
same status and title on every service. Each service keeps only its own domain table
(``issuer.errors``, ``verifier.errors``, ``ledger.errors``); ``tests/hardening/
test_scaffold.py`` checks the shared slugs agree with this one.

This module is pure (pydantic for the OpenAPI schema, no web framework).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

PROBLEM_JSON = "application/problem+json"
PROBLEM_PREFIX = "https://zkcred.dev/problems/"


@dataclass(frozen=True)
class ProblemType:
    """One stable problem type: its slug, HTTP status and title."""

    slug: str
    status: int
    title: str

    @property
    def uri(self) -> str:
        return PROBLEM_PREFIX + self.slug


def _types(*types: ProblemType) -> dict[str, ProblemType]:
    return {t.slug: t for t in types}


#: The scaffolding's own types and the ones services share. Decided once (docs/api.md "Errors").
COMMON: dict[str, ProblemType] = _types(
    # the body is not acceptable JSON: does not parse, is not UTF-8, NaN/Infinity, a duplicate key,
    # nested deeper or a string longer than the limits (servicekit.strictjson)
    ProblemType("malformed-json", 400, "Malformed JSON"),
    ProblemType("unauthorized", 401, "Authentication required"),  # no (bearer) credentials
    ProblemType("forbidden", 403, "Forbidden"),  # credentials given, not valid for this
    ProblemType("not-found", 404, "Not found"),
    ProblemType("method-not-allowed", 405, "Method not allowed"),
    ProblemType("payload-too-large", 413, "Payload too large"),
    ProblemType("unsupported-media-type", 415, "Unsupported media type"),
    # parsed JSON (or a query / path parameter) that does not match the route's model
    ProblemType("invalid-request", 422, "Invalid request"),
    # well-formed and matching the model, refused by the domain rules
    ProblemType("invalid-input", 422, "Invalid input"),
    ProblemType("internal-error", 500, "Internal error"),  # a bug, never bad input
    ProblemType("not-ready", 503, "Service not ready"),  # GET /health/ready: a check failed
    ProblemType("ledger-unavailable", 503, "Ledger unavailable"),
)


_FRAMEWORK = {
    t.status: t
    for t in (
        COMMON[s]
        for s in (
            "unauthorized",
            "forbidden",
            "not-found",
            "method-not-allowed",
            "payload-too-large",
            "unsupported-media-type",
        )
    )
}


def http_error_type(status: int) -> ProblemType:
    """The type of a bare HTTP error the framework raises (unknown route 404, wrong method 405, …)."""
    if status in _FRAMEWORK:
        return _FRAMEWORK[status]
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "HTTP error"
    return ProblemType("http-error", status, title)


@dataclass(frozen=True)
class ProblemDetails:
    """What a domain error maps to (each service's one mapping function returns this)."""

    status: int
    slug: str
    title: str
    detail: str
    headers: dict[str, str] | None = None
    extensions: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, slug: str, detail: str, **extensions: Any) -> ProblemDetails:
        """A :data:`COMMON` type with this request's detail."""
        t = COMMON[slug]
        return cls(t.status, t.slug, t.title, detail, extensions=extensions)

    def body(self, *, instance: str, request_id: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": PROBLEM_PREFIX + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
        }
        if request_id:
            out["request_id"] = request_id
        out.update(self.extensions)
        return out


class Problem(BaseModel):
    """RFC 9457 problem details (the schema of every error response in the OpenAPI documents)."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field(
        description="stable URI https://zkcred.dev/problems/<slug>; switch on this",
        examples=[PROBLEM_PREFIX + "invalid-request"],
    )
    title: str = Field(description="fixed per type")
    status: int = Field(description="the HTTP status")
    detail: str = Field(description="what was wrong with this request; never a secret or an input value")
    instance: str = Field(description="the request's path")
    request_id: str | None = Field(None, description="the request's X-Request-ID (find its log lines)")
