"""What every zkcred service shares, written once: configuration, problem+json errors,
request limits and strict JSON, health, metrics and structured logs.

It sits below the services and the ledger and above ``circuits`` (DESIGN.md §1, §8):
``issuer``, ``verifier`` and ``ledger`` import it; it imports none of them.
"""
