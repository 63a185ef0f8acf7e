r"""One zero-knowledge presentation over any number of credentials (DESIGN §5).

Relation (Camenisch–Stadler), for credentials k = 1..K answering queries q_k::

    PK{ (link, (m_{k,j})_{j hidden}, (s_i)) :
          ∧_k  BBS-Sig_{pk_k}(header_k; m_{k,0..}) with m_{k,link} = link       (same link secret)
        ∧ ∧_i  C_i = m_{k_i, j_i}·G + s_i·H                                       (commitments)
        ∧ ∧_ranges  C_i − t·G ∈ [0, 2^n)    or   t·G − C_i ∈ [0, 2^n)         (≥, >, ≤, <, between, expiry)
        ∧ ∧_≠  m_{k_i, j_i} ≠ t       ∧ ∧_∈  m_{k_i, j_i} ∈ {t_1..t_n}
        ∧ ∧_=  m_{k,j} = m_{k',j'}    ∧ ∧_k  m_{k,0} ∈ Acc(V_k)                  (not revoked)
        ∧ ∧_lin  Σ_i c'_i·C_i − T·G ∈ [0, 2^n)  (or T·G − Σ …)                     (linear predicates)
        ∧ ∧_nym  P_k = link·hash_to_curve(context_k)                         (pseudonyms)
        ∧ ∧_esc  C1_k = r_k·G ∧ C2_k = m_{k,j_k}·H_e + r_k·PK_k                (escrow to an auditor) }

Each conjunct is one statement module under :mod:`circuits.statements` (protocol tag,
transcript labels, prover contribution and response, verifier contribution), and the
request compiles to one plan — the statements in transcript order
(:mod:`circuits.statements.plan`). Every hidden message gets one blinding ``m̃``; a
statement that uses that message uses the same ``m̃`` (witness equality), and the verifier
substitutes the BBS proof's ``m̂`` for that statement's value response.

Prover (:func:`create_presentation`):

1. Refuse a request the credentials cannot satisfy, naming the predicate, before any
   cryptography (:func:`check_satisfiable`).
2. Draw the shared blindings ``m̃`` (equal groups share one), from ``rng``.
3. ``Transcript(PRESENTATION_APP_LABEL)``; bind the context: domain separator, the
   verifier's nonce, its id, the request digest.
4. For each statement of the plan, in order: its first message, absorbed.
5. ``ph* = challenge_bytes("ph")``; the one challenge ``c`` is the BBS draft's
   ``ProofChallengeCalculate(init_1, disclosed_1, ph*)``.
6. Each statement's responses for ``c``.

Verifier (:func:`verify_presentation`), named steps: resolve the definitions; compile the
plan from its own request; check the structure; re-encode the disclosed values (and check
predicates on them); replay the transcript (each statement recomputes its first message
from the responses and ``c``) and compare challenges; the pairing checks, batched. It
never trusts a value it can derive: thresholds, ``V = C ∓ t·G``, the shared responses,
the request, the accumulator value. See circuits/notes/presentation.md.

Randomness: one ``rng`` (:mod:`circuits.rng`, default :func:`secrets.token_bytes`) feeds
every draw in a fixed order, so a presentation made with :func:`circuits.rng.seeded` is a
pure function of its inputs (frozen vectors: ``tests/compat/``).
"""

from __future__ import annotations

import datetime as _dt
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from circuits import constants as k
from circuits.attributes import OFFSET, threshold
from circuits.backend import GroupBackend, get_backend
from circuits.backend.interface import G1
from circuits.credentials import (
    EXPIRY_INDEX,
    Credential,
    CredentialDefinition,
    Predicate,
    PresentationRequest,
)
from circuits.errors import ParameterError, ZkCredError
from circuits.escrow import Escrowed
from circuits.rng import Rng, random_scalar
from circuits.statements.base import (
    PresentationRejected,
    ProverState,
    Responses,
    UnsatisfiableError,
    VerifierState,
)
from circuits.statements.credential import one_challenge
from circuits.statements.linear_predicate import LinearSpec
from circuits.statements.plan import Plan, RangeSpec, compile_plan, range_bits, scalar_of
from circuits.transcript import Transcript
from circuits.wire import PRESENTATION_VERSION, CredentialProof, NotEqualProof, Presentation, SetMembershipProof

