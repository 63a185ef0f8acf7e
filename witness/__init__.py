"""A C2SP transparency-log witness (tlog-witness, tlog-cosignature) for the zkcred ledger — or any log.

Run by parties who do not trust the ledger's operator (lenders, regulators): it cosigns a
checkpoint only if it is consistent with every checkpoint it cosigned before, so a quorum
of witnesses makes a split view impossible to hide.  ``witness.core`` is the domain logic,
``witness.sql`` its durable state, ``witness.api`` the HTTP service
(``zkcred witness serve``).

Why a package of its own beside issuer and verifier (import-linter layer
``issuer | verifier | wallet | witness``) and not ``ledger/witness``: it is deployed by
other parties than the ledger operator and must not share its code paths beyond the pure
verification (``ledger.note``, ``ledger.checkpoint``, ``ledger.merkle``); the independence
contract keeps it apart from issuer, verifier and wallet, and the layers keep the ledger
from importing it.
"""
