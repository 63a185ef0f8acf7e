"""Every command's --help reads as plain text: no RST literals (``x``), no ``<bool>`` on flags."""

from __future__ import annotations

import pytest

from zkcred.cli import command


def _paths(cmd, prefix=()):  # type: ignore[no-untyped-def]
    yield prefix
    for name, sub in sorted(getattr(cmd, "commands", {}).items()):
        if not getattr(sub, "hidden", False):
            yield from _paths(sub, (*prefix, name))


PATHS = list(_paths(command()))


def test_the_tree_is_walked():
    names = {" ".join(p) for p in PATHS}
    assert {
        "",
        "demo",
        "serve",
        "wallet sync",
        "ledger audit",
        "issuer create-admin-token",
        "verifier revoke-api-key",
    } <= names


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "zkcred")
def test_help_is_plain(zkcred, path):
    result = zkcred(*path, "--help")
    assert result.code == 0, result.err
    assert "Usage: zkcred" in result.out
    assert "``" not in result.out
    assert "<bool>" not in result.out


def test_root_help_offers_version_and_debug(zkcred):
    out = zkcred("--help").out
    assert "--version" in out and "ZKCRED_DEBUG=1" in out


def test_serve_help_offers_json(zkcred):
    assert "--json" in zkcred("serve", "--help").out


# The README's promise: every command that prints a result takes --json. These print logs only.
LOGS_ONLY = {"demo", "ledger serve", "issuer serve", "verifier serve", "witness serve"}


def test_every_command_with_a_result_takes_json():
    leaves = {" ".join(p): p for p in PATHS if p and not getattr(_command_at(p), "commands", None)}
    missing = [
        name
        for name, path in leaves.items()
        if name not in LOGS_ONLY and not any("--json" in param.opts for param in _command_at(path).params)
    ]
    assert missing == []


def _command_at(path):  # type: ignore[no-untyped-def]
    cmd = command()
    for name in path:
        cmd = cmd.commands[name]
    return cmd
