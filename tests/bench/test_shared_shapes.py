"""The shapes tests and benchmarks share are the same: tests keep their own copy of the applicant
credential (tests do not import fixtures from ``bench``), and this check keeps the copies equal.
(The Sigma vector relations have one copy, :mod:`circuits.sigma.examples`.)"""

from __future__ import annotations

from bench import presentation as bench_presentation
from tests.circuits import presentation_fixtures


def test_the_applicant_credential_is_the_benchmarks():
    assert presentation_fixtures.SCHEMA == bench_presentation.SCHEMA
    assert presentation_fixtures.VALUES == bench_presentation.VALUES
