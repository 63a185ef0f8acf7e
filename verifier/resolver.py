"""Where the verifier learns issuers' keys and accumulator values: the ledger, verified.

``Resolver`` is the Protocol the verifier's domain logic needs (STYLE §2.6: core modules
take Protocols): a :class:`~circuits.credentials.CredentialDefinition` by id, and the
accumulator value ``V`` a presentation claims to have used at a ledger height.

``LedgerResolver`` implements it by following a ledger — over HTTP
(:class:`ledger.client.LedgerClient`) or in process (:class:`LocalLedgerSource` over a
:class:`ledger.log.LedgerLog`) — and trusting nothing it has not verified:

1. **Checkpoints.** Each refresh takes the ledger's latest C2SP checkpoint, checks its
   Ed25519 signature under the *pinned* ledger public key and origin and — with a witness
   policy (``ledger.policy``) — that a quorum of witnesses cosigned it, then checks with a
   consistency proof that it extends the last checkpoint this resolver accepted (RFC 9162
   §2.1.4): the log only grew, no fork was shown to us; with a quorum, no fork was shown
   to anyone the witnesses answer.
2. **Entries.** New entries are fetched in pages, each page checked against the new STH
   (chain links + one inclusion proof, ``ledger.client.verify_entry_run``), then replayed
   with the ledger's own rules (``ledger.audit.Replay``: canonical bytes, chain hash, the
   issuer's Ed25519 signature under the key registered *earlier in the log*). After the
   last page the replayed Merkle root must equal the checkpoint's root. So every entry we index
   is on the log the ledger signed, and was signed by the issuer it names.
3. **Credential definitions.** A definition is rebuilt from three entries: the
   ``schema`` (its recomputed content id must equal ``schema_id``), the
   ``credential_definition`` (issuer = the entry's signer, BBS key, suite, tag) and, if
   the same issuer published one naming it, the ``revocation_registry`` (id, capacity,
   Q). The rebuilt definition's content id must equal ``cred_def_id``; otherwise the
   definition is refused (:class:`DefinitionMismatch`) — the ledger entry does not
   describe the object its id names.
4. **Accumulator history.** Per registry: ``V0`` at the height (= ledger seq) of the
   registry entry, then for each ``revocation`` entry *signed by the registry's issuer*
   the value after the whole entry at that entry's seq. The entry's intermediate values
   are kept (a holder updates one handle at a time) but are never accepted as "the V at
   a height": they were never the ledger's current state. ``V`` at height ``h`` is the
   value set by the last registry/revocation entry with seq ≤ ``h``.
5. **Staleness.** ``V`` at ``h`` is accepted if it is the latest value, or if the entry
   that superseded it is younger than ``max_staleness`` seconds (its issuer-signed time;
   the ledger keeps that within its clock-skew bound). "Latest" is judged on a view at
   most ``min(refresh_interval, max_staleness)`` seconds old: the resolver refreshes
   first when its view is older.

6. **Key rotation.** A ``credential_definition`` entry may name the definition it
   ``supersedes``; :meth:`LedgerResolver.successor` answers with it when the same issuer
   published both (another issuer cannot claim to replace a definition). A superseded
   definition still resolves and its credentials still verify: the lender's request decides
   whether it accepts the old definition (list it) or only the new one.

Unknown ids and heights trigger one refresh. The cache is per process; every worker
builds its own (the ledger is the shared state). A withheld entry (a ledger that shows us
an old checkpoint) cannot be detected without gossip between verifiers; the pinned key and the
consistency checks make any *fork* detectable, and witnesses with a quorum policy refuse one.
"""

from __future__ import annotations

import json
import logging
import threading
import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from circuits import escrow
from circuits.backend import get_backend
from circuits.codec import b64d
from circuits.credentials import CredentialDefinition, RevocationRegistry, Schema
from circuits.errors import IdentityPointError, ZkCredError
from ledger import entries as ledger_entries
from ledger.audit import AuditItem, Replay
from ledger.checkpoint import SignedCheckpoint, log_verifier
from ledger.client import verify_entry_run, verify_growth_with
from ledger.constants import MAX_PAGE
from ledger.entries import Entry, canonical_json, payload_model
from ledger.errors import EntryRejected, LedgerError, VerificationFailed
from ledger.escrow import Auditor, EscrowView
from ledger.log import LedgerLog
from ledger.policy import CheckpointTrust, Policy

