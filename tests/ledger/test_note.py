"""C2SP signed-note, tlog-checkpoint, tlog-cosignature and the tlog-witness wire format.

The spec texts' own examples (../shared/specs/c2sp-*.md) are reproduced exactly; every
format rule has a case that breaks it; every signature is tampered with.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.checkpoint import (
    Checkpoint,
    SignedCheckpoint,
    format_add_checkpoint,
    log_signer,
    log_verifier,
    open_checkpoint,
    parse_add_checkpoint,
    parse_size_body,
    sign_checkpoint,
)
from ledger.errors import MalformedNote, NoteNotVerified, VerificationFailed
from ledger.note import (
    MAX_NOTE_SIZE,
    MAX_SIGNATURES,
    CosignatureSigner,
    CosignatureVerifier,
    Ed25519Signer,
    Ed25519Verifier,
    Note,
    NoteSignature,
    cosignature_timestamp,
    cosignature_v1_message,
    format_vkey,
    key_id,
    open_note,
    parse_note,
    parse_signature_lines,
    parse_vkey,
    sign_note,
)

# ---------------------------------------------------------------- the specs' examples, verbatim

SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n"
    "\n"
    "— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
).encode()
QUASIMODO = (
    "Ognuno sta solo sul cuor della terra\n"
    "trafitto da un raggio di sole:\n"
    "\n"
    "ed è subito sera.\n"
    "\n"
    "— quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n"
).encode()
SOFA_TEXT = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
SOFA_LOG_LINE = (
    "— example.com/behind-the-sofa "
    "Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
)
SOFA_COSIG_LINE = (
    "— witness.example.com/w1 "
    "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
)
WITNESS_REQUEST = (
    "old 20852014\n"
    "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"
    "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n"
    "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n"
    "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n"
    "\n"
    + SOFA_TEXT
    + "\n"
    + SOFA_LOG_LINE
    + "— example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n"
).encode()
WITNESS_RESPONSE = (
    "— witness.example/w1 CMp+6LWBU0anHGH5aNDTJkH/gj79sG+T6+iP2ThYN5krrDJbR1HDnucjL39QsZTSvVjyQLrdk3DXDqI5G2HgLatVs0pWh6Up69HVOw==\n"
    "— witness.example/w1 I7rEps0pvK2UqkS2gSpVUDhrhVtQV9lgF6pRrWAvjJHjyWpW7VcE3SiOlVlbQNt64vWhO+DlkL0+UfzuOBMh9ChdMkP1vi/lCAsmlw==\n"
    "— witness.example/w2 AWui8Sk55XjYLOijihBjhqEH6nS1ndDymE0a+6idX7pLcnoB+dhnz0854aLZgrrKbYKA7nC3HNJhm/kWl7oJlqU3rXXvpysAdyP3wQ==\n"
).encode()


def test_spec_vkey_verifies_the_spec_note() -> None:
    v = parse_vkey(SPEC_VKEY)
    assert isinstance(v, Ed25519Verifier) and v.name == "example.com/foo" and v.key_id == 0x530D903A
    assert v.vkey() == SPEC_VKEY  # formatting round-trips byte for byte
    assert key_id("example.com/foo", 0x01, v.public_key) == 0x530D903A
    opened = open_note(SPEC_NOTE, [v])
    assert opened.note.text == "This is an example message.\n"
    assert opened.note.to_bytes() == SPEC_NOTE
    assert opened.signed_by(v) is not None


def test_spec_note_tampered_is_rejected() -> None:
    v = parse_vkey(SPEC_VKEY)
    with pytest.raises(NoteNotVerified) as e:
        open_note(SPEC_NOTE.replace(b"example message", b"exemplary message"), [v])
    assert e.value.bad_signature  # a known key that fails rejects the whole note
    sig = bytearray(SPEC_NOTE)
    i = SPEC_NOTE.index(b"Uw2Q") + 10
    sig[i] = ord("A") if sig[i] != ord("A") else ord("B")
    with pytest.raises(NoteNotVerified):
        open_note(bytes(sig), [v])


def test_quasimodo_example_parses_with_an_empty_line_in_the_text() -> None:
    note = parse_note(QUASIMODO)
    assert note.text.endswith("ed è subito sera.\n") and "\n\ned è" in note.text
    (sig,) = note.signatures
    assert sig.name == "quasimodo.example/salvatore" and len(sig.signature) == 64
    assert note.to_bytes() == QUASIMODO
    with pytest.raises(NoteNotVerified) as e:  # no key of ours: rejected, not "bad"
        open_note(QUASIMODO, [parse_vkey(SPEC_VKEY)])
    assert not e.value.bad_signature


def test_checkpoint_example_and_its_cosignature_timestamp() -> None:
    signed = SignedCheckpoint.parse((SOFA_TEXT + "\n" + SOFA_LOG_LINE + SOFA_COSIG_LINE).encode())
    cp = signed.checkpoint
    assert (cp.origin, cp.size) == ("example.com/behind-the-sofa", 20852163)
    assert cp.root == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=") and cp.text() == SOFA_TEXT
    log_sig, cosig = signed.note.signatures
    assert log_sig.name == cp.origin and len(log_sig.signature) == 64
    assert cosig.name == "witness.example.com/w1" and len(cosig.signature) == 72
    # the example cosignature's timestamp is the one of the spec's signed-message example
    assert cosignature_timestamp(cosig.signature) == 1679315147


def test_cosignature_v1_signed_message_is_the_specs() -> None:
    assert cosignature_v1_message(SOFA_TEXT.encode(), 1679315147) == (
        b"cosignature/v1\n"
        b"time 1679315147\n"
        b"example.com/behind-the-sofa\n"
        b"20852163\n"
        b"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )


def test_witness_example_request_and_response_parse() -> None:
    req = parse_add_checkpoint(WITNESS_REQUEST)
    assert req.old_size == 20852014 and len(req.proof) == 4
    assert req.proof[0] == base64.b64decode("PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=")
    signed = SignedCheckpoint.parse(req.checkpoint)
    assert signed.size == 20852163 and len(signed.note.signatures) == 2
    assert format_add_checkpoint(req.old_size, req.proof, req.checkpoint) == WITNESS_REQUEST
    lines = parse_signature_lines(WITNESS_RESPONSE)
    assert [s.name for s in lines] == ["witness.example/w1", "witness.example/w1", "witness.example/w2"]


# ---------------------------------------------------------------- our keys: sign, verify, key IDs


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"zkcred test ledger key").digest())


def test_key_ids_follow_the_recommended_hash(key: Ed25519PrivateKey) -> None:
    pub = key.public_key().public_bytes_raw()
    for cls, t in ((Ed25519Verifier, 0x01), (CosignatureVerifier, 0x04)):
        v = cls("zkcred.example/x", pub)
        expected = int.from_bytes(hashlib.sha256(b"zkcred.example/x\n" + bytes([t]) + pub).digest()[:4], "big")
        assert v.key_id == expected
        assert v.vkey() == f"zkcred.example/x+{expected:08x}+" + base64.b64encode(bytes([t]) + pub).decode()
        assert parse_vkey(v.vkey()) == v
    # the same key under two signature types has two IDs (signed-note §Verifier keys)
    assert Ed25519Verifier("n", pub).key_id != CosignatureVerifier("n", pub).key_id


@pytest.mark.parametrize(
    "vkey",
    [
        "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # wrong key ID
        "example.com/bar+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # ID of another name
        "example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # uppercase hex
        "example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # type 0x02
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U",  # short key
        "example.com/foo+530d903a",
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k+x",
        "+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/foo+530d903a+" + base64.b64encode(b"\x01" + bytes(32)).decode(),  # small-order key
        "example.com/foo+530d903a+" + base64.b64encode(b"\x01" + (1).to_bytes(32, "little")).decode(),  # identity
    ],
)
def test_bad_vkeys_are_refused(vkey: str) -> None:
    with pytest.raises(MalformedNote):
        parse_vkey(vkey)


def test_sign_and_open_roundtrip_with_unknown_and_colliding_keys(key: Ed25519PrivateKey) -> None:
    signer = Ed25519Signer("zkcred.example/a", key)
    other = Ed25519Signer("zkcred.example/b", Ed25519PrivateKey.generate())
    note = sign_note("hello\n\nworld\n", [signer, other])
    data = note.to_bytes()
    assert parse_note(data) == note
    opened = open_note(data, [signer.verifier])  # 'other' is unknown: ignored
    assert [v for v, _ in opened.verified] == [signer.verifier]
    # same name, other key (so another ID): ignored, not a failure
    impostor = Ed25519Verifier("zkcred.example/a", Ed25519PrivateKey.generate().public_key().public_bytes_raw())
    assert open_note(data, [signer.verifier, impostor]).verified[0][0] == signer.verifier
    with pytest.raises(NoteNotVerified):
        open_note(data, [impostor])
    # a line carrying a known (name, ID) with a wrong signature rejects the note even if another verifies
    forged = NoteSignature(signer.name, signer.key_id, bytes(64))
    with pytest.raises(NoteNotVerified) as e:
        open_note(Note(note.text, (*note.signatures, forged)), [signer.verifier])
    assert e.value.bad_signature
    # same key ID, other name: ignored
    renamed = NoteSignature("zkcred.example/c", signer.key_id, note.signatures[0].signature)
    assert open_note(Note(note.text, (*note.signatures, renamed)), [signer.verifier]).verified


def test_sixteen_signatures_are_accepted() -> None:
    signers = [Ed25519Signer(f"w{i}.example", Ed25519PrivateKey.generate()) for i in range(16)]
    data = sign_note("sixteen\n", signers).to_bytes()
    opened = open_note(data, [s.verifier for s in signers])
    assert len(opened.verified) == 16


_GOOD = "text\n\n— a.example AAAAAAE=\n"


@pytest.mark.parametrize(
    "data",
    [
        b"text\n\n",  # no signature line
        b"text\n",  # no blank line
        b"text\n\n\xe2\x80\x94 a.example AAAAAAE=",  # last line without newline
        b"text\r\n\r\n\xe2\x80\x94 a.example AAAAAAE=\r\n",  # CRLF
        b"te\x00xt\n\n\xe2\x80\x94 a.example AAAAAAE=\n",  # NUL
        b"te\txt\n\n\xe2\x80\x94 a.example AAAAAAE=\n",  # tab is a control character
        b"text\n\n\xe2\x80\x94 a.example AAAAAAE=\n\xff",  # invalid UTF-8
        b"text\n\n- a.example AAAAAAE=\n",  # hyphen, not em dash
        b"text\n\n\xe2\x80\x94  a.example AAAAAAE=\n",  # two spaces
        b"text\n\n\xe2\x80\x94 a.example AAAAAAE= \n",  # trailing space
        b"text\n\n\xe2\x80\x94 a.example\n",  # no signature
        b"text\n\n\xe2\x80\x94 a+b.example AAAAAAE=\n",  # plus in the name
        b"text\n\n\xe2\x80\x94 a\xc2\xa0b AAAAAAE=\n",  # U+00A0 NO-BREAK SPACE in the name
        b"text\n\n\xe2\x80\x94 a\xe3\x80\x80b AAAAAAE=\n",  # U+3000 IDEOGRAPHIC SPACE
        b"text\n\n\xe2\x80\x94 a.example AAAAAA==\n",  # 4 bytes: a key ID and no signature
        b"text\n\n\xe2\x80\x94 a.example AAAAAAE\n",  # unpadded base64
        b"text\n\n\xe2\x80\x94 a.example AAAAAAF=\n",  # non-canonical base64 (stray bits)
        b"text\n\n\xe2\x80\x94 a.example AAAA_AE=\n",  # base64url alphabet
        b"\xef\xbb\xbftext\n\n\xe2\x80\x94 a.example AAAAAAE=\n\n",  # blank line after the signatures
    ],
)
def test_malformed_notes(data: bytes) -> None:
    assert parse_note(_GOOD.encode()).signatures[0].name == "a.example"
    with pytest.raises(MalformedNote):
        parse_note(data)


def test_limits() -> None:
    line = "— a.example AAAAAAE=\n"
    assert len(parse_note(("t\n\n" + line * MAX_SIGNATURES).encode()).signatures) == MAX_SIGNATURES
    with pytest.raises(MalformedNote):
        parse_note(("t\n\n" + line * (MAX_SIGNATURES + 1)).encode())
    with pytest.raises(MalformedNote):
        parse_note(b"t" * MAX_NOTE_SIZE + b"\n\n" + line.encode())


def test_errors_fail_closed_as_verification_failures() -> None:
    assert issubclass(MalformedNote, VerificationFailed) and issubclass(NoteNotVerified, VerificationFailed)


# ---------------------------------------------------------------- cosignatures


def test_cosignature_sign_verify_and_tamper(key: Ed25519PrivateKey) -> None:
    w = CosignatureSigner("witness.zkcred.example/w1", key, clock=lambda: 1679315147.9)
    sig = w.sign(SOFA_TEXT.encode())
    assert cosignature_timestamp(sig) == 1679315147 and len(sig) == 72
    assert key.public_key().public_bytes_raw() == w.verifier.public_key
    assert w.verifier.verify(SOFA_TEXT.encode(), sig)
    # the signature is Ed25519 over exactly the spec's message
    key.public_key().verify(sig[8:], cosignature_v1_message(SOFA_TEXT.encode(), 1679315147))
    moved = (1679315148).to_bytes(8, "big") + sig[8:]  # another timestamp
    assert not w.verifier.verify(SOFA_TEXT.encode(), moved)
    assert not w.verifier.verify(SOFA_TEXT.replace("20852163", "20852164").encode(), sig)
    # an Ed25519 (0x01) verifier of the same key and name does not accept a cosignature, nor vice versa
    plain = Ed25519Verifier(w.name, w.verifier.public_key)
    assert plain.key_id != w.key_id and not plain.verify(SOFA_TEXT.encode(), sig)
    with pytest.raises(ValueError):
        w.sign(SOFA_TEXT.encode(), timestamp=0)  # tlog-witness: never a zero timestamp
    vkey = w.verifier.vkey()
    assert base64.b64decode(vkey.split("+", 2)[2])[0] == 0x04 and parse_vkey(vkey) == w.verifier


def test_cosigned_checkpoint_opens_with_log_and_witness_keys(key: Ed25519PrivateKey) -> None:
    signer = log_signer("zkcred.example/ledger", key)
    cp = Checkpoint("zkcred.example/ledger", 7, hashlib.sha256(b"root").digest())
    signed = sign_checkpoint(cp, signer)
    w = CosignatureSigner("w1.example", Ed25519PrivateKey.generate())
    line = NoteSignature(w.name, w.key_id, w.sign(cp.text().encode()))
    cosigned = signed.with_cosignatures([line, line])
    assert cosigned.note.signatures == (*signed.note.signatures, line)  # duplicates dropped
    lv = log_verifier("zkcred.example/ledger", key.public_key().public_bytes_raw())
    _, opened = open_checkpoint(cosigned.to_bytes(), lv, witnesses=[w.verifier])
    assert opened.signed_by(w.verifier) == line
    with pytest.raises(MalformedNote):  # the origin must be the log's
        open_checkpoint(cosigned.to_bytes(), log_verifier("zkcred.example/other", lv.public_key))
    only_witness = SignedCheckpoint(cp, Note(cp.text(), (line,)))
    with pytest.raises(NoteNotVerified):  # a witness alone does not make a checkpoint
        open_checkpoint(only_witness, lv, witnesses=[w.verifier])


# ---------------------------------------------------------------- checkpoint text and add-checkpoint bodies

ROOT_B64 = base64.b64encode(bytes(32)).decode()


@pytest.mark.parametrize(
    "text",
    [
        f"o\n01\n{ROOT_B64}\n",  # leading zero
        f"o\n-1\n{ROOT_B64}\n",
        f"o\n+1\n{ROOT_B64}\n",
        f"o\n1 \n{ROOT_B64}\n",
        f"o\n18446744073709551616\n{ROOT_B64}\n",  # 2^64
        f"o\n9223372036854775808\n{ROOT_B64}\n",  # 2^63: above SQL BIGINT, refused
        "o\n1\nAAAA\n",  # root not 32 bytes
        f"o\n1\n{ROOT_B64}",  # no final newline
        f"\n1\n{ROOT_B64}\n",  # empty origin
        "o\n1\n",  # two lines
        f"o\n1\n{ROOT_B64}\n\next\n",  # empty extension line
    ],
)
def test_malformed_checkpoint_text(text: str) -> None:
    assert Checkpoint.from_text(f"o\n0\n{ROOT_B64}\next\n").extensions == ("ext",)
    with pytest.raises(MalformedNote):
        Checkpoint.from_text(text)


@pytest.mark.parametrize(
    "body",
    [
        b"old 01\n\nx",
        b"old -1\n\nx",
        b"old 1\n",  # no empty line
        b"Old 1\n\nx",
        b"old  1\n\nx",
        b"old 1\nAAAA\n\nx",  # proof line not a 32-byte hash
        b"old 1\n" + (ROOT_B64 + "\n").encode() * 64 + b"\nx",  # 64 proof lines
        b"old 1\r\n\r\nx",
    ],
)
def test_malformed_add_checkpoint_bodies(body: bytes) -> None:
    with pytest.raises(MalformedNote):
        parse_add_checkpoint(body)


def test_size_bodies() -> None:
    assert parse_size_body(b"20852163\n") == 20852163
    for bad in (b"1", b"01\n", b"1\n\n", b"\n"):
        with pytest.raises(MalformedNote):
            parse_size_body(bad)


def test_format_vkey_names() -> None:
    with pytest.raises(MalformedNote):
        format_vkey("bad name", 1, bytes(32))


def test_vkeys_whose_base64_contains_plus_round_trip() -> None:
    seen_plus = 0
    for _ in range(64):
        pub = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
        for cls in (Ed25519Verifier, CosignatureVerifier):
            v = cls("zkcred.example/k", pub)
            seen_plus += "+" in v.vkey().split("+", 2)[2]
            assert parse_vkey(v.vkey()) == v
    assert seen_plus  # 64 keys × 2 types: some base64 has a "+" (P(none) ≈ 2^-50)


# ---------------------------------------------------------------- ML-DSA-44 cosignatures (type 0x06)


def test_mldsa44_cosigned_message_is_the_specs_structure() -> None:
    from ledger.note import subtree_v1_message

    root = base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    msg = subtree_v1_message("witness.example/w1", 1679315147, "example.com/behind-the-sofa", 0, 20852163, root)
    assert msg == (
        b"subtree/v1\n\x00"  # uint8 label[12]
        + bytes([18])
        + b"witness.example/w1"  # opaque cosigner_name<1..2^8-1>
        + (1679315147).to_bytes(8, "big")  # uint64 timestamp
        + bytes([27])
        + b"example.com/behind-the-sofa"  # opaque log_origin<1..2^8-1>
        + bytes(8)  # uint64 start = 0 for a checkpoint
        + (20852163).to_bytes(8, "big")  # uint64 end = the tree size
        + root  # uint8 hash[32]
    )
    with pytest.raises(ValueError):
        subtree_v1_message("", 1, "o", 0, 1, root)


def test_mldsa44_cosignatures_sign_verify_and_tamper() -> None:
    from ledger.note import MLDSACosignatureSigner, MLDSACosignatureVerifier

    seed = hashlib.sha256(b"zkcred test ml-dsa witness").digest()
    w = MLDSACosignatureSigner("witness.zkcred.example/pq", seed, clock=lambda: 1679315147.2)
    text = SOFA_TEXT.encode()
    sig = w.sign(text)
    assert len(sig) == 8 + 2420 and cosignature_timestamp(sig) == 1679315147
    assert w.verifier.verify(text, sig)
    assert not w.verifier.verify(SOFA_TEXT.replace("20852163", "20852164").encode(), sig)
    assert not w.verifier.verify(text, (1679315148).to_bytes(8, "big") + sig[8:])
    # the message commits to the cosigner's name: the same key under another name does not verify
    assert not MLDSACosignatureVerifier("witness.zkcred.example/other", w.verifier.public_key).verify(text, sig)
    pub = w.verifier.public_key
    assert len(pub) == 1312
    assert w.key_id == int.from_bytes(hashlib.sha256(b"witness.zkcred.example/pq\n\x06" + pub).digest()[:4], "big")
    vkey = w.verifier.vkey()
    assert base64.b64decode(vkey.split("+", 2)[2])[0] == 0x06 and parse_vkey(vkey) == w.verifier
    line = NoteSignature(w.name, w.key_id, sig)
    opened = open_note(parse_note((SOFA_TEXT + "\n" + SOFA_LOG_LINE + line.line()).encode()), [w.verifier])
    assert opened.signed_by(w.verifier) == line  # a ~3.2 kB line parses within the limits
    with pytest.raises(ValueError):
        w.sign(b"not a checkpoint\n")
