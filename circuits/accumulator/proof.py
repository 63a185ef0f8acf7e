r"""Unlinkable proof that a hidden handle is in the accumulator (DESIGN §6).

Notation as in :mod:`circuits.accumulator.accumulator` (``P1``, ``P2``, ``Q = α·P2``,
value ``V``, handle ``y``, witness ``C`` with ``(y + α)·C = V``). Relation, in
Camenisch–Stadler form::

    PK{ (r, y) :  B̄ = r·V − y·C̄ }   with   e(C̄, Q) = e(B̄, P2),  C̄ ≠ 1

where ``C̄ = r·C`` and ``B̄ = r·V − y·C̄ = r·α·C`` are sent. The pairing equation says
``B̄ = α·C̄``; with the Schnorr relation, ``(y + α)·(r^{-1}·C̄) = V``: whoever answers
knows a witness for ``y`` (soundness argument in circuits/notes/accumulator.md, after
Nguyen CT-RSA 2005 and Vitto–Biryukov CT-RSA 2022 §5).

Prover (:class:`MembershipProver`; every response is ``hat = tilde + c·witness (mod r)``,
the contract of every statement in a presentation, so ``ŷ`` can be shared):

1. ``init``: random ``r, r̃`` (and ``ỹ`` unless the caller passes the BBS proof's
   blinding of the hidden revocation-handle message); ``C̄ = r·C``,
   ``B̄ = r·V − y·C̄``, ``T = r̃·V − ỹ·C̄``.
2. ``append_to(transcript)``: the commitments, in the transcript order below.
3. ``finalize(c)``: ``r̂ = r̃ + c·r``, ``ŷ = ỹ + c·y``; ``ŷ`` is left out of the proof when
   ``ỹ`` was shared (the BBS proof carries the same value as ``m̂_j``).

Verifier:

1. :func:`verify_init`: ``T = r̂·V − ŷ·C̄ − c·B̄`` (``ŷ`` from the BBS proof when
   shared, from this proof otherwise), appended in the same order; the caller
   recomputes the challenge and compares.
2. :func:`check_pairing`: ``C̄ ≠ 1`` and ``e(C̄, Q)·e(B̄, −P2) = 1``.

Transcript order (both sides, :meth:`MembershipCommitments.append_to`)::

    domain_sep(DOMSEP_ACCUMULATOR) · V · C̄ · B̄ · T

``V`` is the statement (the accumulator value at the ledger height the presentation
names) and is bound here as well as wherever the presentation binds it: a proof
computed against one value cannot be replayed against another. ``Q`` belongs to the
credential definition the presentation binds first; the standalone :func:`prove` /
:func:`verify` pair (tests, benchmark) binds it itself before the sub-protocol and
draws its own challenge ``c_acc``.

Wire format of :class:`MembershipProof` (a leading form byte makes the two forms
unambiguous and each has one fixed length)::

    0x00 || C̄ || B̄ || r̂          129 bytes   ŷ shared with the BBS proof
    0x01 || C̄ || B̄ || r̂ || ŷ     161 bytes   ŷ carried here

:class:`StandaloneMembershipProof` is ``c || proof`` in the second form (193 bytes).

>>> from circuits.backend import get_backend
>>> from circuits.transcript import Transcript
>>> from circuits.accumulator.accumulator import setup_registry, issue_witness, handle
>>> be = get_backend()
>>> sk, reg = setup_registry(b"doc", 4, backend=be)
>>> y = handle(b"doc", 2)
>>> C = issue_witness(sk, reg.V0, y, backend=be)
>>> proof = prove(Transcript(b"doc"), C, y, reg.V0, reg.Q, backend=be)
>>> verify(Transcript(b"doc"), proof, reg.V0, reg.Q, backend=be)
>>> len(proof.to_bytes(be))
193

See circuits/notes/accumulator.md.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from circuits import constants as k
from circuits.accumulator.accumulator import random_nonzero_scalar
from circuits.backend import GroupBackend
from circuits.backend.interface import G1, G2
from circuits.bbs.core import g1_from_bytes_nonidentity, scalar_from_bytes, scalar_to_bytes
from circuits.constants import G1_BYTES, SCALAR_BYTES, R
from circuits.errors import EncodingError, ParameterError, VerificationError
from circuits.rng import Rng
from circuits.transcript import Transcript

FORM_SHARED = 0x00
FORM_OWN = 0x01


@dataclass(frozen=True)
class MembershipCommitments:
    """What the membership statement contributes to the transcript, prover and verifier alike."""

    V: G1
    C_bar: G1
    B_bar: G1
    T: G1

    def append_to(self, transcript: Transcript, backend: GroupBackend) -> None:
        """``domain_sep(DOMSEP_ACCUMULATOR) · V · C̄ · B̄ · T`` (C̄, B̄, V never the identity)."""
        transcript.domain_sep(k.DOMSEP_ACCUMULATOR)
        transcript.append_point(k.ACC_LABEL_V, self.V, backend)
        transcript.append_point(k.ACC_LABEL_C_BAR, self.C_bar, backend)
        transcript.append_point(k.ACC_LABEL_B_BAR, self.B_bar, backend)
        transcript.append_point(k.ACC_LABEL_T, self.T, backend, allow_identity=True)


@dataclass(frozen=True)
class MembershipProof:
    """``(C̄, B̄, r̂[, ŷ])``; ``y_hat`` is None when ŷ is shared with the BBS proof."""

    C_bar: G1
    B_bar: G1
    r_hat: int
    y_hat: int | None = None

    SIZE_SHARED = 1 + 2 * G1_BYTES + SCALAR_BYTES
    SIZE_OWN = SIZE_SHARED + SCALAR_BYTES

    @property
    def shares_y(self) -> bool:
        return self.y_hat is None

    def to_bytes(self, be: GroupBackend) -> bytes:
        form = FORM_SHARED if self.shares_y else FORM_OWN
        out = bytes([form]) + be.g1_to_bytes(self.C_bar) + be.g1_to_bytes(self.B_bar) + scalar_to_bytes(self.r_hat)
        return out if self.y_hat is None else out + scalar_to_bytes(self.y_hat)

    @classmethod
    def from_bytes(cls, be: GroupBackend, data: bytes) -> MembershipProof:
        """Strict: a known form byte, that form's exact length, C̄ and B̄ in G1 and not the identity, scalars < r."""
        data = bytes(data)
        if not data or data[0] not in (FORM_SHARED, FORM_OWN):
            raise EncodingError("unknown membership proof form")
        size = cls.SIZE_SHARED if data[0] == FORM_SHARED else cls.SIZE_OWN
        if len(data) != size:
            raise EncodingError(f"a membership proof of form {data[0]} is {size} bytes, got {len(data)}")
        g, s = 1 + G1_BYTES, 1 + 2 * G1_BYTES
        C_bar = g1_from_bytes_nonidentity(be, data[1:g])
        B_bar = g1_from_bytes_nonidentity(be, data[g:s])
        r_hat = scalar_from_bytes(data[s : s + SCALAR_BYTES])
        y_hat = scalar_from_bytes(data[s + SCALAR_BYTES :]) if data[0] == FORM_OWN else None
        return cls(C_bar, B_bar, r_hat, y_hat)


