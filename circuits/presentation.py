r"""One zero-knowledge presentation over any number of credentials (DESIGN §5).

Relation (Camenisch–Stadler), for credentials k = 1..K answering queries q_k::

    PK{ (link, (m_{k,j})_{j hidden}, (s_i)) :
          ∧_k  BBS-Sig_{pk_k}(header_k; m_{k,0..}) with m_{k,link} = link       (same link secret)
        ∧ ∧_i  C_i = m_{k_i, j_i}·G + s_i·H                                       (commitments)
        ∧ ∧_ranges  C_i − t·G ∈ [0, 2^n)    or   t·G − C_i ∈ [0, 2^n)         (≥, >, ≤, <, between, expiry)
        ∧ ∧_≠  m_{k_i, j_i} ≠ t       ∧ ∧_∈  m_{k_i, j_i} ∈ {t_1..t_n}
        ∧ ∧_=  m_{k,j} = m_{k',j'}    ∧ ∧_k  m_{k,0} ∈ Acc(V_k)                  (not revoked)
        ∧ ∧_nym  P_k = link·hash_to_curve(context_k)                         (pseudonyms) }

Every hidden message gets one blinding ``m̃``; a statement that uses that message uses the
same ``m̃`` (witness equality), and the verifier substitutes the BBS proof's ``m̂`` for
that statement's value response. So a range proof about a different value than the
signed one cannot verify: the commitment it is about is tied to the signed message.

Prover steps:

1. Check the request is satisfiable by the chosen credentials (a false predicate is
   refused here, with the predicate named, before any cryptography).
2. Transcript ``Transcript(b"zkcred presentation")``; bind, in order: the presentation
   domain separator, the verifier's nonce, its id, the request digest; per credential
   its definition id and disclosed messages (and revocation height and V).
3. Commit ``C_i = a·G + s·H`` for each hidden attribute a predicate needs (expiry
   included); append them.
4. One aggregated Bulletproof over every range statement, on the transcript. Its ``n``
   is the largest any statement needs (:func:`range_bits`: 64 for an ``int``, 32 for a
   date — expiry included —, 8 for a bool, less than 64 for a bounded ``int(a..b)``),
   known to both sides from the schemas and the request.
5. Sigma commitments: BBS ProofInit of credentials 2..K (challenge octets), opening
   proofs of C_i, ≠ and ∈ proofs, accumulator membership commitments, and for each
   query with a ``pseudonym_context`` the pseudonym statement of
   :mod:`circuits.bbs.pseudonym` (its secret is the link secret, sharing its m̃).
6. ``ph* = transcript.challenge_bytes("ph")``; the one challenge is the BBS draft's
   ``c = ProofChallengeCalculate(init_1, disclosed_1, ph*)``. With one credential and
   nothing else but disclosure, this *is* the draft's ProofGen with ``ph = ph*``
   (the fixture test drives :func:`compose_bbs_proofs` with the fixture's ph).
7. Responses ``hat = tilde + c·witness``.

The verifier repeats 2–6 from the request, the definitions and the responses, and
compares challenges; then the pairing checks (BBS, accumulator). It never trusts a
value it can derive: thresholds, V_i = C_i ∓ t·G, the shared responses, the request.
See circuits/notes/presentation.md.
"""

from __future__ import annotations

import datetime as _dt
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from circuits import constants as k
from circuits import sigma
from circuits.attributes import NUMERIC, OFFSET, AttributeType, hash_string, threshold
from circuits.backend import GroupBackend, get_backend
from circuits.bbs import blind, core
from circuits.bbs import pseudonym as nym
from circuits.codec import Reader, Writer, b64d, b64e
from circuits.constants import R
from circuits.credentials import (
    EXPIRY_INDEX,
    HANDLE_INDEX,
    Credential,
    CredentialDefinition,
    CredentialQuery,
    PresentationRequest,
)
from circuits.errors import EncodingError, ParameterError, VerificationError, ZkCredError
from circuits.transcript import Transcript

_DATE = AttributeType("date")
PRESENTATION_VERSION = 2  # 2: Bulletproofs+, one batched opening, compact JSON


class UnsatisfiableError(ParameterError):
    """The holder's credentials cannot meet the request; ``reason`` names what fails."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PresentationRejected(VerificationError):
    """Verification failed; ``code`` is a stable reason code for APIs."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


# The plan: what a request means for a given set of credential definitions ----------------


@dataclass(frozen=True)
class _Range:
    commit: int
    lower: bool  # True: a ≥ t (value a − t); False: a ≤ t (value t − a)
    t: int  # encoded threshold, inside the attribute type's encoded range
    bits: int  # the range proof's n this statement needs (range_bits)


def range_bits(attr_type: AttributeType, lower: bool, t: int) -> int:
    """The smallest range-proof size ``n`` that holds every true ``a ≥ t`` (``lower``) or ``a ≤ t``.

    ``a`` is an encoded value of ``attr_type`` (issuers refuse values outside its
    :attr:`~circuits.attributes.AttributeType.value_range`), so the difference a true
    statement proves in range is at most ``max − t`` (or ``t − min``). Sound for any
    ``n``: ``d ∈ [0, 2^n)`` with ``n ≤ 64`` already implies ``d ≥ 0`` for encodings < 2^64.
    """
    lo, hi = (v + OFFSET for v in attr_type.value_range)
    span = hi - t if lower else t - lo
    return next(n for n in k.RANGE_PROOF_BITSIZES if span < 1 << n)


