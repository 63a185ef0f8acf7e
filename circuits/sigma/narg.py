r"""The Sigma protocol for linear relations and its two NARG strings (draft-irtf-cfrg-sigma-protocols).

Relation: ``PK{(w_0, …, w_{n−1}): image(instance) = map(instance, w)}`` for a
:class:`~circuits.sigma.linear_relation.LinearRelation` over G1 (Maurer proof).

Interactive protocol (§"The Sigma Protocol"):

1. ``ProverCommitment``: nonces ``k_j = random_scalar(rng)``; commitment ``T = map(k)``.
2. The verifier sends a uniform challenge ``c``.
3. ``ProverResponse``: ``s_j = k_j + c·w_j``.
4. ``Verifier``: ``map(s) == T + c·image``, equation by equation (here as one MSM per
   equation: ``Σ s·M − c·image`` compared with ``T_i``).

Simulator (§"Simulator"): ``s`` uniform, ``T = map(s) − c·image``.

Fiat–Shamir (§"Non-interactive Sigma Protocols", and draft-irtf-cfrg-fiat-shamir)::

    DeriveChallenge(tag, instance, T_bytes):
        sponge = Init(DeriveSessionID(tag))
        sponge.Absorb(SerializeLinearRelation(instance))
        sponge.Absorb(T_bytes)
        return DecodeField(sponge.Squeeze(48), r, 1)

- **batchable** NARG string ``Group.serialize(T) || Scalar.serialize(s)``
  (``48·num_equations + 32·num_scalars`` bytes); verified by deserializing ``T`` and ``s``
  (strictly), re-deriving ``c`` and running ``Verifier``.
- **compact** NARG string ``Scalar.serialize([c]) || Scalar.serialize(s)``
  (``32·(num_scalars + 1)`` bytes); verified by simulating ``T`` from ``(c, s)``,
  refusing an identity in ``T``, re-deriving ``c'`` and requiring ``c' == c``.
- **batch verification** of batchable strings (§"Batch verification"): one random linear
  combination of every equation of every proof, the weights squeezed from a fresh sponge
  over ``DeriveSessionID("irtf-cfrg-sigma-protocols/batch-verify")`` after absorbing every
  session id, instance and NARG string (16 bytes ``LE2IP`` per equation, no reduction).

The tag names the flavor and the ciphersuite (§"Tag and session identifier"): it must
contain ``DSFS`` (batchable) or ``CMPT`` (compact) and ``sigma-proofs_Shake128_BLS12381``.

Departures from house style (STYLE §2.4), both for the draft's sake: ``verify_*``,
``batch_verify`` and :func:`verify_narg` return ``bool`` as the draft's algorithms do
(and :func:`verify_narg` never raises); the raising forms are ``check_*``. Provers take
``rng(n) -> bytes`` (default :func:`secrets.token_bytes`), the draft's byte-oriented
randomness, so the appendix's seeded duplex-sponge PRNG plugs in unchanged.

Notes, the validation rules and the vectors: circuits/notes/sigma-protocols.md.

>>> from circuits.backend import get_backend
>>> from circuits.sigma.linear_relation import GENERATOR, LinearRelation
>>> be = get_backend("py_ecc")
>>> rel = LinearRelation(be); x = rel.allocate_scalar()
>>> X = rel.allocate_element(be.g1_mul(be.g1_generator(), 7))
>>> rel.append_equation(image=[(X, 1)], terms=[(x, GENERATOR, 1)])
>>> tag = b"zkcred-doctest-CMPT-with-sigma-proofs_Shake128_BLS12381"
>>> narg = prove_compact(tag, rel, [7])
>>> verify_narg(tag, rel.to_bytes(), narg, "compact", backend=be), verify_narg(tag, rel.to_bytes(), narg, "batchable")
(True, False)
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence

from circuits.backend import GroupBackend
from circuits.backend.interface import G1
from circuits.constants import G1_GENERATOR, SIGMA_BATCH_VERIFY_TAG, SIGMA_CIPHERSUITE_ID, SIGMA_FLAVOR_MARKERS, R
from circuits.errors import EncodingError, IdentityPointError, ParameterError, VerificationError, ZkCredError
from circuits.sigma.codec import (
    NE,
    NS,
    Rng,
    decode_challenge,
    deserialize_elements,
    deserialize_scalars,
    le2ip,
    random_scalar,
    scalar_to_bytes,
    serialize_elements,
    serialize_scalars,
)
from circuits.sigma.duplex_sponge import DuplexSponge, derive_session_id
from circuits.sigma.linear_relation import LinearRelation

__all__ = [
    "BATCH_VERIFY_TAG",
    "CIPHERSUITE_ID",
    "FLAVORS",
    "ProverState",
    "prover_commitment",
    "prover_response",
    "verifier",
    "simulate_response",
    "simulate_commitment",
    "derive_challenge",
    "check_tag",
    "prove_batchable",
    "prove_compact",
    "check_batchable",
    "check_compact",
    "verify_batchable",
    "verify_compact",
    "check_batch",
    "batch_verify",
    "verify_narg",
]

#: The ciphersuite identifier, verbatim in every tag (§"Ciphersuites").
CIPHERSUITE_ID = SIGMA_CIPHERSUITE_ID
#: The flavor markers a tag must carry (§"Tag and session identifier").
FLAVORS = SIGMA_FLAVOR_MARKERS
#: The tag of the batching-randomness sponge (§"Batch verification").
BATCH_VERIFY_TAG = SIGMA_BATCH_VERIFY_TAG
_U32 = 1 << 32


# The interactive Sigma protocol -------------------------------------------------------------


class ProverState:
    """``prover_state = (witness, nonces)``: single use, never repr'd (§"Prover commitment")."""

    __slots__ = ("_witness", "_nonces")

    def __init__(self, witness: list[int], nonces: list[int]) -> None:
        self._witness: list[int] | None = witness
        self._nonces: list[int] | None = nonces

    def __repr__(self) -> str:
        return "ProverState(<secret>)" if self._nonces is not None else "ProverState(<spent>)"


