"""IETF BBS signatures (draft-irtf-cfrg-bbs-signatures), both ciphersuites.

The octet-string interface (:mod:`circuits.bbs.api`) on top; the core operations over
scalars, with ProofGen split into init / challenge / finalize, in :mod:`circuits.bbs.core`.
"""

from circuits.bbs.api import keygen, messages_to_scalars, proof_gen, proof_verify, sign, sk_to_pk, verify
from circuits.bbs.suite import SHA256, SHAKE256, Ciphersuite

__all__ = [
    "SHA256",
    "SHAKE256",
    "Ciphersuite",
    "keygen",
    "messages_to_scalars",
    "proof_gen",
    "proof_verify",
    "sign",
    "sk_to_pk",
    "verify",
]
