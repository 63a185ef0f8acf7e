"""The ledger's side of C2SP tlog-witness: submit each new checkpoint to the witnesses, keep their cosignatures.

Configured by a tlog-policy file (``ZKCRED_LEDGER_WITNESSES``): its ``witness`` lines name
the witnesses, their cosigning vkeys and their *submission prefix* URLs; its quorum is what
``LedgerLog.latest_checkpoint`` (``GET /checkpoint``) waits for before serving a newer
checkpoint.

``WitnessSubmitter`` runs in the background of the ledger service.  An append only *tells*
it the new size (``LedgerLog.listeners``; an ``Event``, never a wait), so a witness that is
down or slow never stops or slows an append.  One round:

1. take the head: size N and its checkpoint (the ledger signs it; deterministic bytes);
2. for every witness in parallel (each with a timeout): ``POST <url>/add-checkpoint`` with
   ``old`` = the size that witness last cosigned (learned from its answers; 0 at start), the
   RFC 6962 consistency proof from it to N, and the checkpoint;
   - 200: keep the lines from that witness's (name, key ID) whose cosignature verifies over
     the checkpoint text (anything else in the answer is ignored), store them under N;
   - 409: the body is the size the witness has; retry once from it (a restart, another
     ledger worker) — if it is *larger* than N, the witness saw a tree this ledger does not
     have: logged as an error, nothing sent;
   - 4xx/5xx, timeouts: logged; the next round tries again;
3. rounds coalesce: appends during a round trigger one more round for the newest head,
   and a timer re-runs rounds (``interval``) so a witness that was down catches up; an
   unchanged checkpoint is re-submitted once its cosignature is ``refresh_after`` seconds
   old, so consumers that bound the cosignatures' age (``CheckpointTrust.max_age``) keep
   accepting a quiet ledger.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from ledger.checkpoint import SignedCheckpoint, format_add_checkpoint, parse_size_body
from ledger.errors import LedgerError
from ledger.log import LedgerLog
from ledger.note import NoteSignature, cosignature_timestamp, parse_signature_lines
from ledger.policy import Policy, PolicyWitness, load_policy

logger = logging.getLogger(__name__)
ENV_WITNESSES = "ZKCRED_LEDGER_WITNESSES"


@dataclass(frozen=True)
class Outcome:
    witness: str
    status: str  # "cosigned", "up-to-date", "refused <code>", "ahead <size>", "unreachable"
    size: int


def witness_policy_from_env(path: str | None) -> Policy | None:
    """The ledger's witness policy file; every witness in it needs a URL (its submission prefix)."""
    policy = load_policy(path)
    if policy is not None:
        missing = [w.name for w in policy.witnesses.values() if not w.url]
        if missing:
            raise ValueError(f"{ENV_WITNESSES}: witness {', '.join(missing)} has no URL (its submission prefix)")
    return policy


