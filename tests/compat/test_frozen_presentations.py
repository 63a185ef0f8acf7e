"""Frozen presentations (tests/compat/presentations/v<N>/, made by ``python -m tests.compat.generate``).

The rule (STYLE §2.7, bulletproofs ``deserialize_and_verify``): every frozen presentation
of every released version either still verifies against its request and definitions, or —
after a deliberate version bump — is refused with "unknown presentation version". Never
anything else: a frozen presentation that starts failing for another reason means the
protocol changed without a version bump.

Also: a tampered copy of each (every binary element, one byte) is rejected; the generator
is deterministic (the seeded rng reaches every draw, in a fixed order) and what it makes
verifies; a copy announcing the next version is refused.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from circuits.backend import get_backend
from circuits.codec import b64d, b64e
from circuits.credentials import CredentialDefinition, PresentationRequest
from circuits.errors import EncodingError, ZkCredError
from circuits.presentation import PRESENTATION_VERSION, Presentation, verify_presentation
from tests.compat import generate

FILES = sorted(generate.ROOT.glob("v*/*.json"))
KINDS = {
    "disclosure-only",
    "range-predicates",
    "set-predicates",
    "two-credentials-equality",
    "revocation",
    "pseudonym",
    "escrow",
}


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


def _verify(case: dict, presentation_json) -> None:
    be = get_backend()
    defs = {d.id: d for d in (CredentialDefinition.from_json(x) for x in case["definitions"])}
    request = PresentationRequest.from_json(case["request"])
    ledger = case.get("accumulators", {})

    def accumulator_at(definition_id: str, height: int) -> bytes:
        return b64d(ledger[definition_id][str(height)])

    verify_presentation(
        request, Presentation.from_json(presentation_json, be), defs, accumulator_at=accumulator_at, backend=be
    )


def test_every_kind_is_frozen_for_the_current_version():
    current = {p.stem for p in FILES if p.parent.name == f"v{PRESENTATION_VERSION}"}
    assert current == KINDS, "run python -m tests.compat.generate after a deliberate version bump"


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_frozen_presentation_verifies_or_is_refused_by_version(path):
    case = _load(path)
    assert case["result"] == {"valid": True}
    if case["version"] == PRESENTATION_VERSION:
        _verify(case, case["presentation"])
    else:  # an older (or newer) format: refused by its version, never by a failing proof
        with pytest.raises(EncodingError, match="unknown presentation version"):
            _verify(case, case["presentation"])


def _byte_flips(presentation: dict):
    """(what, tampered copy): the first, middle and last byte of every base64url element flipped."""

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                yield from walk(value, (*path, key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield from walk(value, (*path, i))
        elif isinstance(node, str) and path[-1] not in ("definition_id",) and "disclosed" not in path:
            yield path, node

    for path, text in walk(presentation, ()):
        raw = b64d(text)
        for pos in sorted({0, len(raw) // 2, len(raw) - 1}):
            variant = copy.deepcopy(presentation)
            node = variant
            for key in path[:-1]:
                node = node[key]
            flipped = bytearray(raw)
            flipped[pos] ^= 0x01
            node[path[-1]] = b64e(bytes(flipped))
            yield f"{'/'.join(map(str, path))} byte {pos}", variant


@pytest.mark.parametrize(
    "path", [p for p in FILES if p.parent.name == f"v{PRESENTATION_VERSION}"], ids=lambda p: p.stem
)
def test_a_tampered_frozen_presentation_is_rejected(path):
    case = _load(path)
    count = 0
    for _what, variant in _byte_flips(case["presentation"]):
        with pytest.raises(ZkCredError):
            _verify(case, variant)
        count += 1
    assert count >= 15, count
    # a disclosed value changed
    if any(c["disclosed"] for c in case["presentation"]["credentials"]):
        variant = copy.deepcopy(case["presentation"])
        cred = next(c for c in variant["credentials"] if c["disclosed"])
        name = sorted(cred["disclosed"])[0]
        cred["disclosed"][name] = "Eve" if cred["disclosed"][name] != "Eve" else "Bob"
        with pytest.raises(ZkCredError):
            _verify(case, variant)


def test_a_later_version_is_refused_by_version():
    case = _load(next(p for p in FILES if p.parent.name == f"v{PRESENTATION_VERSION}"))
    for version in (
        PRESENTATION_VERSION + 1,
        PRESENTATION_VERSION - 1,
        str(PRESENTATION_VERSION),
        True,
        float(PRESENTATION_VERSION),
    ):
        bumped = {**case["presentation"], "version": version}
        with pytest.raises(EncodingError, match="unknown presentation version"):
            _verify(case, bumped)
    be = get_backend()
    raw = bytearray(Presentation.from_json(case["presentation"], be).to_bytes(be))
    raw[0] = PRESENTATION_VERSION + 1
    with pytest.raises(EncodingError, match="unknown presentation version"):
        Presentation.from_bytes(bytes(raw), be)


def test_the_generator_is_deterministic_and_its_output_verifies():
    """The seeded rng reaches every draw: two runs give the same bytes, and each case verifies.

    (Not compared with the frozen files: a prover may change the order of its draws without
    changing the protocol; the frozen files stay as released and must keep verifying.)
    """
    first, second = generate.cases(), generate.cases()
    assert [generate.render(c) for c in first] == [generate.render(c) for c in second]
    for case in first:
        _verify(case, case["presentation"])
