r"""The presentation's wire types: what travels from the wallet to the verifier.

:class:`Presentation` (one per request) holds one :class:`CredentialProof` per query, in
query order, then the statements' elements in plan order: the commitments and the batched
opening's response, the aggregated range proof, the ≠ and ∈ proofs, and the one challenge.
Binary (``to_bytes``) and JSON (``to_json``) carry the same elements; decoding is strict
(canonical base64url, points in G1 and not the identity, scalars < r, no extra or empty
fields) and refuses any version but :data:`PRESENTATION_VERSION` with
"unknown presentation version". See circuits/notes/presentation.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from circuits import constants as k
from circuits.backend import GroupBackend, get_backend
from circuits.bbs import core
from circuits.codec import Reader, Writer, b64d, b64e
from circuits.credentials import canonical_json
from circuits.errors import EncodingError
from circuits.statements.not_equal import NotEqualProof
from circuits.statements.set_membership import SetMembershipProof

#: 3: one plan (every BBS first message before ρ, ≠ and ∈ tagged); 2: Bulletproofs+, one batched opening.
PRESENTATION_VERSION = 3


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
    not_equal: tuple[NotEqualProof, ...]
    sets: tuple[SetMembershipProof, ...]
    challenge: int

    # bytes -------------------------------------------------------------------------------
    def to_bytes(self, backend: GroupBackend | None = None) -> bytes:
        be = backend or get_backend()
        w = Writer()
        w.u8(PRESENTATION_VERSION)
        w.u16(len(self.credentials))
        for cp in self.credentials:
            w.text(cp.definition_id)
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
        ne = tuple(NotEqualProof(r.scalar(), r.scalar()) for _ in range(r.u16()))
        sets = tuple(SetMembershipProof(tuple(r.scalars()), tuple(r.scalars())) for _ in range(r.u16()))
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
                ne.append(NotEqualProof(core.scalar_from_bytes(raw[:32]), core.scalar_from_bytes(raw[32:])))
            sets = []
            for x in data["sets"]:
                raw = b64d(x)
                if len(raw) % 64 != 32 or len(raw) < 96:
                    raise EncodingError("bad set-membership proof length")
                scs = [core.scalar_from_bytes(raw[i : i + 32]) for i in range(0, len(raw), 32)]
                n = (len(scs) + 1) // 2
                sets.append(SetMembershipProof(tuple(scs[: n - 1]), tuple(scs[n - 1 :])))
            challenge = b64d(data["challenge"])
            if len(challenge) != k.SCALAR_BYTES:
                raise EncodingError("bad challenge")
            c = core.scalar_from_bytes(challenge)
            return cls(tuple(creds), commitments, openings, b64d(data["range_proof"]), tuple(ne), tuple(sets), c)
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, EncodingError):
                raise
            raise EncodingError(f"malformed presentation: {e}") from None
