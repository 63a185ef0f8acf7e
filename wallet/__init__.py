"""The holder's wallet SDK: ``Wallet`` (link secret, credentials, consent and presentations, ledger sync)."""

from wallet.consent import Approval, ConsentSummary, OfferSummary
from wallet.core import (
    CredentialSummary,
    HttpRouter,
    NoMatchingCredential,
    OfferRejected,
    Presented,
    PseudonymScope,
    Submitted,
    Wallet,
    pseudonym_scopes,
)
from wallet.store import MIN_PASSPHRASE, WalletError, WrongPassphrase

__all__ = [
    "MIN_PASSPHRASE",
    "Approval",
    "ConsentSummary",
    "CredentialSummary",
    "HttpRouter",
    "NoMatchingCredential",
    "OfferSummary",
    "OfferRejected",
    "Presented",
    "PseudonymScope",
    "Submitted",
    "Wallet",
    "WalletError",
    "WrongPassphrase",
    "pseudonym_scopes",
]
