"""Structured logs: one JSON object per line, with the request's id.

``configure_logging(level)`` installs :class:`JsonFormatter` on the root logger (stderr),
routes uvicorn's loggers through it, and turns uvicorn's access log off — the scaffolding
writes its own access line per request (method, route *template*, status, duration,
request id; never the raw path or query, which may carry ids a log need not keep). A
line looks like::

    {"time": "2026-11-27T10:00:00.123Z", "level": "INFO", "logger": "verifier.service",
     "message": "request 3f…: rejected (invalid_proof): …", "request_id": "9c1e…", "reason": "invalid_proof"}

Fields passed with ``extra={…}`` become keys of the object. The request id comes from
:data:`request_id_var`, set per request by ``servicekit.app`` (the client's
``X-Request-ID`` if it is sane — :func:`sane_request_id` — else a fresh one).

What the services log is their business; the contract (``tests/hardening/test_secrets.py``,
at every level) is that no token, key, link secret or undisclosed attribute value ever
reaches a log line.
"""

from __future__ import annotations

import contextvars
import datetime as _dt
import json
import logging
import os
import re
import secrets
import sys
from typing import Any, TextIO

#: The environment variable a serving process (and each of its uvicorn workers) reads its level from.
LOG_LEVEL_ENV = "ZKCRED_LOG_LEVEL"
LEVELS = ("debug", "info", "warning", "error", "critical")
DEFAULT_LEVEL = "info"

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("zkcred_request_id", default=None)

_SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}")

# Attributes every LogRecord has: anything else on a record came from ``extra=`` and is logged.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


def sane_request_id(value: str | None) -> str:
    """``value`` if it is a sane id (1–128 of ``A-Za-z0-9._:-``, starting alphanumeric), else a new one.

    A client's id is echoed in headers, problem bodies and log lines, so it may not carry
    newlines, quotes, markup or megabytes.
    """
    if value and _SANE_ID.fullmatch(value):
        return value
    return secrets.token_hex(16)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ms), level, logger, message, request_id, extras, exc_info."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": _dt.datetime.fromtimestamp(record.created, _dt.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or request_id_var.get()
        if rid:
            out["request_id"] = rid
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in out and not key.startswith("_"):
                out[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            out["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exc_info"] = record.exc_text
        if record.stack_info:
            out["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def parse_level(level: str | int | None) -> int:
    """``"debug"`` … ``"critical"`` (any case) or a logging int; ``None`` → ``$ZKCRED_LOG_LEVEL`` or info."""
    if level is None:
        level = os.environ.get(LOG_LEVEL_ENV) or DEFAULT_LEVEL
    if isinstance(level, int):
        return level
    name = level.strip().lower()
    if name not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}")
    return getattr(logging, name.upper())


_HANDLER_MARK = "_zkcred_json_handler"


def configure_logging(level: str | int | None = None, *, stream: TextIO | None = None) -> logging.Handler:
    """JSON lines on ``stream`` (stderr) at ``level`` for every logger; idempotent (replaces its handler).

    ``level`` ``None`` reads ``$ZKCRED_LOG_LEVEL`` (how ``zkcred … serve --log-level`` reaches
    uvicorn's worker processes). Returns the handler (tests attach their own stream).
    """
    numeric = parse_level(level)
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, _HANDLER_MARK, False):
            root.removeHandler(h)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter())
    setattr(handler, _HANDLER_MARK, True)
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in ("uvicorn", "uvicorn.error"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
        lg.setLevel(numeric)
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False  # servicekit writes the access line (with the request id, without the query)
    access.disabled = True
    return handler
