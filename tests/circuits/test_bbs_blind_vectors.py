"""The blind BBS draft's fixtures (bbs-blind/), byte for byte, on every backend and both suites.

Also the generator fixtures of bbs-pseudonyms/: the same ``create_generators`` with
another api_id (``…_H2G_HM2S_PSEUDONYM_`` and ``BLIND_…``), so they check the same code.

Mocked randomness (vectors README, bbs-blind section): ``seeded_random_scalars(SEED, DST,
count)`` with SEED the ASCII string of the fixture and the COMMIT / PROOF DST and count it
gives. The proof fixtures carry no committed messages: the signed ones are
``messages.json``'s ``committedMessages`` whenever a commitment was used (the revealed
ones are checked against that list), and the signer messages its first ``L`` messages.
"""

from __future__ import annotations

import pytest

from circuits import bbs
from circuits import constants as k
from circuits.bbs import blind, core
from tests.vectors import case_ids, h, load_cases, load_json

SUITES = {"bls12-381-sha-256": bbs.SHA256, "bls12-381-shake-256": bbs.SHAKE256}


def _cases(kind: str) -> list[tuple[str, str]]:
    return [(d, n) for d in sorted(SUITES) for n in case_ids("bbs-blind", d, kind)]


def _case(suite_dir: str, kind: str, name: str) -> dict:
    return dict(load_cases("bbs-blind", suite_dir, kind))[name]


def _mocked(suite, params: dict, step: str, suffix: bytes):
    """The fixture's mocked RNG for ``step``; asserts the DST and the count it was made with."""
    seed, dst, count = params["SEED"].encode(), params[step]["DST"].encode(), params[step]["count"]
    assert dst == suite.api_id + suffix

    def mocked(n: int) -> list[int]:
        assert n == count, f"{step} drew {n} random scalars, the fixture {count}"
        return core.seeded_random_scalars(seed, dst, n, suite=suite)

    return mocked


# Generators ------------------------------------------------------------------------------


@pytest.mark.parametrize("family", ["bbs-blind", "bbs-pseudonyms"])
@pytest.mark.parametrize("suite_dir", sorted(SUITES))
@pytest.mark.parametrize("which", ["generators", "blindGenerators"])
def test_generators(family, suite_dir, which, backend):
    suite, g = SUITES[suite_dir], load_json(family, suite_dir, "generators.json")[which]
    api_id = g["api_id"].encode()
    points = suite.create_generators(backend, 1 + len(g["MsgGenerators"]), api_id)
    assert backend.g1_to_bytes(suite.p1(backend)).hex() == g["P1"]
    assert [backend.g1_to_bytes(p).hex() for p in points] == [g["Q1"], *g["MsgGenerators"]]
    if family == "bbs-blind":  # and they are what the blind module derives
        M = len(g["MsgGenerators"])
        derived = (
            blind.signer_generators(backend, M, suite=suite)
            if which == "generators"
            else blind.blind_generators(backend, M, suite=suite)
        )
        assert [backend.g1_to_bytes(p).hex() for p in derived] == [g["Q1"], *g["MsgGenerators"]]


def test_api_ids():
    for suite_dir, suite in SUITES.items():
        g = load_json("bbs-blind", suite_dir, "generators.json")
        assert g["generators"]["api_id"].encode() == blind.blind_api_id(suite)
        assert g["blindGenerators"]["api_id"].encode() == k.BBS_BLIND_GENERATOR_PREFIX + blind.blind_api_id(suite)


# Commit -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("suite_dir", "name"), _cases("commit"))
def test_commit_fixture(suite_dir, name, backend):
    suite, case = SUITES[suite_dir], _case(suite_dir, "commit", name)
    mocked = _mocked(suite, case["mockRngParameters"], "commit", k.BBS_COMMIT_MOCK_RANDOM_SCALARS_DST)
    msgs = [h(m) for m in case["committedMessages"]]
    cwp, prover_blind = blind.commit(msgs, suite=suite, backend=backend, random_scalars=mocked)
    assert cwp.hex() == case["commitmentWithProof"]
    assert f"{prover_blind:064x}" == case["proverBlind"]
    rs = case["trace"]["random_scalars"]
    drawn = mocked(len(msgs) + 2)
    assert [f"{s:064x}" for s in drawn] == [case["proverBlind"], rs["s_tilde"], *rs["m_tildes"]]
    # The issuer accepts it (and reads M off the length).
    M = blind.committed_count(cwp)
    assert M == len(msgs)
    C = blind.deserialize_and_validate_commit(
        cwp, blind.blind_generators(backend, M, suite=suite), suite=suite, be=backend
    )
    assert backend.g1_to_bytes(C) == cwp[: k.G1_BYTES]


