"""The verifier service lenders call: presentation requests, verification, verdicts."""
