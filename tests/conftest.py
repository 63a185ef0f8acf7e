"""Shared fixtures: every backend that imports here runs the same tests (py_ecc ``lib`` style)."""

from __future__ import annotations

import pytest

from circuits.backend import available_backends, get_backend

BACKENDS = available_backends()


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Each available GroupBackend in turn (blst, py_ecc)."""
    return get_backend(request.param)


@pytest.fixture
def fast_backend():
    """The fastest available backend, for heavy proofs; py_ecc runs those on a named subset only."""
    return get_backend(BACKENDS[0])
