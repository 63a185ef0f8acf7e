"""Benchmarks: ``python -m bench <scenario> [--json]``. Targets live here, not in timed tests."""
