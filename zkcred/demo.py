"""``zkcred demo``: the story end to end in one terminal, each step timed.

For now it shows BBS itself: key generation, a signature over ten attributes, a
zero-knowledge proof disclosing two of them, its verification, and the rejection of
the same proof with one byte altered. It grows into the full lending story (issuer,
wallet, lender, ledger, revocation) as those parts land.
"""

from __future__ import annotations

import secrets
import time
from contextlib import contextmanager

import typer
from rich.console import Console

from circuits import bbs
from circuits.backend import get_backend

ATTRIBUTES = {
    "given_name": "Ada",
    "family_name": "Lovelace",
    "birth_date": "1990-12-10",
    "country": "NL",
    "employer": "Analytical Engines BV",
    "income": "64000",
    "currency": "EUR",
    "employment_since": "2017-03-01",
    "iban_hash": "5f2b…",
    "credential_id": "c-000001",
}
DISCLOSE = ["country", "employer"]


def run(backend: str = typer.Option(None, help="blst or py_ecc (default: ZKCRED_BACKEND, else blst)")) -> None:
    """Run the end-to-end demo."""
    console = Console()
    be = get_backend(backend)
    suite = bbs.SHA256

    @contextmanager
    def step(title: str):
        t0 = time.perf_counter()
        yield
        console.print(f"[green]✔[/] {title} [dim]({(time.perf_counter() - t0) * 1e3:.1f} ms)[/]")

    console.rule(f"[bold]zkcred demo[/] — BBS on the {be.name} backend ({suite.ciphersuite_id.decode()})")
    names, values = list(ATTRIBUTES), [v.encode() for v in ATTRIBUTES.values()]
    with step("issuer generates a key pair"):
        sk = bbs.keygen(secrets.token_bytes(32), b"zkcred-demo", suite=suite)
        pk = bbs.sk_to_pk(sk, suite=suite, backend=be)
    with step(f"issuer signs {len(values)} attributes"):
        signature = bbs.sign(sk, pk, b"zkcred-demo-credential", values, suite=suite, backend=be)
    console.print(f"  signature: {len(signature)} bytes")
    with step("holder checks the signature on receipt"):
        assert bbs.verify(pk, signature, b"zkcred-demo-credential", values, suite=suite, backend=be)
    disclosed = [names.index(n) for n in DISCLOSE]
    nonce = secrets.token_bytes(16)
    with step(f"holder proves, disclosing only {', '.join(DISCLOSE)}"):
        proof = bbs.proof_gen(pk, signature, b"zkcred-demo-credential", nonce, values, disclosed, suite=suite, backend=be)
    console.print(f"  proof: {len(proof)} bytes; the other {len(values) - len(disclosed)} attributes stay hidden")
    shown = [values[i] for i in disclosed]
    with step("verifier checks the proof"):
        ok = bbs.proof_verify(pk, proof, b"zkcred-demo-credential", nonce, shown, disclosed, suite=suite, backend=be)
    console.print(f"  verdict: {'[bold green]accepted[/]' if ok else '[bold red]rejected[/]'}; learned "
                  + ", ".join(f"{names[i]}={values[i].decode()}" for i in disclosed))
    if not ok:
        raise typer.Exit(1)
    tampered = bytearray(proof)
    tampered[200] ^= 0x01
    with step("verifier checks the same proof with one byte altered"):
        bad = bbs.proof_verify(pk, bytes(tampered), b"zkcred-demo-credential", nonce, shown, disclosed, suite=suite, backend=be)
    console.print(f"  verdict: {'[bold red]accepted — BUG[/]' if bad else '[bold green]rejected, as it must be[/]'}")
    with step("verifier checks the original proof against a replayed nonce"):
        replay = bbs.proof_verify(pk, proof, b"zkcred-demo-credential", secrets.token_bytes(16), shown, disclosed, suite=suite, backend=be)
    console.print(f"  verdict: {'[bold red]accepted — BUG[/]' if replay else '[bold green]rejected[/]'}")
    if bad or replay:
        raise typer.Exit(1)