def _check_witness(instance: LinearRelation, witness: Sequence[int]) -> list[int]:
    if len(witness) != instance.num_scalars:
        raise ParameterError(f"the witness has {len(witness)} scalars, the instance {instance.num_scalars}")
    out = []
    for w in witness:
        if not isinstance(w, int) or isinstance(w, bool) or not 0 <= w < R:
            raise ParameterError("every witness scalar is an int in [0, r)")
        out.append(w)
    return out


def prover_commitment(
    instance: LinearRelation, witness: Sequence[int], rng: Rng = secrets.token_bytes
) -> tuple[list[G1], ProverState]:
    """``ProverCommitment``: refuses an invalid instance (the draft's SHOULD) and a witness of the
    wrong length (its MUST); nonces from ``rng``."""
    instance.validate()
    w = _check_witness(instance, witness)
    nonces = [random_scalar(rng) for _ in range(instance.num_scalars)]
    return instance.map(nonces), ProverState(w, nonces)


def prover_response(state: ProverState, challenge: int) -> list[int]:
    """``ProverResponse``: ``s_j = k_j + c·w_j``; the state is wiped and cannot be used again."""
    witness, nonces = state._witness, state._nonces
    if witness is None or nonces is None:
        raise ParameterError("a prover state is used at most once")
    state._witness = state._nonces = None
    if len(witness) != len(nonces):
        raise ParameterError("witness and nonces differ in length")
    return [(k + w * challenge) % R for k, w in zip(nonces, witness, strict=True)]


def _equation_check(instance: LinearRelation, response: Sequence[int], challenge: int, public: bool) -> list[G1]:
    """``map(s)[i] − c·image[i]`` for every equation, one MSM each (§"Efficiency Considerations")."""
    out = []
    for eq in instance.equations:
        pairs = [(e, c * response[s]) for s, e, c in eq.terms] + [(e, -challenge * c) for e, c in eq.image]
        out.append(instance._combine(pairs, public=public))
    return out


