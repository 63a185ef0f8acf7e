"""RFC 9162 Merkle algorithms: published vectors, a literal reference, tampering, second preimages."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import merkle
from tests.ledger.reference_merkle import MTH, PATH, PROOF

# The RFC 6962/9162 test inputs and expected values used by every CT implementation
# (transparency-dev/merkle testonly/constants.go; certificate-transparency merkle_tree_test.cc).
CT_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    bytes(range(0x60, 0x70)),
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = {  # (leaf index, tree size): audit path
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}
CT_CONSISTENCY = {  # (old size, new size): proof
    (1, 1): [],
    (1, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}
CT_LEAF_HASHES = [merkle.leaf_hash(d) for d in CT_LEAVES]


def _hx(items: list[str]) -> list[bytes]:
    return [bytes.fromhex(h) for h in items]


def _leaves(n: int, salt: bytes = b"") -> list[bytes]:
    return [salt + i.to_bytes(4, "big") for i in range(n)]


# ---------------------------------------------------------------- published vectors


@pytest.mark.parametrize("size", range(len(CT_ROOTS)))
def test_ct_roots(size: int) -> None:
    assert merkle.root_hash(CT_LEAF_HASHES[:size]).hex() == CT_ROOTS[size]
    assert MTH(CT_LEAVES[:size]).hex() == CT_ROOTS[size]


def test_empty_tree_is_sha256_of_nothing() -> None:
    assert merkle.root_hash([]) == hashlib.sha256(b"").digest() == merkle.EMPTY_ROOT


@pytest.mark.parametrize(("index", "size"), sorted(CT_INCLUSION))
def test_ct_inclusion(index: int, size: int) -> None:
    expected = _hx(CT_INCLUSION[(index, size)])
    assert merkle.inclusion_proof(CT_LEAF_HASHES[:size], index) == expected
    root = bytes.fromhex(CT_ROOTS[size])
    assert merkle.verify_inclusion(CT_LEAF_HASHES[index], index, size, expected, root)


@pytest.mark.parametrize(("old", "new"), sorted(CT_CONSISTENCY))
def test_ct_consistency(old: int, new: int) -> None:
    expected = _hx(CT_CONSISTENCY[(old, new)])
    assert merkle.consistency_proof(CT_LEAF_HASHES[:new], old) == expected
    old_root, new_root = bytes.fromhex(CT_ROOTS[old]), bytes.fromhex(CT_ROOTS[new])
    assert merkle.verify_consistency(old, new, old_root, new_root, expected)


# ---------------------------------------------------------------- fast code == literal RFC


def _check_against_reference(data: list[bytes]) -> None:
    n = len(data)
    hashes = [merkle.leaf_hash(d) for d in data]
    root = MTH(data)
    assert merkle.root_hash(hashes) == root
    for m in range(n):
        proof = merkle.inclusion_proof(hashes, m)
        assert proof == PATH(m, data), (m, n)
        assert merkle.verify_inclusion(hashes[m], m, n, proof, root)
    for m in range(1, n):
        proof = merkle.consistency_proof(hashes, m)
        assert proof == PROOF(m, data), (m, n)
        assert merkle.verify_consistency(m, n, MTH(data[:m]), root, proof)


@pytest.mark.parametrize("n", range(0, 40))
def test_every_small_size_matches_reference(n: int) -> None:
    _check_against_reference(_leaves(n))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=6), max_size=90))
def test_random_trees_match_reference(data: list[bytes]) -> None:
    _check_against_reference(data)


@pytest.mark.parametrize("n", [127, 128, 129, 255, 256, 257, 1000, 1025])
def test_larger_sizes_match_reference_on_sampled_indices(n: int) -> None:
    data = _leaves(n, b"x")
    hashes = [merkle.leaf_hash(d) for d in data]
    root = MTH(data)
    assert merkle.root_hash(hashes) == root
    for m in {0, 1, n // 3, n // 2, n - 2, n - 1}:
        assert merkle.inclusion_proof(hashes, m) == PATH(m, data)
        assert merkle.consistency_proof(hashes, max(m, 1)) == PROOF(max(m, 1), data)


def test_frontier_and_stored_nodes_give_the_same_proofs() -> None:
    """The append path (frontier + completed nodes) reproduces roots and proofs for every size."""
    nodes: dict[tuple[int, int], bytes] = {}
    frontier: tuple[bytes, ...] = ()
    hashes: list[bytes] = []
    for n in range(300):
        h = merkle.leaf_hash(n.to_bytes(4, "big"))
        frontier, completed = merkle.append_leaf(frontier, n, h)
        assert 1 <= len(completed) <= n.bit_length() + 1
        for level, index, value in completed:
            assert (level, index) not in nodes
            nodes[(level, index)] = value
        hashes.append(h)
        size = n + 1
        assert merkle.frontier_root(frontier) == merkle.root_hash(hashes)

        def fetch(ids, nodes=nodes):  # type: ignore[no-untyped-def]
            return {i: nodes[i] for i in ids}

        for m in {0, n // 2, n}:
            assert merkle.resolve_plan(merkle.inclusion_proof_plan(m, size), fetch) == merkle.inclusion_proof(hashes, m)
        for m in {0, 1, n // 2, n, size}:
            plan = merkle.consistency_proof_plan(m, size)
            assert merkle.resolve_plan(plan, fetch) == merkle.consistency_proof(hashes, m)
            assert sum(len(g) for g in plan) <= 2 * size.bit_length() + 2  # O(log n) reads


# ---------------------------------------------------------------- tampered proofs never verify


def _flips(proof: list[bytes]):  # type: ignore[no-untyped-def]
    for i, p in enumerate(proof):
        for j in range(len(p)):
            bad = bytearray(p)
            bad[j] ^= 0x01
            yield proof[:i] + [bytes(bad)] + proof[i + 1 :]


@pytest.mark.parametrize(("index", "size"), [(0, 1), (0, 8), (5, 8), (6, 7), (12, 13), (31, 33), (64, 100)])
def test_tampered_inclusion_proofs_fail(index: int, size: int) -> None:
    hashes = [merkle.leaf_hash(d) for d in _leaves(size)]
    root, leaf = merkle.root_hash(hashes), hashes[index]
    proof = merkle.inclusion_proof(hashes, index)
    assert merkle.verify_inclusion(leaf, index, size, proof, root)
    for bad in _flips(proof):
        assert not merkle.verify_inclusion(leaf, index, size, bad, root)
    extra = hashlib.sha256(b"extra").digest()
    variants = [proof + [extra], [extra] + proof, proof + [root]]
    if proof:
        variants += [proof[:-1], proof[1:], list(reversed(proof)) if len(proof) > 1 else [extra]]
    for bad in variants:
        assert not merkle.verify_inclusion(leaf, index, size, bad, root)
    flipped_leaf = bytes([leaf[0] ^ 1]) + leaf[1:]
    flipped_root = bytes([root[0] ^ 1]) + root[1:]
    assert not merkle.verify_inclusion(flipped_leaf, index, size, proof, root)
    assert not merkle.verify_inclusion(leaf, index, size, proof, flipped_root)
    # Another index, or a size whose audit path has another length.  (A size with the same
    # path shape, such as 7 for leaf 0 of 8, cannot be told apart by the proof alone: the
    # signed tree head binds the size to the root.)
    for i, s in [(index + 1, size), (index - 1, size), (index, 2 * size + 1)]:
        if (i, s) != (index, size) and 0 <= i < s:
            assert not merkle.verify_inclusion(leaf, i, s, proof, root), (i, s)
    for i, s in [(size, size), (-1, size), (0, 0)]:
        assert not merkle.verify_inclusion(leaf, i, s, proof, root)
    assert not merkle.verify_inclusion(leaf[:31], index, size, proof, root)
    assert not merkle.verify_inclusion(leaf, index, size, [p + b"\x00" for p in proof] or [b"x"], root)


@pytest.mark.parametrize(("old", "new"), [(1, 2), (1, 8), (2, 5), (3, 7), (4, 8), (6, 8), (7, 13), (16, 33), (50, 100)])
def test_tampered_consistency_proofs_fail(old: int, new: int) -> None:
    hashes = [merkle.leaf_hash(d) for d in _leaves(new)]
    old_root, new_root = merkle.root_hash(hashes[:old]), merkle.root_hash(hashes)
    proof = merkle.consistency_proof(hashes, old)
    assert merkle.verify_consistency(old, new, old_root, new_root, proof)
    for bad in _flips(proof):
        assert not merkle.verify_consistency(old, new, old_root, new_root, bad)
    extra = hashlib.sha256(b"extra").digest()
    for bad in [proof[:-1], proof[1:], proof + [extra], [extra] + proof, [], [old_root] + proof]:
        if bad != proof:
            assert not merkle.verify_consistency(old, new, old_root, new_root, bad)
    assert not merkle.verify_consistency(old, new, new_root, old_root, proof)
    assert not merkle.verify_consistency(new, old, old_root, new_root, proof)
    for o, n in [(old + 1, new), (old - 1, new), (old, 2 * new + 1)]:  # see the inclusion test on sizes
        if 0 < o < n and (o, n) != (old, new):
            assert not merkle.verify_consistency(o, n, old_root, new_root, proof), (o, n)
    other = merkle.root_hash([merkle.leaf_hash(d) for d in _leaves(old, b"other")])
    assert not merkle.verify_consistency(old, new, other, new_root, proof)


def test_consistency_edge_cases() -> None:
    hashes = [merkle.leaf_hash(d) for d in _leaves(5)]
    root = merkle.root_hash(hashes)
    assert merkle.consistency_proof(hashes, 5) == []
    assert merkle.verify_consistency(5, 5, root, root, [])
    assert not merkle.verify_consistency(5, 5, root, merkle.EMPTY_ROOT, [])
    assert not merkle.verify_consistency(5, 5, root, root, [root])
    assert merkle.consistency_proof(hashes, 0) == []
    assert merkle.verify_consistency(0, 5, merkle.EMPTY_ROOT, root, [])
    assert not merkle.verify_consistency(0, 5, root, root, [])
    assert not merkle.verify_consistency(0, 5, merkle.EMPTY_ROOT, root, [root])
    assert not merkle.verify_inclusion(hashes[0], 0, 0, [], merkle.EMPTY_ROOT)
    with pytest.raises(ValueError):
        merkle.inclusion_proof(hashes, 5)
    with pytest.raises(ValueError):
        merkle.consistency_proof(hashes, 6)


# ---------------------------------------------------------------- second-preimage defence


def _unprefixed_root(data: list[bytes]) -> bytes:
    """A Merkle tree *without* RFC 9162's 0x00/0x01 prefixes: the foil the defence is against."""
    level = [hashlib.sha256(d).digest() for d in data]
    while len(level) > 1:
        nxt = [hashlib.sha256(level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        level = nxt + ([level[-1]] if len(level) % 2 else [])
    return level[0]


def test_second_preimage_defence() -> None:
    """pymerkle ``tests/test_defense.py``: an interior node passed off as a leaf.

    Original tree over a, b, c, d; the attacker's tree over a, b and the forged leaf
    ``h(c) || h(d)``.  Without domain separation both trees have the same root (the attack
    works on the foil); with the RFC's prefixes they never do.
    """
    data = [b"a", b"b", b"c", b"d"]
    forged = hashlib.sha256(b"c").digest() + hashlib.sha256(b"d").digest()
    assert _unprefixed_root(data) == _unprefixed_root([b"a", b"b", forged])  # the attack works there

    hashes = [merkle.leaf_hash(d) for d in data]
    root = merkle.root_hash(hashes)
    forged_rfc = hashes[2] + hashes[3]  # the preimage of node (1, 1), minus its 0x01 prefix
    attacker = [hashes[0], hashes[1], merkle.leaf_hash(forged_rfc)]
    assert merkle.root_hash(attacker) != root
    # Nor does the forged entry verify as a leaf of the original tree, at any index: its leaf
    # hash is SHA-256(0x00 || h(c) || h(d)), never the node SHA-256(0x01 || h(c) || h(d)).
    node = merkle.node_hash(hashes[2], hashes[3])
    assert merkle.leaf_hash(forged_rfc) != node
    n01 = merkle.node_hash(hashes[0], hashes[1])
    for index, size in [(2, 3), (1, 2), (2, 4), (3, 4)]:
        assert not merkle.verify_inclusion(merkle.leaf_hash(forged_rfc), index, size, [n01], root)
