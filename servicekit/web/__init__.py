"""Server-rendered web consoles (issue 18): the one foundation of the issuer's, the lender's and the ledger's pages.

A service makes one :class:`WebConsole`, adds its own routes under ``/console`` and calls
:meth:`WebConsole.install`. What every console then has:

- **Jinja2 templates, autoescaped** (every ``{{ … }}`` is HTML-escaped; nothing is marked
  safe): the service's own templates directory first, then ``servicekit/web/templates``
  (``base.html``: the layout, 360 px wide up to a desktop; ``login.html``; ``message.html``).
- **Static assets served by the service itself** (``/console/static/…``: one stylesheet and
  a few lines of plain JavaScript for the live parts; no CDN, no build step).
- **Security headers on every console response**: a strict Content-Security-Policy
  (:data:`CSP`: scripts, styles and connections only from the service itself, no inline
  script or style, images also as ``data:`` for QR codes, forms only to itself, no framing),
  ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer`` (links carry
  capabilities), ``Cache-Control: no-store`` (static assets excepted).
- **Login by token or key into a session cookie** (when the service gives ``authenticate``):
  the secret typed into the login form is checked by the service, which returns a
  *reference* to it (e.g. its SHA-256, as the service stores it) — never the secret. The
  cookie holds ``{sid, ref}`` signed with the service's console key (itsdangerous, HMAC,
  salted with the service name), ``HttpOnly``, ``SameSite=Strict``, ``Secure`` outside dev
  mode (then named ``__Host-…``), valid for :data:`SESSION_MAX_AGE` seconds. Every request
  resolves ``ref`` again (``resolve``), so revoking the token or key ends its sessions at once.
  Logging in starts a fresh ``sid`` (no session fixation); logging out deletes the cookie
  (a copy of it stays valid until it expires or its token is revoked: the cookie is
  stateless by design — any worker checks it without a shared session table).
- **CSRF protection on every form**: each session (anonymous ones too, for the login form)
  has a ``sid``; the form token is HMAC(console key, ``sid``). :meth:`WebConsole.form` refuses
  (403, an HTML page) a POST whose ``csrf_token`` does not match, before the route runs.
"""

from __future__ import annotations

import hashlib
import hmac
import mimetypes
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import itsdangerous
import segno
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined
from starlette.datastructures import FormData, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/console"
HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
#: No inline script or style anywhere; QR codes are ``data:`` images.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SESSION_MAX_AGE = 8 * 3600
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class Session:
    sid: str  # random per session; the CSRF token is derived from it
    ref: str | None  # the service's reference to the logged-in token or key (None: not logged in)


class LoginRequired(Exception):
    """Raised by :meth:`WebConsole.principal` without a valid session: the app answers 303 → login."""


class CsrfRejected(Exception):
    """A console form without a valid CSRF token: 403."""


def qr_data_uri(text: str) -> str:
    """``text`` as a QR code in a ``data:`` URI (SVG; error correction M), for ``<img src>``."""
    return str(segno.make(text, error="m", micro=False).svg_data_uri(scale=4))


def when(iso: str | None) -> str:
    """An ISO 8601 UTC time as people read it (``—`` for none).

    >>> when("2026-11-27T13:29:49.680225Z")
    '2026-11-27 13:29:49 UTC'
    """
    if not iso:
        return "—"
    return iso.replace("T", " ", 1).split(".", 1)[0].removesuffix("Z").removesuffix("+00:00") + " UTC"


def console_key(master: bytes, service: str) -> bytes:
    """A console signing key derived from a service secret (HMAC-SHA-256, labelled): never the secret itself."""
    return hmac.new(master, f"zkcred/console/{service}/v1".encode(), hashlib.sha256).digest()


