"""C2SP tlog-policy: which logs and witnesses a consumer trusts, and the quorum of cosignatures it needs.

Policy file (line based; whitespace = ASCII spaces and tabs; ``#`` comments and blank lines
ignored; a group or the quorum may name only what earlier lines defined)::

    log <vkey> [<url>]                        the ledger (vkey type 0x01, key name = origin)
    witness <name> <vkey> [<url>]             a witness (vkey type 0x04 Ed25519 or 0x06 ML-DSA-44 cosignatures)
    group <name> all|any|<k> <member>...      k of the members witnessed; members are witnesses or groups
    quorum <name>|none                        exactly one

Rules enforced here (each a test in ``tests/ledger/test_policy.py``): only tab, newline and
0x20–0x7E/0x80–0xFF octets; duplicate keys (the same Ed25519 public key under any name or ID)
among logs or among witnesses are refused; names are unique and ``none`` is reserved;
``1 <= k <= n``; a name is a group member at most once in the whole file; limits of
``MAX_ENTRIES`` logs, witnesses and groups each (the spec recommends supporting 32).
Names are opaque octet strings (decoded with ``surrogateescape``, so distinct octets stay
distinct).  A witness URL is its *submission prefix* (tlog-witness); the ledger reads the
same format to learn where to submit (``ledger.witnessing``).

``CheckpointTrust`` is what every consumer holds: the ledger's key (pinned) under its
origin and, optionally, a policy.  ``verify`` opens a checkpoint under the log key, checks
every cosignature from a policy witness, and refuses a checkpoint whose cosigners do not
satisfy the quorum (``QuorumNotMet`` naming the witnesses that did not cosign).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ledger.checkpoint import SignedCheckpoint, open_checkpoint
from ledger.errors import MalformedNote, QuorumNotMet
from ledger.note import (
    COSIGNATURE_TYPES,
    SIG_ED25519,
    CosignatureVerifier,
    Ed25519Verifier,
    MLDSACosignatureVerifier,
    cosignature_timestamp,
    parse_vkey,
)

MAX_ENTRIES = 256
NONE = "none"
_WS = re.compile(r"[ \t]+")
_FORBIDDEN = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class PolicyLog:
    verifier: Ed25519Verifier
    url: str | None = None


@dataclass(frozen=True)
class PolicyWitness:
    name: str
    verifier: CosignatureVerifier | MLDSACosignatureVerifier
    url: str | None = None


@dataclass(frozen=True)
class Group:
    name: str
    threshold: int
    members: tuple[str, ...]


@dataclass(frozen=True)
class Policy:
    logs: tuple[PolicyLog, ...]
    witnesses: Mapping[str, PolicyWitness]
    groups: Mapping[str, Group]
    quorum: str

    def satisfied(self, cosigners: Iterable[str], name: str | None = None) -> bool:
        """Does the set of witness names that cosigned meet ``name`` (default: the quorum)?"""
        name = self.quorum if name is None else name
        signed = set(cosigners)
        if name == NONE:
            return True
        if name in self.witnesses:
            return name in signed
        group = self.groups[name]
        return sum(self.satisfied(signed, m) for m in group.members) >= group.threshold

    def witnesses_under(self, name: str | None = None) -> list[str]:
        """Every witness the quorum (or ``name``) is built from, in file order."""
        name = self.quorum if name is None else name
        if name == NONE:
            return []
        if name in self.witnesses:
            return [name]
        out: list[str] = []
        for m in self.groups[name].members:
            out += [w for w in self.witnesses_under(m) if w not in out]
        return out

    def describe(self, name: str | None = None) -> str:
        """The quorum rule in words, e.g. ``2 of (w1, w2, w3)``."""
        name = self.quorum if name is None else name
        if name == NONE or name in self.witnesses:
            return name
        g = self.groups[name]
        return f"{g.threshold} of ({', '.join(self.describe(m) for m in g.members)})"


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def parse_policy(data: bytes | str) -> Policy:
    """Parse a tlog-policy file; ``MalformedNote`` (a 4xx, a one-line CLI error) for any violation."""
    raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
    if _FORBIDDEN.search(raw):
        raise MalformedNote("policy: only tab and newline are allowed among control characters")
    logs: list[PolicyLog] = []
    witnesses: dict[str, PolicyWitness] = {}
    groups: dict[str, Group] = {}
    used_as_member: set[str] = set()
    quorum: str | None = None
    log_keys: set[bytes] = set()
    witness_keys: set[bytes] = set()
    for number, raw_line in enumerate(raw.split(b"\n"), 1):
        line = _decode(raw_line).strip(" \t")
        if not line or line.startswith("#"):
            continue
        words = _WS.split(line)
        kind, args = words[0], words[1:]

        def fail(why: str, number: int = number) -> MalformedNote:
            return MalformedNote(f"policy line {number}: {why}")

        def vkey(text: str, *sig_types: int):  # type: ignore[no-untyped-def]
            try:
                return parse_vkey(text, allowed=sig_types)
            except MalformedNote as e:
                raise fail(e.detail) from e

        def new_name(name: str) -> str:
            if name == NONE or name in witnesses or name in groups:
                raise fail(f"the name {name!r} is reserved or already defined")
            return name

        if kind == "log":
            if len(args) not in (1, 2):
                raise fail("log <vkey> [<url>]")
            v = vkey(args[0], SIG_ED25519)
            if v.public_key in log_keys:
                raise fail("duplicate log key")
            log_keys.add(v.public_key)
            logs.append(PolicyLog(v, args[1] if len(args) == 2 else None))  # type: ignore[arg-type]
        elif kind == "witness":
            if len(args) not in (2, 3):
                raise fail("witness <name> <vkey> [<url>]")
            name = new_name(args[0])
            v = vkey(args[1], *COSIGNATURE_TYPES)
            if v.public_key in witness_keys:
                raise fail("duplicate witness key")
            witness_keys.add(v.public_key)
            witnesses[name] = PolicyWitness(name, v, args[2] if len(args) == 3 else None)  # type: ignore[arg-type]
        elif kind == "group":
            if len(args) < 3:
                raise fail("group <name> all|any|<k> <member>...")
            name, k, members = new_name(args[0]), args[1], tuple(args[2:])
            for m in members:
                if m not in witnesses and m not in groups:
                    raise fail(f"group member {m!r} is not defined on an earlier line")
                if m in used_as_member:
                    raise fail(f"{m!r} is already a group member")
                used_as_member.add(m)
            if k == "all":
                threshold = len(members)
            elif k == "any":
                threshold = 1
            elif re.fullmatch(r"[1-9][0-9]{0,5}", k) and int(k) <= len(members):
                threshold = int(k)
            else:
                raise fail(f"threshold {k!r} is not all, any or a k with 1 <= k <= {len(members)}")
            groups[name] = Group(name, threshold, members)
        elif kind == "quorum":
            if len(args) != 1:
                raise fail("quorum <name>")
            if quorum is not None:
                raise fail("a second quorum line")
            if args[0] != NONE and args[0] not in witnesses and args[0] not in groups:
                raise fail(f"quorum {args[0]!r} is not defined on an earlier line")
            quorum = args[0]
        else:
            raise fail(f"unknown keyword {kind!r}")
        if max(len(logs), len(witnesses), len(groups)) > MAX_ENTRIES:
            raise fail(f"more than {MAX_ENTRIES} logs, witnesses or groups")
    if quorum is None:
        raise MalformedNote("policy: no quorum line")
    return Policy(tuple(logs), witnesses, groups, quorum)


def format_policy(policy: Policy) -> str:
    """A policy file for ``policy`` (logs, witnesses, groups in definition order, the quorum)."""
    out = [f"log {log.verifier.vkey()}" + (f" {log.url}" if log.url else "") for log in policy.logs]
    out += [f"witness {w.name} {w.verifier.vkey()}" + (f" {w.url}" if w.url else "") for w in policy.witnesses.values()]
    for g in policy.groups.values():
        k = "all" if g.threshold == len(g.members) else str(g.threshold)
        out.append(f"group {g.name} {k} {' '.join(g.members)}")
    out.append(f"quorum {policy.quorum}")
    return "\n".join(out) + "\n"


def simple_policy(
    witnesses: Sequence[tuple[str, CosignatureVerifier | MLDSACosignatureVerifier, str | None]],
    k: int,
    *,
    log: Ed25519Verifier | None = None,
) -> Policy:
    """``k`` of the given witnesses (a convenience for tests, the demo and the CLI)."""
    text = "".join(f"witness {n} {v.vkey()}" + (f" {u}" if u else "") + "\n" for n, v, u in witnesses)
    if log is not None:
        text = f"log {log.vkey()}\n" + text
    text += (
        f"group quorum-group {k} {' '.join(n for n, _, _ in witnesses)}\nquorum quorum-group\n"
        if witnesses
        else "quorum none\n"
    )
    return parse_policy(text)


ENV_POLICY = "ZKCRED_LEDGER_POLICY"


def load_policy(path: str | os.PathLike[str] | None) -> Policy | None:
    """The policy file at ``path`` (None: no policy); ``MalformedNote`` names what is wrong."""
    if not path:
        return None
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise MalformedNote(f"cannot read the witness policy {path}: {e.strerror or e}") from e
    return parse_policy(data)


def policy_from_env() -> Policy | None:
    """``ZKCRED_LEDGER_POLICY``: the path of the tlog-policy file consumers enforce (unset: none)."""
    return load_policy(os.environ.get(ENV_POLICY, "").strip() or None)


ENV_MAX_AGE = "ZKCRED_LEDGER_MAX_CHECKPOINT_AGE"


def max_age_from_env() -> float | None:
    """``ZKCRED_LEDGER_MAX_CHECKPOINT_AGE`` (seconds): how old the quorum's cosignatures may be (unset: any)."""
    raw = os.environ.get(ENV_MAX_AGE, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise MalformedNote(f"{ENV_MAX_AGE} must be a positive number of seconds")
    return value


class CheckpointTrust:
    """What a consumer trusts: the ledger's key under its origin, and optionally a witness policy.

    ``max_age`` (seconds): when a *new* checkpoint is accepted (``verify(..., fresh=True)``),
    only cosignatures whose timestamp is at most that old (and at most ``MAX_FUTURE`` ahead)
    count towards the quorum — a ledger cannot keep showing a party an old, once-cosigned
    view (hiding a later revocation) for longer than that.  The ledger re-submits an unchanged
    checkpoint to refresh its cosignatures (``WitnessSubmitter.refresh_after``).
    """

    MAX_FUTURE = 300.0

    def __init__(
        self,
        log: Ed25519Verifier,
        policy: Policy | None = None,
        *,
        max_age: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if policy is not None and policy.logs and all(p.verifier != log for p in policy.logs):
            raise ValueError(f"the policy does not list the ledger {log.vkey()}")
        if max_age is not None and policy is None:
            raise ValueError("max_age bounds the age of witness cosignatures: it needs a witness policy")
        self.log = log
        self.policy = policy
        self.max_age = max_age
        self.clock = clock
        self._witnesses = list(policy.witnesses.values()) if policy else []

    def verify(self, data: bytes | SignedCheckpoint, *, fresh: bool = False) -> SignedCheckpoint:
        """The checkpoint, if signed by the log and cosigned by a quorum; else a ``VerificationFailed``.

        ``fresh``: also require the quorum's cosignatures to be within ``max_age`` (for a checkpoint
        just fetched; one accepted earlier is re-verified without it).
        """
        return self.verify_with_cosigners(data, fresh=fresh)[0]

    def verify_with_cosigners(
        self, data: bytes | SignedCheckpoint, *, fresh: bool = False
    ) -> tuple[SignedCheckpoint, list[str]]:
        """``verify``, and the names of the policy's witnesses whose cosignatures verified (and count)."""
        signed, opened = open_checkpoint(data, self.log, witnesses=[w.verifier for w in self._witnesses])
        now = self.clock()
        cosigned = []
        for w in self._witnesses:
            line = opened.signed_by(w.verifier)
            if line is None:
                continue
            if fresh and self.max_age is not None:
                t = cosignature_timestamp(line.signature)
                if not now - self.max_age <= t <= now + self.MAX_FUTURE:
                    continue
            cosigned.append(w.name)
        if self.policy is not None:
            if not self.policy.satisfied(cosigned):
                missing = [w for w in self.policy.witnesses_under() if w not in cosigned]
                within = f" within {self.max_age:g} s" if fresh and self.max_age is not None else ""
                raise QuorumNotMet(
                    f"checkpoint of size {signed.size} lacks the witness quorum {self.policy.describe()}: "
                    f"no cosignature{within} from {', '.join(missing)}",
                    missing=missing,
                )
        return signed, cosigned