class WitnessSubmitter:
    """Submits the ledger's checkpoints to its witnesses in a background thread (see the module doc)."""

    def __init__(
        self,
        log: LedgerLog,
        witnesses: Sequence[PolicyWitness],
        *,
        timeout: float = 5.0,
        interval: float = 2.0,
        refresh_after: float = 60.0,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.log = log
        self.refresh_after = refresh_after  # re-cosign an unchanged checkpoint this often (fresh timestamps)
        self.clock = clock
        self.witnesses = [w for w in witnesses if w.url]
        self.timeout = timeout
        self.interval = interval
        self._own_http = http is None
        self._http = http or httpx.Client(timeout=timeout)
        self._known: dict[str, int] = {}  # witness name -> the size it last cosigned (as far as we know)
        self._event = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=max(1, len(self.witnesses)), thread_name_prefix="witness")
        self.rounds = 0

    # ------------------------------------------------------------ lifecycle

    def start(self) -> WitnessSubmitter:
        self.log.listeners.append(self.notify)
        self._thread = threading.Thread(target=self._run, name="witness-submitter", daemon=True)
        self._thread.start()
        self._event.set()  # a first round at start: catch up with what was appended while down
        return self

    def stop(self) -> None:
        self._stop.set()
        self._event.set()
        if self.notify in self.log.listeners:
            self.log.listeners.remove(self.notify)
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 1)
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._own_http:
            self._http.close()

    def notify(self, size: int | None = None) -> None:
        """Called after every append: schedule a round (returns at once)."""
        self._event.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._event.wait(self.interval)
            self._event.clear()
            if self._stop.is_set():
                return
            try:
                self.submit_round()
            except Exception:  # never let the thread die: the next round retries
                logger.exception("witness round failed")

    # ------------------------------------------------------------ one round

    def submit_round(self) -> list[Outcome]:
        """Submit the head's checkpoint to every witness (in parallel) and store what comes back."""
        size = self.log.head().size
        checkpoint = self.log.checkpoint(size)
        outcomes = list(self._pool.map(lambda w: self._submit(w, checkpoint), self.witnesses))
        self.rounds += 1
        return outcomes

    def _submit(self, w: PolicyWitness, checkpoint: SignedCheckpoint) -> Outcome:
        size = checkpoint.size
        old = self._known.get(w.name, 0)
        stamped = self._cosigned_at(size, w)
        if old == size and stamped is not None and self.clock() - stamped < self.refresh_after:
            return Outcome(w.name, "up-to-date", size)
        body_note = checkpoint.to_bytes()
        for _ in range(2):
            if old > size:
                logger.error(
                    "witness %s has cosigned size %d, above the head %d read here (another worker? a fork?)",
                    w.name,
                    old,
                    size,
                )
                return Outcome(w.name, f"ahead {old}", size)
            try:
                proof = self.log.consistency_proof(first=old, second=size) if old else []
                response = self._http.post(
                    f"{w.url.rstrip('/')}/add-checkpoint",  # type: ignore[union-attr]
                    content=format_add_checkpoint(old, proof, body_note),
                    timeout=self.timeout,
                )
            except (httpx.HTTPError, OSError) as e:
                logger.warning("witness %s unreachable: %s", w.name, type(e).__name__)
                return Outcome(w.name, "unreachable", size)
            if response.status_code == 409:
                try:
                    old = parse_size_body(response.content)
                except LedgerError:
                    return Outcome(w.name, "refused 409", size)
                self._known[w.name] = old
                continue
            if response.status_code != 200:
                logger.error(
                    "witness %s refused the checkpoint of size %d: %d %s",
                    w.name,
                    size,
                    response.status_code,
                    response.text[:300],
                )
                return Outcome(w.name, f"refused {response.status_code}", size)
            lines = self._verified_lines(w, checkpoint, response.content)
            if not lines:
                logger.error("witness %s answered 200 without a valid cosignature", w.name)
                return Outcome(w.name, "refused 200", size)
            self.log.store.add_cosignatures(size, lines)
            self._known[w.name] = size
            return Outcome(w.name, "cosigned", size)
        return Outcome(w.name, "refused 409", size)

    @staticmethod
    def _verified_lines(w: PolicyWitness, checkpoint: SignedCheckpoint, body: bytes) -> list[NoteSignature]:
        try:
            lines = parse_signature_lines(body)
        except LedgerError:
            return []
        text = checkpoint.note.text.encode()
        v = w.verifier
        return [s for s in lines if (s.name, s.key_id) == (v.name, v.key_id) and v.verify(text, s.signature)]

    def _cosigned_at(self, size: int, w: PolicyWitness) -> int | None:
        """The timestamp of the stored cosignature of ``w`` for ``size`` (None if there is none)."""
        for stored_size, lines in self.log.store.cosignatures(sizes=1):
            if stored_size == size:
                for s in lines:
                    if (s.name, s.key_id) == (w.verifier.name, w.verifier.key_id):
                        return cosignature_timestamp(s.signature)
        return None
