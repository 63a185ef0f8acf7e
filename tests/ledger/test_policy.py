"""C2SP tlog-policy: the spec's example with real keys, every syntax rule, quorum evaluation."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.checkpoint import Checkpoint, log_signer, sign_checkpoint
from ledger.errors import MalformedNote, QuorumNotMet
from ledger.note import CosignatureSigner, NoteSignature
from ledger.policy import CheckpointTrust, format_policy, load_policy, parse_policy, simple_policy


def _key(name: str) -> Ed25519PrivateKey:
    """Deterministic keys: parametrize ids must be the same in every pytest-xdist worker."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(name.encode()).digest())


def _w(name: str) -> CosignatureSigner:
    return CosignatureSigner(name, _key(name))


LOG = log_signer("ledger.test/p", _key("ledger.test/p"))
X = [_w(f"x{i}.example") for i in (1, 2, 3)]
Y = [_w(f"y{i}.example") for i in (1, 2, 3)]

# the spec's "Example policy", keys filled in, comments and tabs as the syntax allows
EXAMPLE = f"""# the spec's example
log {LOG.verifier.vkey()}

witness X1 {X[0].verifier.vkey()}
witness X2 {X[1].verifier.vkey()} https://x2.example/
\twitness   X3\t{X[2].verifier.vkey()}
group X-witnesses 2 X1 X2 X3

witness Y1 {Y[0].verifier.vkey()}
witness Y2 {Y[1].verifier.vkey()}
witness Y3 {Y[2].verifier.vkey()}
group Y-witnesses any Y1 Y2 Y3
   # indented comment
group X-and-Y all X-witnesses Y-witnesses
quorum X-and-Y
"""


def test_the_specs_example() -> None:
    p = parse_policy(EXAMPLE)
    assert [log.verifier for log in p.logs] == [LOG.verifier]
    assert list(p.witnesses) == ["X1", "X2", "X3", "Y1", "Y2", "Y3"] and p.witnesses["X2"].url == "https://x2.example/"
    assert p.groups["X-witnesses"].threshold == 2 and p.groups["Y-witnesses"].threshold == 1
    assert p.groups["X-and-Y"].threshold == 2 and p.quorum == "X-and-Y"
    # at least two of the X witnesses and at least one of the Y witnesses
    assert p.satisfied({"X1", "X3", "Y2"})
    assert not p.satisfied({"X1", "Y1", "Y2", "Y3"})
    assert not p.satisfied({"X1", "X2", "X3"})
    assert p.witnesses_under() == ["X1", "X2", "X3", "Y1", "Y2", "Y3"]
    assert p.describe() == "2 of (2 of (X1, X2, X3), 1 of (Y1, Y2, Y3))"
    assert parse_policy(format_policy(p)) == p


def test_quorum_none_and_single_witness() -> None:
    assert parse_policy("quorum none\n").satisfied(set())
    p = parse_policy(f"witness W {X[0].verifier.vkey()}\nquorum W")  # no final newline: still a line
    assert p.satisfied({"W"}) and not p.satisfied(set())


@pytest.mark.parametrize(
    "text",
    [
        "",  # no quorum
        "quorum none\nquorum none\n",
        "quorum W\n",  # undefined
        f"quorum W\nwitness W {X[0].verifier.vkey()}\n",  # defined after use
        f"witness W {X[0].verifier.vkey()}\nwitness W {X[1].verifier.vkey()}\nquorum W\n",  # duplicate name
        f"witness A {X[0].verifier.vkey()}\nwitness B {X[0].verifier.vkey()}\nquorum A\n",  # duplicate key
        f"log {LOG.verifier.vkey()}\nlog {LOG.verifier.vkey()}\nquorum none\n",  # duplicate log
        f"witness none {X[0].verifier.vkey()}\nquorum none\n",  # reserved name
        f"witness W {LOG.verifier.vkey()}\nquorum W\n",  # a 0x01 key is not a cosigner key
        f"log {X[0].verifier.vkey()}\nquorum none\n",  # a 0x04 key is not a log key
        f"witness W {X[0].verifier.vkey()}\ngroup G 2 W\nquorum G\n",  # k > n
        f"witness W {X[0].verifier.vkey()}\ngroup G 0 W\nquorum G\n",  # k < 1
        f"witness W {X[0].verifier.vkey()}\ngroup G 01 W\nquorum G\n",
        f"witness W {X[0].verifier.vkey()}\ngroup G all\nquorum G\n",  # no member
        f"witness W {X[0].verifier.vkey()}\ngroup G any W W\nquorum G\n",  # a member twice
        f"witness W {X[0].verifier.vkey()}\ngroup G any W\ngroup H any W\nquorum G\n",  # member of two groups
        f"witness W {X[0].verifier.vkey()}\ngroup G any none\nquorum G\n",
        f"witness W {X[0].verifier.vkey()} https://w extra\nquorum W\n",
        "witness W not-a-vkey\nquorum none\n",
        "quorum none\nlogs x\n",  # unknown keyword
        "quorum none\r\n",  # CR is a control character
        "quorum\x0bnone\n",
    ],
)
def test_malformed_policies(text: str) -> None:
    with pytest.raises(MalformedNote):
        parse_policy(text)