logger = logging.getLogger(__name__)


# Errors ----------------------------------------------------------------------------------------


class ResolverError(Exception):
    """Base of the resolver's errors; ``detail`` never contains secrets."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class UnknownAuditor(ResolverError):
    """No escrow auditor with this id on the (verified) ledger, or its key does not decode."""


class UnknownDefinition(ResolverError):
    """No credential definition with this id on the (verified) ledger."""


class DefinitionMismatch(ResolverError):
    """The ledger's entries for this id rebuild a definition with another id."""


class UnknownAccumulator(ResolverError):
    """No accumulator value of this definition's registry at that height."""


class StaleAccumulator(ResolverError):
    """The value at that height was superseded longer ago than the staleness bound."""


class LedgerUnavailable(ResolverError):
    """The ledger could not be read, or what it served did not verify (fail closed)."""


# Protocols ----------------------------------------------------------------------------------------


class Resolver(Protocol):
    def definition(self, definition_id: str) -> CredentialDefinition:
        """The definition, rebuilt and checked; raises UnknownDefinition / DefinitionMismatch / LedgerUnavailable."""
        ...

    def accumulator_at(
        self, definition_id: str, height: int, *, max_staleness: float, now: float | None = None
    ) -> bytes:
        """Compressed V at ``height``; raises UnknownAccumulator / StaleAccumulator / LedgerUnavailable."""
        ...

    def auditor(self, auditor_id: str) -> Auditor:
        """The escrow auditor registered as ``auditor_id``; raises UnknownAuditor / LedgerUnavailable."""
        ...

    def ping(self) -> None:
        """Readiness: the ledger answers (with a tree head signed by the pinned key); else LedgerUnavailable."""
        ...


class LedgerSource(Protocol):
    """Verified reads of a ledger (``ledger.client.LedgerClient`` is one)."""

    @property
    def ledger_key(self) -> bytes | None:
        """The pinned ledger key, if any (read-only: a source's key never changes)."""

    def tree_head(self) -> SignedCheckpoint:
        """The latest checkpoint, verified (pinned key, origin, the policy's quorum)."""
        ...

    def verify_growth(self, old: SignedCheckpoint, new: SignedCheckpoint) -> None: ...

    def verified_entries(self, *, start: int, limit: int, tree_head: SignedCheckpoint) -> list[Entry]: ...


class LocalLedgerSource:
    """A ``LedgerSource`` over an in-process ``LedgerLog`` that verifies exactly as the HTTP client does.

    For the demo and tests: the log is in the same process, but the verifier still checks
    the checkpoint under the pinned key (and the policy's quorum), consistency proofs and
    inclusion proofs.
    """

    def __init__(
        self,
        log: LedgerLog,
        *,
        ledger_key: bytes,
        origin: str | None = None,
        policy: Policy | None = None,
        max_age: float | None = None,
    ) -> None:
        self.log = log
        self.ledger_key = ledger_key
        self.trust = CheckpointTrust(log_verifier(origin or log.origin, ledger_key), policy, max_age=max_age)

    def tree_head(self) -> SignedCheckpoint:
        return self.trust.verify(self.log.latest_checkpoint().to_bytes(), fresh=True)

    def verify_growth(self, old: SignedCheckpoint, new: SignedCheckpoint) -> None:
        for cp in (old, new):
            self.trust.verify(cp)
        verify_growth_with(old, new, lambda a, b: self.log.consistency_proof(first=a, second=b))

    def verified_entries(self, *, start: int, limit: int, tree_head: SignedCheckpoint) -> list[Entry]:
        self.trust.verify(tree_head)
        limit = min(limit, tree_head.size - start)
        docs = [json.loads(e.body) for e in self.log.entries(start=start, limit=limit)][:limit]
        if not docs:
            raise VerificationFailed(f"the log served no entries from {start}", seq=start)
        proof = self.log.inclusion_proof(seq=start + len(docs) - 1, tree_size=tree_head.size).proof
        return verify_entry_run(docs, start=start, tree_head=tree_head, last_inclusion_proof=proof)


