"""Locate the published test vectors: ``$ZKCRED_VECTORS``, else ``../shared/vectors``.

They are never copied into this repository (their README records where each comes
from). Where neither location exists, the tests that need them skip with that reason.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parent.parent


def vectors_root() -> Path | None:
    env = os.environ.get("ZKCRED_VECTORS")
    candidates = [Path(env)] if env else []
    candidates.append(_REPO.parent / "shared" / "vectors")
    return next((p for p in candidates if p.is_dir()), None)


def vectors_dir(*parts: str) -> Path:
    """The folder ``parts`` under the vectors root, or skip the calling test with the reason."""
    root = vectors_root()
    if root is None:
        pytest.skip("test vectors not found: set $ZKCRED_VECTORS or place them at ../shared/vectors")
    path = root.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"test vectors missing: {path}")
    return path


def load_json(*parts: str) -> dict:
    return json.loads(vectors_dir(*parts).read_text())


def load_cases(*parts: str) -> list[tuple[str, dict]]:
    """Every ``*.json`` in a folder, sorted, as (file name, parsed case)."""
    folder = vectors_dir(*parts)
    return [(p.name, json.loads(p.read_text())) for p in sorted(folder.glob("*.json"))]


def case_ids(*parts: str) -> list[str]:
    """File names for parametrize ids, resolved at collection time (empty if absent)."""
    root = vectors_root()
    if root is None or not root.joinpath(*parts).is_dir():
        return []
    return sorted(p.name for p in root.joinpath(*parts).glob("*.json"))


def h(x: str) -> bytes:
    return bytes.fromhex(x[2:] if x.startswith("0x") else x)