def _range(attr_type: AttributeType, commit: int, lower: bool, t: int, text: str) -> _Range:
    """The statement ``a ≥ t`` / ``a ≤ t`` with ``t`` clamped into the type's range (refused if none can hold)."""
    lo, hi = (v + OFFSET for v in attr_type.value_range)
    if lower and t > hi or not lower and t < lo:
        raise PresentationRejected("predicate_impossible", f"no {attr_type} value is {text}")
    t = min(max(t, lo), hi)  # a ≥ t for t below the range is a ≥ min: always true, and cheaper
    return _Range(commit, lower, t, range_bits(attr_type, lower, t))


@dataclass
class _Plan:
    definitions: list[CredentialDefinition]
    disclosed: list[list[int]]  # per credential: message indexes, ascending
    commits: list[tuple[int, int]] = field(default_factory=list)  # (credential, message index)
    ranges: list[_Range] = field(default_factory=list)
    not_equal: list[tuple[int, int]] = field(default_factory=list)  # (commit, t scalar)
    sets: list[tuple[int, list[int]]] = field(default_factory=list)  # (commit, [t scalars])
    equal: list[list[tuple[int, int]]] = field(default_factory=list)  # groups of (credential, message index)
    clear_checks: list[tuple[int, int, Any, str]] = field(default_factory=list)  # disclosed predicates
    revoked_checked: list[bool] = field(default_factory=list)

    def commit_for(self, cred: int, index: int) -> int:
        key = (cred, index)
        if key not in self.commits:
            self.commits.append(key)
        return self.commits.index(key)

    def hidden(self, cred: int) -> list[int]:
        n = self.definitions[cred].message_count
        return [i for i in range(n) if i not in set(self.disclosed[cred])]


def _scalar_of(attr_type: AttributeType, value: Any) -> int:
    """The message scalar a set element or ≠ value stands for (exact, never rounded)."""
    try:
        return attr_type.encode(value)
    except ZkCredError as e:
        raise ParameterError(f"{value!r} is not a {attr_type} value: {e}") from None


def _plan(request: PresentationRequest, definitions: Sequence[CredentialDefinition]) -> _Plan:
    if len(definitions) != len(request.queries):
        raise ParameterError("one credential per query")
    plan = _Plan(list(definitions), [])
    for ci, (query, d) in enumerate(zip(request.queries, definitions)):
        if d.id not in query.credential_definitions:
            raise PresentationRejected("definition_not_accepted", f"query {query.id} does not accept {d.id}")
        plan.disclosed.append(sorted(d.schema.index(name) for name in query.disclose))
        plan.revoked_checked.append(bool(query.non_revoked and d.revocation is not None))
        # Every credential proves it has not expired: expiry ≥ today.
        today = (request.today - _dt.date(1970, 1, 1)).days + OFFSET
        plan.ranges.append(_range(_DATE, plan.commit_for(ci, EXPIRY_INDEX), True, today, "unexpired"))
        for p in query.predicates:
            spec = d.schema.attribute(p.attribute)
            index = d.schema.index(p.attribute)
            if p.attribute in query.disclose:
                plan.clear_checks.append((ci, index, p, p.describe()))
                continue
            _compile_predicate(plan, ci, index, spec.type, p.op, p.value)
    # Same link secret everywhere, and the requested equalities.
    if len(definitions) > 1:
        plan.equal.append([(ci, d.link_secret_index) for ci, d in enumerate(definitions)])
    qids = [q.id for q in request.queries]
    for left, right in request.equalities:
        group = []
        for ref in (left, right):
            qid, _, name = ref.partition(".")
            ci = qids.index(qid)
            d = definitions[ci]
            if name in request.queries[ci].disclose:
                raise ParameterError(f"{ref} is disclosed; compare disclosed values in the clear")
            group.append((ci, d.schema.index(name)))
        types = {str(definitions[ci].schema.attributes[i - 2].type) for ci, i in group}
        if len(types) != 1:
            raise ParameterError(f"{left} and {right} have different types")
        plan.equal.append(group)
    return plan


def _compile_predicate(plan: _Plan, ci: int, index: int, attr_type: AttributeType, op: str, value: Any) -> None:
    commit = plan.commit_for(ci, index)
    if op in (">=", ">", "<=", "<", "between"):
        if attr_type.kind not in NUMERIC:
            raise ParameterError(f"{op} needs a numeric attribute, not {attr_type}")
        bounds = [(">=", value[0]), ("<=", value[1])] if op == "between" else [(op, value)]
        for bop, bval in bounds:
            t = threshold(attr_type, bval, bop)
            plan.ranges.append(_range(attr_type, commit, bop in (">=", ">"), t, f"{bop} {bval}"))
    elif op == "!=":
        plan.not_equal.append((commit, _scalar_of(attr_type, value)))
    elif op == "not_in":
        for v in value:
            plan.not_equal.append((commit, _scalar_of(attr_type, v)))
    elif op == "in":
        plan.sets.append((commit, [_scalar_of(attr_type, v) for v in value]))
    else:  # pragma: no cover - Predicate validates ops
        raise ParameterError(op)


def _holds(op: str, a: int, t: Any) -> bool:
    return {
        ">=": lambda: a >= t, "<=": lambda: a <= t, "!=": lambda: a != t,
    }[op]()