def test_names_are_opaque_octets() -> None:
    kelvin = f"witness \u212a {X[0].verifier.vkey()}\nquorum K\n"  # KELVIN SIGN is not "K"
    with pytest.raises(MalformedNote):
        parse_policy(kelvin.encode())
    latin1 = b"witness \xe9 " + X[0].verifier.vkey().encode() + b"\nquorum \xe9\n"  # not UTF-8: opaque, allowed
    assert parse_policy(latin1).satisfied({b"\xe9".decode("utf-8", "surrogateescape")})


def test_load_policy(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert load_policy(None) is None
    path = tmp_path / "policy"
    path.write_text(EXAMPLE)
    assert load_policy(str(path)).quorum == "X-and-Y"
    with pytest.raises(MalformedNote):
        load_policy(str(tmp_path / "missing"))


def test_checkpoint_trust_enforces_the_quorum() -> None:
    cp = Checkpoint("ledger.test/p", 5, bytes(range(32)))
    signed = sign_checkpoint(cp, LOG)
    text = cp.text().encode()

    def cosig(w: CosignatureSigner) -> NoteSignature:
        return NoteSignature(w.name, w.key_id, w.sign(text))

    policy = simple_policy([(w.name, w.verifier, None) for w in X], 2, log=LOG.verifier)
    trust = CheckpointTrust(LOG.verifier, policy)
    with pytest.raises(QuorumNotMet) as e:
        trust.verify(signed.with_cosignatures([cosig(X[1])]))
    assert e.value.missing == ["x1.example", "x3.example"] and "x1.example, x3.example" in e.value.detail
    ok, cosigners = trust.verify_with_cosigners(signed.with_cosignatures([cosig(X[0]), cosig(X[2])]))
    assert ok.size == 5 and cosigners == ["x1.example", "x3.example"]
    # cosignatures from keys outside the policy count for nothing (and are ignored)
    with pytest.raises(QuorumNotMet):
        trust.verify(signed.with_cosignatures([cosig(X[0]), cosig(Y[0])]))
    # a policy witness's cosignature over another checkpoint rejects the note
    other = NoteSignature(X[2].name, X[2].key_id, X[2].sign(b"ledger.test/p\n6\n" + text.split(b"\n")[2] + b"\n"))
    with pytest.raises(Exception) as bad:
        trust.verify(signed.with_cosignatures([cosig(X[0]), other]))
    assert getattr(bad.value, "bad_signature", False)
    with pytest.raises(ValueError):  # the policy lists logs, and this ledger is not one of them
        CheckpointTrust(log_signer("ledger.test/p", Ed25519PrivateKey.generate()).verifier, policy)


def test_max_age_counts_only_fresh_cosignatures_for_a_new_checkpoint() -> None:
    cp = Checkpoint("ledger.test/p", 9, bytes(range(32)))
    text = cp.text().encode()
    now = 1_800_000_000.0

    def at(w: CosignatureSigner, t: float) -> NoteSignature:
        return NoteSignature(w.name, w.key_id, w.sign(text, timestamp=int(t)))

    policy = simple_policy([(w.name, w.verifier, None) for w in X], 2, log=LOG.verifier)
    trust = CheckpointTrust(LOG.verifier, policy, max_age=60, clock=lambda: now)
    signed = sign_checkpoint(cp, LOG)
    assert trust.verify(signed.with_cosignatures([at(X[0], now - 59), at(X[1], now - 1)]), fresh=True).size == 9
    old = signed.with_cosignatures([at(X[0], now - 59), at(X[1], now - 61)])
    with pytest.raises(QuorumNotMet) as e:  # a once-cosigned view shown after the bound: refused
        trust.verify(old, fresh=True)
    assert e.value.missing == ["x2.example", "x3.example"] and "within 60 s" in e.value.detail
    trust.verify(old)  # re-verifying a checkpoint accepted earlier does not age it out
    with pytest.raises(QuorumNotMet):  # far in the future: not counted either
        trust.verify(signed.with_cosignatures([at(X[0], now), at(X[1], now + 3600)]), fresh=True)
    with pytest.raises(ValueError):
        CheckpointTrust(LOG.verifier, max_age=60)  # an age bound needs witnesses
