"""A writer process for the concurrency tests (importable, so ``spawn`` can run it)."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.entries import public_key_bytes, sign_entry
from ledger.errors import ChainConflict
from ledger.log import LedgerLog, now_ms
from ledger.sql import SqlStore


def write(url: str, ledger_seed: bytes, worker: int, appends: int) -> int:
    """Register issuer ``w<worker>`` and append ``appends`` revocations.

    Even appends sign under the write lock (``LedgerLog.append``); odd ones go the way a
    remote issuer does — read the head, sign, ``submit``, and on ``ChainConflict`` re-read
    and retry — so both paths race each other.  Returns the number of conflicts seen.
    """
    store = SqlStore(url, create=False)
    log = LedgerLog(store, signing_key=Ed25519PrivateKey.from_private_bytes(ledger_seed))
    key = Ed25519PrivateKey.generate()
    issuer = f"w{worker}"
    log.append(
        key=key, issuer=issuer, entry_type="issuer_registration", payload={"ledger_key": public_key_bytes(key).hex()}
    )
    conflicts = 0
    for i in range(appends):
        payload = {"registry_id": f"{issuer}/rr", "handles": [f"{worker:02x}{i:04x}"], "values": [f"{i:064x}"]}
        if i % 2 == 0:
            log.append(key=key, issuer=issuer, entry_type="revocation", payload=payload)
            continue
        while True:
            head = log.head()
            entry = sign_entry(
                key=key,
                seq=head.size,
                time=now_ms(),
                entry_type="revocation",
                issuer=issuer,
                payload=payload,
                prev_hash=head.last_hash,
            )
            try:
                log.submit(entry)
                break
            except ChainConflict:
                conflicts += 1
    store.close()
    return conflicts
