"""Client side of the ledger: fetch over HTTP, trust nothing the service says until it verifies.

Verifiers and wallets pin the ledger's Ed25519 public key (and know its origin,
``ZKCRED_LEDGER_ORIGIN``); they may hold a witness policy (``ledger.policy``).  Then:

- ``LedgerClient.checkpoint()`` (also ``tree_head()``) returns the ledger's C2SP checkpoint
  only if the pinned key signed it under the origin and, with a policy, a quorum of
  witnesses cosigned it (``ledger.policy.CheckpointTrust``); the checkpoint is the *view*
  every later check is made against;
- ``verify_growth(old, new)`` fetches a consistency proof and checks the log only grew
  (RFC 9162 §2.1.4) — keep the last checkpoint you accepted and call it with each new one;
- ``verified_entries(start, limit, tree_head=checkpoint)`` fetches consecutive entries and checks
  them against a verified checkpoint with one inclusion proof: the *last* entry's leaf is in the
  tree, and each entry's ``prev_hash`` is the chain hash of the one before, so (by SHA-256
  collision resistance) the whole run is bound to the tree head.  The pure function
  ``verify_entry_run`` does the same for entries obtained any other way (a mirror, a cache).

Errors: a 4xx problem+json from the service becomes the matching ``LedgerError``
(``EntryRejected``, ``ChainConflict``, ``NotFound``, ``InvalidRequest``); anything that
fails to verify raises ``VerificationFailed``.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import merkle
from ledger.checkpoint import SignedCheckpoint, default_origin, log_verifier
from ledger.constants import GENESIS_PREV_HASH, MAX_PAGE, PROBLEM_TYPE_PREFIX
from ledger.entries import Entry, SignedTreeHead, canonical_json, entry_hash, sign_entry
from ledger.errors import (
    REJECTION_REASONS,
    ChainConflict,
    EntryRejected,
    InvalidRequest,
    LedgerError,
    NotFound,
    VerificationFailed,
)
from ledger.policy import CheckpointTrust, Policy


def verify_entry_run(
    docs: Sequence[Mapping[str, Any]],
    *,
    start: int,
    tree_head: SignedCheckpoint | SignedTreeHead,
    last_inclusion_proof: Sequence[bytes],
    prev_hash: bytes | None = None,
) -> list[Entry]:
    """Check entries ``start … start+len(docs)-1`` against an already verified checkpoint (or tree head).

    ``prev_hash``, if given, is the chain hash of entry ``start-1`` the caller already
    trusts, and the first entry must link to it.
    """
    if not docs:
        return []
    entries: list[Entry] = []
    link = prev_hash
    leaf = b""
    for i, doc in enumerate(docs):
        seq = start + i
        try:
            entry = Entry.model_validate(dict(doc))
        except Exception as e:
            raise VerificationFailed(f"malformed entry: {e}", seq=seq) from e
        if entry.seq != seq:
            raise VerificationFailed(f"served as entry {seq} but claims seq {entry.seq}", seq=seq)
        if link is not None and entry.prev_hash_bytes != link:
            raise VerificationFailed("prev_hash does not link to the previous entry", seq=seq)
        body = canonical_json(entry.to_json())
        link, leaf = entry_hash(body), merkle.leaf_hash(body)
        entries.append(entry)
    last = start + len(docs) - 1
    if not merkle.verify_inclusion(leaf, last, tree_head.size, list(last_inclusion_proof), tree_head.root):
        raise VerificationFailed(f"not included in the tree head of size {tree_head.size}", seq=last)
    return entries


def _problem_error(response: httpx.Response) -> LedgerError:
    try:
        problem = response.json()
    except ValueError:
        problem = {}
    if not isinstance(problem, dict):
        problem = {}
    detail = str(problem.get("detail") or response.text[:200])
    type_uri = str(problem.get("type", ""))
    slug = type_uri.removeprefix(PROBLEM_TYPE_PREFIX) if type_uri.startswith(PROBLEM_TYPE_PREFIX) else ""
    if slug in REJECTION_REASONS:
        return EntryRejected(slug, detail)
    if slug == "chain-conflict":
        try:
            return ChainConflict(
                detail,
                expected_seq=int(problem["expected_seq"]),
                expected_prev_hash=bytes.fromhex(problem["expected_prev_hash"]),
            )
        except (KeyError, TypeError, ValueError):
            pass
    if response.status_code == 404:
        return NotFound(detail)
    if 400 <= response.status_code < 500:
        return InvalidRequest(detail)
    err = LedgerError(f"ledger service answered {response.status_code}: {detail}")
    err.status = response.status_code
    return err


def verify_growth_with(
    old: SignedCheckpoint, new: SignedCheckpoint, proof: Callable[[int, int], Sequence[bytes]]
) -> None:
    """Raise ``VerificationFailed`` unless ``new`` extends ``old`` (both already verified checkpoints)."""
    if new.size < old.size:
        raise VerificationFailed(f"the log shrank from {old.size} to {new.size} entries")
    hashes = list(proof(old.size, new.size)) if old.size < new.size else []
    if not merkle.verify_consistency(old.size, new.size, old.root, new.root, hashes):
        raise VerificationFailed(f"tree of size {new.size} does not extend the tree of size {old.size}")


class LedgerClient:
    """HTTP client of a ledger service; ``ledger_key`` pins the ledger's Ed25519 public key.

    ``origin`` (default ``ZKCRED_LEDGER_ORIGIN`` or ``zkcred.example/ledger``) names the log
    in its checkpoints; ``policy`` (``ledger.policy.Policy``) the witnesses and the quorum
    a checkpoint needs, ``max_age`` how old their cosignatures may be when it is fetched.
    Without a policy a checkpoint signed by the ledger alone is accepted.
    """

    def __init__(
        self,
        base_url: str,
        *,
        ledger_key: bytes | None = None,
        origin: str | None = None,
        policy: Policy | None = None,
        max_age: float | None = None,
        http: httpx.Client | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.ledger_key = ledger_key
        self.origin = origin or default_origin()
        self.policy = policy
        self.max_age = max_age
        self._trust: CheckpointTrust | None = None
        self._http = http if http is not None else httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LedgerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get(self, path: str, **params: int | None) -> Any:
        response = self._http.get(path, params={k: v for k, v in params.items() if v is not None})
        if response.status_code != 200:
            raise _problem_error(response)
        return response.json()

    # ------------------------------------------------------------ raw (unverified) reads

    def fetch_tree_head(self) -> SignedTreeHead:
        return SignedTreeHead.from_json(self._get("/tree-head"))

    def fetch_checkpoint(self) -> bytes:
        """The checkpoint as served (a signed note), unverified."""
        response = self._http.get("/checkpoint")
        if response.status_code != 200:
            raise _problem_error(response)
        return response.content

    def fetch_entries(self, *, start: int, limit: int = MAX_PAGE) -> list[Any]:
        entries = self._get("/entries", start=start, limit=limit).get("entries", [])
        if not isinstance(entries, list):
            raise VerificationFailed("malformed /entries response")
        return entries

    def fetch_entry(self, seq: int) -> Any:
        return self._get(f"/entries/{seq}")

    def inclusion_proof(self, *, seq: int, tree_size: int) -> tuple[bytes, list[bytes]]:
        data = self._get("/proofs/inclusion", seq=seq, tree_size=tree_size)
        try:
            return bytes.fromhex(data["leaf_hash"]), [bytes.fromhex(p) for p in data["proof"]]
        except (KeyError, TypeError, ValueError) as e:
            raise VerificationFailed(f"malformed inclusion proof: {e!r}", seq=seq) from e

    def consistency_proof(self, *, first: int, second: int) -> list[bytes]:
        data = self._get("/proofs/consistency", first=first, second=second)
        try:
            return [bytes.fromhex(p) for p in data["proof"]]
        except (KeyError, TypeError, ValueError) as e:
            raise VerificationFailed(f"malformed consistency proof: {e!r}") from e

    # ------------------------------------------------------------ verified reads

    @property
    def trust(self) -> CheckpointTrust:
        """The pinned ledger key under its origin, and the policy: what every checkpoint must satisfy."""
        if self._trust is None:
            if self.ledger_key is None:
                raise ValueError("pin the ledger's public key (ledger_key=) to verify checkpoints")
            self._trust = CheckpointTrust(log_verifier(self.origin, self.ledger_key), self.policy, max_age=self.max_age)
        return self._trust

    def checkpoint(self) -> SignedCheckpoint:
        """The latest checkpoint: signed by the pinned key, cosigned by the policy's quorum (if any),
        within ``max_age`` seconds (if set)."""
        return self.trust.verify(self.fetch_checkpoint(), fresh=True)

    def tree_head(self) -> SignedCheckpoint:
        """The verified view of the log to check everything else against: ``checkpoint()``."""
        return self.checkpoint()

    def verify_growth(self, old: SignedCheckpoint, new: SignedCheckpoint) -> None:
        """Raise ``VerificationFailed`` unless the log of ``new`` extends the log of ``old``."""
        for cp in (old, new):
            self.trust.verify(cp)
        verify_growth_with(old, new, lambda a, b: self.consistency_proof(first=a, second=b))

    def verified_entries(self, *, start: int, limit: int, tree_head: SignedCheckpoint) -> list[Entry]:
        """Entries from ``start`` (at most ``limit``, within ``tree_head``), checked against it."""
        self.trust.verify(tree_head)
        limit = min(limit, tree_head.size - start)
        if start < 0 or limit < 1:
            raise InvalidRequest(f"no entries from {start} in a tree of size {tree_head.size}")
        docs = self.fetch_entries(start=start, limit=limit)[:limit]
        if not docs:
            raise VerificationFailed(f"the service served no entries from {start}", seq=start)
        _, proof = self.inclusion_proof(seq=start + len(docs) - 1, tree_size=tree_head.size)
        return verify_entry_run(docs, start=start, tree_head=tree_head, last_inclusion_proof=proof)

    def verified_entry(self, seq: int, *, tree_head: SignedCheckpoint) -> Entry:
        return self.verified_entries(start=seq, limit=1, tree_head=tree_head)[0]

    # ------------------------------------------------------------ writes (issuers, verifiers)

    def publish(
        self,
        *,
        key: Ed25519PrivateKey,
        author: str,
        entry_type: str,
        payload: Mapping[str, Any],
        attempts: int = 8,
    ) -> int:
        """:meth:`publish_entry`, answering the seq the receipt names (also when the content was there)."""
        _, receipt = self.publish_entry(
            key=key, author=author, entry_type=entry_type, payload=payload, attempts=attempts
        )
        return int(receipt["seq"])

    def publish_entry(
        self,
        *,
        key: Ed25519PrivateKey,
        author: str,
        entry_type: str,
        payload: Mapping[str, Any],
        attempts: int = 8,
    ) -> tuple[Entry, dict[str, Any]]:
        """Sign an entry on the ledger's head and append it: (the entry as last signed, the receipt).

        Reads the head (``/tree-head`` gives the size; the chain hash is recomputed from the last
        entry's canonical bytes), signs, ``POST /entries``, and on ``chain-conflict`` (another
        writer got there first) re-signs on the head the ledger names, ``attempts`` times.
        Raises ``LedgerError`` (the ledger's refusal, or ``LedgerError`` "head kept moving").
        The receipt is not checked here (``issuer.publisher.HttpPublisher`` proves it).
        """
        size = self.fetch_tree_head().size
        seq, prev = size, GENESIS_PREV_HASH
        if size:
            prev = entry_hash(canonical_json(self.fetch_entry(size - 1)))
        for attempt in range(attempts):
            entry = sign_entry(
                key=key,
                seq=seq,
                time=_time.time_ns() // 1_000_000,
                entry_type=entry_type,
                issuer=author,
                payload=payload,
                prev_hash=prev,
            )
            try:
                return entry, self.submit(entry)
            except ChainConflict as e:  # someone appended first: re-sign on the head the ledger names
                seq, prev = e.expected_seq, e.expected_prev_hash
                _time.sleep(0.005 * (attempt + 1))
        err = LedgerError("the ledger head kept moving; try again")
        err.status = 503
        raise err

    def submit(self, entry: Entry) -> dict[str, Any]:
        """POST a signed entry; returns the receipt (seq, hashes, tree head, ``existing``).

        ``existing`` is true (HTTP 200) when the log already held this content (issuer, type,
        payload): nothing was appended and ``seq`` names the entry that holds it.
        """
        response = self._http.post("/entries", json=entry.to_json())
        if response.status_code not in (200, 201):
            raise _problem_error(response)
        return response.json()
