"""Known answers for draft-irtf-cfrg-sigma-protocols and draft-irtf-cfrg-fiat-shamir (BLS12-381 G1, SHAKE128).

- The 14 shared valid proofs are re-proved **byte for byte** with the appendix's seeded
  PRNG and verified (both flavors), their instances rebuilt with the allocation API from
  the instance PRNG, and batch-verified together. blst runs every vector; py_ecc runs
  the named subset ``PY_ECC_SUBSET``.
- The Fiat–Shamir draft's sponge, ``DeriveSessionID``, ``DecodeUint`` and codec vectors,
  and its toy sumcheck protocol (accept and reject records).
- The BLS12-381 accept/reject records printed in the sigma draft's appendix (read from
  the draft text in ../shared/specs; each adversarial record is checked beside its baseline).
"""

from __future__ import annotations

import pytest

from circuits.backend import available_backends, get_backend
from circuits.errors import EncodingError, ZkCredError
from circuits.sigma import LinearRelation, batch_verify, codec, prove_batchable, prove_compact, verify_narg
from circuits.sigma.duplex_sponge import DuplexSponge, derive_session_id
from circuits.sigma.narg import check_batchable, check_compact
from tests.circuits.sigma_support import (
    fs_vectors,
    relation_from_drng,
    sigma_vector,
    sigma_vector_ids,
    sigma_vectors,
    spec_vectors,
    test_drng,
    witness_scalars,
)

#: py_ecc is 50–500× slower: one vector per flavor and shape (1–4 scalars, 1–2 equations).
PY_ECC_SUBSET = [
    "discrete_logarithm/batchable",
    "discrete_logarithm/compact",
    "elgamal_decryption/batchable",
    "bbs_blind_commitment_computation/compact",
]
CASES = [("blst", vid) for vid in sigma_vector_ids()] + [("py_ecc", vid) for vid in PY_ECC_SUBSET]
CASES = [(b, vid) for b, vid in CASES if b in available_backends()]


@pytest.mark.parametrize(("backend_name", "vector_id"), CASES, ids=[f"{b}-{v}" for b, v in CASES])
def test_valid_proof_reproduces_and_verifies(backend_name, vector_id):
    be, v = get_backend(backend_name), sigma_vector(vector_id)
    tag, instance, narg = v["Tag"].encode(), bytes.fromhex(v["Instance"]), bytes.fromhex(v["NargString"])
    assert v["Expected"] == "accept" and v["Ciphersuite"] == "sigma-proofs_Shake128_BLS12381"
    assert derive_session_id(tag).hex() == v["SessionId"]
    rel = LinearRelation.from_bytes(instance, be)
    assert rel.to_bytes() == instance
    prove = prove_batchable if v["Flavor"] == "batchable" else prove_compact
    got = prove(tag, rel, witness_scalars(v["Witness"]), rng=test_drng(v["Relation"], v["Flavor"]))
    assert got.hex() == v["NargString"]
    assert verify_narg(tag, instance, narg, v["Flavor"], backend=be)
    # The same bytes under the other flavor (and its tag) never verify.
    other = "compact" if v["Flavor"] == "batchable" else "batchable"
    assert not verify_narg(tag, instance, narg, other, backend=be)


@pytest.mark.parametrize("relation", sorted({v.split("/")[0] for v in sigma_vector_ids()}))
def test_instances_rebuild_from_the_instance_prng(relation):
    """The allocation API compiles each relation to the vector's Instance bytes and Witness."""
    be = get_backend(available_backends()[0])
    rel, witness = relation_from_drng(be, relation)
    for v in (x for x in sigma_vectors() if x["Relation"] == relation):
        assert rel.to_bytes().hex() == v["Instance"]
        assert witness == witness_scalars(v["Witness"])


