"""The draft's example relations (draft-irtf-cfrg-sigma-protocols, BLS12-381 vectors), built as its vectors build them.

:func:`vector_relation` compiles each of the seven relations of the shared vectors
(discrete_logarithm, dleq, pedersen_commitment, pedersen_commitment_dleq,
bbs_blind_commitment_computation, elgamal_decryption, dleq_derived_element) with the
allocation API, drawing its scalars from ``rng`` in the vectors' order (bases, then
witness). With the appendix's seeded PRNG the tests reproduce the vectors' ``Instance``
bytes from it; ``python -m bench sigma`` measures the same relations with :mod:`secrets`.
One copy, so the relations measured are the relations tested.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from circuits.backend import GroupBackend
from circuits.backend.interface import G1
from circuits.sigma.codec import random_scalar
from circuits.sigma.linear_relation import GENERATOR, LinearRelation

#: The relations of the shared vectors, in the order the bench reports them.
RELATIONS = (
    "discrete_logarithm",
    "dleq",
    "pedersen_commitment",
    "pedersen_commitment_dleq",
    "bbs_blind_commitment_computation",
    "elgamal_decryption",
    "dleq_derived_element",
)


def vector_relation(
    be: GroupBackend, relation: str, rng: Callable[[int], bytes] = secrets.token_bytes
) -> tuple[LinearRelation, list[int]]:
    """``relation`` as the vectors compile it; scalars from ``rng`` in the vectors' order (bases, then witness)."""
    G = be.g1_generator()

    def scalar() -> int:
        return random_scalar(rng)

    def base() -> G1:
        return be.g1_mul(G, scalar())

    rel = LinearRelation(be)
    if relation == "discrete_logarithm":
        x = scalar()
        s_x = rel.allocate_scalar()
        X = rel.allocate_element(be.g1_mul(G, x))
        rel.append_equation([(X, 1)], [(s_x, GENERATOR, 1)])
        return rel, [x]
    if relation in ("dleq", "dleq_derived_element"):
        H_point = base()
        x = scalar()
        s_x = rel.allocate_scalar()
        X = rel.allocate_element(be.g1_mul(G, x))
        H = rel.allocate_element(H_point)
        Y = rel.allocate_element(be.g1_mul(H_point, x))
        rel.append_equation([(X, 1)], [(s_x, GENERATOR, 1)])
        rel.append_equation([(Y, 1)], [(s_x, H, 1)])
        return rel, [x]
    if relation == "pedersen_commitment":
        H_point = base()
        m, r = scalar(), scalar()
        s_m, s_r = rel.allocate_scalars(2)
        H = rel.allocate_element(H_point)
        C = rel.allocate_element(be.g1_msm([G, H_point], [m, r]))
        rel.append_equation([(C, 1)], [(s_m, GENERATOR, 1), (s_r, H, 1)])
        return rel, [m, r]
    if relation == "pedersen_commitment_dleq":
        bases = [base() for _ in range(4)]
        x0, x1 = scalar(), scalar()
        s0, s1 = rel.allocate_scalars(2)
        G0, G1 = rel.allocate_elements(bases[:2])
        X = rel.allocate_element(be.g1_msm(bases[:2], [x0, x1]))
        G2, G3 = rel.allocate_elements(bases[2:])
        Y = rel.allocate_element(be.g1_msm(bases[2:], [x0, x1]))
        rel.append_equation([(X, 1)], [(s0, G0, 1), (s1, G1, 1)])
        rel.append_equation([(Y, 1)], [(s0, G2, 1), (s1, G3, 1)])
        return rel, [x0, x1]
    if relation == "bbs_blind_commitment_computation":
        bases = [base() for _ in range(4)]  # Q2, J1, J2, J3
        msgs = [scalar() for _ in range(3)]
        witness = [scalar(), *msgs]  # blind, msg_1, msg_2, msg_3
        scalars = rel.allocate_scalars(4)
        idx = rel.allocate_elements(bases)
        C = rel.allocate_element(be.g1_msm(bases, witness))
        rel.append_equation([(C, 1)], [(s, e, 1) for s, e in zip(scalars, idx, strict=True)])
        return rel, witness
    if relation == "elgamal_decryption":
        x, r = scalar(), scalar()
        M_point = base()
        X_point = be.g1_mul(G, x)
        s_x = rel.allocate_scalar()
        X = rel.allocate_element(X_point)
        E0 = rel.allocate_element(be.g1_mul(G, r))
        E1 = rel.allocate_element(be.g1_add(be.g1_mul(X_point, r), be.g1_neg(M_point)))
        M = rel.allocate_element(M_point)
        rel.append_equation([(X, 1)], [(s_x, GENERATOR, 1)])
        rel.append_equation([(M, 1), (E1, 1)], [(s_x, E0, 1)])  # M = x·E0 − E1: −E1 crosses over
        return rel, [x]
    raise KeyError(relation)
