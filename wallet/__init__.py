"""The holder's wallet SDK: ``Wallet`` (link secret, credentials, consent and presentations, ledger sync)."""

from wallet.consent import Approval, ConsentSummary, OfferSummary
from wallet.core import (
    CredentialSummary,
    EscrowRecord,
    HttpRouter,
    NoMatchingCredential,
    OfferRejected,
    Presented,
    PseudonymScope,
    Submitted,
    Wallet,
    escrow_notices,
    pseudonym_scopes,
)
from wallet.requests import REFUSALS, RequestRefused, VerifiedRequest, VerifierInfo, verify_request
from wallet.store import MIN_PASSPHRASE, WalletError, WrongPassphrase

__all__ = [
    "MIN_PASSPHRASE",
    "REFUSALS",
    "Approval",
    "ConsentSummary",
    "CredentialSummary",
    "EscrowRecord",
    "HttpRouter",
    "NoMatchingCredential",
    "OfferSummary",
    "OfferRejected",
    "Presented",
    "PseudonymScope",
    "RequestRefused",
    "Submitted",
    "VerifiedRequest",
    "VerifierInfo",
    "Wallet",
    "WalletError",
    "WrongPassphrase",
    "escrow_notices",
    "pseudonym_scopes",
    "verify_request",
]
