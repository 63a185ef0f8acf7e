"""The BBS pseudonym draft's fixtures (bbs-pseudonyms/), byte for byte, on every backend and both suites.

nymCommit (4), nymSignature (6), nymProof (7 single-secret + 4 n-use "10 nym secrets")
per suite. The generator fixtures of bbs-pseudonyms/ are checked in
test_bbs_blind_vectors.py (same ``create_generators``).

Mocked randomness, worked out from the fixtures (the vectors README leaves it open):
``seeded_random_scalars(SEED, DST, count)`` with the ASCII SEED and the given DST, where
the commitment draws ``count = M + N + 2`` (M committed messages, N prover nyms) and the
proof ``count = 5 + U`` (U undisclosed, counting the prover blind and the N nym secrets).
"""

from __future__ import annotations

import pytest

from circuits import bbs
from circuits import constants as k
from circuits.bbs import blind, core
from circuits.bbs import pseudonym as nym
from circuits.constants import R
from tests.vectors import case_ids, h, load_cases, load_json

SUITES = {"bls12-381-sha-256": bbs.SHA256, "bls12-381-shake-256": bbs.SHAKE256}
FAMILY = "bbs-pseudonyms"


def _cases(kind: str) -> list[tuple[str, str]]:
    return [(d, n) for d in sorted(SUITES) for n in case_ids(FAMILY, d, kind)]


def _case(suite_dir: str, kind: str, name: str) -> dict:
    return dict(load_cases(FAMILY, suite_dir, kind))[name]


def _mocked(suite, params: dict, step: str, suffix: bytes, count: int):
    """The fixture's mocked RNG for ``step``, asserting its DST and the count we derived."""
    seed, dst = params["SEED"].encode(), params[step]["DST"].encode()
    assert dst == suite.api_id + suffix

    def mocked(n: int) -> list[int]:
        assert n == count, f"{step} drew {n} random scalars, expected {count}"
        return core.seeded_random_scalars(seed, dst, n, suite=suite)

    return mocked


def _ints(xs) -> list[int]:
    return [int(x, 16) for x in xs]


def test_api_id():
    for suite_dir, suite in SUITES.items():
        g = load_json(FAMILY, suite_dir, "generators.json")
        assert g["generators"]["api_id"].encode() == nym.pseudonym_api_id(suite)
        assert g["blindGenerators"]["api_id"].encode() == k.BBS_BLIND_GENERATOR_PREFIX + nym.pseudonym_api_id(suite)


# Commit -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("suite_dir", "name"), _cases("nymCommit"))
def test_nym_commit(suite_dir, name, backend):
    suite, case = SUITES[suite_dir], _case(suite_dir, "nymCommit", name)
    assert case["result"]["valid"]
    msgs, nyms = [h(m) for m in case["committedMessages"]], _ints(case["proverNyms"])
    count = len(msgs) + len(nyms) + 2
    mocked = _mocked(suite, case["mockRngParameters"], "commit", k.BBS_COMMIT_MOCK_RANDOM_SCALARS_DST, count)
    cwp, prover_blind = nym.commit_with_nym(msgs, nyms, suite=suite, backend=backend, random_scalars=mocked)
    assert cwp.hex() == case["commitmentWithProof"]
    assert prover_blind == int(case["proverBlind"], 16)
    drawn = mocked(count)
    assert drawn[1:] == _ints(
        [case["trace"]["random_scalars"]["s_tilde"], *case["trace"]["random_scalars"]["m_tildes"]]
    )
    # and the issuer accepts it, with M = committed messages + nyms read from its length
    M = blind.committed_count(cwp)
    assert M == len(msgs) + len(nyms)
    api_id = nym.pseudonym_api_id(suite)
    blind.deserialize_and_validate_commit(
        cwp, blind.blind_generators(backend, M, suite=suite, api_id=api_id), suite=suite, be=backend, api_id=api_id
    )


# Signature ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("suite_dir", "name"), _cases("nymSignature"))
def test_nym_signature(suite_dir, name, backend):
    suite, case = SUITES[suite_dir], _case(suite_dir, "nymSignature", name)
    assert case["result"]["valid"]
    kp = case["signerKeyPair"]
    sk, pk = h(kp["secretKey"]), h(kp["publicKey"])
    N = len(case["proverNyms"])
    eta = int(case["signer_nym_entropy"], 16)
    header, msgs, cmsgs = h(case["header"]), [h(m) for m in case["messages"]], [h(m) for m in case["committedMessages"]]
    sig = nym.blind_sign_with_nym(
        sk, pk, h(case["commitmentWithProof"]), N, eta, header, msgs, suite=suite, backend=backend
    )
    assert sig.hex() == case["signature"]
    secrets_ = nym.verify_finalize_with_nym(
        pk,
        sig,
        header,
        msgs,
        cmsgs,
        _ints(case["proverNyms"]),
        eta,
        int(case["proverBlind"], 16),
        suite=suite,
        backend=backend,
    )
    assert secrets_ == _ints(case["nym_secrets"])  # the fixtures' hex is not always zero-padded
    # the trace's domain is over header || I2OSP(N, 8)
    api_id = nym.pseudonym_api_id(suite)
    gens = blind.signer_generators(backend, len(msgs), suite=suite, api_id=api_id)
    bgens = blind.blind_generators(backend, len(cmsgs) + N, suite=suite, api_id=api_id)
    domain = core.calculate_domain(backend, suite, pk, gens[0], [*gens[1:], *bgens], nym.nym_header(header, N), api_id)
    assert domain == int(case["trace"]["domain"], 16)
    # and it does not verify with other entropy, or without N in the header
    assert (
        nym.verify_finalize_with_nym(
            pk,
            sig,
            header,
            msgs,
            cmsgs,
            _ints(case["proverNyms"]),
            eta + 1,
            int(case["proverBlind"], 16),
            suite=suite,
            backend=backend,
        )
        is None
    )