class MembershipProver:
    """Ephemeral prover state (witness and blindings): single use, never serialised or ``repr``'d."""

    __slots__ = ("_backend", "_commitments", "_r", "_r_tilde", "_shared", "_y", "_y_tilde")
    _backend: GroupBackend
    _commitments: MembershipCommitments
    _shared: bool
    _r: int | None  # the secrets below are None once finalize has answered
    _r_tilde: int | None
    _y: int | None
    _y_tilde: int | None

    @classmethod
    def init(
        cls,
        C: G1,
        y: int,
        V: G1,
        *,
        backend: GroupBackend,
        y_tilde: int | None = None,
        rng: Rng = secrets.token_bytes,
    ) -> MembershipProver:
        """Step 1. Pass ``y_tilde`` (the BBS proof's ``m̃`` of the handle) to share ŷ.

        ``C`` is not checked against ``V`` here (that is a pairing): a stale or revoked
        witness gives a proof that fails :func:`check_pairing`. Wallets call
        :func:`~circuits.accumulator.witness.verify_witness` after updating.
        """
        if backend.g1_is_identity(C):
            raise ParameterError("the witness is the identity")
        self = cls.__new__(cls)
        self._backend = backend
        self._shared = y_tilde is not None
        self._y = y = y % R
        self._y_tilde = yt = y_tilde % R if y_tilde is not None else random_nonzero_scalar(rng)
        self._r = r = random_nonzero_scalar(rng)
        self._r_tilde = rt = random_nonzero_scalar(rng)
        C_bar = backend.g1_mul(C, r)
        B_bar = backend.g1_msm([V, C_bar], [r, (-y) % R])
        T = backend.g1_msm([V, C_bar], [rt, (-yt) % R])
        self._commitments = MembershipCommitments(V, C_bar, B_bar, T)
        return self

    def commitments(self) -> MembershipCommitments:
        return self._commitments

    def append_to(self, transcript: Transcript) -> None:
        """Step 2: append the commitments in the documented order."""
        self._commitments.append_to(transcript, self._backend)

    def finalize(self, c: int) -> MembershipProof:
        """Step 3: the responses for challenge ``c``; the blindings are then discarded."""
        r, r_tilde, y, y_tilde = self._r, self._r_tilde, self._y, self._y_tilde
        if r is None or r_tilde is None or y is None or y_tilde is None:
            raise ValueError("a MembershipProver answers one challenge only")
        r_hat = (r_tilde + c * r) % R
        y_hat = None if self._shared else (y_tilde + c * y) % R
        self._r = self._r_tilde = self._y = self._y_tilde = None
        cm = self._commitments
        return MembershipProof(cm.C_bar, cm.B_bar, r_hat, y_hat)

    def __repr__(self) -> str:
        return "MembershipProver(<secret>)"


