"""Bulletproofs+ range proofs over BLS12-381 G1 (Chung et al. 2020, after Bünz et al. 2018).

Public surface: :class:`RangeProof`, :func:`prove`, :func:`verify` (aggregated over
``m`` values of ``n ∈ {8, 16, 32, 64}`` bits) and the weighted inner-product argument
they use. Modules: ``generators`` (hash_to_curve bases, prepared for MSM),
``inner_product`` (§3, the zero-knowledge weighted inner-product argument),
``range_proof`` (§4). The why, with the math: circuits/notes/range-proof.md.
"""

from circuits.bulletproofs.inner_product import WeightedInnerProductProof
from circuits.bulletproofs.range_proof import RangeProof, prove, verify

__all__ = ["RangeProof", "WeightedInnerProductProof", "prove", "verify"]