def verifier(instance: LinearRelation, commitment: Sequence[G1], challenge: int, response: Sequence[int]) -> bool:
    """``Verifier``: instance validity, transcript shape, then ``map(s) == T + c·image``."""
    try:
        instance.validate()
    except ZkCredError:
        return False
    if len(commitment) != instance.num_equations or len(response) != instance.num_scalars:
        return False
    if not all(isinstance(k, int) and 0 <= k < R for k in (challenge, *response)):
        return False  # scalars are canonical here too, as Scalar.deserialize would make them
    be = instance.backend
    checks = _equation_check(instance, response, challenge, public=True)
    return all(be.g1_eq(a, b) for a, b in zip(checks, commitment, strict=True))


def simulate_response(instance: LinearRelation, rng: Rng = secrets.token_bytes) -> tuple[list[int], LinearRelation]:
    """``SimulateResponse``: ``num_scalars`` uniform scalars; the simulator state is the instance."""
    return [random_scalar(rng) for _ in range(instance.num_scalars)], instance


def simulate_commitment(
    instance: LinearRelation, response: Sequence[int], challenge: int, *, public: bool = False
) -> list[G1]:
    """``SimulateCommitment``: ``T_i = map(s)[i] − c·image[i]``, the commitment that makes ``(T, c, s)`` accept.

    Scalars are secret by default: a prover simulating OR branches (and computing its real
    branch the same way, with ``c = 0``) must not show which is which (§"Constant-Time
    Requirements"; a public ``0·image`` term would be skipped). Verifiers, whose inputs
    are public, pass ``public=True`` (the compact verifier does).
    """
    if len(response) != instance.num_scalars:
        raise ParameterError(f"a response has {instance.num_scalars} scalars")
    return _equation_check(instance, response, challenge, public)


# Fiat–Shamir ---------------------------------------------------------------------------------


def check_tag(tag: bytes, flavor: str) -> None:
    """The tag carries its flavor marker (and not the other one) and the ciphersuite id, verbatim."""
    if not isinstance(tag, (bytes, bytearray)):
        raise TypeError("a tag is bytes")
    if flavor not in FLAVORS:
        raise ParameterError(f"flavor is 'batchable' or 'compact', not {flavor!r}")
    other = FLAVORS["compact" if flavor == "batchable" else "batchable"]
    if FLAVORS[flavor] not in tag or other in tag:
        raise ParameterError(f"a {flavor} tag contains {FLAVORS[flavor].decode()} and not {other.decode()}")
    if CIPHERSUITE_ID not in tag:
        raise ParameterError(f"the tag does not name the ciphersuite {CIPHERSUITE_ID.decode()}")


def _instance_sponge(tag: bytes, instance: LinearRelation) -> DuplexSponge:
    sponge = DuplexSponge(derive_session_id(bytes(tag)))
    sponge.absorb(instance.to_bytes())
    return sponge


def derive_challenge(tag: bytes, instance: LinearRelation, commitment_bytes: bytes) -> int:
    """``DeriveChallenge``: session id from the tag, then the instance, then the commitment."""
    sponge = _instance_sponge(tag, instance)
    sponge.absorb(commitment_bytes)
    return decode_challenge(sponge.squeeze(NS + 16))


def _prove(tag: bytes, instance: LinearRelation, witness: Sequence[int], rng: Rng, flavor: str) -> bytes:
    check_tag(tag, flavor)
    instance.validate()
    w = _check_witness(instance, witness)
    be = instance.backend
    # The draft's MAY (§"Instance validation"): a witness outside the relation is refused here,
    # so the caller learns of it before a proof that cannot verify leaves the prover.
    if not all(be.g1_eq(a, b) for a, b in zip(instance.map(w), instance.image(), strict=True)):
        raise ParameterError("the witness does not satisfy the relation")
    commitment, state = prover_commitment(instance, w, rng)
    commitment_bytes = serialize_elements(be, commitment)
    challenge = derive_challenge(tag, instance, commitment_bytes)
    response = prover_response(state, challenge)
    if flavor == "batchable":
        return commitment_bytes + serialize_scalars(response)
    return scalar_to_bytes(challenge) + serialize_scalars(response)


