"""The statements' interface and the plan (circuits/statements/).

- The transcript order is the plan's: every BBS first message is absorbed before the
  batching weight ρ is drawn, and prover and verifier append the same labels in the same
  order (recorded on both sides).
- Every statement declares a tag from circuits.constants and appends it; no transcript
  label is written inline anywhere in circuits/; no constant is unused.
- The linear-relation Sigma protocol (on circuits.sigma's instance): honest responses
  recompute the first message, altered ones do not, two transcripts with different
  challenges extract the witness, and degenerate instances are refused.
"""

from __future__ import annotations

import pathlib
import re
import secrets

import pytest

from circuits import constants as k
from circuits.backend import get_backend
from circuits.constants import R
from circuits.credentials import CredentialQuery, Predicate, PresentationRequest
from circuits.errors import ZkCredError
from circuits.presentation import create_presentation, verify_presentation
from circuits.statements import LinearRelation, Statement, compile_plan
from circuits.statements.linear import respond
from circuits.transcript import Transcript
from tests.circuits.presentation_fixtures import TODAY, VALUES, make_issuer, new_link_secret

ROOT = pathlib.Path(__file__).resolve().parents[2] / "circuits"


@pytest.fixture(scope="module")
def two_credentials():
    be = get_backend("blst")
    link = new_link_secret()
    a, b = make_issuer(issuer_id="issuer-a", backend=be), make_issuer(issuer_id="issuer-b", backend=be)
    creds = [a.issue(link, VALUES, backend=be), b.issue(link, VALUES, backend=be)]
    req = PresentationRequest(
        secrets.token_bytes(16),
        "lender-a",
        TODAY,
        (
            CredentialQuery(
                "a",
                (a.definition.id,),
                ("given_name",),
                (
                    Predicate("income", ">=", 50000),
                    Predicate("score", "!=", 3),
                    Predicate("country", "in", ["NL", "DE"]),
                ),
            ),
            CredentialQuery("b", (b.definition.id,), (), (), pseudonym_context="ctx"),
        ),
        (("a.employer", "b.employer"),),
    )
    return be, link, [a.definition, b.definition], creds, req


def _recording(monkeypatch) -> list[bytes]:
    labels: list[bytes] = []
    real = Transcript.append

    def append(self, label, data):
        labels.append(label if label != k.DOMSEP_LABEL else b"dom-sep:" + bytes(data).rstrip(b"\0")[:40])
        return real(self, label, data)

    monkeypatch.setattr(Transcript, "append", append)
    return labels


def test_transcript_order_is_the_plans_on_both_sides(two_credentials, monkeypatch):
    be, link, defs, creds, req = two_credentials
    prover_labels = _recording(monkeypatch)
    pres = create_presentation(req, defs, creds, link, backend=be)
    monkeypatch.undo()
    verifier_labels = _recording(monkeypatch)
    verify_presentation(req, pres, {d.id: d for d in defs}, backend=be)
    monkeypatch.undo()
    assert prover_labels == verifier_labels
    bbs = [i for i, label in enumerate(prover_labels) if label == k.PRES_LABEL_BBS_INIT]
    rho = prover_labels.index(k.PRES_LABEL_OPENING_BATCH)  # challenge_bytes appends its label after hashing
    assert len(bbs) == 2 and max(bbs) < rho
    # every statement's tag appears, in plan order
    tags = [label for label in prover_labels if label.startswith(b"dom-sep:")]
    order = [
        k.DOMSEP_PRESENTATION,
        k.DOMSEP_BBS,
        k.DOMSEP_BBS,
        k.DOMSEP_OPENING,
        k.DOMSEP_RANGE_PROOF,
        k.DOMSEP_NOT_EQUAL,
        k.DOMSEP_SET_MEMBERSHIP,
        k.DOMSEP_EQUALITY,
        k.DOMSEP_EQUALITY,
        k.DOMSEP_PSEUDONYM,
    ]
    presentation_tags = [
        next(tag for tag in order if t.startswith(b"dom-sep:" + tag))
        for t in tags
        if any(t.startswith(b"dom-sep:" + tag) for tag in order)
    ]
    assert presentation_tags == order


