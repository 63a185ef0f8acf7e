"""Request limits and strict JSON: what every zkcred service accepts as a body.

A body is refused before any route sees it (``servicekit.app`` runs this on every request):

=========================================================  ======  ==========================
body                                                        status  problem type
=========================================================  ======  ==========================
longer than ``max_body_bytes`` (Content-Length or counted)  413     ``payload-too-large``
not empty and not ``application/json`` / ``application/*+json``
(or a charset other than UTF-8)                             415     ``unsupported-media-type``
brackets nested deeper than ``max_depth``                   400     ``malformed-json``
a string token longer than ``max_string_bytes``             400     ``malformed-json``
not UTF-8 (or a byte-order mark)                            400     ``malformed-json``
not JSON (RFC 8259)                                         400     ``malformed-json``
``NaN``, ``Infinity``, ``-Infinity``, a number overflowing
to infinity (``1e999``)                                     400     ``malformed-json``
an object with a duplicate key                              400     ``malformed-json``
a lone surrogate escape (``"\\ud800"``)                     400     ``malformed-json``
=========================================================  ======  ==========================

Depth and string length are checked by one linear scan of the bytes *before* the parser
runs: py_ecc raises the interpreter's recursion limit to 100 000 on import, and then a
body of 100 000 ``[`` overflows the C stack of the json decoder (a segfault: one request
would kill the worker). Duplicate keys are refused rather than "last wins": two parsers
(a proxy, an auditor, the service) must never read one body two ways.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

#: Defaults: every service uses the same (``servicekit.app.create_service_app(limits=…)``).
MAX_BODY_BYTES = 256 * 1024  # a presentation is a few KiB; a batch revocation entry ~140 bytes a handle
MAX_JSON_DEPTH = 32
MAX_STRING_BYTES = 64 * 1024  # the longest string in a presentation is a proof (~1.3 KiB for one credential)


@dataclass(frozen=True)
class Limits:
    """The request limits of a service (the same for all three unless configured otherwise)."""

    max_body_bytes: int = MAX_BODY_BYTES
    max_depth: int = MAX_JSON_DEPTH
    max_string_bytes: int = MAX_STRING_BYTES

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_depth", "max_string_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive")


class JsonRejected(ValueError):
    """The body is not acceptable JSON; ``detail`` says why (never quoting the body)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


_JSON_SPECIAL = re.compile(rb'[\[\]{}"\\]')
_SURROGATE = re.compile("[\ud800-\udfff]")


def scan(body: bytes, *, max_depth: int, max_string_bytes: int) -> None:
    """Bound nesting and string length in one linear pass over the bytes, before parsing.

    Raises :class:`JsonRejected`. Garbage is left to the parser; this only bounds how deep
    it will recurse and how long a string it will build.
    """
    depth, in_string, escaped_at, string_start = 0, False, -1, 0
    for m in _JSON_SPECIAL.finditer(body):
        i = m.start()
        if i == escaped_at:
            continue
        c = body[i]
        if in_string:
            if c == 0x5C:  # backslash: the next byte is escaped
                escaped_at = i + 1
            elif c == 0x22:
                in_string = False
                if i - string_start > max_string_bytes:
                    raise JsonRejected(f"a string is longer than {max_string_bytes} bytes")
        elif c == 0x22:
            in_string, string_start = True, i + 1
        elif c in b"[{":
            depth += 1
            if depth > max_depth:
                raise JsonRejected(f"JSON nested deeper than {max_depth} levels")
        elif c in b"]}":
            depth -= 1
    if in_string and len(body) - string_start > max_string_bytes:
        raise JsonRejected(f"a string is longer than {max_string_bytes} bytes")


def json_nesting_exceeds(body: bytes, limit: int) -> bool:
    """True if ``body``'s brackets outside strings nest deeper than ``limit``."""
    try:
        scan(body, max_depth=limit, max_string_bytes=len(body) + 1)
    except JsonRejected:
        return True
    return False


def _constant(name: str) -> Any:
    raise JsonRejected(f"{name} is not JSON (RFC 8259 has no NaN or Infinity)")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonRejected("a number overflows a double")
    return value


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise JsonRejected("an object has a duplicate key")
        out[key] = value
    return out


def _check_strings(value: Any) -> None:
    """No lone surrogates (they decode, then fail any UTF-8 encode downstream). Depth is bounded."""
    if isinstance(value, str):
        if _SURROGATE.search(value):
            raise JsonRejected("a string contains a lone surrogate (not Unicode text)")
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_strings(k)
            _check_strings(v)
    elif isinstance(value, list):
        for v in value:
            _check_strings(v)


def loads_strict(body: bytes, limits: Limits = Limits()) -> Any:
    """Parse ``body`` as strict JSON within ``limits`` (module table), or raise :class:`JsonRejected`."""
    if len(body) > limits.max_body_bytes:
        raise JsonRejected(f"bodies are at most {limits.max_body_bytes} bytes")
    scan(body, max_depth=limits.max_depth, max_string_bytes=limits.max_string_bytes)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise JsonRejected("the body is not UTF-8") from None
    if text.startswith("\ufeff"):
        raise JsonRejected("the body starts with a byte-order mark")
    try:
        value = json.loads(text, parse_constant=_constant, parse_float=_float, object_pairs_hook=_object)
    except JsonRejected:
        raise
    except (ValueError, RecursionError):  # JSONDecodeError, an int past Python's digit limit
        raise JsonRejected("the body is not JSON") from None
    _check_strings(value)
    return value


def is_json_media_type(content_type: str) -> bool:
    """``application/json`` or ``application/<x>+json``, with no charset other than UTF-8."""
    media, _, params = content_type.partition(";")
    media = media.strip().lower()
    main, _, sub = media.partition("/")
    if main != "application" or not (sub == "json" or sub.endswith("+json")):
        return False
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return False
    return True
