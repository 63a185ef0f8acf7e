"""Every domain-separation tag, label and protocol tag in one place (STYLE §2.5).

The BBS suites use the draft's exact identifiers so that its fixtures apply; zkcred's
own protocols use the ``ZKCRED_`` prefix. Version tags live in the labels and are
independent of the package version.
"""

from __future__ import annotations

# BLS12-381 -------------------------------------------------------------------------
#: Base field modulus p.
P = 0x1A0111EA397FE69A4B1BA7B6434BACD764774B84F38512BF6730D2A0F6B0F6241EABFFFEB153FFFFB9FEFFFFFFFFAAAB
#: Order r of G1, G2, GT and of the scalar field.
R = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
#: Compressed encodings of the standard generators (ZCash serialisation).
G1_GENERATOR = bytes.fromhex(
    "97f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb"
)
G2_GENERATOR = bytes.fromhex(
    "93e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5ac7d055d042b7e"
    "024aa2b2f08f0a91260805272dc51051c6e47ad4fa403b02b4510b647ae3d1770bac0326a805bbefd48056c8c121bdb8"
)
G1_BYTES = 48
G2_BYTES = 96
SCALAR_BYTES = 32

# RFC 9380 ----------------------------------------------------------------------------
#: hash_to_field for Fp: L = ceil((ceil(log2(p)) + k) / 8) with k = 128.
H2F_L = 64

# BBS (draft-irtf-cfrg-bbs-signatures) --------------------------------------------------
BBS_SHA256_CIPHERSUITE_ID = b"BBS_BLS12381G1_XMD:SHA-256_SSWU_RO_"
BBS_SHAKE256_CIPHERSUITE_ID = b"BBS_BLS12381G1_XOF:SHAKE-256_SSWU_RO_"
#: api_id suffix of the octet-string interface (hash-to-generators, hash messages to scalars).
BBS_H2G_HM2S = b"H2G_HM2S_"
BBS_EXPAND_LEN = 48
BBS_KEYGEN_DST = b"KEYGEN_DST_"
BBS_H2S = b"H2S_"
BBS_MAP_MSG_TO_SCALAR = b"MAP_MSG_TO_SCALAR_AS_HASH_"
BBS_MESSAGE_GENERATOR_SEED = b"MESSAGE_GENERATOR_SEED"
BBS_BP_MESSAGE_GENERATOR_SEED = b"BP_MESSAGE_GENERATOR_SEED"
BBS_SIG_GENERATOR_SEED = b"SIG_GENERATOR_SEED_"
BBS_SIG_GENERATOR_DST = b"SIG_GENERATOR_DST_"
BBS_MOCK_RANDOM_SCALARS_DST = b"MOCK_RANDOM_SCALARS_DST_"

# zkcred's own protocols ----------------------------------------------------------------
#: Prefix of every zkcred DST (STYLE §2.5).
ZKCRED_PREFIX = b"ZKCRED_BLS12381G1_XMD:SHA-256_SSWU_RO_"
#: Transcript protocol label, versioned independently of the package (merlin constants.rs).
TRANSCRIPT_PROTOCOL = b"zkcred-transcript/v1"
TRANSCRIPT_CHALLENGE_DST = ZKCRED_PREFIX + b"TRANSCRIPT_CHALLENGE_"
#: Label of every transcript's challenge request (``challenge_bytes`` appends it before hashing).
TRANSCRIPT_CHALLENGE_REQUEST = b"challenge-request"
#: Domain separators (protocol tags) of the sub-protocols, appended under the label ``dom-sep``.
#: Every one is appended by the statement it names (circuits/statements/); none is unused.
DOMSEP_LABEL = b"dom-sep"
DOMSEP_PRESENTATION = b"zkcred/presentation/v2"  # v2: one plan; every BBS first message before ρ; ≠, ∈ tagged
DOMSEP_BBS = b"zkcred/bbs-proof/v1"
DOMSEP_OPENING = b"zkcred/batched-opening/v1"
DOMSEP_RANGE_PROOF = b"zkcred/range-proof/v2"  # v2: Bulletproofs+
DOMSEP_INNER_PRODUCT = b"zkcred/weighted-inner-product/v1"
DOMSEP_NOT_EQUAL = b"zkcred/not-equal/v1"
DOMSEP_SET_MEMBERSHIP = b"zkcred/set-membership/v1"
DOMSEP_EQUALITY = b"zkcred/equality/v1"
DOMSEP_ACCUMULATOR = b"zkcred/accumulator-membership/v1"
DOMSEP_LINEAR_PREDICATE = b"zkcred/linear-predicate/v1"