def prove_batchable(
    tag: bytes, instance: LinearRelation, witness: Sequence[int], *, rng: Rng = secrets.token_bytes
) -> bytes:
    """``ProveBatchable``: ``Group.serialize(T) || Scalar.serialize(s)``."""
    return _prove(tag, instance, witness, rng, "batchable")


def prove_compact(
    tag: bytes, instance: LinearRelation, witness: Sequence[int], *, rng: Rng = secrets.token_bytes
) -> bytes:
    """``ProveCompact``: ``Scalar.serialize([c]) || Scalar.serialize(s)``."""
    return _prove(tag, instance, witness, rng, "compact")


def _parse_batchable(instance: LinearRelation, narg: bytes) -> tuple[list[G1], list[int]]:
    expected = NE * instance.num_equations + NS * instance.num_scalars
    if len(narg) != expected:
        raise EncodingError(f"a batchable NARG string for this instance is {expected} bytes, got {len(narg)}")
    commitment, rest = deserialize_elements(instance.backend, narg, instance.num_equations)
    response, rest = deserialize_scalars(rest, instance.num_scalars)
    if rest:  # unreachable after the length check; kept as the draft's end-of-input rule
        raise EncodingError("trailing bytes after the last prover message")
    return commitment, response


def check_batchable(tag: bytes, instance: LinearRelation, narg: bytes) -> None:
    """``VerifyBatchable``, raising: EncodingError (bytes), ParameterError (tag/instance), VerificationError."""
    check_tag(tag, "batchable")
    instance.validate()
    commitment, response = _parse_batchable(instance, narg)
    challenge = derive_challenge(tag, instance, bytes(narg[: NE * instance.num_equations]))
    if not verifier(instance, commitment, challenge, response):
        raise VerificationError("the batchable NARG string does not verify")


def check_compact(tag: bytes, instance: LinearRelation, narg: bytes) -> None:
    """``VerifyCompact``, raising: recompute ``T`` with the simulator, refuse an identity, compare challenges."""
    check_tag(tag, "compact")
    instance.validate()
    expected = NS * (instance.num_scalars + 1)
    if len(narg) != expected:
        raise EncodingError(f"a compact NARG string for this instance is {expected} bytes, got {len(narg)}")
    (challenge,), rest = deserialize_scalars(narg, 1)
    response, rest = deserialize_scalars(rest, instance.num_scalars)
    commitment = simulate_commitment(instance, response, challenge, public=True)
    if any(instance.backend.g1_is_identity(t) for t in commitment):
        raise IdentityPointError("the recomputed commitment contains the identity")
    commitment_bytes = serialize_elements(instance.backend, commitment)
    if derive_challenge(tag, instance, commitment_bytes) != challenge:
        raise VerificationError("the compact NARG string does not verify")


def verify_batchable(tag: bytes, instance: LinearRelation, narg: bytes) -> bool:
    """``VerifyBatchable(tag, instance, narg_string)`` as the draft states it: a boolean."""
    return _as_bool(check_batchable, tag, instance, narg)


def verify_compact(tag: bytes, instance: LinearRelation, narg: bytes) -> bool:
    """``VerifyCompact(tag, instance, narg_string)`` as the draft states it: a boolean."""
    return _as_bool(check_compact, tag, instance, narg)


def _as_bool(check: Callable[..., None], *args: object) -> bool:
    try:
        check(*args)
    except (ZkCredError, TypeError, ValueError):
        return False
    return True


# Batch verification ----------------------------------------------------------------------------


