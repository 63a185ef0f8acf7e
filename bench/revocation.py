"""``python -m bench revocation``: the accumulator (per backend) and the ledger (storage).

Operations (issue 4): ``setup_1e4``, ``setup_1e5``, ``setup_1e6`` (registry setup, no
tails file), ``revoke`` (the accumulator step plus one signed ledger append),
``update_1``, ``update_100`` (holder witness update), ``membership_prove``,
``membership_verify``; ledger ``append_sqlite``, ``append_postgres`` (ms per append),
``inclusion_1e6``, ``consistency_1e6`` (proofs at 10^6 entries). Sizes: what a holder
downloads to set up (registry public data and witness) and per revocation.

The ledger figures do not depend on the group backend; they are reported under the
first backend. ``--repeats`` below 10 skips N = 10^6 and the 10^6-entry ledger.
"""

from __future__ import annotations

from typing import Any

from bench import revocation_accumulator as accumulator
from bench import revocation_ledger as ledger


def run(backends: list[str], repeats: int) -> dict[str, Any]:
    quick = repeats < 10
    report = accumulator.run(backends, repeats, quick=quick)
    first = report["results"][backends[0]]
    sqlite = ledger.append_sqlite(200 if quick else 1000)
    first["append_sqlite"] = sqlite
    # Revoking one = the accumulator step + one ledger append (the issuer publishes it).
    first["revoke"] = {k: first["revoke"][k] + sqlite[k] for k in ("median_ms", "min_ms", "max_ms")}
    try:
        first["append_postgres"] = ledger.append_postgres(200 if quick else 1000)
    except RuntimeError as e:  # PostgreSQL unreachable: say so instead of a number
        report.setdefault("skipped", {})["append_postgres"] = str(e)
    if not quick:
        first["inclusion_1e6"] = ledger.inclusion_1e6()
        first["consistency_1e6"] = ledger.consistency_1e6()
    return report


HEADER = accumulator.HEADER


def rows(report: dict[str, Any]) -> list[list[str]]:
    return accumulator.rows(report)
