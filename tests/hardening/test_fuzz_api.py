"""API fuzzing (schemathesis) of the issuer, verifier and ledger apps, in process, and auth on every route.

For every operation of each app's OpenAPI document, schemathesis generates positive
(schema-valid) and negative (schema-violating) requests, some aimed at objects that exist
(the story's schema, definition, credential, request, entry ids); each is sent with the
right credentials through the ASGI app. Every response must be:

- never a 5xx (``not_a_server_error``),
- a documented status with a documented content type, and a body matching its schema
  (``status_code_conformance``, ``content_type_conformance``, ``response_schema_conformance``),
- a problem+json with a stable ``type`` under https://zkcred.dev/problems/ when ≥ 400.

Auth: every admin / lender / offer-token route answers 401 (with ``WWW-Authenticate``)
without credentials and 403 with wrong ones — including another service's valid token.
The route table is enumerated from the apps, so a new route must be classified here.

Bounded: ``ZKCRED_FUZZ_EXAMPLES`` examples per operation and mode (default 40).
"""

from __future__ import annotations

import os
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = int(os.environ.get("ZKCRED_FUZZ_EXAMPLES", "40"))
CONTRACT_CHECKS = (status_code_conformance, content_type_conformance)
FUZZED: dict[str, int] = {}


@pytest.fixture(scope="module")
def apps(story):
    from issuer.api import create_app as issuer_app
    from ledger.api import create_app as ledger_app
    from verifier.api import create_app as verifier_app

    created = story.new_request()
    # other_def: a fuzzed POST …/{definition_id}/rotate may supersede it (the story's cred_def stays usable)
    known = {
        "schema_id": story.schema["id"],
        "definition_id": story.other_def["id"],
        "credential_id": story.credential_ids[0],
        "request_id": created["id"],
        "seq": 0,
        "offer_id": story.offer(story.cred_def["id"], {"income": 1, "birth_date": "2000-01-01", "country": "NL"})[
            "offer_id"
        ],
    }
    return {
        "issuer": (issuer_app(story.issuer), story.admin, known),
        # ?wait= and /events hold a pending request's connection: cut short, or fuzzing takes hours
        "verifier": (
            verifier_app(story.verifier, public_url="http://verifier.test", max_wait=0.05, max_events_stream=0.05),
            story.lender,
            known,
        ),
        "ledger": (ledger_app(story.log), {}, known),
    }


def _fuzz(app, auth: dict[str, str], known: dict[str, Any], checks) -> tuple[int, list[str]]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    total = 0
    for result in schema.get_all_operations():
        op = result.ok()
        path_params = {k: v for k, v in known.items() if "{" + k + "}" in op.path}
        strategies = [op.as_strategy(GenerationMode.POSITIVE), op.as_strategy(GenerationMode.NEGATIVE)]
        if path_params:
            strategies.append(op.as_strategy(GenerationMode.POSITIVE, path_parameters=path_params))
            strategies.append(op.as_strategy(GenerationMode.NEGATIVE, path_parameters=path_params))
        for strategy in strategies:
            try:
                total += _run_strategy(op, strategy, auth, checks, failures)
            except Unsatisfiable:  # nothing to negate (an operation without parameters)
                continue
    return total, failures


def _run_strategy(op, strategy, auth: dict[str, str], checks, failures: list[str]) -> int:
    """Run one operation's strategy, appending what failed; the number of cases run."""
    seen: list[int] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case) -> None:
        seen.append(1)
        try:
            response = case.call(headers=auth)
        except Exception as e:  # the app raised: a 500 the test client surfaced
            failures.append(f"{op.method.upper()} {op.path}: the app raised {e!r:.300}")
            return
        for check in checks:
            try:
                case.validate_response(response, checks=[check])
            except BaseException as e:  # FailureGroup
                failures.append(
                    f"{op.method.upper()} {op.path} → {response.status_code} "
                    f"[{check.__name__}]: {str(e).splitlines()[0]:.200}"
                )
        if response.status_code >= 400:
            ctype = response.headers.get("content-type", [""])
            ctype = ctype[0] if isinstance(ctype, list) else ctype
            body = response.json() if "json" in ctype else {}
            if not (
                ctype.startswith("application/problem+json")
                and str(body.get("type", "")).startswith("https://zkcred.dev/problems/")
            ):
                failures.append(f"{op.method.upper()} {op.path} → {response.status_code}: not a problem+json")

    run()
    return len(seen)


@pytest.mark.parametrize("name", ["issuer", "verifier", "ledger"])
def test_fuzzed_requests_never_5xx_and_responses_match_their_schemas(apps, name):
    app, auth, known = apps[name]
    checks = [not_a_server_error, response_schema_conformance, *CONTRACT_CHECKS]
    total, failures = _fuzz(app, auth, known, checks)
    FUZZED[name] = total
    print(f"\nfuzzed {name}: {total} examples")
    assert total >= 5 * EXAMPLES
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(sorted(set(failures))[:40])


