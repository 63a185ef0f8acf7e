"""The command line's one error boundary: a user's mistake is one line, never a traceback.

``zkcred.cli.main`` runs every command through :func:`run`, so a command added anywhere
below gets this for free. An expected error becomes one red line on stderr — or, when the
command line has ``--json``, one ``{"error": "…"}`` object on stdout — and an exit code:

=====================================================  ====  =============================================
what went wrong                                        exit  the line says
=====================================================  ====  =============================================
``CliError`` (raised by commands: bad value, empty      1    its message (the command names value and fix)
result, a child service died …)
usage: unknown option, bad value for an option          2    click's message and ``see 'zkcred … --help'``
Ctrl-C (``KeyboardInterrupt``)                        130    ``interrupted``
could not connect / timed out (httpx)                   1    ``cannot connect to <URL>: …`` with a hint
an HTTP error answer (``raise_for_status``)             1    ``title: detail (status, URL)``
a domain error (wallet, issuer, verifier, ledger,       1    its detail (written to be shown; no secrets)
cryptography, configuration)
a database that cannot be opened or reached             1    the reason, and the URL (password hidden)
(SQLAlchemy, SQLite, a missing driver)                       where the command wraps it in ``database()``
a file that cannot be read or written (``OSError``)     1    ``<path>: <reason>``
anything else: a bug                                   70    ``unexpected <Type> at <file:line> — a bug``
                                                             and how to see the traceback
=====================================================  ====  =============================================

``ZKCRED_DEBUG=1`` prints the traceback as well (before the line), for every error.

Messages never carry a secret: domain errors are written to be shown, database URLs are
printed with the password hidden, configuration errors name the setting but not the value,
and a bug's line names only the exception's type and where it was raised.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

EXIT_ERROR, EXIT_USAGE, EXIT_BUG, EXIT_INTERRUPTED = 1, 2, 70, 130
DEBUG_ENV = "ZKCRED_DEBUG"


def _click_exception() -> type[Exception]:
    """click's ``ClickException`` as typer uses it (recent typer vendors click).

    Found via the public ``typer.BadParameter``.
    """
    import typer

    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


class CliError(_click_exception()):  # type: ignore[misc]
    """An error meant for the person at the terminal: one line, naming the value and the fix.

    A ``ClickException``, so a command run outside :func:`run` (typer's ``CliRunner``, an
    embedding app) still shows the message and exits with ``code``.
    """

    def __init__(self, message: str, *, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.message, self.code, self.exit_code = message, code, code


# -- describing an exception ------------------------------------------------------------------


def one_line(text: str) -> str:
    """``text`` with its lines joined, so an error is always exactly one line."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def masked_url(url: str) -> str:
    """A database URL with its password replaced by ``***`` (unparseable URLs: scheme only)."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: show no more than what precedes "://"
        scheme, sep, _ = url.partition("://")
        return f"{scheme}://…" if sep else "(not a URL)"


def problem_line(response: Any) -> str:
    """An HTTP error answer as ``title: detail (status, URL)`` (RFC 9457 problem+json or not)."""
    status, url = response.status_code, str(response.request.url) if _has_request(response) else "?"
    body: Any = None
    try:
        body = response.json()
    except Exception:  # not JSON: an HTML error page, a proxy, another kind of server
        pass
    if isinstance(body, dict) and ("title" in body or "detail" in body):
        title, detail = str(body.get("title") or response.reason_phrase), str(body.get("detail") or "")
        shown = f"{title}: {detail}" if detail and detail != title else title
        return one_line(f"{shown} ({status}, {url})")
    return f"{url} answered {status} {response.reason_phrase}".rstrip()


def _has_request(obj: Any) -> bool:
    try:
        obj.request  # noqa: B018 — httpx raises RuntimeError when no request is attached
    except RuntimeError:
        return False
    return True


def _request_url(exc: Any) -> str:
    return str(exc.request.url) if _has_request(exc) else "the service"


def _strip_errno(text: str) -> str:
    """``[Errno 111] Connection refused`` → ``connection refused``."""
    text = one_line(text)
    if text.startswith("[Errno") and "] " in text:
        text = text.split("] ", 1)[1]
    return text[:1].lower() + text[1:] if text else "no reason given"


def service_at(url: str, *, timeout: float = 3.0) -> str | None:
    """What answers at ``url``: the ``info.title`` of its OpenAPI document (``zkcred issuer`` …), or None."""
    import httpx

    try:
        response = httpx.get(url.rstrip("/") + "/openapi.json", timeout=timeout)
        title = response.json().get("info", {}).get("title") if response.status_code == 200 else None
    except Exception:  # nothing there, or not an OpenAPI service: we cannot say
        return None
    return str(title) if title else None


def not_the_service(url: str, expected: str, option: str) -> str:
    """The line for "``url`` is not the ``expected`` service", naming what it is when it can tell."""
    found = service_at(url)
    what = f"it is the {found}" if found else "it does not answer like one"
    return f"{url} is not a zkcred {expected} ({what}); point {option} at the {expected}'s URL"


def _framework() -> dict[str, tuple[type[BaseException], ...]]:
    """typer's exception classes.

    Its own (recent typer vendors click as ``typer._click``) and click's, for older typer.
    """
    import typer

    kinds: dict[str, list[type[BaseException]]] = {
        "exit": [typer.Exit],
        "abort": [typer.Abort],
        "message": [typer.TyperException],
    }
    try:
        import click
    except ImportError:  # pragma: no cover — a typer that no longer needs click
        pass
    else:
        kinds["exit"].append(click.exceptions.Exit)
        kinds["abort"].append(click.exceptions.Abort)
        kinds["message"].append(click.exceptions.ClickException)
    return {k: tuple(v) for k, v in kinds.items()}


def describe(exc: BaseException) -> tuple[str, int] | None:
    """The one line and exit code for an expected error; None for a bug."""
    kinds = _framework()
    if isinstance(exc, CliError):
        return one_line(exc.message), exc.code
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", EXIT_INTERRUPTED
    if isinstance(exc, kinds["abort"]):
        return "aborted (a prompt got no answer: Ctrl-C or end of input)", EXIT_ERROR
    if isinstance(exc, kinds["message"]):  # usage errors (bad option, bad value) and click's other errors
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        format_message = getattr(exc, "format_message", None)  # click's; typer's own errors have it too
        text = format_message() if callable(format_message) else str(exc)
        return one_line(text) + hint, getattr(exc, "exit_code", EXIT_USAGE)
    if isinstance(exc, EOFError):
        return "end of input while waiting for an answer", EXIT_ERROR
    for describe_family in (_describe_http, _describe_domain, _describe_database):
        try:
            found = describe_family(exc)
        except Exception:  # the boundary itself must never fail: a family that cannot load is skipped
            continue
        if found is not None:
            return found, EXIT_ERROR
    if isinstance(exc, sqlite3.Error):  # a SQLite file used directly (the wallet's store)
        return f"database error: {one_line(str(exc))}", EXIT_ERROR
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}", EXIT_ERROR
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        return f"the Python module {exc.name!r} is not installed; install it into this environment", EXIT_ERROR
    if isinstance(exc, OSError):
        return _describe_os(exc), EXIT_ERROR
    return None


def _describe_http(exc: BaseException) -> str | None:
    import httpx

    if isinstance(exc, httpx.HTTPStatusError):
        return problem_line(exc.response)
    if isinstance(exc, httpx.InvalidURL):
        return f"not a valid URL: {one_line(str(exc))}"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return f"not an http:// or https:// URL: {_request_url(exc)}"
    if isinstance(exc, httpx.ConnectError):
        return (
            f"cannot connect to {_request_url(exc)}: {_strip_errno(str(exc))}; "
            "is the service running there? (check the URL and port)"
        )
    if isinstance(exc, httpx.TimeoutException):
        return f"{_request_url(exc)} did not answer in time; is the service up and is this its URL?"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"{_request_url(exc)} did not answer like an HTTP service: {_strip_errno(str(exc))}"
    if isinstance(exc, httpx.RequestError):
        return f"request to {_request_url(exc)} failed: {_strip_errno(str(exc))}"
    return None


def _describe_domain(exc: BaseException) -> str | None:
    """The project's own errors: each carries a message written to be shown."""
    from circuits.errors import ZkCredError
    from issuer.config import ConfigError as IssuerConfigError
    from issuer.errors import IssuerError
    from ledger.errors import LedgerError
    from verifier.config import ConfigError as VerifierConfigError
    from verifier.errors import VerifierError
    from wallet import NoMatchingCredential, WalletError

    if isinstance(exc, NoMatchingCredential):
        return f"cannot answer: {exc.reason}"
    if isinstance(exc, (IssuerError, VerifierError, LedgerError)):
        return one_line(exc.detail)
    if isinstance(exc, (WalletError, ZkCredError, IssuerConfigError, VerifierConfigError)):
        return one_line(str(exc))
    try:
        from pydantic import ValidationError
    except ImportError:  # pragma: no cover — a dependency
        return None
    if isinstance(exc, ValidationError):  # configuration (pydantic-settings): name the setting, never its value
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors())
        return f"invalid {exc.title}: {problems}"
    return None


