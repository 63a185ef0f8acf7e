"""Every label, prefix and limit of the ledger protocol, in one place.

Protocol version tags live in the labels (``/v1``) and are independent of the package
version (merlin ``constants.rs``).  Changing any value here changes every hash and
signature the ledger produces: existing logs would no longer verify.
"""

from __future__ import annotations

from servicekit.settings import current_state_dir

# RFC 9162 §2.1.1: domain separation of leaves and interior nodes (second-preimage defence).
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
HASH_SIZE = 32  # SHA-256

# Chain hash of an entry: SHA-256(CHAIN_LABEL || canonical JSON of the signed entry).
# A label distinct from both Merkle prefixes, so a chain hash is never a tree hash.
CHAIN_LABEL = b"zkcred/ledger/chain/v1\x00"
# Content id of an entry: SHA-256(CONTENT_LABEL || canonical {"issuer", "type", "payload"}).
# What a writer means to publish, independent of where it lands (seq, prev_hash, time) and of
# its signature: the log holds each content id at most once, and a re-sent entry is answered
# with the seq it already has (ledger/notes.md, "Idempotent appends").
CONTENT_LABEL = b"zkcred/ledger/content/v1\x00"
# prev_hash of entry 0.
GENESIS_PREV_HASH = bytes(HASH_SIZE)

# Ed25519 signatures are over LABEL || canonical JSON, so that a signature made for one
# purpose can never be replayed as another.
ENTRY_SIGNATURE_LABEL = b"zkcred/ledger/entry-signature/v1\x00"
TREE_HEAD_SIGNATURE_LABEL = b"zkcred/ledger/tree-head-signature/v1\x00"
# A verifier's request documents (ledger.verifiers), signed by the key it registered: the label
# keeps a document signature from ever passing for a ledger entry's, and the reverse.
REQUEST_DOCUMENT_SIGNATURE_LABEL = b"zkcred/verifier/request-document-signature/v1\x00"
# A verifier's id: VERIFIER_ID_PREFIX + hex of the first 16 bytes of SHA-256(VERIFIER_ID_LABEL || its first key).
VERIFIER_ID_LABEL = b"zkcred/verifier/id/v1\x00"
VERIFIER_ID_PREFIX = "verifier-"

ED25519_PUBLIC_KEY_SIZE = 32
ED25519_SIGNATURE_SIZE = 64

# How far an entry's signed time may differ from the ledger's clock when appended.
MAX_CLOCK_SKEW_MS = 5 * 60 * 1000

# Read limits of the service.
MAX_PAGE = 1000
DEFAULT_PAGE = 100

# RFC 9457 problem types: stable URIs, one per kind of refusal.
PROBLEM_TYPE_PREFIX = "https://zkcred.dev/problems/"  # shared with the other services (issuer/api.py)

DEFAULT_PORT = 8003
# Fallbacks for code that has no settings at hand: the state directory (ZKCRED_STATE_DIR, else
# $XDG_STATE_HOME/zkcred or ~/.local/state/zkcred) as it is when this module is imported. The
# services read theirs from ledger.config.Settings (docs/configuration.md); never the current directory.
DEFAULT_DATABASE_URL = f"sqlite:///{current_state_dir()}/ledger.db"
DEFAULT_KEY_FILE = f"{current_state_dir()}/ledger-signing-key"
