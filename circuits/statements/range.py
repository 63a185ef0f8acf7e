r"""Statement: every range predicate (expiry included), one aggregated Bulletproofs+ proof.

The one non-Sigma argument of a presentation. For range statement ``j`` on commitment
``C_i = a·G + s·H`` with threshold ``t``::

    a ≥ t:  V_j = C_i − t·G = (a − t)·G + s·H       a ≤ t:  V_j = t·G − C_i = (t − a)·G − s·H

(a linear predicate's bound uses its combination ``C_L`` for ``C_i``:
:mod:`circuits.statements.linear_predicate`)

and one proof of ``PK{(v_j, γ_j)_j : ∧_j V_j = v_j·G + γ_j·H ∧ 0 ≤ v_j < 2^n}``
(:mod:`circuits.bulletproofs.range_proof`). The verifier derives every ``V_j`` from the
bound ``C_i`` and the request's threshold, never reads one; ``n`` is the largest size any
statement needs (:func:`circuits.statements.plan.range_bits`), known to both sides.

It runs on the presentation's transcript: its own tag and labels
(``dom-sep(DOMSEP_RANGE_PROOF, n, m)``, ``V``, ``A``, ``y``, ``z``, the weighted
inner-product rounds) are appended by the range-proof module; this statement then appends
``range-proof`` = the proof's bytes, so its final scalars are bound too. Its challenges
``y, z, e_k`` are drawn from the same transcript — a multi-round public-coin protocol
inside the one Fiat–Shamir transcript (circuits/notes/presentation.md).
"""

from __future__ import annotations

from collections.abc import Callable

from circuits import constants as k
from circuits.backend.interface import G1
from circuits.constants import R
from circuits.statements.base import ProverState, Responses, Statement, VerifierState, reject_on
from circuits.statements.plan import RangeSpec
from circuits.transcript import Transcript


class Range(Statement):
    tag = k.DOMSEP_RANGE_PROOF

    def absorb(self, t: Transcript, proof_bytes: bytes) -> None:
        """After the range proof ran on ``t`` (it appends ``dom-sep(tag, n, m)`` and its own labels)."""
        t.append(k.PRES_LABEL_RANGE_PROOF, proof_bytes)

    def prove(self, p: ProverState, t: Transcript) -> Callable[[int, Responses], None]:
        from circuits.bulletproofs import range_proof

        values, blindings = [], []
        for rg in p.plan.ranges:
            a, s = committed(p, rg)
            values.append(a - rg.t if rg.lower else rg.t - a)
            blindings.append(s if rg.lower else (-s) % R)
        proof, _ = range_proof.prove(t, values, blindings, p.plan.range_bits(), backend=p.be, rng=p.rng)
        proof_bytes = proof.to_bytes(p.be)
        self.absorb(t, proof_bytes)

        def respond(c: int, out: Responses) -> None:
            out.range_proof = proof_bytes

        return respond

    def replay(self, v: VerifierState, t: Transcript) -> None:
        from circuits.bulletproofs import range_proof

        be, plan, pres = v.be, v.plan, v.presentation
        n, m = plan.range_bits(), len(plan.ranges)

        def check() -> None:
            proof = range_proof.RangeProof.from_bytes(be, pres.range_proof, n, m, msm_only=True)
            range_proof.verify(t, proof, _derived_commitments(v), n, backend=be)

        reject_on("range_proof", check)
        self.absorb(t, pres.range_proof)


def committed(p: ProverState, rg: RangeSpec) -> tuple[int, int]:
    """The integer ``a`` and blinding ``s`` behind ``rg``'s commitment (``C_i``, or a linear predicate's ``C_L``)."""
    if rg.linear is None:
        ci, idx = p.plan.commits[rg.commit]
        return p.msgs[ci][idx], p.blindings[rg.commit]
    terms = p.plan.linear[rg.linear].terms
    a = sum(c * p.msgs[ci][idx] for (ci, idx), c in ((p.plan.commits[i], c) for i, c in terms))
    return a, sum(c * p.blindings[i] for i, c in terms) % R


def _derived_commitments(v: VerifierState) -> list[G1]:
    """``V_j = C_i − t·G`` (a ≥ t) or ``t·G − C_i`` (a ≤ t), from the bound ``C_i`` and the request's ``t``."""
    be, out = v.be, list[G1]()
    for rg in v.plan.ranges:
        C = v.presentation.commitments[rg.commit] if rg.linear is None else v.combined[rg.linear]
        out.append(
            be.g1_msm([C, v.G], [1, -rg.t % R], public=True)
            if rg.lower
            else be.g1_msm([v.G, C], [rg.t, R - 1], public=True)
        )
    return out