def _describe_database(exc: BaseException) -> str | None:
    try:
        from sqlalchemy import exc as sa
    except ImportError:  # pragma: no cover — a dependency
        return None
    if isinstance(exc, sa.NoSuchModuleError):
        return "unsupported database URL: use sqlite:///path/to/file.db or postgresql://user@host/db"
    if isinstance(exc, sa.ArgumentError):
        return "not a database URL: use sqlite:///path/to/file.db or postgresql://user@host/db"
    if isinstance(exc, sa.DBAPIError):
        reason = one_line(str(exc.orig)) if exc.orig is not None else type(exc).__name__
        return f"database error: {reason}"
    return None


def _describe_os(exc: OSError) -> str:
    reason = exc.strerror or _strip_errno(str(exc)) or type(exc).__name__
    if exc.filename is not None:
        other = f" → {exc.filename2}" if exc.filename2 is not None else ""
        return f"{exc.filename}{other}: {reason}"
    return reason


@contextmanager
def database(url: str, *, option: str = "--database-url and the configuration (zkcred check)") -> Iterator[None]:
    """Turn a database failure inside the block into one line naming ``url`` (password hidden) and ``option``."""
    try:
        yield
    except Exception as e:
        found: str | None
        if isinstance(e, ModuleNotFoundError) and e.name:
            found = (
                f"its driver (the Python module {e.name!r}) is not installed; "
                "use sqlite:///path/to/file.db or postgresql://user@host/db"
            )
        else:
            found = _describe_database(e)
        if found is None:
            raise
        shown = masked_url(url)
        raise CliError(f"{shown}: {found}; check {option}" if "://" in shown else f"{found}; check {option}") from e


