"""The public, append-only log: RFC 9162 Merkle tree over signed, hash-chained entries."""