def test_every_statement_declares_a_constant_tag(two_credentials):
    _, _, defs, _, req = two_credentials
    plan = compile_plan(req, defs)
    tags = {name: value for name, value in vars(k).items() if name.startswith("DOMSEP_")}
    assert plan.statements and all(isinstance(s, Statement) for s in plan.statements)
    for statement in plan.statements:
        assert statement.tag in tags.values(), type(statement).__name__


def test_no_label_is_written_inline_in_circuits():
    pattern = re.compile(r"\.(append\w*|domain_sep|challenge_\w+)\(\s*b[\"']")
    offenders = []
    for path in ROOT.rglob("*.py"):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line) and ">>>" not in line:
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not offenders, offenders


def test_no_constant_is_unused():
    """Used by circuits/ or, for the draft's mocked-RNG DSTs, by the vector tests."""
    names = re.findall(r"^([A-Z][A-Z0-9_]+)\s*=", (ROOT / "constants.py").read_text(), re.M)
    sources = [*ROOT.rglob("*.py"), *(ROOT.parent / "tests").rglob("*.py")]
    code = "\n".join(p.read_text() for p in sources if p.name != "constants.py")
    consts = (ROOT / "constants.py").read_text()
    unused = [n for n in names if not re.search(rf"\b{n}\b", code) and consts.count(n) == 1]
    assert not unused


def _relation(be):
    G = be.g1_generator()
    H, V = be.g1_mul(G, secrets.randbelow(R)), be.g1_mul(G, secrets.randbelow(R))
    u, w = secrets.randbelow(R), secrets.randbelow(R)
    return LinearRelation(be, [([(be.g1_msm([V, H], [u, w]), 1)], [(V, 0), (H, 1)])], 2), [u, w]


def test_linear_relation_responses_recompute_the_first_message():
    be = get_backend("blst")
    rel, witness = _relation(be)
    tildes = [secrets.randbelow(R), secrets.randbelow(R)]
    T = rel.commit(tildes)
    c = secrets.randbelow(R)
    hats = respond(tildes, witness, c)
    assert rel.recompute(hats, c) == T
    for i in range(2):
        bad = list(hats)
        bad[i] = (bad[i] + 1) % R
        assert rel.recompute(bad, c) != T
    assert rel.recompute(hats, (c + 1) % R) != T


def test_linear_relation_is_special_sound():
    be = get_backend("blst")
    rel, witness = _relation(be)
    tildes = [secrets.randbelow(R), secrets.randbelow(R)]
    c1, c2 = secrets.randbelow(R), secrets.randbelow(R)
    h1, h2 = respond(tildes, witness, c1), respond(tildes, witness, c2)
    assert rel.recompute(h1, c1) == rel.recompute(h2, c2)
    inv = pow((c1 - c2) % R, -1, R)
    assert [(a - b) * inv % R for a, b in zip(h1, h2, strict=True)] == witness


def test_linear_relation_is_the_sigma_drafts_instance_and_refuses_degenerate_ones():
    be = get_backend("blst")
    rel, _ = _relation(be)
    rel.validate()  # the draft's ValidateInstance
    G = be.g1_generator()
    with pytest.raises(ValueError):
        LinearRelation(be, [([(G, 1)], [(G, 2)])], 2)  # a term over a witness it does not have
    with pytest.raises(ZkCredError):
        LinearRelation(be, [([(be.g1_identity(), 1)], [(G, 0)])], 1)  # an identity element
    H = be.g1_mul(G, 3)
    vanishing = LinearRelation(be, [([(H, 1), (G, R - 3)], [(G, 0)])], 1)  # image 3G − 3G = identity
    with pytest.raises(ZkCredError):
        vanishing.validate()