class WebConsole:
    """A service's console: templates, static assets, headers, sessions and CSRF (module doc).

    ``authenticate(secret) -> ref | None`` checks what a person types into the login form;
    ``key`` signs the cookies (bytes, or a function giving them at the first use; default: a
    key for this process only). ``resolve(ref) -> principal | None`` turns a session's reference into whoever the routes
    act as (None once the token or key is revoked); ``label(principal)`` names them in the
    page header. Without ``authenticate`` the console is public (the ledger's).
    """

    def __init__(
        self,
        *,
        service: str,
        title: str,
        templates: Path | None = None,
        key: bytes | Callable[[], bytes] | None = None,
        secure_cookies: bool = True,
        nav: list[tuple[str, str]] | None = None,
        authenticate: Callable[[str], str | None] | None = None,
        resolve: Callable[[str], Any] | None = None,
        label: Callable[[Any], str] = str,
        login_hint: str = "token",
    ) -> None:
        if authenticate is not None and (key is None or resolve is None):
            raise ValueError("a console with a login needs a key and resolve")
        self.service, self.title, self.nav = service, title, nav or []
        self.authenticate, self.resolve, self.label, self.login_hint = authenticate, resolve, label, login_hint
        self._key_source = key if key is not None else secrets.token_bytes(32)
        self._key_cache: bytes | None = None
        self.secure = secure_cookies
        self.cookie = f"__Host-zkcred-{service}" if secure_cookies else f"zkcred-{service}"
        loaders = [FileSystemLoader(str(templates))] if templates else []
        self.env = Environment(
            loader=ChoiceLoader([*loaders, FileSystemLoader(str(HERE / "templates"))]),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals.update(console=self, prefix=PREFIX)
        self.env.filters["when"] = when

    # ------------------------------------------------------------ sessions and CSRF

    @property
    def _key(self) -> bytes:
        """The signing key; a callable is asked once, at the first use (a database may be down at start)."""
        if self._key_cache is None:
            source = self._key_source
            self._key_cache = source() if callable(source) else source
        return self._key_cache

    @property
    def _signer(self) -> itsdangerous.URLSafeTimedSerializer:
        return itsdangerous.URLSafeTimedSerializer(self._key, salt=f"zkcred-console-session/{self.service}")

    def session(self, request: Request) -> Session:
        """The request's session: from a valid cookie, else a new anonymous one (set by :meth:`render`)."""
        cached = getattr(request.state, "console_session", None)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        raw = request.cookies.get(self.cookie)
        session = None
        if raw:
            try:
                data = self._signer.loads(raw, max_age=SESSION_MAX_AGE)
                if isinstance(data, dict) and isinstance(data.get("sid"), str):
                    ref = data.get("ref")
                    session = Session(data["sid"], ref if isinstance(ref, str) else None)
            except itsdangerous.BadData:
                session = None
        if session is None:
            session = Session(secrets.token_urlsafe(18), None)
            request.state.console_new_session = True
        request.state.console_session = session
        return session

    def csrf_token(self, request: Request) -> str:
        return hmac.new(self._key, b"csrf:" + self.session(request).sid.encode(), hashlib.sha256).hexdigest()

    async def form(self, request: Request) -> FormData:
        """The POSTed form, after its CSRF token is checked (:class:`CsrfRejected` if it does not match)."""
        form = await request.form()
        sent = form.get(CSRF_FIELD)
        if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), self.csrf_token(request).encode()):
            raise CsrfRejected
        return form

    def principal(self, request: Request) -> Any:
        """Whoever the session is logged in as (:class:`LoginRequired` if nobody, or a revoked token/key)."""
        session = self.session(request)
        found = None if session.ref is None or self.resolve is None else self.resolve(session.ref)
        if found is None:
            raise LoginRequired
        request.state.console_principal = found
        return found

    def _set_cookie(self, response: Response, session: Session) -> None:
        response.set_cookie(
            self.cookie,
            self._signer.dumps({"sid": session.sid, "ref": session.ref}),
            path="/",
            httponly=True,
            secure=self.secure,
            samesite="strict",
        )

    # ------------------------------------------------------------ pages

    def render(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        """The template with the console's context (session, CSRF token, who is logged in)."""
        principal = getattr(request.state, "console_principal", None)
        html = self.env.get_template(template).render(
            request=request,
            csrf_token=self.csrf_token(request),
            user=None if principal is None else self.label(principal),
            **context,
        )
        response = HTMLResponse(html, status_code=status)
        if getattr(request.state, "console_new_session", False):
            self._set_cookie(response, self.session(request))
        return response

    def message(self, request: Request, title: str, text: str, status: int = 200) -> HTMLResponse:
        return self.render(request, "message.html", status=status, title=title, text=text, alert=status >= 400)

    # ------------------------------------------------------------ routes and installation

    def _routes(self) -> APIRouter:
        router = APIRouter(prefix=PREFIX, include_in_schema=False)
        files = {p.name: p for p in STATIC.iterdir() if p.is_file()}

        @router.get("/static/{name}")
        def static(name: str) -> Response:
            path = files.get(name)
            if path is None:
                return Response("not found", status_code=404, media_type="text/plain")
            media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return Response(path.read_bytes(), media_type=media, headers={"Cache-Control": "public, max-age=3600"})

        if self.authenticate is None:
            return router

        @router.get("/login")
        def login_page(request: Request) -> Response:
            return self.render(request, "login.html", hint=self.login_hint, error=None)

        @router.post("/login")
        async def login(request: Request) -> Response:
            form = await self.form(request)
            secret = str(form.get("secret") or "").strip()
            ref = self.authenticate(secret) if secret and self.authenticate else None  # type: ignore[misc]
            if ref is None:
                return self.render(
                    request,
                    "login.html",
                    status=403,
                    hint=self.login_hint,
                    error=f"That {self.login_hint} is not valid.",
                )
            response = RedirectResponse(f"{PREFIX}/", status_code=303)
            self._set_cookie(response, Session(secrets.token_urlsafe(18), ref))  # a fresh sid: no fixation
            return response

        @router.post("/logout")
        async def logout(request: Request) -> Response:
            await self.form(request)
            response = RedirectResponse(f"{PREFIX}/login", status_code=303)
            response.delete_cookie(self.cookie, path="/", secure=self.secure, httponly=True, samesite="strict")
            return response

        return router

    def install(self, app: FastAPI, *routers: APIRouter) -> None:
        """Add the service's console routers and the shared ones, the headers and the error pages to ``app``."""
        for router in (*routers, self._routes()):
            app.include_router(router)
        app.add_middleware(ConsoleHeaders)

        async def login_required(request: Request, exc: Exception) -> Response:
            return RedirectResponse(f"{PREFIX}/login", status_code=303)

        async def csrf_rejected(request: Request, exc: Exception) -> Response:
            return self.message(
                request, "Refused", "This form is missing its security token, or it is stale. Reload the page.", 403
            )

        app.add_exception_handler(LoginRequired, login_required)
        app.add_exception_handler(CsrfRejected, csrf_rejected)


class ConsoleHeaders:
    """The console's security headers (module doc) on every response under ``/console``."""

    HEADERS: Mapping[str, str] = {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.HEADERS.items():
                    headers[name] = value
                if not path.startswith(PREFIX + "/static/"):
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
