"""``zkcred``: one command line for the demo and every service.

Sub-commands live beside this module (``zkcred/<area>_cli.py``), each a ``typer.Typer``
registered here, so this file stays a table of contents.
"""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__.splitlines()[0])


@app.callback()
def _root() -> None:
    """zkcred: anonymous credentials — issuer, wallet, verifier and ledger."""


_registered = False


def _register() -> None:
    global _registered
    if _registered:
        return
    _registered = True
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


def main() -> None:
    _register()
    app()
