"""Secret scalars take group-operation sequences that do not depend on them (circuits/notes/side-channels.md).

- blst fixed-base multiplication: 32 additions for every secret scalar (zero bytes add the
  identity), fewer only for public ones; results equal either way.
- Set membership: the prover's group operations are the same whichever element is the real one.
"""

from __future__ import annotations

import secrets

import pytest

from circuits.backend import blst as blst_backend
from circuits.backend import get_backend
from circuits.constants import R
from circuits.credentials import CredentialQuery, Predicate, PresentationRequest
from circuits.presentation import create_presentation, verify_presentation
from tests.circuits.presentation_fixtures import TODAY, VALUES, make_issuer, new_link_secret

SCALARS = [0, 1, 2, 2**63 + 5, 2**63 + 64000, R - 1, secrets.randbelow(R)]


class _Counting:
    """Wraps a blst point; counts the additions made through it."""

    def __init__(self, inner, counter):
        self.inner, self.counter = inner, counter

    def __add__(self, other):
        self.counter[0] += 1
        return _Counting(self.inner + (other.inner if isinstance(other, _Counting) else other), self.counter)


@pytest.fixture
def table_base():
    be = get_backend("blst")
    base = be.g1_mul(be.g1_generator(), secrets.randbelow(R))
    be.g1_mark_fixed(base)
    for _ in range(blst_backend.FIXED_BASE_AFTER):
        be.g1_mul(base, 3)
    assert blst_backend._fixed_rows(base) is not None
    return be, base


def _additions(be, base, k, public, monkeypatch):
    counter = [0]
    monkeypatch.setattr(blst_backend, "_Z1", _Counting(blst_backend._Z1, counter))
    out = be.g1_mul(base, k, public=public)
    monkeypatch.undo()
    return counter[0], out.inner if isinstance(out, _Counting) else out


def test_fixed_base_walk_is_the_same_for_every_secret_scalar(table_base, monkeypatch):
    be, base = table_base
    counts = set()
    for k in SCALARS:
        n, point = _additions(be, base, k, False, monkeypatch)
        counts.add(n)
        assert point == base.scalar_mul(k)
    assert counts == {32}


def test_public_scalars_may_skip_zero_windows_with_the_same_result(table_base, monkeypatch):
    be, base = table_base
    n_small, point = _additions(be, base, 2**63 + 5, True, monkeypatch)
    assert point == base.scalar_mul(2**63 + 5) and n_small < 32
    for k in SCALARS:
        assert _additions(be, base, k, True, monkeypatch)[1] == base.scalar_mul(k)


def test_secret_msm_keeps_zero_and_one_terms():
    be = get_backend("blst")
    G = be.g1_generator()
    P = be.g1_mul(G, 7)
    for ks in ([0, 5], [1, 0], [1, 1], [0, 0]):
        expected = G.scalar_mul(ks[0]) + P.scalar_mul(ks[1])
        assert be.g1_msm([G, P], ks) == expected == be.g1_msm([G, P], ks, public=True)


def test_set_membership_prover_costs_the_same_whichever_element_is_real(monkeypatch):
    be = get_backend("blst")
    issuer = make_issuer(backend=be)
    link = new_link_secret()
    d = issuer.definition
    cred = issuer.issue(link, VALUES, backend=be)  # country NL
    calls = {}
    for where, options in (("first", ["NL", "DE", "FR"]), ("middle", ["DE", "NL", "FR"]), ("last", ["DE", "FR", "NL"])):
        q = CredentialQuery("credential", (d.id,), (), (Predicate("country", "in", options),))
        req = PresentationRequest(secrets.token_bytes(16), "lender-a", TODAY, (q,))
        log = []
        real_msm = be.g1_msm

        def recording(points, scalars, *, public=False, log=log, real_msm=real_msm):
            log.append((len(points), public))
            return real_msm(points, scalars, public=public)

        monkeypatch.setattr(be, "g1_msm", recording)
        pres = create_presentation(req, [d], [cred], link, backend=be)
        monkeypatch.undo()
        verify_presentation(req, pres, {d.id: d}, backend=be)
        calls[where] = log
    assert calls["first"] == calls["middle"] == calls["last"]
    # the prover marks public only the two-term V_i = C − t_i·G (public inputs); every other MSM is secret
    assert any(not public for _, public in calls["first"])
    assert all(n == 2 for n, public in calls["first"] if public)