__all__ = [
    "PRESENTATION_VERSION",
    "CredentialProof",
    "NotEqualProof",
    "Presentation",
    "PresentationRejected",
    "RevocationWitness",
    "SetMembershipProof",
    "UnsatisfiableError",
    "VerifiedPresentation",
    "check_satisfiable",
    "create_presentation",
    "range_bits",
    "verify_presentation",
]


@dataclass(frozen=True)
class RevocationWitness:
    """What a holder needs to prove non-revocation: the ledger height and V it uses, and C."""

    height: int
    accumulator: bytes
    witness: bytes


@dataclass(frozen=True)
class VerifiedPresentation:
    """What the verifier learned: disclosed values per query, and the statements proven."""

    disclosed: dict[str, dict[str, Any]]
    predicates: list[str]
    revocation_heights: dict[str, int]
    pseudonyms: dict[str, str] = field(default_factory=dict)  # query id -> b64 of the G1 point
    escrows: dict[str, Escrowed] = field(default_factory=dict)  # query id -> the ciphertext and its clause
    # query id -> what was proven about that query's credential alone (``predicates`` without the
    # ``"<query>: "`` prefix); statements across credentials (equalities, same link secret) are only
    # in ``predicates``
    per_query: dict[str, list[str]] = field(default_factory=dict)


# Shared by both sides -----------------------------------------------------------------------------


def _context_transcript(request: PresentationRequest) -> Transcript:
    """The transcript with its context bound first (STYLE §2.5): tag, nonce, verifier id, request digest."""
    t = Transcript(k.PRESENTATION_APP_LABEL)
    t.domain_sep(k.DOMSEP_PRESENTATION)
    t.append(k.PRES_LABEL_NONCE, request.nonce)
    t.append(k.PRES_LABEL_VERIFIER_ID, request.verifier_id.encode())
    t.append(k.PRES_LABEL_REQUEST, request.digest)
    return t


def _pedersen(be: GroupBackend) -> tuple[G1, G1]:
    from circuits.pedersen import PedersenGens

    gens = PedersenGens.default(be)
    return gens.G, gens.H


def _clear_holds(d: CredentialDefinition, idx: int, a: int, p: Predicate) -> bool:
    """A predicate on a disclosed attribute, checked on the encoded value."""
    t = d.schema.attributes[idx - 2].type
    if p.op in (">=", ">"):
        return a >= threshold(t, p.value, p.op)
    if p.op in ("<=", "<"):
        return a <= threshold(t, p.value, p.op)
    if p.op == "between":
        return threshold(t, p.value[0], ">=") <= a <= threshold(t, p.value[1], "<=")
    if p.op == "!=":
        return a != scalar_of(t, p.value)
    if p.op == "in":
        return a in {scalar_of(t, v) for v in p.value}
    return a not in {scalar_of(t, v) for v in p.value}


# Prover ---------------------------------------------------------------------------------------------


def _messages(d: CredentialDefinition, cred: Credential, link_secret: int) -> list[int]:
    expiry = (cred.expiry - _dt.date(1970, 1, 1)).days + OFFSET
    return [cred.revocation_handle, expiry, *d.schema.encode_values(cred.values), cred.prover_blind, link_secret]