# The resolver -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccumulatorState:
    """The registry's value after the entry at ``height`` (``values``: every intermediate value)."""

    height: int
    values: tuple[bytes | None, ...]  # None: not valid unpadded base64url (never matches a presentation)
    time_ms: int

    @property
    def value(self) -> bytes | None:
        return self.values[-1]


@dataclass
class _Registry:
    issuer: str
    registry_id: str
    cred_def_id: str
    capacity: int
    q: str
    history: list[AccumulatorState] = field(default_factory=list)


@dataclass(frozen=True)
class _Published:
    seq: int
    issuer: str
    payload: ledger_entries.Schema | ledger_entries.CredentialDefinition  # the typed ledger payload model


class LedgerResolver:
    """A :class:`Resolver` that follows a ledger through a :class:`LedgerSource` (see the module doc)."""

    def __init__(
        self,
        source: LedgerSource,
        *,
        refresh_interval: float = 2.0,
        page: int = MAX_PAGE,
        clock: Callable[[], float] = _time.time,
    ) -> None:
        if source.ledger_key is None:
            raise ValueError("pin the ledger's public key: the resolver verifies every tree head")
        self.source = source
        self.refresh_interval = refresh_interval
        self.page = page
        self.clock = clock
        self._lock = threading.RLock()
        self._sth: SignedCheckpoint | None = None
        self._replay = Replay()
        self._last_refresh = float("-inf")
        self._schemas: dict[str, list[_Published]] = {}
        self._cred_defs: dict[str, list[_Published]] = {}
        self._registries: dict[tuple[str, str], _Registry] = {}
        self._registries_of: dict[str, list[tuple[str, str]]] = {}
        self._resolved: dict[str, tuple[CredentialDefinition, tuple[str, str] | None]] = {}
        self._successors: dict[str, list[tuple[str, str]]] = {}  # old id -> [(issuer, new id)] in log order
        self._escrow = EscrowView()  # auditors and their checked decryption records

    @property
    def tree_head(self) -> SignedCheckpoint | None:
        """The last checkpoint this resolver verified and replayed up to."""
        return self._sth

    # ------------------------------------------------------------ following the ledger

    def refresh(self) -> SignedCheckpoint:
        """Fetch, verify and replay the ledger up to its latest tree head (steps 1–2)."""
        with self._lock:
            try:
                return self._refresh()
            except VerificationFailed as e:
                logger.error("ledger did not verify: %s", e.detail)
                raise LedgerUnavailable(f"the ledger's data did not verify: {e.detail}") from e
            except (LedgerError, httpx.HTTPError, OSError) as e:
                raise LedgerUnavailable(f"the ledger could not be read: {type(e).__name__}") from e

    def ping(self) -> None:
        """Readiness (``GET /health/ready``): the ledger serves a checkpoint the pinned key (and the policy) accept."""
        try:
            self.source.tree_head()
        except VerificationFailed as e:
            raise LedgerUnavailable(f"the ledger's checkpoint did not verify: {e.detail}") from e
        except (LedgerError, httpx.HTTPError, OSError) as e:
            raise LedgerUnavailable(f"the ledger could not be read: {type(e).__name__}") from e

    def _refresh(self) -> SignedCheckpoint:
        new = self.source.tree_head()
        if self._sth is not None:
            self.source.verify_growth(self._sth, new)
        while self._replay.size < new.size:
            start = self._replay.size
            entries = self.source.verified_entries(start=start, limit=min(self.page, new.size - start), tree_head=new)
            for entry in entries:
                self._replay.feed(AuditItem(entry.seq, canonical_json(entry.to_json())))
                self._index(entry)
        self._replay.check_root(new.size, new.root)  # replayed root == the verified checkpoint's root
        self._sth = new
        self._last_refresh = self.clock()
        logger.debug("refresh >>> tree size %d", new.size)
        return new

    def _index(self, entry: Entry) -> None:
        try:
            self._escrow.feed(entry)
        except EntryRejected as e:  # an opening by a non-auditor: on the log, but no auditor's record
            logger.warning("entry %d: %s; ignored", entry.seq, e.detail)
        payload = payload_model(entry)  # the model of entry.type: the branches test the model itself
        if isinstance(payload, ledger_entries.Schema):
            self._schemas.setdefault(payload.schema_id, []).append(_Published(entry.seq, entry.issuer, payload))
        elif isinstance(payload, ledger_entries.CredentialDefinition):
            published = _Published(entry.seq, entry.issuer, payload)
            self._cred_defs.setdefault(payload.cred_def_id, []).append(published)
            if payload.supersedes is not None:
                self._successors.setdefault(payload.supersedes, []).append((entry.issuer, payload.cred_def_id))
        elif isinstance(payload, ledger_entries.RevocationRegistry):
            key = (entry.issuer, payload.registry_id)
            if key in self._registries:  # an issuer names a registry once; later duplicates are ignored
                logger.warning("entry %d: registry %s published again; ignored", entry.seq, payload.registry_id)
                return
            reg = _Registry(entry.issuer, payload.registry_id, payload.cred_def_id, payload.capacity, payload.q)
            reg.history.append(AccumulatorState(entry.seq, (_b64_or_none(payload.v0),), entry.time))
            self._registries[key] = reg
            self._registries_of.setdefault(payload.cred_def_id, []).append(key)
        elif isinstance(payload, ledger_entries.Revocation):
            known = self._registries.get((entry.issuer, payload.registry_id))
            if known is None:  # only the registry's own issuer changes its value
                logger.warning(
                    "entry %d: revocation for unknown registry %s of %s; ignored",
                    entry.seq,
                    payload.registry_id,
                    entry.issuer,
                )
                return
            known.history.append(
                AccumulatorState(entry.seq, tuple(_b64_or_none(v) for v in payload.values), entry.time)
            )

    def _maybe_refresh(self, max_age: float) -> None:
        if self.clock() - self._last_refresh >= max_age:
            self.refresh()

    # ------------------------------------------------------------ definitions

    def definitions(self) -> list[CredentialDefinition]:
        """Every credential definition on the ledger that resolves and checks, in log order (the lender
        console's choices); LEDGER_UNAVAILABLE if the ledger cannot be read."""
        self._maybe_refresh(self.refresh_interval)
        found = []
        for definition_id in list(self._cred_defs):
            try:
                found.append(self.definition(definition_id))
            except (UnknownDefinition, DefinitionMismatch):
                continue
        return found

    def definition(self, definition_id: str) -> CredentialDefinition:
        return self._resolve(definition_id)[0]

    def _resolve(self, definition_id: str) -> tuple[CredentialDefinition, tuple[str, str] | None]:
        with self._lock:
            hit = self._resolved.get(definition_id)
            if hit is not None:
                return hit
            try:
                built = self._build(definition_id)
            except DefinitionMismatch:
                built = None  # perhaps its registry entry is not replayed yet: look again after a refresh
            if built is None:
                self.refresh()
                built = self._build(definition_id)
            if built is None:
                raise UnknownDefinition(f"no credential definition {definition_id} on the ledger")
            self._resolved[definition_id] = built
            logger.debug("definition >>> %s resolved", definition_id)
            return built

    def _build(self, definition_id: str) -> tuple[CredentialDefinition, tuple[str, str] | None] | None:
        """Step 3; None if the ledger has no entry for the id, DefinitionMismatch if none rebuilds it."""
        candidates = self._cred_defs.get(definition_id)
        if not candidates:
            return None
        for cand in candidates:
            p = cand.payload
            if not isinstance(p, ledger_entries.CredentialDefinition):  # _cred_defs holds nothing else
                continue
            schema = self._schema(p.schema_id)
            if schema is None:
                continue
            options: list[tuple[str, str] | None] = [None]
            options += [k for k in self._registries_of.get(definition_id, []) if k[0] == cand.issuer]
            for key in options:
                try:
                    revocation = None
                    if key is not None:
                        reg = self._registries[key]
                        revocation = RevocationRegistry(reg.registry_id, reg.capacity, b64d(reg.q))
                    d = CredentialDefinition(
                        cand.issuer, schema, p.tag or "", b64d(p.bbs_public_key), revocation, p.ciphersuite
                    )
                    _check_points(d)
                except (ZkCredError, ValueError, TypeError):
                    continue
                if d.id == definition_id:
                    return d, key
        raise DefinitionMismatch(f"the ledger's entries for {definition_id} do not rebuild a definition with that id")

    def _schema(self, schema_id: str) -> Schema | None:
        for published in self._schemas.get(schema_id, []):
            p = published.payload
            if not isinstance(p, ledger_entries.Schema):  # _schemas holds nothing else
                continue
            try:
                schema = Schema.from_json(
                    {
                        "name": p.name,
                        "version": p.version,
                        "attributes": [{"name": a.name, "type": a.type} for a in p.attributes],
                    }
                )
            except (ZkCredError, ValueError, TypeError):
                continue
            if schema.id == schema_id:
                return schema
        return None

    # ------------------------------------------------------------ accumulator values

    def accumulator_at(
        self, definition_id: str, height: int, *, max_staleness: float, now: float | None = None
    ) -> bytes:
        if isinstance(height, bool) or not isinstance(height, int) or height < 0:
            raise UnknownAccumulator("a height is a ledger sequence number")
        _, key = self._resolve(definition_id)
        if key is None:
            raise UnknownAccumulator(f"{definition_id} has no revocation registry")
        with self._lock:
            self._maybe_refresh(min(self.refresh_interval, max(max_staleness, 0.0)))
            if self._sth is None or height >= self._sth.size:
                self.refresh()  # a height we have not seen yet: perhaps it is new
            size = self._sth.size if self._sth is not None else 0
            if height >= size:
                raise UnknownAccumulator(f"height {height} is beyond the ledger's tree of size {size}")
            history = self._registries[key].history
            index = max((i for i, s in enumerate(history) if s.height <= height), default=None)
            if index is None:
                raise UnknownAccumulator(f"height {height} is before the registry was published")
            state = history[index]
            if index + 1 < len(history):
                superseded_at = history[index + 1].time_ms / 1000
                now = self.clock() if now is None else now
                if now - superseded_at > max_staleness:
                    raise StaleAccumulator(
                        f"the value at height {height} was superseded at height "
                        f"{history[index + 1].height}, {now - superseded_at:.0f} s ago "
                        f"(bound {max_staleness} s)"
                    )
            if state.value is None:
                raise UnknownAccumulator(f"the value at height {state.height} is not a valid encoding")
            return state.value

    def auditor(self, auditor_id: str) -> Auditor:
        """The escrow auditor registered as ``auditor_id`` (its key checked: in G1, not the identity)."""
        with self._lock:
            found = self._escrow.auditor(auditor_id)
            if found is None:
                self.refresh()
                found = self._escrow.auditor(auditor_id)
        if found is None:
            raise UnknownAuditor(f"no escrow auditor {auditor_id!r} on the ledger")
        try:
            escrow.parse_public_key(get_backend(), b64d(found.escrow_key))
        except ZkCredError:
            raise UnknownAuditor(f"the escrow key of {auditor_id!r} is not a G1 point") from None
        return found

    def successor(self, definition_id: str) -> str | None:
        """The definition that supersedes ``definition_id`` (key rotation by its own issuer), if any yet."""
        issuer = self._resolve(definition_id)[0].issuer_id
        self._maybe_refresh(self.refresh_interval)
        with self._lock:
            for by, new_id in self._successors.get(definition_id, []):
                if by == issuer:
                    return new_id
        return None

    def history(self, definition_id: str) -> list[AccumulatorState]:
        """The accumulator value history of the definition's registry (empty if not revocable)."""
        _, key = self._resolve(definition_id)
        with self._lock:
            return [] if key is None else list(self._registries[key].history)


def _check_points(d: CredentialDefinition) -> None:
    """The BBS key W and the registry's Q decode strictly: on the curve, in G2, not the identity.

    The ledger keeps them opaque, and a definition's content id covers whatever bytes were
    published, so this is the one place a hostile key can be refused before a request names it.
    """
    be = get_backend()
    for raw in (d.public_key, *((d.revocation.Q,) if d.revocation is not None else ())):
        if be.g2_is_identity(be.g2_from_bytes(raw)):
            raise IdentityPointError("the identity is not a key")


def _b64_or_none(text: str) -> bytes | None:
    try:
        return b64d(text)
    except ZkCredError:
        return None