# Wire types -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CredentialProof:
    """One credential's part: its definition, what it discloses, and its BBS responses.

    A presentation lists these in the order of the request's queries (the i-th answers the
    i-th query), so no query id travels: the request, bound into the transcript, names them.
    """

    definition_id: str
    disclosed: dict  # attribute name -> JSON value
    A_bar: Any
    B_bar: Any
    D: Any
    e_hat: int
    r1_hat: int
    r3_hat: int
    m_hat: tuple[int, ...]
    revocation_height: int | None = None
    accumulator: bytes | None = None
    membership: bytes | None = None
    pseudonym: Any = None  # G1 point, when the query asks for one


@dataclass(frozen=True)
class Presentation:
    credentials: tuple[CredentialProof, ...]
    commitments: tuple[Any, ...]
    openings: tuple[int, ...]
    range_proof: bytes
    not_equal: tuple[sigma.NotEqualProof, ...]
    sets: tuple[sigma.SetMembershipProof, ...]
    challenge: int

    # bytes -------------------------------------------------------------------------------
    def to_bytes(self, backend: GroupBackend | None = None) -> bytes:
        be = backend or get_backend()
        w = Writer()
        w.u8(PRESENTATION_VERSION)
        w.u16(len(self.credentials))
        for cp in self.credentials:
            w.text(cp.definition_id)
            from circuits.credentials import canonical_json

            w.blob(canonical_json(cp.disclosed))
            for p in (cp.A_bar, cp.B_bar, cp.D):
                w.point(be, p)
            w.scalar(cp.e_hat)
            w.scalar(cp.r1_hat)
            w.scalar(cp.r3_hat)
            w.scalars(cp.m_hat)
            # flags: bit 0 revocation, bit 1 pseudonym (presentations without one keep their bytes)
            w.u8((1 if cp.revocation_height is not None else 0) | (2 if cp.pseudonym is not None else 0))
            if cp.revocation_height is not None:
                w.u64(cp.revocation_height)
                w.raw(cp.accumulator)
                w.blob(cp.membership)
            if cp.pseudonym is not None:
                w.point(be, cp.pseudonym)
        w.points(be, self.commitments)
        w.scalars(self.openings)
        w.blob(self.range_proof)
        w.u16(len(self.not_equal))
        for ne in self.not_equal:
            w.scalar(ne.u_hat)
            w.scalar(ne.w_hat)
        w.u16(len(self.sets))
        for sp in self.sets:
            w.scalars(sp.challenges)
            w.scalars(sp.responses)
        w.scalar(self.challenge)
        return w.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, backend: GroupBackend | None = None) -> Presentation:
        import json

        be = backend or get_backend()
        r = Reader(data)
        if r.u8() != PRESENTATION_VERSION:
            raise EncodingError("unknown presentation version")
        creds = []
        for _ in range(r.u16()):
            did = r.text()
            try:
                disclosed = json.loads(r.blob())
            except ValueError as e:
                raise EncodingError("disclosed values are not JSON") from e
            if not isinstance(disclosed, dict):
                raise EncodingError("disclosed values must be an object")
            A_bar, B_bar, D = r.point(be), r.point(be), r.point(be)
            e_hat, r1_hat, r3_hat = r.scalar(), r.scalar(), r.scalar()
            m_hat = tuple(r.scalars())
            height = acc = mem = None
            flag = r.u8()
            if flag not in (0, 1, 2, 3):
                raise EncodingError("bad revocation flag")
            if flag & 1:
                height, acc, mem = r.u64(), r.raw(k.G1_BYTES), r.blob()
            pseudonym = r.point(be) if flag & 2 else None
            creds.append(CredentialProof(did, disclosed, A_bar, B_bar, D, e_hat, r1_hat, r3_hat, m_hat,
                                         height, acc, mem, pseudonym))
        commitments = tuple(r.points(be))
        openings = tuple(r.scalars())
        rp = r.blob()
        ne = tuple(sigma.NotEqualProof(r.scalar(), r.scalar()) for _ in range(r.u16()))
        sets = tuple(sigma.SetMembershipProof(tuple(r.scalars()), tuple(r.scalars())) for _ in range(r.u16()))
        c = r.scalar()
        r.finish()
        return cls(tuple(creds), commitments, openings, rp, ne, sets, c)

    # JSON ---------------------------------------------------------------------------------
    def to_json(self, backend: GroupBackend | None = None) -> dict:
        be = backend or get_backend()
        out = {
            "version": PRESENTATION_VERSION,
            "credentials": [
                {
                    "definition_id": cp.definition_id,
                    "disclosed": cp.disclosed,
                    "bbs": b64e(b"".join(be.g1_to_bytes(p) for p in (cp.A_bar, cp.B_bar, cp.D))
                                + b"".join(core.scalar_to_bytes(s) for s in (cp.e_hat, cp.r1_hat, cp.r3_hat, *cp.m_hat))),
                    **({} if cp.revocation_height is None else {"revocation": {
                        "height": cp.revocation_height, "accumulator": b64e(cp.accumulator),
                        "proof": b64e(cp.membership)}}),
                    **({} if cp.pseudonym is None else {"pseudonym": b64e(be.g1_to_bytes(cp.pseudonym))}),
                }
                for cp in self.credentials
            ],
            "commitments": b64e(b"".join(be.g1_to_bytes(p) for p in self.commitments)),
            "openings": b64e(b"".join(core.scalar_to_bytes(s) for s in self.openings)),
            "range_proof": b64e(self.range_proof),
            "not_equal": [b64e(core.scalar_to_bytes(p.u_hat) + core.scalar_to_bytes(p.w_hat)) for p in self.not_equal],
            "sets": [b64e(b"".join(core.scalar_to_bytes(s) for s in (*p.challenges, *p.responses))) for p in self.sets],
            "challenge": b64e(core.scalar_to_bytes(self.challenge)),
        }
        # Canonical and compact: what a presentation does not have is left out, not sent empty.
        for key in ("commitments", "openings", "range_proof", "not_equal", "sets"):
            if not out[key]:
                del out[key]
        return out

    @classmethod
    def from_json(cls, data: Any, backend: GroupBackend | None = None) -> Presentation:
        be = backend or get_backend()
        try:
            if type(data["version"]) is not int or data["version"] != PRESENTATION_VERSION:  # not True, not 1.0
                raise EncodingError("unknown presentation version")
            optional = {"commitments", "openings", "range_proof", "not_equal", "sets"}
            if not {"version", "credentials", "challenge"} <= set(data) <= {"version", "credentials", "challenge", *optional}:
                raise EncodingError("unexpected presentation fields")
            if any(data[key] in ("", []) for key in optional & set(data)):
                raise EncodingError("empty presentation fields are left out, not sent")
            data = {**{key: "" for key in ("commitments", "openings", "range_proof")}, "not_equal": [], "sets": [], **data}
            creds = []
            for c in data["credentials"]:
                if set(c) - {"pseudonym", "revocation"} != {"definition_id", "disclosed", "bbs"}:
                    raise EncodingError("unexpected credential proof fields")
                pseudonym = None
                if "pseudonym" in c:
                    pseudonym = core.g1_from_bytes_nonidentity(be, b64d(c["pseudonym"]))
                raw = b64d(c["bbs"])
                if len(raw) < 3 * 48 + 3 * 32 or (len(raw) - 144) % 32:
                    raise EncodingError("bad BBS proof length")
                pts = [core.g1_from_bytes_nonidentity(be, raw[i : i + 48]) for i in (0, 48, 96)]
                scs = [core.scalar_from_bytes(raw[i : i + 32]) for i in range(144, len(raw), 32)]
                rev = c.get("revocation")
                if "revocation" in c and (not isinstance(rev, dict) or set(rev) != {"height", "accumulator", "proof"}
                                        or type(rev["height"]) is not int or not 0 <= rev["height"] < 2**64):
                    raise EncodingError("revocation must be {height: integer, accumulator, proof}")
                if not isinstance(c["definition_id"], str):
                    raise EncodingError("definition_id must be a string")
                if not isinstance(c["disclosed"], dict):
                    raise EncodingError("disclosed must be an object")
                creds.append(CredentialProof(
                    str(c["definition_id"]), c["disclosed"], *pts, scs[0], scs[1], scs[2],
                    tuple(scs[3:]),
                    None if rev is None else rev["height"],
                    None if rev is None else b64d(rev["accumulator"]),
                    None if rev is None else b64d(rev["proof"]),
                    pseudonym,
                ))
            craw = b64d(data["commitments"])
            oraw = b64d(data["openings"])
            if len(craw) % 48 or len(oraw) % 32:
                raise EncodingError("bad commitment or opening length")
            commitments = tuple(core.g1_from_bytes_nonidentity(be, craw[i : i + 48]) for i in range(0, len(craw), 48))
            openings = tuple(core.scalar_from_bytes(oraw[i : i + 32]) for i in range(0, len(oraw), 32))
            ne = []
            for x in data["not_equal"]:
                raw = b64d(x)
                if len(raw) != 64:
                    raise EncodingError("bad ≠ proof length")
                ne.append(sigma.NotEqualProof(core.scalar_from_bytes(raw[:32]), core.scalar_from_bytes(raw[32:])))
            sets = []
            for x in data["sets"]:
                raw = b64d(x)
                if len(raw) % 64 != 32 or len(raw) < 96:
                    raise EncodingError("bad set-membership proof length")
                scs = [core.scalar_from_bytes(raw[i : i + 32]) for i in range(0, len(raw), 32)]
                n = (len(scs) + 1) // 2
                sets.append(sigma.SetMembershipProof(tuple(scs[: n - 1]), tuple(scs[n - 1 :])))
            challenge = b64d(data["challenge"])
            if len(challenge) != k.SCALAR_BYTES:
                raise EncodingError("bad challenge")
            c = core.scalar_from_bytes(challenge)
            return cls(tuple(creds), commitments, openings, b64d(data["range_proof"]), tuple(ne), tuple(sets), c)
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, EncodingError):
                raise
            raise EncodingError(f"malformed presentation: {e}") from None


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