def check_satisfiable(
    request: PresentationRequest,
    definitions: Sequence[CredentialDefinition],
    credentials: Sequence[Credential],
    link_secret: int,
) -> Plan:
    """Refuse, naming the first failing statement, before any cryptography runs."""
    plan = compile_plan(request, definitions)
    msgs = [_messages(d, c, link_secret) for d, c in zip(definitions, credentials, strict=True)]
    for ci, (q, c) in enumerate(zip(request.queries, credentials, strict=True)):
        if c.definition_id != definitions[ci].id:
            raise ParameterError("credential does not belong to the definition given")
        if c.expiry < request.today:
            raise UnsatisfiableError(f"{q.id}: credential expired on {c.expiry.isoformat()}")
    for rg in plan.ranges:
        if rg.linear is not None:
            _check_linear(plan, plan.linear[rg.linear], rg, msgs)
            continue
        ci, idx = plan.commits[rg.commit]
        a = msgs[ci][idx]
        if not (a >= rg.t if rg.lower else a <= rg.t):
            raise UnsatisfiableError(_describe_failure(request, plan, ci, idx))
    for commit, t in plan.not_equal:
        ci, idx = plan.commits[commit]
        if msgs[ci][idx] == t:
            raise UnsatisfiableError(_describe_failure(request, plan, ci, idx))
    for commit, ts in plan.sets:
        ci, idx = plan.commits[commit]
        if msgs[ci][idx] not in ts:
            raise UnsatisfiableError(_describe_failure(request, plan, ci, idx))
    for ci, idx, p, text in plan.clear_checks:
        if not _clear_holds(definitions[ci], idx, msgs[ci][idx], p):
            raise UnsatisfiableError(f"{request.queries[ci].id}: {text} is false")
    for group in plan.equal:
        if len({msgs[ci][idx] for ci, idx in group}) != 1:
            what = "link secret" if group[0][1] == definitions[group[0][0]].link_secret_index else "equality"
            raise UnsatisfiableError(f"{what} differs between credentials")
    return plan


def _check_linear(plan: Plan, spec: LinearSpec, rg: RangeSpec, msgs: list[list[int]]) -> None:
    """A linear predicate's bound: false, or (values beyond any realistic figure) past the 2^n proof."""
    a = sum(c * msgs[ci][idx] for (ci, idx), c in ((plan.commits[i], c) for i, c in spec.terms))
    d = a - rg.t if rg.lower else rg.t - a
    if d < 0:
        raise UnsatisfiableError(f"no credentials meet {spec.text}")
    if d >> rg.bits:
        raise UnsatisfiableError(f"{spec.text}: the combination exceeds the 2^{rg.bits} a range proof holds")


def _describe_failure(request: PresentationRequest, plan: Plan, ci: int, idx: int) -> str:
    q = request.queries[ci]
    if idx == EXPIRY_INDEX:
        return f"{q.id}: credential expired"
    name = plan.definitions[ci].schema.attributes[idx - 2].name
    texts = [p.describe() for p in q.predicates if p.attribute == name]
    return f"{q.id}: no credential meets {' and '.join(texts)}"


def _shared_blindings(plan: Plan, rng: Rng) -> list[dict[int, int]]:
    """One ``m̃`` per hidden message (credential by credential, ascending); equal groups share one.

    Groups that overlap (``a.x == b.x`` and ``b.x == c.x``, in any order) are one class:
    every member takes the ``m̃`` of the class's first-drawn member (a union–find over the
    members), so the draws — and frozen presentations — do not depend on the groups' order.
    """
    tilde = [{i: random_scalar(rng) for i in plan.hidden(ci)} for ci in range(len(plan.definitions))]
    parent: dict[tuple[int, int], tuple[int, int]] = {}

    def root(m: tuple[int, int]) -> tuple[int, int]:
        while parent.get(m, m) != m:
            m = parent[m]
        return m

    for group in plan.equal:
        for member in group[1:]:
            a, b = sorted((root(group[0]), root(member)))  # the earlier-drawn member leads its class
            if a != b:
                parent[b] = a
    for member in list(parent):
        ci, idx = member
        lead_ci, lead_idx = root(member)
        tilde[ci][idx] = tilde[lead_ci][lead_idx]
    return tilde