def test_batch_verifies_every_batchable_vector():
    be = get_backend(available_backends()[0])
    items = [
        (v["Tag"].encode(), LinearRelation.from_bytes(bytes.fromhex(v["Instance"]), be), bytes.fromhex(v["NargString"]))
        for v in sigma_vectors()
        if v["Flavor"] == "batchable"
    ]
    assert len(items) == 7 and batch_verify(items)
    for i in range(len(items)):  # any one proof under another proof's tag: the batch fails
        tag, rel, narg = items[i]
        bad = items[:i] + [(items[i - 1][0], rel, narg)] + items[i + 1 :]
        assert not batch_verify(bad)


# draft-irtf-cfrg-fiat-shamir -----------------------------------------------------------------


def _run_sponge(v: dict) -> bytes:
    sponge, out = DuplexSponge(bytes.fromhex(v["SessionId"])), b""
    for op in v["Operations"]:
        if op["type"] == "absorb":
            sponge.absorb(bytes.fromhex(op["data"]))
        else:
            out += sponge.squeeze(op["length"])
    return out


def test_shake128_vectors(subtests):
    vectors = fs_vectors("fiatShamirShake128Vectors.json")
    seen = set()
    for v in vectors:
        with subtests.test(id=v["Id"]):
            assert v["Hash"] == "SHAKE128"
            seen.add(v["Function"])
            if v["Function"] == "DuplexSponge":
                assert _run_sponge(v).hex() == v["Output"]
            elif v["Function"] == "DeriveSessionID":
                assert derive_session_id(bytes.fromhex(v["Tag"])).hex() == v["Output"]
            elif v["Function"] == "DecodeUint":
                out = _run_sponge(v)
                assert out.hex() == v["Output"]
                assert codec.decode_uint(out, int(v["Modulus"], 16)) == int(v["Challenge"], 16)
            elif v["Function"] == "Sumcheck":
                _check_sumcheck(v)
            else:
                pytest.fail(f"unknown function {v['Function']}")
    assert seen == {"DuplexSponge", "DeriveSessionID", "DecodeUint", "Sumcheck"}


def test_codec_vectors(subtests):
    for v in fs_vectors("fiatShamirCodecVectors.json"):
        with subtests.test(id=v["Id"]):
            fn, reject = v["Function"], v.get("Expected") == "reject"
            modulus = int(v["Modulus"], 16) if "Modulus" in v else None
            order = "big" if v.get("ByteOrder") == "big-endian" else "little"
            data = bytes.fromhex(v.get("Input", ""))
            if fn == "SerializeVarLenString":
                assert codec.serialize_varlen_string(data).hex() == v["Output"]
                assert codec.deserialize_varlen_string(bytes.fromhex(v["Output"])) == (data, b"")
            elif fn == "DeserializeVarLenString":
                assert reject
                with pytest.raises(EncodingError):
                    codec.deserialize_varlen_string(data)
            elif fn == "SerializeUint":
                assert codec.serialize_uint(int(v["Value"], 16), modulus).hex() == v["Output"]
            elif fn == "SerializeField":
                assert codec.serialize_field([int(v["Value"], 16)], modulus, order).hex() == v["Output"]
            elif fn == "DeserializeUint":
                assert reject
                with pytest.raises(EncodingError):
                    codec.deserialize_uint(data, modulus)
            elif fn == "DeserializeField":
                if reject:
                    with pytest.raises(EncodingError):
                        codec.deserialize_field(data, modulus, v["ExtensionDegree"])
                else:
                    coords, rest = codec.deserialize_field(data, modulus, v["ExtensionDegree"])
                    assert rest == b"" and list(coords) == [int(c, 16) for c in v["Coordinates"]]
                    assert codec.serialize_field(coords, modulus) == data
            elif fn == "DecodeUint":
                assert codec.decode_uint(data, modulus) == int(v["Challenge"], 16)
            elif fn == "Sumcheck":
                _check_sumcheck(v)
            else:
                pytest.fail(f"unknown function {fn}")


# The toy sumcheck of the Fiat–Shamir draft's appendix (exercises sponge + field codec) --------


