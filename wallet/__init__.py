"""The holder's wallet SDK: ``Wallet`` (link secret, credentials, presentations, ledger sync)."""

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
from wallet.store import MIN_PASSPHRASE, WalletError, WrongPassphrase

__all__ = [
    "MIN_PASSPHRASE",
    "CredentialSummary",
    "EscrowRecord",
    "HttpRouter",
    "NoMatchingCredential",
    "OfferRejected",
    "Presented",
    "PseudonymScope",
    "Submitted",
    "Wallet",
    "WalletError",
    "WrongPassphrase",
    "escrow_notices",
    "pseudonym_scopes",
]
