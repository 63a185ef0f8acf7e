"""Shared fixtures: every backend that imports here runs the same tests (py_ecc ``lib`` style)."""

from __future__ import annotations

import os
import tempfile

import pytest

from circuits.backend import available_backends, get_backend

BACKENDS = available_backends()

# No test reads or writes the user's zkcred state (servicekit.settings): each test process
# gets an empty state directory of its own, and no config file from the environment.
os.environ["ZKCRED_STATE_DIR"] = tempfile.mkdtemp(prefix="zkcred-state-")
os.environ.pop("ZKCRED_CONFIG", None)


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Each available GroupBackend in turn (blst, py_ecc)."""
    return get_backend(request.param)


@pytest.fixture
def fast_backend():
    """The fastest available backend, for heavy proofs; py_ecc runs those on a named subset only."""
    return get_backend(BACKENDS[0])


def pytest_addoption(parser):
    parser.addoption(
        "--webhooks",
        action="store_true",
        help="tests/hardening/test_load.py: with a webhook endpoint (every verdict delivered, checked)",
    )
