"""zkcred: one command line for the demo and every service.

Sub-commands live beside this module (``zkcred/<area>_cli.py``), each a ``typer.Typer``
registered here, so this file stays a table of contents. ``main`` runs them all inside
one error boundary (``zkcred/errors.py``): a mistake is one line and a non-zero exit,
never a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

HELP = "zkcred: anonymous credentials — issuer, wallet, verifier and ledger."

EPILOG = (
    "Errors are one line and a non-zero exit (2: usage, 130: Ctrl-C, 70: a bug); "
    "ZKCRED_DEBUG=1 adds the traceback. Commands that print a result take --json."
)

app = typer.Typer(no_args_is_help=True, add_completion=False, help=HELP, epilog=EPILOG)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("zkcred")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"zkcred {_version()}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Show zkcred's version and exit."
    ),
) -> None:
    """zkcred: anonymous credentials — issuer, wallet, verifier and ledger."""


_registered = False


def _register() -> None:
    global _registered
    if _registered:
        return
    _registered = True
    _plain_flags()
    from zkcred import demo

    app.command("demo")(demo.run)
    from zkcred import serve

    app.command("serve")(serve.serve)
    from zkcred import config_cli

    app.command("init")(config_cli.init)
    app.command("check")(config_cli.check)
    from zkcred import ledger_cli

    app.add_typer(ledger_cli.app, name="ledger")
    from zkcred import verifier_cli

    app.add_typer(verifier_cli.app, name="verifier")
    from zkcred import issuer_cli

    app.add_typer(issuer_cli.app, name="issuer")
    from zkcred import wallet_cli

    app.add_typer(wallet_cli.app, name="wallet")
    from zkcred import witness_cli

    app.add_typer(witness_cli.app, name="witness")
    from zkcred import auditor_cli

    app.add_typer(auditor_cli.app, name="auditor")


def _plain_flags() -> None:
    """Show no type for a flag in ``--help`` (typer ≥ 0.16 prints ``--json <bool>``).

    A flag takes no value, so a type column entry only misleads. Typer has no setting for
    this; its option class is patched once, here, for this command line only
    (tests/cli/test_help.py checks every command's help).
    """
    from typer.core import TyperOption

    if getattr(TyperOption, "_zkcred_plain_flags", False):
        return
    shown = TyperOption.display_type_rich

    def display_type_rich(self, ctx):  # type: ignore[no-untyped-def]
        return None if self.is_flag else shown(self, ctx)

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]
    TyperOption._zkcred_plain_flags = True  # type: ignore[attr-defined]


def _plain_help(command) -> None:  # type: ignore[no-untyped-def]
    """Help texts as plain text: docstrings here use RST literals (``x``), which --help would print as is."""
    for attr in ("help", "short_help", "epilog"):
        text = getattr(command, attr, None)
        if isinstance(text, str):
            setattr(command, attr, text.replace("``", ""))
    for param in getattr(command, "params", ()):
        if isinstance(getattr(param, "help", None), str):
            param.help = param.help.replace("``", "")
    for sub in getattr(command, "commands", {}).values():
        _plain_help(sub)


def command():  # type: ignore[no-untyped-def]
    """The click command tree of ``zkcred``, as ``main`` runs it."""
    _register()
    root = typer.main.get_command(app)
    _plain_help(root)
    return root


def run(argv: Sequence[str]) -> int:
    """Run ``zkcred argv…`` inside the error boundary; the exit code (for tests and ``main``)."""
    from zkcred import errors

    try:
        root = command()
    except BaseException as e:  # even a failing import is one line
        return errors.handle(e, argv)
    return errors.run(root, argv)


def main() -> None:
    sys.exit(run(sys.argv[1:]))