# Shared transcript steps -------------------------------------------------------------------------


def _bind_context(t: Transcript, request: PresentationRequest) -> None:
    t.domain_sep(k.DOMSEP_PRESENTATION)
    t.append(b"nonce", request.nonce)
    t.append(b"verifier-id", request.verifier_id.encode())
    t.append(b"request", request.digest)


def _bind_credential(t: Transcript, cp: CredentialProof, disclosed_scalars: Sequence[int]) -> None:
    t.append(b"definition-id", cp.definition_id.encode())
    t.append_u64(b"disclosed-count", len(disclosed_scalars))
    for s in disclosed_scalars:
        t.append_scalar(b"disclosed", s)
    if cp.revocation_height is not None:
        t.append_u64(b"revocation-height", cp.revocation_height)
        t.append(b"accumulator", cp.accumulator)


def _pedersen(be: GroupBackend):
    from circuits.pedersen import PedersenGens

    gens = PedersenGens.default(be)
    return gens.G, gens.H


def _pairing_checks_hold(be: GroupBackend, checks: Sequence[tuple[Any, Any, Any]]) -> bool:
    """Every ``e(X_i, Y_i)·e(Z_i, −P2) = 1`` (BBS: ``(Ā, W, B̄)``; accumulator: ``(C̄, Q, B̄)``), in one check.

    ``Π e(ρ_i·X_i, Y_i) · e(Σ ρ_i·Z_i, −P2) = 1`` with ``ρ_0 = 1`` and the others fresh
    128-bit scalars from :mod:`secrets`: the Miller loops of the ``−P2`` terms merge and there
    is one final exponentiation. All points are in the prime-order groups (strict decoding),
    so if any single check fails the product is 1 with probability at most 2^−128.
    """
    if len(checks) == 1:
        X, Y, Z = checks[0]
        return be.pairing_check([(X, Y), (Z, be.g2_neg(be.g2_generator()))])
    rhos = [1] + [secrets.randbits(128) | 1 for _ in checks[1:]]
    pairs = [(X if rho == 1 else be.g1_mul(X, rho), Y) for rho, (X, Y, _) in zip(rhos, checks)]
    Z = be.g1_msm([z for _, _, z in checks], rhos)
    return be.pairing_check([*pairs, (Z, be.g2_neg(be.g2_generator()))])