# Proof ----------------------------------------------------------------------------------------


def _proof_inputs(suite, case):
    L = case["L"]
    msgs, cmsgs = [h(m) for m in case["messages"]], [h(m) for m in case["committedMessages"]]
    assert len(msgs) == L
    di = sorted(int(i) for i in case["revealedMessages"])
    dci = sorted(int(j) for j in case["revealedCommittedMessages"])
    assert [case["revealedMessages"][str(i)] for i in di] == [case["messages"][i] for i in di]
    assert [case["revealedCommittedMessages"][str(j)] for j in dci] == [case["committedMessages"][j] for j in dci]
    return L, msgs, cmsgs, di, dci


@pytest.mark.parametrize(("suite_dir", "name"), _cases("nymProof"))
def test_nym_proof(suite_dir, name, backend):
    suite, case = SUITES[suite_dir], _case(suite_dir, "nymProof", name)
    assert case["result"]["valid"]
    pk, sig = h(case["signerPublicKey"]), h(case["signature"])
    header, ph, ctx = h(case["header"]), h(case["presentationHeader"]), h(case["context_id"])
    L, msgs, cmsgs, di, dci = _proof_inputs(suite, case)
    secrets_ = _ints(case["nym_secrets"])
    N = len(secrets_)
    assert secrets_ == nym.finalize_nym_secrets(_ints(case["proverNyms"]), int(case["signer_nym_entropy"], 16))
    U = L + 1 + len(cmsgs) + N - len(di) - len(dci)
    mocked = _mocked(suite, case["mockRngParameters"], "proof", k.BBS_PROOF_MOCK_RANDOM_SCALARS_DST, 5 + U)
    proof, pseudonym = nym.proof_gen_with_nym(
        pk,
        sig,
        header,
        ph,
        ctx,
        msgs,
        cmsgs,
        secrets_,
        di,
        dci,
        int(case["proverBlind"], 16),
        suite=suite,
        backend=backend,
        random_scalars=mocked,
    )
    assert pseudonym.hex() == case["pseudonym"]
    assert proof.hex() == case["proof"]
    trace = case["trace"]
    if "random_scalars" in trace:
        assert mocked(5 + U)[5:] == _ints(trace["random_scalars"]["m_tilde_scalars"])
    if "OP" in trace:
        assert backend.g1_to_bytes(nym.context_point(ctx, suite=suite, be=backend)).hex() == trace["OP"]
    if "poly_eval_pseudo" in trace:
        z = suite.hash_to_scalar(ctx, nym.pseudonym_api_id(suite) + k.BBS_NYM_POLY_DST)
        assert sum(s * pow(z, i, R) for i, s in enumerate(secrets_)) % R == int(trace["poly_eval_pseudo"], 16)
    assert (
        backend.g1_to_bytes(nym.calculate_pseudonym(ctx, secrets_, suite=suite, be=backend)).hex() == case["pseudonym"]
    )
    dm, dcm = [msgs[i] for i in di], [cmsgs[j] for j in dci]
    assert nym.proof_verify_with_nym(
        pk, proof, header, ph, pseudonym, ctx, N, L, dm, dcm, di, dci, suite=suite, backend=backend
    )


@pytest.mark.parametrize(
    ("suite_dir", "name"), [c for c in _cases("nymProof") if c[1] in ("nymProof004.json", "nymProof104.json")]
)
def test_nym_proof_rejects(suite_dir, name, fast_backend):
    """ProofVerifyWithNym negatives on the fixtures' proofs: another context, pseudonym, ph, N, a flipped byte."""
    be, suite, case = fast_backend, SUITES[suite_dir], _case(suite_dir, "nymProof", name)
    pk, proof, pseud = h(case["signerPublicKey"]), h(case["proof"]), h(case["pseudonym"])
    header, ph, ctx = h(case["header"]), h(case["presentationHeader"]), h(case["context_id"])
    L, msgs, cmsgs, di, dci = _proof_inputs(suite, case)
    N = len(case["nym_secrets"])
    dm, dcm = [msgs[i] for i in di], [cmsgs[j] for j in dci]

    def ok(proof=proof, pseud=pseud, ph=ph, ctx=ctx, N=N, header=header):
        return nym.proof_verify_with_nym(
            pk, proof, header, ph, pseud, ctx, N, L, dm, dcm, di, dci, suite=suite, backend=be
        )

    assert ok()
    assert not ok(ctx=ctx + b"x")
    assert not ok(ph=ph + b"x")
    assert not ok(header=header + b"x")
    assert not ok(N=N + 1)
    other = nym.calculate_pseudonym(b"another context", _ints(case["nym_secrets"]), suite=suite, be=be)
    assert not ok(pseud=be.g1_to_bytes(other))
    assert not ok(pseud=be.g1_to_bytes(be.g1_identity()))
    for i in (0, 150, len(proof) - 33, len(proof) - 1):
        assert not ok(proof=proof[:i] + bytes([proof[i] ^ 1]) + proof[i + 1 :])