def check_batch(items: Sequence[tuple[bytes, LinearRelation, bytes]]) -> None:
    """Batch-verify batchable NARG strings ``(tag, instance, narg)``, raising on failure.

    Every instance is validated and every challenge derived with ``DeriveChallenge``;
    the weights come from a fresh sponge that has absorbed every session id, instance and
    NARG string (responses included) before it squeezes. An empty batch is valid; the
    batch size must be below ``2^32``. A failure does not say which string is bad.
    """
    items = list(items)
    if len(items) >= _U32:
        raise ParameterError("a batch holds fewer than 2^32 NARG strings")
    if not items:
        return
    backends = {id(instance.backend) for _, instance, _ in items}
    if len(backends) != 1:
        raise ParameterError("every instance of a batch uses the same backend")
    be = items[0][1].backend
    sponge = DuplexSponge(derive_session_id(BATCH_VERIFY_TAG))
    parsed = []
    for tag, instance, narg in items:
        check_tag(tag, "batchable")
        instance.validate()
        commitment, response = _parse_batchable(instance, narg)
        challenge = derive_challenge(tag, instance, bytes(narg[: NE * instance.num_equations]))
        instance_bytes = instance.to_bytes()
        parsed.append((instance, instance_bytes, commitment, response, challenge))
        sponge.absorb(derive_session_id(bytes(tag)))
        sponge.absorb(instance_bytes)
        sponge.absorb(bytes(narg))
    total = sum(instance.num_equations for instance, *_ in parsed)
    weights_bytes = sponge.squeeze(16 * total)
    weights = [le2ip(weights_bytes[16 * k : 16 * (k + 1)]) for k in range(total)]
    # Σ_ij ρ_ij·(T_ij + c_i·image_ij − map_ij(s_i)) == identity, as one MSM. The coefficient
    # of each instance element is summed over its equations and, keyed by its encoding (the
    # tail of the instance bytes), over the whole batch: the generator, and any base the
    # instances share, costs one multiplication for the batch.
    points, scalars, k = [], [], 0
    shared: dict[bytes, tuple[G1, int]] = {}
    for instance, instance_bytes, commitment, response, challenge in parsed:
        acc: dict[int, int] = {}
        for eq, t in zip(instance.equations, commitment, strict=True):
            rho = weights[k]
            k += 1
            points.append(t)
            scalars.append(rho)
            for e, c in eq.image:
                acc[e] = (acc.get(e, 0) + rho * challenge * c) % R
            for s, e, c in eq.terms:
                acc[e] = (acc.get(e, 0) - rho * c * response[s]) % R
        tail = len(instance_bytes) - NE * (instance.num_elements - 1)
        elements = instance.elements
        for e, v in acc.items():
            key = G1_GENERATOR if e == 0 else instance_bytes[tail + NE * (e - 1) : tail + NE * e]
            point, total = shared.get(key, (elements[e], 0))
            shared[key] = (point, (total + v) % R)
    points += [point for point, _ in shared.values()]
    scalars += [total for _, total in shared.values()]
    if not be.g1_is_identity(be.g1_msm(points, scalars, public=True)):
        raise VerificationError("the batch does not verify")


def batch_verify(items: Sequence[tuple[bytes, LinearRelation, bytes]]) -> bool:
    """Batch verification of batchable NARG strings ``(tag, instance, narg)``: one boolean for all."""
    return _as_bool(check_batch, items)


# The public entry point ---------------------------------------------------------------------------


def verify_narg(
    tag: bytes | str, instance: bytes, narg: bytes, flavor: str, *, backend: GroupBackend | None = None
) -> bool:
    """Verify a NARG string against a serialized instance; False — never an exception — on any bad input.

    ``instance`` is ``SerializeLinearRelation`` output, parsed with every rule of
    §"Serialization" and §"Instance validation"; ``flavor`` is ``"batchable"`` or
    ``"compact"`` and must match the tag's marker. The tag is bytes; a ``str`` is taken
    as its UTF-8 bytes (the vectors write ``Tag`` as text).
    """
    try:
        if isinstance(tag, str):
            tag = tag.encode("utf-8")
        if not all(isinstance(x, (bytes, bytearray)) for x in (tag, instance, narg)):
            return False
        if not isinstance(flavor, str) or flavor not in FLAVORS:
            return False
        check_tag(tag, flavor)
        relation = LinearRelation.from_bytes(bytes(instance), backend)
        (check_batchable if flavor == "batchable" else check_compact)(bytes(tag), relation, bytes(narg))
    except Exception:  # the contract is a boolean: any failure is a rejection (tests pin the raised types)
        return False
    return True