# Presentations (circuits/presentation.py, circuits/statements/) -------------------------
#: The application label of a presentation's transcript (``Transcript(PRESENTATION_APP_LABEL)``).
PRESENTATION_APP_LABEL = b"zkcred presentation"
#: Context, bound first (STYLE §2.5): the verifier's nonce and id, the request's digest.
PRES_LABEL_NONCE = b"nonce"
PRES_LABEL_VERIFIER_ID = b"verifier-id"
PRES_LABEL_REQUEST = b"request"
#: BBS credential statement: the definition id and the draft's challenge octets of ProofInit.
PRES_LABEL_DEFINITION_ID = b"definition-id"
PRES_LABEL_BBS_INIT = b"bbs-init"
#: Commitments C_i, the batching weight ρ, and the batched opening's T.
PRES_LABEL_COMMITMENT = b"commitment"
PRES_LABEL_OPENING_BATCH = b"opening-batch"
PRES_LABEL_OPENING_T = b"opening-T"
#: Bulletproofs+ (its own labels are RP_LABEL_*; the proof's bytes are appended after it).
PRES_LABEL_RANGE_PROOF = b"range-proof"
#: Linear predicate: each term (commitment index, scaled coefficient) and the combination C_L.
PRES_LABEL_LINEAR_TERM = b"linear-term"
PRES_LABEL_LINEAR_COMBINATION = b"linear-combination"
#: ≠, ∈, equality.
PRES_LABEL_NOT_EQUAL_T = b"not-equal-T"
PRES_LABEL_SET_T = b"set-T"
PRES_LABEL_EQUAL_MEMBER = b"equal-member"
#: Accumulator membership: the ledger height whose value V the statement uses.
PRES_LABEL_REVOCATION_HEIGHT = b"revocation-height"
#: The one challenge: ``ph* = challenge_bytes(PRES_LABEL_PH, 32)`` feeds the BBS draft's challenge.
PRES_LABEL_PH = b"ph"
#: Generators of zkcred's own protocols (hash_to_curve with their own DSTs).
PEDERSEN_GENERATOR_DST = ZKCRED_PREFIX + b"PEDERSEN_GENERATOR_"
BULLETPROOFS_GENERATOR_DST = ZKCRED_PREFIX + b"BULLETPROOFS_GENERATOR_"

# Blind BBS (draft-irtf-cfrg-bbs-blind-signatures, editor's copy -02) -------------------
#: api_id suffix of the blind interface: api_id = ciphersuite_id || "BLIND_H2G_HM2S_".
BBS_BLIND_H2G_HM2S = b"BLIND_H2G_HM2S_"
#: Prefix of the blind generators' api_id: create_generators(M + 1, "BLIND_" || api_id).
BBS_BLIND_GENERATOR_PREFIX = b"BLIND_"
#: Mocked-RNG DST suffixes of the fixtures (appended to ciphersuite_id || "H2G_HM2S_").
BBS_COMMIT_MOCK_RANDOM_SCALARS_DST = b"COMMIT_MOCK_RANDOM_SCALARS_DST_"
BBS_PROOF_MOCK_RANDOM_SCALARS_DST = b"PROOF_MOCK_RANDOM_SCALARS_DST_"

# BBS per-verifier linkability (draft-irtf-cfrg-bbs-per-verifier-linkability, editor's copy -03)
#: api_id suffix of the pseudonym interface: api_id = ciphersuite_id || "H2G_HM2S_PSEUDONYM_".
BBS_PSEUDONYM_H2G_HM2S = b"H2G_HM2S_PSEUDONYM_"
#: hash_to_scalar DST suffix of the n-use polynomial's point z = H2S(context_id, api_id || this).
BBS_NYM_POLY_DST = b"VECT_NYM_SECRETS"
#: zkcred's pseudonym statement in a presentation: its domain separator and its context point
#: OP = hash_to_curve_g1(context_id, this DST) (one DST for every suite: one pseudonym per
#: holder per context, whichever credential carries it).
DOMSEP_PSEUDONYM = b"zkcred/pseudonym/v1"
PSEUDONYM_CONTEXT_DST = ZKCRED_PREFIX + b"PSEUDONYM_CONTEXT_"
#: Transcript labels of the pseudonym statement.
NYM_LABEL_CONTEXT = b"pseudonym-context"
NYM_LABEL_PSEUDONYM = b"pseudonym"
NYM_LABEL_T = b"pseudonym-T"