def verify_init(
    proof: MembershipProof, V: G1, Q: G2, c: int, *, backend: GroupBackend, y_hat: int | None = None
) -> MembershipCommitments:
    """Verifier step 1: recompute ``T = r̂·V − ŷ·C̄ − c·B̄`` for challenge ``c``.

    ``y_hat`` is the BBS proof's response for the hidden handle when ŷ is shared; then the
    proof must not carry one, and when it is not shared the proof must. ``Q`` is the
    registry key the pairing check will use; it must not be the identity.
    """
    if backend.g2_is_identity(Q):
        raise ParameterError("registry key Q is the identity")
    if y_hat is None:
        if proof.y_hat is None:
            raise VerificationError("membership proof has no ŷ and none is shared")
        y_hat = proof.y_hat
    elif proof.y_hat is not None:
        raise VerificationError("membership proof carries ŷ although it is shared")
    if backend.g1_is_identity(proof.C_bar) or backend.g1_is_identity(proof.B_bar):
        raise VerificationError("C̄ or B̄ is the identity")
    T = backend.g1_msm([V, proof.C_bar, proof.B_bar], [proof.r_hat, (-y_hat) % R, (-c) % R], public=True)
    return MembershipCommitments(V, proof.C_bar, proof.B_bar, T)


def check_pairing(proof: MembershipProof, Q: G2, *, backend: GroupBackend) -> None:
    """Verifier step 2: ``C̄ ≠ 1`` and ``e(C̄, Q) = e(B̄, P2)``, or VerificationError."""
    if backend.g1_is_identity(proof.C_bar):
        raise VerificationError("C̄ is the identity")
    if not backend.pairing_check([(proof.C_bar, Q), (proof.B_bar, backend.g2_neg(backend.g2_generator()))]):
        raise VerificationError("membership pairing check fails")


# Standalone statement: its own challenge (tests, benchmark, before presentations compose it)


@dataclass(frozen=True)
class StandaloneMembershipProof:
    """A membership proof with its own challenge: ``c || proof`` (proof in the ŷ-carrying form)."""

    challenge: int
    proof: MembershipProof

    SIZE = SCALAR_BYTES + MembershipProof.SIZE_OWN

    def to_bytes(self, be: GroupBackend) -> bytes:
        return scalar_to_bytes(self.challenge) + self.proof.to_bytes(be)

    @classmethod
    def from_bytes(cls, be: GroupBackend, data: bytes) -> StandaloneMembershipProof:
        """Strict: exact length, ``c < r``, and an inner proof that carries ŷ."""
        data = bytes(data)
        if len(data) != cls.SIZE:
            raise EncodingError(f"a standalone membership proof is {cls.SIZE} bytes, got {len(data)}")
        proof = MembershipProof.from_bytes(be, data[SCALAR_BYTES:])
        if proof.shares_y:
            raise EncodingError("a standalone membership proof must carry ŷ")
        return cls(scalar_from_bytes(data[:SCALAR_BYTES]), proof)


def prove(
    transcript: Transcript,
    C: G1,
    y: int,
    V: G1,
    Q: G2,
    *,
    backend: GroupBackend,
    rng: Rng = secrets.token_bytes,
) -> StandaloneMembershipProof:
    """Append ``Q``, run the prover, draw ``c_acc``: a proof with its own challenge."""
    transcript.append(k.ACC_LABEL_Q, backend.g2_to_bytes(Q))
    prover = MembershipProver.init(C, y, V, backend=backend, rng=rng)
    prover.append_to(transcript)
    c = transcript.challenge_scalar(k.ACC_LABEL_CHALLENGE)
    return StandaloneMembershipProof(c, prover.finalize(c))


def verify(transcript: Transcript, proof: StandaloneMembershipProof, V: G1, Q: G2, *, backend: GroupBackend) -> None:
    """The counterpart of :func:`prove`: None, or VerificationError."""
    transcript.append(k.ACC_LABEL_Q, backend.g2_to_bytes(Q))
    commitments = verify_init(proof.proof, V, Q, proof.challenge, backend=backend)
    commitments.append_to(transcript, backend)
    if transcript.challenge_scalar(k.ACC_LABEL_CHALLENGE) != proof.challenge:
        raise VerificationError("membership proof challenge does not match")
    check_pairing(proof.proof, Q, backend=backend)