# BlindSign / Verify -----------------------------------------------------------------------


@pytest.mark.parametrize(("suite_dir", "name"), _cases("signature"))
def test_signature_fixture(suite_dir, name, backend):
    suite, case = SUITES[suite_dir], _case(suite_dir, "signature", name)
    sk, pk = h(case["signerKeyPair"]["secretKey"]), h(case["signerKeyPair"]["publicKey"])
    cwp, header = h(case.get("commitmentWithProof") or ""), h(case["header"])
    msgs = [h(m) for m in case["messages"]]
    committed = [h(m) for m in case.get("committedMessages") or []]
    prover_blind = int(case["proverBlind"], 16) if case.get("proverBlind") else 0
    sig = h(case["signature"])
    ok = blind.verify_blind_sign(pk, sig, header, msgs, committed, prover_blind, suite=suite, backend=backend)
    assert ok is case["result"]["valid"]
    if case["result"]["valid"]:
        assert blind.blind_sign(sk, pk, cwp, header, msgs, suite=suite, backend=backend) == sig
        # The holder holds an ordinary BBS signature over signer ‖ blind ‖ committed.
        scalars, generators = blind.prepare_parameters(
            bbs.messages_to_scalars(msgs, suite=suite, api_id=blind.blind_api_id(suite)),
            bbs.messages_to_scalars(committed, suite=suite, api_id=blind.blind_api_id(suite)),
            prover_blind,
            suite=suite,
            be=backend,
        )
        assert len(generators) == len(scalars) + 1
        assert scalars[blind.prover_blind_index(len(msgs))] == prover_blind


# BlindProofGen / BlindProofVerify -----------------------------------------------------------


@pytest.mark.parametrize(("suite_dir", "name"), _cases("proof"))
def test_proof_fixture(suite_dir, name, backend):
    suite, case = SUITES[suite_dir], _case(suite_dir, "proof", name)
    shared = load_json("bbs-blind", "messages.json")
    pk, sig, header, ph = (h(case[x]) for x in ("signerPublicKey", "signature", "header", "presentationHeader"))
    L = case["L"]
    msgs = [h(m) for m in shared["messages"][:L]]
    committed = [h(m) for m in shared["committedMessages"]] if case.get("commitmentWithProof") else []
    prover_blind = int(case["proverBlind"], 16) if case.get("proverBlind") else 0
    revealed = {int(i): h(m) for i, m in case["revealedMessages"].items()}
    revealed_c = {int(j): h(m) for j, m in (case.get("revealedCommittedMessages") or {}).items()}
    assert all(msgs[i] == m for i, m in revealed.items())
    assert all(committed[j] == m for j, m in revealed_c.items())
    idx, idx_c = sorted(revealed), sorted(revealed_c)

    ok = blind.blind_proof_verify(
        pk,
        h(case["proof"]),
        header,
        ph,
        L,
        [revealed[i] for i in idx],
        [revealed_c[j] for j in idx_c],
        idx,
        idx_c,
        suite=suite,
        backend=backend,
    )
    assert ok is case["result"]["valid"]
    if case["result"]["valid"]:
        mocked = _mocked(suite, case["mockRngParameters"], "proof", k.BBS_PROOF_MOCK_RANDOM_SCALARS_DST)
        proof = blind.blind_proof_gen(
            pk,
            sig,
            header,
            ph,
            msgs,
            committed,
            idx,
            idx_c,
            prover_blind,
            suite=suite,
            backend=backend,
            random_scalars=mocked,
        )
        assert proof.hex() == case["proof"]
        rs = case["trace"]["random_scalars"]
        assert [f"{s:064x}" for s in mocked(case["mockRngParameters"]["proof"]["count"])] == [
            rs["r1"],
            rs["r2"],
            rs["e_tilde"],
            rs["r1_tilde"],
            rs["r3_tilde"],
            *rs["m_tilde_scalars"],
        ]
