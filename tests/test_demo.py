"""The README's first command runs this demo; the whole lending story must keep working."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from zkcred.cli import _register, app


def test_demo_runs_the_lending_story():
    _register()
    result = CliRunner().invoke(app, ["demo", "--backend", "blst"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    out = result.output
    assert "credential: income >= 50000" in out
    assert "not revoked at ledger height" in out
    assert "request status: verified" in out
    assert "409" in out  # the replayed presentation
    assert "verified=False, reason=stale" in out  # the old witness after revocation
    assert "was revoked" in out  # the synced wallet knows
    # returning applicants: A recognises Ada's second application, B gets another pseudonym
    # the wallet checked who asks (the verifier's registration on the ledger, its signature, origin)
    # and showed it, with what leaves the wallet, before anything was sent
    said = " ".join(out.split())
    vid = re.search(
        r"'Lender A' at verifier 'Demo Lending Verifier' \((verifier-[0-9a-f]{32})\), http://verifier.demo, "
        r"registered at ledger seq \d+",
        said,
    )
    assert vid, out
    assert f"for lender 'Lender A' at {vid[1]}; she approved" in out
    assert f"for lender 'Lender B' at {vid[1]}; she approved" in out
    assert "Payroll Demo BV offers a credential" in out and "country = NL" in out
    assert "Lender A asks for a presentation" in out and "income is at least 50 000 (value not revealed)" in out
    assert "issued by 'Payroll Demo BV', registered at ledger seq 0" in said
    assert out.count("seen_before=False, earlier requests: []") == 2  # A's first, B's only
    assert out.count("seen_before=True, earlier requests: ['") == 1  # A's second names the first
    assert "lender A recognised Ada; lender B's pseudonym for her shares nothing with A's" in out
    assert "lender B asking for lender A's pseudonym records → 403" in out
    # the SME application: two issuers, one request over both, the same company, the QR code in the terminal
    assert "zkcred://present?request_uri=" in out and "▄▄▄▄▄" in out
    assert "wallet: query tax answered with credential" in out and "wallet: query bank answered with credential" in out
    assert "tax.company_id = bank.company_id" in out and "same link secret in every credential" in out
    assert '{"company_name": "Acme BV"}' in out
    # debt-to-income across the two credentials (a linear predicate over hidden values); a stricter one refused
    assert "40 × tax.revenue − 1200 × bank.monthly_debt ≥ 0" in out
    assert "the wallet cannot answer: no credentials meet 5 × tax.revenue − 1200 × bank.monthly_debt ≥ 0" in out
    assert "SME request status: verified" in out
    # the witnessed ledger: every checkpoint cosigned by the three witnesses, a majority required
    assert "cosigned by witness-1.demo, witness-2.demo, witness-3.demo" in out
    assert "accept only views with 2 of (w1, w2, w3)" in out