def _opening_weights(t: Transcript, count: int) -> list[int]:
    """``1, ρ, ρ², …``: the weights of the batched opening proof, ``ρ`` from the transcript.

    One proof of knowledge of the opening of ``Σ ρ^i·C_i`` whose value response is
    ``Σ ρ^i·m̂_i`` (the BBS proof's shared responses) shows every ``C_i`` commits to its
    signed message: ``ρ`` is drawn after the ``C_i`` are bound, so a prover who cheats on
    one of them passes for at most ``count − 1`` values of ``ρ`` (Schwartz–Zippel).
    """
    return sigma.powers(t.challenge_scalar(b"opening-batch"), count)


def _range_vs(be: GroupBackend, plan: _Plan, commitments: Sequence, G) -> list:
    out = []
    for rg in plan.ranges:
        tG = be.g1_mul(G, rg.t)
        C = commitments[rg.commit]
        out.append(be.g1_add(C, be.g1_neg(tG)) if rg.lower else be.g1_add(tG, be.g1_neg(C)))
    return out


def _messages(d: CredentialDefinition, cred: Credential, link_secret: int) -> list[int]:
    expiry = (cred.expiry - _dt.date(1970, 1, 1)).days + OFFSET
    return [cred.revocation_handle, expiry, *d.schema.encode_values(cred.values), cred.prover_blind, link_secret]


def _generators(be: GroupBackend, d: CredentialDefinition) -> tuple[list, bytes]:
    suite = d.bbs_suite()
    gens = blind.signer_generators(be, d.signer_message_count, suite=suite) + blind.blind_generators(be, 1, suite=suite)
    return gens, blind.blind_api_id(suite)


# Prover ---------------------------------------------------------------------------------------------


def check_satisfiable(request: PresentationRequest, definitions: Sequence[CredentialDefinition],
                      credentials: Sequence[Credential], link_secret: int) -> _Plan:
    """Refuse, naming the first failing statement, before any cryptography runs."""
    plan = _plan(request, definitions)
    msgs = [_messages(d, c, link_secret) for d, c in zip(definitions, credentials)]
    for ci, (q, c) in enumerate(zip(request.queries, credentials)):
        if c.definition_id != definitions[ci].id:
            raise ParameterError("credential does not belong to the definition given")
        if c.expiry < request.today:
            raise UnsatisfiableError(f"{q.id}: credential expired on {c.expiry.isoformat()}")
    for rg in plan.ranges:
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


def _describe_failure(request: PresentationRequest, plan: _Plan, ci: int, idx: int) -> str:
    q = request.queries[ci]
    if idx == EXPIRY_INDEX:
        return f"{q.id}: credential expired"
    name = plan.definitions[ci].schema.attributes[idx - 2].name
    texts = [p.describe() for p in q.predicates if p.attribute == name]
    return f"{q.id}: no credential meets {' and '.join(texts)}"


def _clear_holds(d: CredentialDefinition, idx: int, a: int, p) -> bool:
    """A predicate on a disclosed attribute, checked on the encoded value."""
    spec = d.schema.attributes[idx - 2]
    t = spec.type
    if p.op in (">=", ">", "<=", "<"):
        return _holds(">=" if p.op in (">=", ">") else "<=", a, threshold(t, p.value, p.op))
    if p.op == "between":
        return threshold(t, p.value[0], ">=") <= a <= threshold(t, p.value[1], "<=")
    if p.op == "!=":
        return a != _scalar_of(t, p.value)
    if p.op == "in":
        return a in {_scalar_of(t, v) for v in p.value}
    return a not in {_scalar_of(t, v) for v in p.value}