# ------------------------------------------------------------------ auth on every protected route


def _routes(app) -> list[tuple[str, str]]:
    """Every (METHOD, path) the app serves, from its OpenAPI document (routers may nest)."""
    return sorted((m.upper(), path) for path, ops in app.openapi()["paths"].items() for m in ops)


#: servicekit's operations routes, on every service: public like a load balancer's probes (docs/security.md)
OPERATIONS = {("GET", "/health/live"), ("GET", "/health/ready"), ("GET", "/metrics")}
PUBLIC = {
    # GET /offers/{id}?token=: the offer's token in the query is its capability (an offer's deep link);
    # its refusals are tests/console/test_pages.py::test_offer_deep_link_hands_the_offer_once
    "issuer": {("GET", "/offers/{offer_id}"), *OPERATIONS},
    "verifier": {
        ("GET", "/requests/{request_id}/document"),
        ("POST", "/requests/{request_id}/presentation"),
        ("GET", "/requests/{request_id}/qr"),
        *OPERATIONS,
    },
    # the ledger is public to read; appends are authenticated by the issuer's signature (test_tamper)
    "ledger": {
        ("GET", "/entries"),
        ("GET", "/entries/{seq}"),
        ("GET", "/tree-head"),
        ("GET", "/proofs/inclusion"),
        ("GET", "/proofs/consistency"),
        ("POST", "/entries"),
        ("GET", "/checkpoint"),
        *OPERATIONS,
    },
}


def test_every_protected_route_refuses_missing_and_wrong_credentials(story, apps):
    from fastapi.testclient import TestClient

    offer = story.offer(story.cred_def["id"], {"income": 1, "birth_date": "2000-01-01", "country": "NL"})
    fill = {
        "{schema_id}": story.schema["id"],
        "{definition_id}": story.cred_def["id"],
        "{credential_id}": story.credential_ids[-1],
        "{request_id}": story.new_request()["id"],
        "{offer_id}": offer["offer_id"],
    }
    bodies = {"/credentials": {"offer_id": offer["offer_id"], "request": "AAAA"}}
    wrong = {
        "issuer": ["zka_" + "A" * 43, story.api_key, offer["token"], story.admin_token + "x"],
        "verifier": ["zkv_" + "A" * 43, story.admin_token, offer["token"], story.api_key + "x"],
    }
    checked = 0
    for name, (app, _, _) in apps.items():
        client = TestClient(app, raise_server_exceptions=False)
        routes = _routes(app)
        protected = [r for r in routes if r not in PUBLIC[name]]
        assert set(PUBLIC[name]) <= set(routes), f"{name}: a public route vanished"
        if name == "ledger":
            assert not protected, f"ledger: an unclassified route {protected}"
            continue
        assert protected, name
        for method, path in protected:
            url = path
            for k, v in fill.items():
                url = url.replace(k, v)
            body = bodies.get(path, {})
            for headers in ({}, {"Authorization": ""}, {"Authorization": "Bearer"}, {"Authorization": "Bearer "}):
                r = client.request(method, url, headers=headers, json=body)
                assert r.status_code == 401, (name, method, path, headers, r.status_code, r.text)
                assert r.headers.get("www-authenticate", "").lower().startswith("bearer"), (name, path)
                assert r.headers["content-type"].startswith("application/problem+json")
                checked += 1
            for token in wrong[name]:
                if path == "/credentials" and token == offer["token"]:
                    continue  # the offer's own token is the right one there
                r = client.request(method, url, headers={"Authorization": f"Bearer {token}"}, json=body)
                assert r.status_code == 403, (name, method, path, token[:6], r.status_code, r.text)
                assert r.headers["content-type"].startswith("application/problem+json")
                checked += 1
            for scheme in ("Basic", "Token", "bearer-ish"):
                r = client.request(method, url, headers={"Authorization": f"{scheme} {wrong[name][0]}"}, json=body)
                assert r.status_code in (401, 403), (name, method, path, scheme, r.status_code)
                checked += 1
    # another lender cannot read this lender's request
    other = story.verifier.create_api_key(lender="Other Lender")
    r = TestClient(apps["verifier"][0]).get(
        f"/requests/{fill['{request_id}']}", headers={"Authorization": f"Bearer {other}"}
    )
    assert r.status_code == 403
    print(f"\nauth probes: {checked}")


def test_pagination_beyond_a_sql_integer_is_a_422_not_a_500(story, apps):
    """Found by the fuzzer: ``offset`` past 2^63 overflowed the SQLite driver (a 500)."""
    from fastapi.testclient import TestClient

    client = TestClient(apps["issuer"][0], raise_server_exceptions=False)
    for offset in (2**31, 2**63, 10**30):
        r = client.get(f"/admin/credentials?offset={offset}", headers=story.admin)
        assert r.status_code == 422 and r.json()["type"].endswith("/invalid-request"), r.text
    assert client.get("/admin/credentials?offset=2147483647", headers=story.admin).json() == {"items": []}