def create_presentation(
    request: PresentationRequest,
    definitions: Sequence[CredentialDefinition],
    credentials: Sequence[Credential],
    link_secret: int,
    *,
    revocation: Mapping[str, RevocationWitness] | None = None,
    backend: GroupBackend | None = None,
    rng: Rng = secrets.token_bytes,
) -> Presentation:
    """Answer ``request`` with one credential per query (in query order).

    ``rng`` is the one randomness source (:mod:`circuits.rng`); every draw takes it in
    plan order, so :func:`circuits.rng.seeded` makes the presentation reproducible.
    """
    be = backend or get_backend()
    revocation = revocation or {}
    plan = check_satisfiable(request, definitions, credentials, link_secret)
    witnesses = {}
    for ci, q in enumerate(request.queries):
        if plan.revoked_checked[ci]:
            if q.id not in revocation:
                raise UnsatisfiableError(f"{q.id}: non-revocation asked but no witness given")
            witnesses[ci] = revocation[q.id]
    G, H = _pedersen(be)
    msgs = [_messages(d, c, link_secret) for d, c in zip(definitions, credentials, strict=True)]
    p = ProverState(
        be,
        rng,
        G,
        H,
        plan,
        msgs,
        [c.signature for c in credentials],
        _shared_blindings(plan, rng),
        witnesses,
        link_secret,
    )

    t = _context_transcript(request)
    responders = [statement.prove(p, t) for statement in plan.statements]
    c = one_challenge(t, be, definitions[0], p.first_init, plan.disclosed[0], [msgs[0][i] for i in plan.disclosed[0]])

    out = Responses(
        [
            {"definition_id": d.id, "disclosed": _disclosed_json(q.disclose, d, cred)}
            for q, d, cred in zip(request.queries, definitions, credentials, strict=True)
        ]
    )
    for respond in responders:
        respond(c, out)
    return Presentation(
        tuple(CredentialProof(**cp) for cp in out.credentials),
        out.commitments,
        out.openings,
        out.range_proof,
        tuple(out.not_equal),
        tuple(out.sets),
        c,
    )


def _disclosed_json(names: Sequence[str], d: CredentialDefinition, cred: Credential) -> dict[str, Any]:
    spec_of = {a.name: a for a in d.schema.attributes}
    return {name: spec_of[name].type.to_json(cred.values[name]) for name in names}


# Verifier -------------------------------------------------------------------------------------------


def verify_presentation(
    request: PresentationRequest,
    presentation: Presentation,
    definitions: Mapping[str, CredentialDefinition],
    *,
    accumulator_at: Callable[[str, int], bytes] | None = None,
    backend: GroupBackend | None = None,
) -> VerifiedPresentation:
    """Check ``presentation`` against the request it answers; raise :class:`PresentationRejected`.

    ``accumulator_at(definition_id, height)`` returns the accumulator value V on the
    ledger at ``height`` (and raises if that height is not acceptable — too stale).
    """
    be = backend or get_backend()
    defs = _resolve_definitions(request, presentation, definitions)
    plan = _compile(request, defs)
    _check_structure(request, plan, presentation)
    disclosed_scalars, disclosed_out = _disclosed_values(request, plan, presentation)
    G, H = _pedersen(be)
    v = VerifierState(
        be,
        G,
        H,
        plan,
        presentation,
        presentation.challenge,
        disclosed_scalars,
        accumulator_at,
        [q.id for q in request.queries],
    )
    _replay_transcript(request, v)
    _check_pairings(be, v.pairings)
    return _outcome(request, plan, disclosed_out, v)


