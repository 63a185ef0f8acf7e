"""The PostgreSQL every storage test runs on, one fresh schema per use.

``ZKCRED_TEST_POSTGRES`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``,
the machine's trust-auth database). Tests run in parallel (pytest-xdist) beside other
suites, so each gets its own schema — created, used through ``search_path``, dropped —
and never touches shared tables. Where the server is unreachable the test skips and
says why.
"""

from __future__ import annotations

import functools
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

POSTGRES_URL = os.environ.get("ZKCRED_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _normalize(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _dsn() -> str:
    return _normalize(POSTGRES_URL).replace("postgresql+psycopg://", "postgresql://", 1)


@functools.cache
def postgres_unreachable() -> str | None:
    """None if PostgreSQL answers, else the reason to skip."""
    import psycopg

    try:
        psycopg.connect(_dsn(), connect_timeout=3, autocommit=True).close()
    except Exception as e:  # any reason: refused, auth, unknown database
        return f"PostgreSQL unreachable at {POSTGRES_URL} ({type(e).__name__}: {str(e).strip()[:120]})"
    return None


@contextmanager
def postgres_schema(prefix: str = "zkcred_test") -> Iterator[str]:
    """A fresh schema for one use; yields a DATABASE_URL whose search_path is that schema."""
    import psycopg

    reason = postgres_unreachable()
    if reason:
        pytest.skip(reason)
    schema = f"{prefix}_{secrets.token_hex(6)}"
    with psycopg.connect(_dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{_normalize(POSTGRES_URL)}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(_dsn(), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