@contextmanager
def ledger_call(url: str, doing: str) -> Iterator[None]:
    """Turn a ledger failure inside the block into one line: ``<doing>: the ledger <url> …`` —
    an answer it refused or that did not verify (its detail), or no answer at all."""
    import httpx

    from ledger.errors import LedgerError

    try:
        yield
    except LedgerError as e:
        raise CliError(f"{doing}: the ledger {url} refused it or could not be read: {e.detail}") from e
    except httpx.HTTPError as e:
        raise CliError(f"{doing}: the ledger {url} is unreachable ({type(e).__name__})") from e


# -- the boundary -----------------------------------------------------------------------------


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "?"
    last = frames[-1]
    return f"{Path(last.filename).parent.name}/{Path(last.filename).name}:{last.lineno}"


def report(message: str, *, as_json: bool) -> None:
    """Write one error line: red on stderr, or ``{"error": …}`` on stdout for ``--json``."""
    if as_json:
        sys.stdout.write(json.dumps({"error": message}) + "\n")
        sys.stdout.flush()
        return
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True, soft_wrap=True, highlight=False).print(f"[bold red]error:[/] {escape(message)}")


def wants_json(argv: Sequence[str]) -> bool:
    args = list(argv)
    return "--json" in (args[: args.index("--")] if "--" in args else args)


def handle(exc: BaseException, argv: Sequence[str]) -> int:
    """Report ``exc`` as one line (and, with ``ZKCRED_DEBUG=1``, its traceback); the exit code."""
    debug = os.environ.get(DEBUG_ENV, "") not in ("", "0")
    if debug:
        traceback.print_exception(exc)
    found = describe(exc)
    if found is None:
        message = (
            f"unexpected {type(exc).__name__} at {_where(exc)} — this is a bug in zkcred; "
            + ("the traceback is above" if debug else f"re-run with {DEBUG_ENV}=1 to see the traceback")
            + " and please report it"
        )
        code = EXIT_BUG
    else:
        message, code = found
    report(message, as_json=wants_json(argv))
    return code


def run(command: Any, argv: Sequence[str], *, prog_name: str = "zkcred") -> int:
    """Run a click command with ``argv`` inside the boundary; the process's exit code."""
    kinds = _framework()
    try:
        with command.make_context(prog_name, list(argv)) as ctx:
            command.invoke(ctx)
        return 0
    except kinds["exit"] as e:
        return int(getattr(e, "exit_code", EXIT_ERROR))
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else EXIT_ERROR)
    except BrokenPipeError:  # `zkcred … | head`: the reader left; say nothing more
        _silence_stdout()
        return EXIT_ERROR
    except BaseException as e:  # this is the boundary: everything becomes one line
        if type(e).__name__ == "NoArgsIsHelpError":  # `zkcred ledger`: the help is the answer
            if not _help_already_shown(e):
                sys.stderr.write(e.format_message() + "\n")  # type: ignore[attr-defined]
            return int(getattr(e, "exit_code", EXIT_USAGE))
        try:
            return handle(e, argv)
        except BrokenPipeError:
            _silence_stdout()
            return EXIT_ERROR


def _help_already_shown(exc: BaseException) -> bool:
    """typer's rich help prints itself while the error is made (its message is then empty)."""
    return not str(getattr(exc, "format_message", lambda: "")()).strip()


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