def _resolve_definitions(
    request: PresentationRequest, pres: Presentation, definitions: Mapping[str, CredentialDefinition]
) -> list[CredentialDefinition]:
    """Ensures there is one credential proof per query and the verifier knows each one's definition."""
    if len(pres.credentials) != len(request.queries):
        raise PresentationRejected("structure", "one credential proof per query, in query order")
    try:
        return [definitions[cp.definition_id] for cp in pres.credentials]
    except KeyError as e:
        raise PresentationRejected("unknown_definition", f"unknown credential definition {e.args[0]}") from None


def _compile(request: PresentationRequest, defs: list[CredentialDefinition]) -> Plan:
    """Ensures the request makes sense for these definitions (accepted by their queries, well-typed)."""
    try:
        return compile_plan(request, defs)
    except PresentationRejected:
        raise
    except ZkCredError as e:
        raise PresentationRejected("bad_request", str(e)) from None


def _check_structure(request: PresentationRequest, plan: Plan, pres: Presentation) -> None:
    """Ensures the presentation carries exactly the elements the plan calls for, no more, no fewer."""
    for ci, (q, cp) in enumerate(zip(request.queries, pres.credentials, strict=True)):
        if set(cp.disclosed) != set(q.disclose):
            raise PresentationRejected("structure", f"{q.id}: disclosed attributes differ from the request")
        if len(cp.m_hat) != len(plan.hidden(ci)):
            raise PresentationRejected("structure", f"{q.id}: wrong number of responses")
        if plan.revoked_checked[ci] != (cp.revocation_height is not None):
            raise PresentationRejected("structure", f"{q.id}: non-revocation proof missing or unexpected")
        if (plan.pseudonym_contexts[ci] is not None) != (cp.pseudonym is not None):
            raise PresentationRejected("structure", f"{q.id}: pseudonym missing or unexpected")
        if (q.escrow is not None) != (cp.escrow_c1 is not None):
            raise PresentationRejected("structure", f"{q.id}: escrow missing or unexpected")
    if len(pres.commitments) != len(plan.commits) or len(pres.openings) != min(1, len(plan.commits)):
        raise PresentationRejected("structure", "wrong number of commitments")
    if bool(plan.ranges) != bool(pres.range_proof):
        raise PresentationRejected("structure", "range proof missing or unexpected")
    if len(pres.not_equal) != len(plan.not_equal) or len(pres.sets) != len(plan.sets):
        raise PresentationRejected("structure", "wrong number of ≠ or ∈ proofs")


def _disclosed_values(
    request: PresentationRequest, plan: Plan, pres: Presentation
) -> tuple[list[list[int]], dict[str, dict[str, Any]]]:
    """Ensures every disclosed value is a value of its type (re-encoded here) and predicates on them hold."""
    scalars, out = [], {}
    for ci, (q, d, cp) in enumerate(zip(request.queries, plan.definitions, pres.credentials, strict=True)):
        scal, typed = [], {}
        for idx in plan.disclosed[ci]:
            spec = d.schema.attributes[idx - 2]
            raw = cp.disclosed[spec.name]
            try:
                scalar = spec.type.encode(raw)
            except ZkCredError as e:
                raise PresentationRejected("bad_value", f"{q.id}.{spec.name}: {e}") from None
            scal.append(scalar)
            typed[spec.name] = spec.type.decode(scalar) if spec.type.numeric else raw
        scalars.append(scal)
        out[q.id] = typed
    for ci, idx, p, text in plan.clear_checks:
        if not _clear_holds(plan.definitions[ci], idx, scalars[ci][plan.disclosed[ci].index(idx)], p):
            raise PresentationRejected("predicate_false", f"{request.queries[ci].id}: {text} is false")
    return scalars, out


def _replay_transcript(request: PresentationRequest, v: VerifierState) -> None:
    """Ensures the challenge is the one this request, these definitions and every statement's
    recomputed first message give (the same loop over the plan as the prover's)."""
    t = _context_transcript(request)
    for statement in v.plan.statements:
        statement.replay(v, t)
    if one_challenge(t, v.be, v.plan.definitions[0], v.first_init, v.plan.disclosed[0], v.disclosed[0]) != v.c:
        raise PresentationRejected("challenge", "the proof does not answer this request")


