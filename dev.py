#!/usr/bin/env python3
"""The project's two entry points, on a fresh machine with nothing but Python >= 3.11.

    python3 dev.py demo      # the end-to-end demo (SQLite in a temporary directory)
    python3 dev.py test      # import contracts, ruff (lint and format), mypy, then the whole test suite
                             # (first installing Debian's chromium and chromium-driver for the browser
                             # tests when they are missing and apt-get can, as root)

Each creates ``.venv`` beside this file on first use and (re)installs the project with
its ``dev`` extra whenever ``pyproject.toml`` changes; later runs start at once.
Anything after the command is passed on (``python3 dev.py test -k bbs``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".zkcred-installed"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def _run(*argv: str | os.PathLike) -> int:
    return subprocess.call([str(a) for a in argv], cwd=ROOT)


def ensure_venv() -> Path:
    if sys.version_info < (3, 11):
        sys.exit(f"zkcred needs Python >= 3.11, this is {sys.version.split()[0]}")
    python = BIN / "python"
    if not python.exists():
        print("creating .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not STAMP.exists() or STAMP.read_text() != wanted:
        print("installing zkcred and its dependencies into .venv …", flush=True)
        pip = [python, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        if _run(*pip, "--upgrade", "pip") or _run(*pip, "-e", ".[dev]"):
            sys.exit("installation failed")
        STAMP.write_text(wanted)
    return python


#: What tests/console's browser tests drive (Debian's packages chromium, chromium-driver).
BROWSER = (Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver"))


def ensure_browser() -> None:
    """Install Debian's Chromium and its chromedriver when they are missing and apt-get can (as root).

    Otherwise the browser tests skip with the reason — and fail under ``CI=true``, so a CI
    machine that could not install them never passes without them.
    """
    if all(p.exists() for p in BROWSER):
        return
    apt = shutil.which("apt-get")
    if apt is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        print("chromium / chromedriver missing and apt-get not usable here: the browser tests will skip", flush=True)
        return
    print("installing chromium and chromium-driver (apt-get) for the browser tests …", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["update", "-qq"], ["install", "-y", "-qq", "chromium", "chromium-driver"]):
        if subprocess.call([apt, *step], env=env) != 0:
            print(f"apt-get {step[0]} failed: the browser tests will skip (and fail under CI=true)", flush=True)
            return


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test"}:
        print(__doc__.strip())
        return 2
    command, rest = argv[0], argv[1:]
    python = ensure_venv()
    if command == "demo":
        return _run(python, "-m", "zkcred", "demo", *rest)
    # import contracts, lint, format, types (pyproject.toml configures each); the first failure ends the run
    checks = (
        [BIN / "lint-imports"],
        [BIN / "ruff", "check", "."],
        [BIN / "ruff", "format", "--check", "."],
        [python, "-m", "mypy"],
    )
    for check in checks:
        status = _run(*check)
        if status:
            return status
    ensure_browser()
    # loadgroup: tests marked xdist_group("…") share one worker (the browser tests: one stack, one browser)
    return _run(python, "-m", "pytest", *(rest or ["-n", "2", "--dist", "loadgroup", "-q"]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
