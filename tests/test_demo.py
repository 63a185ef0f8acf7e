"""The README's first command runs this demo; it must keep working end to end."""

from __future__ import annotations

from typer.testing import CliRunner

from zkcred.cli import _register, app


def test_demo_runs_and_rejects_tampering():
    _register()
    result = CliRunner().invoke(app, ["demo", "--backend", "blst"])
    assert result.exit_code == 0, result.output
    assert "rejected, as it must be" in result.output
    assert "accepted; learned country=NL" in result.output
