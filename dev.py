#!/usr/bin/env python3
"""The project's two entry points, on a fresh machine with nothing but Python >= 3.11.

    python3 dev.py demo      # the end-to-end demo (SQLite in a temporary directory)
    python3 dev.py test      # import contracts, ruff (lint and format), mypy, then the whole test suite
                             # (first installing Debian's chromium, chromium-driver, golang-go and
                             # golang-golang-x-mod-dev for the tests that drive them when they are
                             # missing and apt-get can, as root)

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


#: Debian packages some tests drive, each with a file that shows it is installed: the consoles'
#: browser tests (Chromium and its chromedriver) and the signed-note interop test (Go and
#: golang.org/x/mod, tests/ledger/test_interop_go.py).
DEBIAN_PACKAGES = {
    "chromium": Path("/usr/bin/chromium"),
    "chromium-driver": Path("/usr/bin/chromedriver"),
    "golang-go": Path("/usr/bin/go"),
    "golang-golang-x-mod-dev": Path("/usr/share/gocode/src/golang.org/x/mod/sumdb/note"),
}


def ensure_test_packages() -> None:
    """Install the missing ``DEBIAN_PACKAGES`` when apt-get can (as root), else say which tests will skip.

    The browser tests fail under ``CI=true`` when Chromium is missing, so a CI machine that
    could not install it never passes without them; the Go interop test skips with its reason.
    """
    missing = [name for name, path in DEBIAN_PACKAGES.items() if not path.exists()]
    if not missing:
        return
    apt = shutil.which("apt-get")
    if apt is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        print(f"{', '.join(missing)} missing and apt-get not usable here: their tests will skip", flush=True)
        return
    print(f"installing {', '.join(missing)} (apt-get) for the tests that drive them …", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["update", "-qq"], ["install", "-y", "-qq", *missing]):
        if subprocess.call([apt, *step], env=env) != 0:
            print(f"apt-get {step[0]} failed: their tests will skip (the browser tests fail under CI=true)", flush=True)
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
    ensure_test_packages()
    # loadgroup: tests marked xdist_group("…") share one worker (the browser tests: one stack, one browser)
    return _run(python, "-m", "pytest", *(rest or ["-n", "2", "--dist", "loadgroup", "-q"]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