def _sumcheck_prove(session_id: bytes, p: int, v: int, w: list[int]) -> tuple[bytes, int]:
    ns = codec.byte_length(p)
    total = sum(w) % p
    state = DuplexSponge(session_id)
    state.absorb(codec.serialize_uint(v, 1 << 32) + codec.serialize_field([total], p))
    narg = b""
    for _ in range(v):
        a0 = sum(w[0::2]) % p
        a1 = (sum(w[1::2]) - a0) % p
        msg = codec.serialize_field([a0, a1], p)
        state.absorb(msg)
        narg += msg
        r = codec.le2ip(state.squeeze(ns)) % p
        w = [(w[i] + r * (w[i + 1] - w[i])) % p for i in range(0, len(w), 2)]
    return narg, w[0]


def _sumcheck_verify(session_id: bytes, p: int, v: int, total: int, narg: bytes) -> int:
    """SumcheckVerify up to the final comparison; returns the folded claim (raises on reject)."""
    ns = codec.byte_length(p)
    state = DuplexSponge(session_id)
    state.absorb(codec.serialize_uint(v, 1 << 32) + codec.serialize_field([total], p))
    for _ in range(v):
        (a0, a1), narg = codec.deserialize_field(narg, p, 2)
        if (2 * a0 + a1) % p != total:
            raise ZkCredError("round polynomial does not match the claim")
        state.absorb(codec.serialize_field([a0, a1], p))
        r = codec.le2ip(state.squeeze(ns)) % p
        total = (a0 + a1 * r) % p
    if narg:
        raise EncodingError("trailing bytes")
    return total


def _check_sumcheck(v: dict) -> None:
    p, n = int(v["Modulus"], 16), v["NumVariables"]
    sid = bytes.fromhex(v["SessionId"])
    if "Tag" in v:
        assert derive_session_id(bytes.fromhex(v["Tag"])) == sid
    narg, claim = bytes.fromhex(v["Narg"]), int(v["ClaimedSum"], 16)
    if v.get("Expected") == "reject":
        with pytest.raises(ZkCredError):
            _sumcheck_verify(sid, p, n, claim, narg)
        return
    witness = [int(x) for x in v["Witness"]]
    assert sum(witness) % p == claim
    got, y = _sumcheck_prove(sid, p, n, witness)
    assert got == narg and y == int(v["FinalEvaluation"], 16)
    assert _sumcheck_verify(sid, p, n, claim, narg) == y


# The sigma draft's appendix records for BLS12-381 (accept and reject) ---------------------------


def _appendix_records() -> list[dict[str, str]]:
    return [
        r
        for r in spec_vectors("draft-irtf-cfrg-sigma-protocols.md")
        if r.get("Ciphersuite") == "sigma-proofs_Shake128_BLS12381"
    ]


def test_appendix_records_accept_and_reject(subtests):
    """Each record as the draft states it; each adversarial one is rejected while its baseline accepts."""
    be = get_backend(available_backends()[0])
    records = _appendix_records()
    by_id = {r["Id"]: r for r in records}
    assert sum(r["Expected"] == "reject" for r in records) >= 20
    for r in records:
        with subtests.test(id=r["Id"]):
            args = (r["Tag"].encode(), bytes.fromhex(r["Instance"]), bytes.fromhex(r["NargString"]), r["Flavor"])
            assert verify_narg(*args, backend=be) is (r["Expected"] == "accept")
            if r["Expected"] == "reject":
                base = by_id[r["BaseId"]]
                assert verify_narg(
                    base["Tag"].encode(),
                    bytes.fromhex(base["Instance"]),
                    bytes.fromhex(base["NargString"]),
                    base["Flavor"],
                    backend=be,
                )
                # The raising form says why: a typed decoding, instance or verification error.
                with pytest.raises(ZkCredError):
                    rel = LinearRelation.from_bytes(args[1], be)
                    (check_batchable if r["Flavor"] == "batchable" else check_compact)(args[0], rel, args[2])
