"""Choose a BLS12-381 backend: explicit name > ``ZKCRED_BACKEND`` > blst if pyblst imports > py_ecc.

>>> get_backend("py_ecc").name
'py_ecc'
"""

from __future__ import annotations

import functools
import os

from circuits.backend.interface import GroupBackend

__all__ = ["GroupBackend", "available_backends", "get_backend"]


def _make(name: str) -> GroupBackend:
    if name == "blst":
        from circuits.backend.blst import BlstBackend

        return BlstBackend()
    if name == "py_ecc":
        from circuits.backend.py_ecc import PyEccBackend

        return PyEccBackend()
    raise ValueError(f"unknown backend {name!r}; choose one of blst, py_ecc")


@functools.cache
def _cached(name: str) -> GroupBackend:
    return _make(name)


def available_backends() -> list[str]:
    """The backends that import on this machine, fastest first."""
    names = []
    for name in ("blst", "py_ecc"):
        try:
            _cached(name)
        except ImportError:
            continue
        names.append(name)
    return names


def get_backend(name: str | None = None) -> GroupBackend:
    name = name or os.environ.get("ZKCRED_BACKEND") or None
    if name is not None:
        return _cached(name)
    try:
        return _cached("blst")
    except ImportError:
        return _cached("py_ecc")
