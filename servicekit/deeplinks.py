"""Deep links (issue 13): what a QR code or an app link hands a wallet.

    zkcred://present?request_uri=<URL-encoded request document URL>
    zkcred://accept?offer_uri=<URL-encoded offer document URL>

Built by the services (``verifier``: ``deep_link`` of a request) and parsed by the wallet
(SDK and CLI), so both sides live here, below either. Parsing is strict: another scheme,
another action, a missing, repeated or unknown parameter, or a target that is not an
absolute http(s) URL is a :class:`DeepLinkError` (a ``ValueError``) with a one-line reason.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

SCHEME = "zkcred"
#: action → the one parameter that action carries
ACTIONS = {"present": "request_uri", "accept": "offer_uri"}
MAX_LINK = 2048


class DeepLinkError(ValueError):
    """A deep link that is not one of ours; the message is one line, safe to show."""


@dataclass(frozen=True)
class DeepLink:
    action: str  # "present" | "accept"
    uri: str  # the document's absolute http(s) URL

    def __str__(self) -> str:
        return build(self.action, self.uri)


def build(action: str, uri: str) -> str:
    """``zkcred://<action>?<param>=<uri, URL-encoded>``."""
    if action not in ACTIONS:
        raise DeepLinkError(f"unknown deep link action {action!r}")
    return f"{SCHEME}://{action}?{urllib.parse.urlencode({ACTIONS[action]: uri})}"


def present_link(request_uri: str) -> str:
    return build("present", request_uri)


def is_deep_link(text: str) -> bool:
    """Whether ``text`` claims to be a deep link (``zkcred:``), valid or not."""
    return text.strip().lower().startswith(f"{SCHEME}:")


def _check_http(uri: str, param: str) -> str:
    parts = urllib.parse.urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise DeepLinkError(f"the deep link's {param} must be an absolute http(s) URL")
    return uri


def parse(link: str, *, action: str | None = None) -> DeepLink:
    """The action and target of a deep link (``action``: the one expected, if any)."""
    link = link.strip()
    if len(link) > MAX_LINK:
        raise DeepLinkError(f"the deep link is longer than {MAX_LINK} characters")
    parts = urllib.parse.urlsplit(link)
    if parts.scheme.lower() != SCHEME:
        raise DeepLinkError(f"not a zkcred deep link (scheme {parts.scheme or 'none'!r}, expected {SCHEME}://)")
    got = parts.netloc or parts.path.lstrip("/")
    if parts.path.strip("/") and parts.netloc or got not in ACTIONS:
        raise DeepLinkError(f"unknown deep link action {got!r}; expected one of {', '.join(ACTIONS)}")
    if action is not None and got != action:
        raise DeepLinkError(f"this deep link is for {got!r}, not {action!r}")
    if parts.fragment:
        raise DeepLinkError("a deep link has no fragment")
    try:
        params = urllib.parse.parse_qs(
            parts.query, keep_blank_values=True, strict_parsing=bool(parts.query), max_num_fields=4
        )
    except ValueError:
        raise DeepLinkError("the deep link's query is malformed") from None
    wanted = ACTIONS[got]
    extra = sorted(set(params) - {wanted})
    if extra:
        raise DeepLinkError(f"unknown deep link parameter {extra[0]!r}")
    values = params.get(wanted, [])
    if len(values) != 1 or not values[0]:
        raise DeepLinkError(f"the deep link needs exactly one {wanted} parameter")
    return DeepLink(got, _check_http(values[0], wanted))


def resolve(source: str, *, action: str) -> str:
    """``source`` itself, or — if it is a deep link — the document URL it carries (for ``action``)."""
    return parse(source, action=action).uri if is_deep_link(source) else source