# Escrow: verifiable ElGamal of a hidden attribute to an auditor (circuits/escrow.py,
# circuits/statements/escrow.py) ------------------------------------------------------------
DOMSEP_ESCROW = b"zkcred/escrow/v1"
#: H_escrow = hash_to_curve_g1(ESCROW_H_LABEL, ESCROW_GENERATOR_DST): the base m is encrypted on.
ESCROW_GENERATOR_DST = ZKCRED_PREFIX + b"ESCROW_GENERATOR_"
ESCROW_H_LABEL = b"H_escrow"
#: Transcript labels: the statement's context (auditor, its key, request id, label), then
#: the ciphertext (C1, C2) and the first message (T1, T2).
ESCROW_LABEL_AUDITOR = b"escrow-auditor"
ESCROW_LABEL_KEY = b"escrow-auditor-key"
ESCROW_LABEL_REQUEST_ID = b"escrow-request-id"
ESCROW_LABEL_LABEL = b"escrow-label"
ESCROW_LABEL_C1 = b"escrow-C1"
ESCROW_LABEL_C2 = b"escrow-C2"
ESCROW_LABEL_T1 = b"escrow-T1"
ESCROW_LABEL_T2 = b"escrow-T2"
#: Largest span of values the auditor recovers by baby-step giant-step (2^32: 2^16 steps each way).
ESCROW_MAX_SPAN = 2**32

#: String attribute values are hashed to message scalars with this DST.
ATTRIBUTE_STRING_DST = ZKCRED_PREFIX + b"ATTRIBUTE_STRING_"

# Bulletproofs range proofs (circuits/bulletproofs, circuits/pedersen.py) ---------------
#: hash_to_curve messages of the generators: label || I2OSP(index, 8) for the vectors.
PEDERSEN_G_LABEL = b"G"
PEDERSEN_H_LABEL = b"H"
BULLETPROOFS_G_VEC_LABEL = b"G_vec"
BULLETPROOFS_H_VEC_LABEL = b"H_vec"
#: Bit sizes a range proof may have, and the largest aggregation (values per proof).
RANGE_PROOF_BITSIZES = (8, 16, 32, 64)
RANGE_PROOF_MAX_AGGREGATION = 64
#: Transcript labels of the range proof (paper symbols) and of its weighted inner-product argument.
RP_LABEL_V = b"V"
RP_LABEL_A = b"A"
RP_LABEL_Y = b"y"
RP_LABEL_Z = b"z"
IPA_LABEL_L = b"L"
IPA_LABEL_R = b"R"
IPA_LABEL_E = b"e"
WIP_LABEL_A = b"A'"
WIP_LABEL_B = b"B'"
WIP_LABEL_E = b"e'"

# Revocation accumulator (circuits/accumulator, DESIGN §6) ------------------------------
#: Handles y_i = hash_to_scalar(registry_id || I2OSP(i, 8)) with expand_message_xmd/SHA-256.
ACCUMULATOR_HANDLE_DST = ZKCRED_PREFIX + b"ACCUMULATOR_HANDLE_"
#: Transcript labels of the membership proof (paper symbols) and of its standalone form.
ACC_LABEL_Q = b"Q"
ACC_LABEL_V = b"V"
ACC_LABEL_C_BAR = b"C_bar"
ACC_LABEL_B_BAR = b"B_bar"
ACC_LABEL_T = b"T"
ACC_LABEL_CHALLENGE = b"c_acc"

# Randomness (circuits/rng.py) ----------------------------------------------------------
#: The seeded, deterministic rng of tests and frozen vectors: SHAKE-256 over this DST and the seed.
SEEDED_RNG_DST = ZKCRED_PREFIX + b"SEEDED_RNG_"

# draft-irtf-cfrg-sigma-protocols + draft-irtf-cfrg-fiat-shamir (circuits/sigma) -------------
#: The ciphersuite identifier, carried verbatim in every tag (sigma draft §"Ciphersuites").
SIGMA_CIPHERSUITE_ID = b"sigma-proofs_Shake128_BLS12381"
#: Flavor markers a tag must carry: duplex-sponge Fiat–Shamir (batchable) and compact.
SIGMA_FLAVOR_MARKERS = {"batchable": b"DSFS", "compact": b"CMPT"}
#: Tag of the sponge that derives batch-verification weights (§"Batch verification").
SIGMA_BATCH_VERIFY_TAG = b"irtf-cfrg-sigma-protocols/batch-verify"
#: The 32-byte session id under which DeriveSessionID absorbs a tag (FS draft §"Session identifiers").
FS_SESSION_ID_DOMAIN = b"irtf-cfrg-fiat-shamir/session-id"
#: SHAKE128's rate in bytes: Init pads the 32-byte session id to one rate block.
FS_SHAKE128_RATE = 168
