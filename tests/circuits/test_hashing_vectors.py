"""RFC 9380 known answers: expand_message_xmd/xof, hash_to_field and hash_to_curve for G1."""

from __future__ import annotations

import pytest

from circuits.constants import P
from circuits.hashing import XMD_SHA256, expand_message_xmd, expand_message_xof
from tests.vectors import h, load_json

EXPANDERS = {
    "expand_message_xmd_SHA256_38.json": expand_message_xmd,
    "expand_message_xmd_SHA256_256.json": expand_message_xmd,
    "expand_message_xof_SHAKE256_36.json": expand_message_xof,
}


@pytest.mark.parametrize("name", sorted(EXPANDERS))
def test_expand_message(name, subtests):
    data = load_json("hash-to-curve", name)
    dst = data["DST"].encode()
    for case in data["tests"]:
        with subtests.test(msg=case["msg"][:20], len=case["len_in_bytes"]):
            out = EXPANDERS[name](case["msg"].encode(), dst, int(case["len_in_bytes"], 16))
            assert out.hex() == case["uniform_bytes"]


def _compressed(x: int, y: int) -> bytes:
    out = bytearray(x.to_bytes(48, "big"))
    out[0] |= 0x80 | (0x20 if y > (P - 1) // 2 else 0)
    return bytes(out)


def test_hash_to_curve_g1_sha256(backend, subtests):
    data = load_json("hash-to-curve", "BLS12381G1_XMD:SHA-256_SSWU_RO_.json")
    dst = data["dst"].encode()
    for case in data["vectors"]:
        msg = case["msg"].encode()
        with subtests.test(msg=case["msg"][:20]):
            assert XMD_SHA256.hash_to_field(msg, dst) == [int(u, 16) for u in case["u"]]
            want = _compressed(int(case["P"]["x"], 16), int(case["P"]["y"], 16))
            assert backend.g1_to_bytes(XMD_SHA256.hash_to_g1(backend, msg, dst)) == want
            # The generic path (hash_to_field → map_to_g1) agrees with the native one.
            u0, u1 = XMD_SHA256.hash_to_field(msg, dst)
            assert backend.g1_to_bytes(backend.map_to_g1(u0, u1)) == want


def test_oversize_dst_is_hashed():
    long_dst = b"x" * 300
    assert expand_message_xmd(b"m", long_dst, 32) != expand_message_xmd(b"m", long_dst[:255], 32)
    assert len(expand_message_xof(b"m", long_dst, 32)) == 32


def test_xmd_length_limits():
    from circuits.errors import ParameterError

    with pytest.raises(ParameterError):
        expand_message_xmd(b"", b"dst", 255 * 32 + 1)
    with pytest.raises(ParameterError):
        expand_message_xof(b"", b"dst", 65536)
    assert h("0x00") == b"\x00"
