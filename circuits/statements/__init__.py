r"""The statements of a presentation, one module each, on one interface (DESIGN §5 "One Sigma engine").

=========================  ===============================  =====================================
module                     statement                        technique
=========================  ===============================  =====================================
:mod:`.credential`         BBS signature, disclosed values  BBS ProofGen (the draft's, composable)
:mod:`.opening`            ``C_i`` commit to signed values  batched opening, linear relation
:mod:`.range`              ``a ≥ t``, ``a ≤ t``, expiry     Bulletproofs+ (the one non-Sigma one)
:mod:`.linear_predicate`   ``Σ c_i·a_i ≥ t`` (≤ = between) ``Σ c_i·C_i`` + range values
:mod:`.not_equal`          ``a ≠ t``, ``a ∉ {…}``            linear relation ``G = u·V + w·H``
:mod:`.set_membership`     ``a ∈ {…}``                      CDS OR of linear relations
:mod:`.equality`           equal hidden values, link secret shared blinding, equal responses
:mod:`.membership`         not revoked                      accumulator, linear relation + pairing
:mod:`.pseudonym`          per-verifier pseudonym           linear relation ``P = s·OP``
:mod:`.escrow`             hidden value to an auditor       ElGamal in G1, linear relation
=========================  ===============================  =====================================

:mod:`.base` fixes the interface (``tag``, ``absorb``, ``prove`` → ``respond``, ``replay``)
and the state prover and verifier share; :mod:`.linear` runs the linear-relation Sigma
protocol on the sigma draft's instance (:class:`circuits.sigma.LinearRelation`);
:mod:`.plan` compiles a request into the statements in transcript order — the one place
that order is written. Every tag and label is in :mod:`circuits.constants`.
"""

from circuits.statements.base import (
    PresentationRejected,
    ProverState,
    Responses,
    Statement,
    UnsatisfiableError,
    VerifierState,
)
from circuits.statements.linear import LinearRelation
from circuits.statements.plan import Plan, RangeSpec, compile_plan, range_bits

__all__ = [
    "LinearRelation",
    "Plan",
    "PresentationRejected",
    "ProverState",
    "RangeSpec",
    "Responses",
    "Statement",
    "UnsatisfiableError",
    "VerifierState",
    "compile_plan",
    "range_bits",
]