def create_presentation(
    request: PresentationRequest,
    definitions: Sequence[CredentialDefinition],
    credentials: Sequence[Credential],
    link_secret: int,
    *,
    revocation: Mapping[str, RevocationWitness] | None = None,
    backend: GroupBackend | None = None,
) -> Presentation:
    """Answer ``request`` with one credential per query (in query order)."""
    be = backend or get_backend()
    revocation = revocation or {}
    plan = check_satisfiable(request, definitions, credentials, link_secret)
    G, H = _pedersen(be)
    msgs = [_messages(d, c, link_secret) for d, c in zip(definitions, credentials)]

    # One blinding per hidden message; shared across equal groups.
    tilde: list[dict[int, int]] = [{i: sigma.random_scalar() for i in plan.hidden(ci)} for ci in range(len(msgs))]
    for group in plan.equal:
        shared = tilde[group[0][0]][group[0][1]]
        for ci, idx in group:
            tilde[ci][idx] = shared

    t = Transcript(b"zkcred presentation")
    _bind_context(t, request)
    cproofs_meta = []
    for ci, (q, d, cred) in enumerate(zip(request.queries, definitions, credentials)):
        spec_of = {a.name: a for a in d.schema.attributes}
        disclosed = {name: spec_of[name].type.to_json(cred.values[name]) for name in q.disclose}
        rw = revocation.get(q.id) if plan.revoked_checked[ci] else None
        if plan.revoked_checked[ci] and rw is None:
            raise UnsatisfiableError(f"{q.id}: non-revocation asked but no witness given")
        meta = CredentialProof(d.id, disclosed, None, None, None, 0, 0, 0, (),
                               rw.height if rw else None, rw.accumulator if rw else None, None)
        _bind_credential(t, meta, [msgs[ci][i] for i in plan.disclosed[ci]])
        cproofs_meta.append(meta)

    # Commitments and the aggregated range proof.
    blindings = [sigma.random_scalar() for _ in plan.commits]
    commitments = [be.g1_msm([G, H], [msgs[ci][idx], s]) for (ci, idx), s in zip(plan.commits, blindings)]
    for C in commitments:
        t.append_point(b"commitment", C, be)
    range_bytes = b""
    if plan.ranges:
        from circuits.bulletproofs import range_proof

        values, rblind = [], []
        for rg in plan.ranges:
            ci, idx = plan.commits[rg.commit]
            a, s = msgs[ci][idx], blindings[rg.commit]
            values.append(a - rg.t if rg.lower else rg.t - a)
            rblind.append(s if rg.lower else (-s) % R)
        proof, _ = range_proof.prove(t, values, rblind, max(rg.bits for rg in plan.ranges), backend=be)
        range_bytes = proof.to_bytes(be)
        t.append(b"range-proof", range_bytes)

    # Sigma commitments.
    bbs_init, bbs_rand = [], []
    for ci, (d, cred) in enumerate(zip(definitions, credentials)):
        gens, api_id = _generators(be, d)
        hidden = plan.hidden(ci)
        rs = [sigma.random_scalar() for _ in range(5)] + [tilde[ci][i] for i in hidden]
        sig = core.Signature.from_bytes(be, cred.signature)
        init = core.proof_init(d.public_key, sig, gens, rs, d.header, msgs[ci], hidden,
                               suite=d.bbs_suite(), be=be, api_id=api_id)
        bbs_init.append((init, sig))
        bbs_rand.append(rs)
        if ci > 0:
            t.append(b"bbs-init", core.challenge_octets(be, init, plan.disclosed[ci],
                                                       [msgs[ci][i] for i in plan.disclosed[ci]], b""))
    openings = []
    if plan.commits:  # one opening proof for Σ ρ^i·C_i, ρ drawn after every C_i is bound
        w = _opening_weights(t, len(plan.commits))
        openings.append(sigma.OpeningProver(
            be, G, H, sum(wi * msgs[ci][idx] for wi, (ci, idx) in zip(w, plan.commits)) % R,
            sum(wi * s for wi, s in zip(w, blindings)) % R,
            sum(wi * tilde[ci][idx] for wi, (ci, idx) in zip(w, plan.commits)) % R))
        t.append_point(b"opening-T", openings[0].commitments()[0], be)
    ne_provers = []
    for commit, tv in plan.not_equal:
        ci, idx = plan.commits[commit]
        V = be.g1_add(commitments[commit], be.g1_neg(be.g1_mul(G, tv)))
        ne_provers.append(sigma.NotEqualProver(be, G, H, V, msgs[ci][idx], blindings[commit], tv))
        t.append_point(b"not-equal-T", ne_provers[-1].commitments()[0], be)
    set_provers = []
    for commit, ts in plan.sets:
        ci, idx = plan.commits[commit]
        Vs = [be.g1_add(commitments[commit], be.g1_neg(be.g1_mul(G, tv))) for tv in ts]
        set_provers.append(sigma.SetMembershipProver(be, H, Vs, ts.index(msgs[ci][idx]), blindings[commit]))
        for T in set_provers[-1].commitments():
            t.append_point(b"set-T", T, be, allow_identity=True)
    mem_provers = {}
    for ci, meta in enumerate(cproofs_meta):
        if meta.revocation_height is None:
            continue
        from circuits.accumulator import MembershipProver

        rw = revocation[request.queries[ci].id]
        prover = MembershipProver.init(be.g1_from_bytes(rw.witness), msgs[ci][HANDLE_INDEX],
                                       be.g1_from_bytes(rw.accumulator), backend=be, y_tilde=tilde[ci][HANDLE_INDEX])
        prover.append_to(t)
        mem_provers[ci] = prover
    nym_points = {}
    for ci, (q, d) in enumerate(zip(request.queries, definitions)):
        if q.pseudonym_context is not None:
            nym_prover = nym.PseudonymProver(be, q.pseudonym_context.encode(), link_secret,
                                             tilde[ci][d.link_secret_index])
            nym_prover.append_to(t, be)
            nym_points[ci] = nym_prover.pseudonym

    # The one challenge: the BBS draft's, with ph* binding everything else.
    ph = t.challenge_bytes(b"ph", 32)
    d0 = definitions[0]
    c = core.proof_challenge_calculate(bbs_init[0][0], plan.disclosed[0], [msgs[0][i] for i in plan.disclosed[0]],
                                       ph, suite=d0.bbs_suite(), be=be, api_id=_generators(be, d0)[1])

    creds = []
    for ci, meta in enumerate(cproofs_meta):
        init, sig = bbs_init[ci]
        hidden = plan.hidden(ci)
        proof = core.proof_finalize(init, c, sig.e, bbs_rand[ci], [msgs[ci][i] for i in hidden])
        membership = mem_provers[ci].finalize(c).to_bytes(be) if ci in mem_provers else None
        creds.append(CredentialProof(meta.definition_id, meta.disclosed, proof.A_bar, proof.B_bar,
                                     proof.D, proof.e_hat, proof.r1_hat, proof.r3_hat, proof.m_hat,
                                     meta.revocation_height, meta.accumulator, membership, nym_points.get(ci)))
    return Presentation(
        tuple(creds), tuple(commitments), tuple(op.respond(c).s_hat for op in openings), range_bytes,
        tuple(p.respond(c) for p in ne_provers), tuple(p.respond(c) for p in set_provers), c,
    )


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
    pres = presentation
    if len(pres.credentials) != len(request.queries):
        raise PresentationRejected("structure", "one credential proof per query, in query order")
    try:
        defs = [definitions[cp.definition_id] for cp in pres.credentials]
    except KeyError as e:
        raise PresentationRejected("unknown_definition", f"unknown credential definition {e.args[0]}") from None
    try:
        plan = _plan(request, defs)
    except PresentationRejected:
        raise
    except ZkCredError as e:
        raise PresentationRejected("bad_request", str(e)) from None
    G, H = _pedersen(be)

    # Disclosed values: typed, re-encoded; exactly the requested ones.
    disclosed_scalars, disclosed_out = [], {}
    for ci, (q, d, cp) in enumerate(zip(request.queries, defs, pres.credentials)):
        if set(cp.disclosed) != set(q.disclose):
            raise PresentationRejected("structure", f"{q.id}: disclosed attributes differ from the request")
        scal, out = [], {}
        for idx in plan.disclosed[ci]:
            spec = d.schema.attributes[idx - 2]
            raw = cp.disclosed[spec.name]
            try:
                scalar = spec.type.encode(raw)
            except ZkCredError as e:
                raise PresentationRejected("bad_value", f"{q.id}.{spec.name}: {e}") from None
            scal.append(scalar)
            out[spec.name] = spec.type.decode(scalar) if spec.type.numeric else raw
        disclosed_scalars.append(scal)
        disclosed_out[q.id] = out
        if len(cp.m_hat) != len(plan.hidden(ci)):
            raise PresentationRejected("structure", f"{q.id}: wrong number of responses")
        if plan.revoked_checked[ci] != (cp.revocation_height is not None):
            raise PresentationRejected("structure", f"{q.id}: non-revocation proof missing or unexpected")
        if (q.pseudonym_context is not None) != (cp.pseudonym is not None):
            raise PresentationRejected("structure", f"{q.id}: pseudonym missing or unexpected")
    for ci, idx, p, text in plan.clear_checks:
        if not _clear_holds(defs[ci], idx, disclosed_scalars[ci][plan.disclosed[ci].index(idx)], p):
            raise PresentationRejected("predicate_false", f"{request.queries[ci].id}: {text} is false")
    if len(pres.commitments) != len(plan.commits) or len(pres.openings) != min(1, len(plan.commits)):
        raise PresentationRejected("structure", "wrong number of commitments")
    if len(pres.not_equal) != len(plan.not_equal) or len(pres.sets) != len(plan.sets):
        raise PresentationRejected("structure", "wrong number of ≠ or ∈ proofs")

    def m_hat(ci: int, idx: int) -> int:
        return pres.credentials[ci].m_hat[plan.hidden(ci).index(idx)]

    for group in plan.equal:
        if len({m_hat(ci, idx) for ci, idx in group}) != 1:
            raise PresentationRejected("equality", "hidden values that must be equal are not")

    c = pres.challenge
    t = Transcript(b"zkcred presentation")
    _bind_context(t, request)
    for ci, cp in enumerate(pres.credentials):
        _bind_credential(t, cp, disclosed_scalars[ci])
    for C in pres.commitments:
        t.append_point(b"commitment", C, be)
    if plan.ranges:
        from circuits.bulletproofs import range_proof

        m, n = len(plan.ranges), max(rg.bits for rg in plan.ranges)
        try:
            rp = range_proof.RangeProof.from_bytes(be, pres.range_proof, n, m)
            range_proof.verify(t, rp, _range_vs(be, plan, pres.commitments, G), n, backend=be)
        except ZkCredError as e:
            raise PresentationRejected("range_proof", str(e)) from None
        t.append(b"range-proof", pres.range_proof)
    elif pres.range_proof:
        raise PresentationRejected("structure", "unexpected range proof")

    inits = []
    for ci, (d, cp) in enumerate(zip(defs, pres.credentials)):
        gens, api_id = _generators(be, d)
        proof = core.Proof(cp.A_bar, cp.B_bar, cp.D, cp.e_hat, cp.r1_hat, cp.r3_hat, cp.m_hat, c)
        try:
            init = core.proof_verify_init(d.public_key, proof, gens, d.header, disclosed_scalars[ci],
                                          plan.disclosed[ci], suite=d.bbs_suite(), be=be, api_id=api_id)
        except ZkCredError as e:
            raise PresentationRejected("signature_proof", str(e)) from None
        inits.append((init, proof, api_id))
        if ci > 0:
            t.append(b"bbs-init", core.challenge_octets(be, init, plan.disclosed[ci], disclosed_scalars[ci], b""))
    if plan.commits:
        w = _opening_weights(t, len(plan.commits))
        C = be.g1_msm(pres.commitments, w)
        a_hat = sum(wi * m_hat(ci, idx) for wi, (ci, idx) in zip(w, plan.commits)) % R
        T = sigma.opening_commitment(be, G, H, C, a_hat, sigma.OpeningProof(pres.openings[0]), c)
        t.append_point(b"opening-T", T, be)
    for (commit, tv), proof in zip(plan.not_equal, pres.not_equal):
        V = be.g1_add(pres.commitments[commit], be.g1_neg(be.g1_mul(G, tv)))
        t.append_point(b"not-equal-T", sigma.not_equal_commitment(be, G, H, V, proof, c), be)
    for (commit, ts), proof in zip(plan.sets, pres.sets):
        Vs = [be.g1_add(pres.commitments[commit], be.g1_neg(be.g1_mul(G, tv))) for tv in ts]
        try:
            Ts = sigma.set_membership_commitments(be, H, Vs, proof, c)
        except ZkCredError as e:
            raise PresentationRejected("structure", str(e)) from None
        for T in Ts:
            t.append_point(b"set-T", T, be, allow_identity=True)
    heights, memberships = {}, []
    for ci, (d, cp) in enumerate(zip(defs, pres.credentials)):
        if cp.revocation_height is None:
            continue
        from circuits.accumulator import MembershipProof, verify_init

        if accumulator_at is None:
            raise PresentationRejected("revocation", "no accumulator source to check non-revocation")
        try:
            expected = accumulator_at(d.id, cp.revocation_height)
        except ZkCredError as e:
            raise PresentationRejected("stale_accumulator", str(e)) from None
        if expected != cp.accumulator:
            raise PresentationRejected("revocation", f"{request.queries[ci].id}: accumulator value is not the ledger's")
        try:
            mp = MembershipProof.from_bytes(be, cp.membership)
            V = be.g1_from_bytes(cp.accumulator)
            Q = be.g2_from_bytes(d.revocation.Q)
            verify_init(mp, V, Q, c, backend=be, y_hat=m_hat(ci, HANDLE_INDEX)).append_to(t, be)
        except ZkCredError as e:
            raise PresentationRejected("revocation", str(e)) from None
        memberships.append((mp, Q))
        heights[request.queries[ci].id] = cp.revocation_height
    pseudonyms = {}
    for ci, (q, d, cp) in enumerate(zip(request.queries, defs, pres.credentials)):
        if q.pseudonym_context is None:
            continue
        ctx = q.pseudonym_context.encode()  # the request's context, never one the prover names
        try:
            T = nym.pseudonym_commitment(be, ctx, cp.pseudonym, m_hat(ci, d.link_secret_index), c)
            nym.append_pseudonym(t, be, ctx, cp.pseudonym, T)
        except ZkCredError as e:
            raise PresentationRejected("pseudonym", str(e)) from None
        pseudonyms[q.id] = b64e(be.g1_to_bytes(cp.pseudonym))

    ph = t.challenge_bytes(b"ph", 32)
    init0, _, api0 = inits[0]
    c_check = core.proof_challenge_calculate(init0, plan.disclosed[0], disclosed_scalars[0], ph,
                                             suite=defs[0].bbs_suite(), be=be, api_id=api0)
    if c_check != c:
        raise PresentationRejected("challenge", "the proof does not answer this request")
    checks = [(proof.A_bar, core.octets_to_pubkey(be, d.public_key), proof.B_bar) for d, (_, proof, _) in zip(defs, inits)]
    checks += [(mp.C_bar, Q, mp.B_bar) for mp, Q in memberships]
    if not _pairing_checks_hold(be, checks):  # one fails: name it (only a bad presentation pays for this)
        for d, (_, proof, _) in zip(defs, inits):
            try:
                core.proof_pairing_check(d.public_key, proof, be=be)
            except ZkCredError:
                raise PresentationRejected("signature_proof", "BBS pairing check fails") from None
        for mp, Q in memberships:
            from circuits.accumulator import check_pairing

            try:
                check_pairing(mp, Q, backend=be)
            except ZkCredError:
                raise PresentationRejected("revocation", "accumulator pairing check fails") from None
        raise PresentationRejected("signature_proof", "pairing checks fail together")  # pragma: no cover

    predicates = [f"{q.id}: {p.describe()}" for q in request.queries for p in q.predicates]
    predicates += [f"{q.id}: not expired on {request.today.isoformat()}" for q in request.queries]
    predicates += [f"{a} = {b}" for a, b in request.equalities]
    if len(defs) > 1:
        predicates.append("same link secret in every credential")
    predicates += [f"{qid}: not revoked at ledger height {h}" for qid, h in heights.items()]
    predicates += [f"{q.id}: pseudonym for context {q.pseudonym_context!r}" for q in request.queries
                   if q.pseudonym_context is not None]
    return VerifiedPresentation(disclosed_out, predicates, heights, pseudonyms)