def _check_pairings(be: GroupBackend, pairings: Sequence[tuple[Any, Any, Any, str]]) -> None:
    """Ensures every queued pairing equation ``e(X, Y) = e(Z, P2)`` holds (BBS: ``(Ā, W, B̄)``;
    accumulator: ``(C̄, Q, B̄)``), checked together; a failure is named by re-checking one by one."""
    if _pairing_checks_hold(be, [(X, Y, Z) for X, Y, Z, _ in pairings]):
        return
    minus_p2 = be.g2_neg(be.g2_generator())
    for X, Y, Z, code in pairings:  # only a bad presentation pays for this
        if not be.pairing_check([(X, Y), (Z, minus_p2)]):
            raise PresentationRejected(code, "pairing check fails")
    raise PresentationRejected("signature_proof", "pairing checks fail together")  # pragma: no cover


def _pairing_checks_hold(be: GroupBackend, checks: Sequence[tuple[Any, Any, Any]]) -> bool:
    """Every ``e(X_i, Y_i)·e(Z_i, −P2) = 1`` (BBS: ``(Ā, W, B̄)``; accumulator: ``(C̄, Q, B̄)``), in one check.

    ``Π e(ρ_i·X_i, Y_i) · e(Σ ρ_i·Z_i, −P2) = 1`` with ``ρ_0 = 1`` and the others fresh
    128-bit scalars from :mod:`secrets` (the verifier's own coins, not the prover's rng):
    the Miller loops of the ``−P2`` terms merge and there is one final exponentiation. All
    points are in the prime-order groups (strict decoding), so if any single check fails
    the product is 1 with probability at most 2^−128.
    """
    if len(checks) == 1:
        X, Y, Z = checks[0]
        return be.pairing_check([(X, Y), (Z, be.g2_neg(be.g2_generator()))])
    rhos = [1] + [secrets.randbits(128) | 1 for _ in checks[1:]]
    pairs = [
        (X if rho == 1 else be.g1_mul(X, rho, public=True), Y) for rho, (X, Y, _) in zip(rhos, checks, strict=True)
    ]
    Z = be.g1_msm([z for _, _, z in checks], rhos, public=True)
    return be.pairing_check([*pairs, (Z, be.g2_neg(be.g2_generator()))])


def _outcome(
    request: PresentationRequest, plan: Plan, disclosed: dict[str, dict[str, Any]], v: VerifierState
) -> VerifiedPresentation:
    """Ensures the caller gets exactly what was proven, in words, with the disclosed values."""
    predicates = [f"{q.id}: {p.describe()}" for q in request.queries for p in q.predicates]
    predicates += [f"{q.id}: not expired on {request.today.isoformat()}" for q in request.queries]
    predicates += [f"{a} = {b}" for a, b in request.equalities]
    predicates += [lp.describe() for lp in request.linear]
    if len(plan.definitions) > 1:
        predicates.append("same link secret in every credential")
    predicates += [f"{qid}: not revoked at ledger height {h}" for qid, h in v.revocation_heights.items()]
    predicates += [
        f"{q.id}: pseudonym for context {q.pseudonym_context!r}"
        for q in request.queries
        if q.pseudonym_context is not None
    ]
    predicates += [f"{q.id}: {q.escrow.describe()}" for q in request.queries if q.escrow is not None]
    per_query: dict[str, list[str]] = {q.id: [] for q in request.queries}
    for text in predicates:
        query_id, sep, statement = text.partition(": ")
        if sep and query_id in per_query:
            per_query[query_id].append(statement)
    return VerifiedPresentation(disclosed, predicates, v.revocation_heights, v.pseudonyms, v.escrows, per_query)
