"""One scaffolding (``servicekit``) on the issuer, the verifier and the ledger: the same answers everywhere.

Every hostile body below is sent to a JSON route of each of the three apps (with valid
credentials, so only the body decides): the three must answer the *same* status, problem
type and title — and the one docs/api.md "Errors" names. Then: request ids, health,
metrics, structured logs, and the OpenAPI documents (security schemes, a Problem schema
on every error response).
"""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from fastapi.testclient import TestClient

from servicekit.problems import COMMON, PROBLEM_PREFIX
from servicekit.strictjson import MAX_BODY_BYTES, MAX_JSON_DEPTH, MAX_STRING_BYTES

JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def apps(story):
    """name → (client, JSON route, auth headers), over the story's services (fresh apps, own registries)."""
    from issuer.api import create_app as issuer_app
    from ledger.api import create_app as ledger_app
    from verifier.api import create_app as verifier_app

    return {
        "issuer": (TestClient(issuer_app(story.issuer), raise_server_exceptions=False), "/admin/offers", story.admin),
        "verifier": (
            TestClient(verifier_app(story.verifier, public_url="http://verifier.test"), raise_server_exceptions=False),
            "/requests",
            story.lender,
        ),
        "ledger": (TestClient(ledger_app(story.log), raise_server_exceptions=False), "/entries", {}),
    }


def _nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def _padded(head: bytes, size: int) -> bytes:
    """``head`` + spaces + ``}``: exactly ``size`` bytes of JSON."""
    return head + b" " * (size - len(head) - 1) + b"}"


def _chunks(total: int):
    yield b'{"a":"'
    sent = 6
    while sent < total:
        yield b"x" * 8192
        sent += 8192
    yield b'"}'


# name → (body, extra headers, expected slug). Each: the same status/type/title on all three services.
HOSTILE = {
    "oversize": (
        b'{"a":"' + b"x" * (MAX_BODY_BYTES // 2) + b'","b":"' + b"y" * (MAX_BODY_BYTES // 2) + b'"}',
        JSON,
        "payload-too-large",
    ),
    "oversize-12MB": (b"[" + b"1," * (6 * 1024 * 1024) + b"1]", JSON, "payload-too-large"),  # the issue's 12 MB offer
    "oversize-chunked": (
        lambda: _chunks(MAX_BODY_BYTES + 1),
        JSON,
        "payload-too-large",
    ),  # no Content-Length: counted while read
    "content-length-lies": (b"{}", {**JSON, "content-length": str(MAX_BODY_BYTES + 1)}, "payload-too-large"),
    "deep-nesting": (_nested(MAX_JSON_DEPTH + 1), JSON, "malformed-json"),
    "deep-nesting-100k": (b"[" * 100_000, JSON, "malformed-json"),
    "long-string": (b'{"a":"' + b"x" * (MAX_STRING_BYTES + 1) + b'"}', JSON, "malformed-json"),
    "long-key": (b'{"' + b"k" * (MAX_STRING_BYTES + 1) + b'":1}', JSON, "malformed-json"),
    "NaN": (b'{"a":NaN}', JSON, "malformed-json"),
    "Infinity": (b'{"a":Infinity}', JSON, "malformed-json"),
    "-Infinity": (b'{"a":[-Infinity]}', JSON, "malformed-json"),
    "1e999": (b'{"a":1e999}', JSON, "malformed-json"),
    "duplicate-key": (b'{"a":1,"a":2}', JSON, "malformed-json"),
    "duplicate-nested-key": (b'{"a":{"b":1,"b":1}}', JSON, "malformed-json"),
    "invalid-utf8": (b'{"a":"\xff\xfe"}', JSON, "malformed-json"),
    "overlong-utf8": (b'{"a":"\xc0\xaf"}', JSON, "malformed-json"),
    "utf16": ('{"a":1}'.encode("utf-16"), JSON, "malformed-json"),
    "bom": (b'\xef\xbb\xbf{"a":1}', JSON, "malformed-json"),
    "lone-surrogate": (b'{"a":"\\ud800"}', JSON, "malformed-json"),
    "not-json": (b"{not json", JSON, "malformed-json"),
    "trailing-garbage": (b'{"a":1} x', JSON, "malformed-json"),
    "huge-integer": (b'{"a":' + b"9" * 5000 + b"}", JSON, "malformed-json"),
    "text/plain": (b'{"a":1}', {"content-type": "text/plain"}, "unsupported-media-type"),
    "form": (b"a=1", {"content-type": "application/x-www-form-urlencoded"}, "unsupported-media-type"),
    "no-content-type": (b'{"a":1}', {}, "unsupported-media-type"),
    "latin-1": (b'{"a":1}', {"content-type": "application/json; charset=latin-1"}, "unsupported-media-type"),
    "off-model": (b"[1, 2]", JSON, "invalid-request"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_bodies_get_the_same_problem_on_all_three(apps, case):
    body, headers, slug = HOSTILE[case]
    answers = {}
    for name, (client, route, auth) in apps.items():
        content = body() if callable(body) else body
        r = client.post(route, content=content, headers={**auth, **headers})
        assert r.headers["content-type"].startswith("application/problem+json"), (name, r.status_code, r.text[:200])
        problem = r.json()
        assert problem["instance"] == route and problem["detail"]
        assert problem["request_id"] == r.headers["x-request-id"]
        answers[name] = (r.status_code, problem["type"], problem["title"], problem["status"])
    expected = COMMON[slug]
    assert set(answers.values()) == {(expected.status, expected.uri, expected.title, expected.status)}, answers


@pytest.mark.parametrize(
    "case", ["depth-at-limit", "string-at-limit", "body-at-limit", "charset-utf-8", "json-suffix-type"]
)
def test_bodies_at_the_limits_pass_the_guard(apps, case):
    """At (not over) each limit the body reaches the route: a domain or model answer, never the guard's."""
    bodies = {
        "depth-at-limit": (_nested(MAX_JSON_DEPTH), JSON),
        "string-at-limit": (b'{"a":"' + b"x" * MAX_STRING_BYTES + b'"}', JSON),
        "body-at-limit": (_padded(b'{"a":"' + b"x" * MAX_STRING_BYTES + b'"', MAX_BODY_BYTES), JSON),
        "charset-utf-8": (b'{"a":1}', {"content-type": "application/json; charset=UTF-8"}),
        "json-suffix-type": (b'{"a":1}', {"content-type": "application/merge-patch+json"}),
    }
    body, headers = bodies[case]
    assert case != "body-at-limit" or len(body) == MAX_BODY_BYTES
    for name, (client, route, auth) in apps.items():
        r = client.post(route, content=body, headers={**auth, **headers})
        assert r.status_code == 422, (name, case, r.status_code, r.text[:300])
        slug = r.json()["type"].removeprefix(PROBLEM_PREFIX)
        assert slug not in {"malformed-json", "payload-too-large", "unsupported-media-type"}, (name, case, slug)


@pytest.mark.parametrize(
    "method, path, slug", [("GET", "/nowhere", "not-found"), ("DELETE", "/health/live", "method-not-allowed")]
)
def test_framework_errors_are_the_same_problem(apps, method, path, slug):
    answers = set()
    for client, _, _ in apps.values():
        r = client.request(method, path)
        assert r.headers["content-type"].startswith("application/problem+json")
        answers.add((r.status_code, r.json()["type"], r.json()["title"]))
    assert answers == {(COMMON[slug].status, COMMON[slug].uri, COMMON[slug].title)}


def test_domain_tables_agree_with_the_common_types():
    """A slug two services share (unauthorized, not-found, ledger-unavailable, …) has one status and title."""
    from issuer.errors import ErrorKind as IssuerKind
    from issuer.errors import IssuerError
    from ledger.errors import REJECTION_REASONS, EntryRejected, InvalidRequest, NotFound
    from verifier.errors import ErrorKind as VerifierKind
    from verifier.errors import VerifierError

    errors = [IssuerError(k, "x") for k in IssuerKind] + [VerifierError(k, "x") for k in VerifierKind]
    errors += [InvalidRequest("x"), NotFound("x")] + [EntryRejected(r, "x") for r in REJECTION_REASONS]
    shared = 0
    for e in errors:
        if e.slug in COMMON:
            shared += 1
            assert (e.status, e.title) == (COMMON[e.slug].status, COMMON[e.slug].title), (type(e).__name__, e.slug)
    assert shared >= 8


# ------------------------------------------------------------------ request ids


@pytest.mark.parametrize(
    "given, echoed",
    [
        ("abc-123", True),
        ("trace.01:span_7", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("", False),
        ("bad id", False),
        ("<script>", False),
        ("-leading-dash", False),
        ("a\u00e9b", False),
    ],
)
def test_request_id_is_echoed_if_sane_else_generated(apps, given, echoed):
    for client, _, _ in apps.values():
        r = client.get("/health/live", headers={"X-Request-ID": given.encode("utf-8")})
        rid = r.headers["x-request-id"]
        if echoed:
            assert rid == given
        else:
            assert re.fullmatch(r"[0-9a-f]{32}", rid), rid
        problem = client.get("/nowhere", headers={"X-Request-ID": given.encode("utf-8")})
        assert problem.json()["request_id"] == problem.headers["x-request-id"]
        assert (problem.headers["x-request-id"] == given) is echoed


# ------------------------------------------------------------------ health


def test_health_live_and_ready(apps):
    checks = {
        "issuer": {"database", "ledger", "keys"},
        "verifier": {"database", "ledger"},
        "ledger": {"database", "keys"},
    }
    for name, (client, _, _) in apps.items():
        assert client.get("/health/live").json() == {"status": "ok", "service": name}
        r = client.get("/health/ready")
        assert r.status_code == 200, r.text
        assert r.json() == {"status": "ready", "service": name, "checks": {c: "ok" for c in checks[name]}}


def _not_ready(app, failing: set[str]) -> dict:
    r = TestClient(app).get("/health/ready")
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["type"] == COMMON["not-ready"].uri and problem["title"] == COMMON["not-ready"].title
    assert {k for k, v in problem["checks"].items() if v != "ok"} == failing, problem
    for check in failing:
        assert check in problem["detail"]
    return problem


def test_ready_names_the_failing_checks(story, tmp_path):
    """Real failures, not stubs: an unreachable ledger and database, a tampered key, a ledger key not pinned."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from sqlalchemy import text

    from issuer.api import create_app as issuer_app
    from issuer.config import Settings as IssuerSettings
    from issuer.publisher import HttpPublisher
    from issuer.service import IssuerService
    from ledger.api import create_app as ledger_app
    from ledger.client import LedgerClient
    from ledger.entries import public_key_bytes
    from ledger.log import LedgerLog
    from ledger.sql import SqlStore
    from verifier.api import create_app as verifier_app
    from verifier.db import SqlRequestStore, make_engine
    from verifier.resolver import LedgerResolver, LocalLedgerSource
    from verifier.service import VerifierService

    # issuer: the ledger is down (nothing listens on port 9), then its stored key is tampered with
    settings = IssuerSettings(
        master_key=bytes(range(32)),
        database_url=f"sqlite:///{tmp_path / 'issuer.db'}",
        ledger_url="http://127.0.0.1:9",
        issuer_url="http://issuer.test",
        issuer_id="ready-test",
        issuer_name="Ready",
        dev_mode=True,
    )
    down = HttpPublisher(LedgerClient("http://127.0.0.1:9", timeout=0.5))
    issuer = IssuerService.open(settings=settings, publisher=down, register=False)
    try:
        r = TestClient(issuer_app(issuer)).get("/health/ready")  # the outbox holds entries: degraded, still ready
        assert r.status_code == 200 and r.json()["status"] == "degraded", r.text
        assert r.json()["checks"]["ledger"].startswith("failing: ") and r.json()["checks"]["keys"] == "ok"
        with issuer.engine.begin() as conn:
            conn.execute(text("UPDATE issuer_identity SET ledger_key_sealed = :x"), {"x": b"\x00" * 60})
        problem = _not_ready(issuer_app(issuer), {"ledger", "keys"})
        assert "ConfigError" in problem["checks"]["keys"]
    finally:
        issuer.engine.dispose()

    # verifier: PostgreSQL unreachable, and a ledger whose tree heads are not signed by the pinned key
    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:9/test?connect_timeout=1")
    wrong_key = public_key_bytes(Ed25519PrivateKey.generate())
    verifier = VerifierService(
        store=SqlRequestStore(engine),
        verifier_id="ready-test",
        backend=story.be,
        resolver=LedgerResolver(LocalLedgerSource(story.log, ledger_key=wrong_key)),
    )
    problem = _not_ready(verifier_app(verifier), {"database", "ledger"})
    assert "did not verify" in problem["checks"]["ledger"]
    assert "127.0.0.1" not in json.dumps(problem)  # only the exception type, never a connection string

    # ledger: its tables are gone
    log = LedgerLog(SqlStore(f"sqlite:///{tmp_path / 'ledger.db'}"), signing_key=Ed25519PrivateKey.generate())
    app = ledger_app(log)
    assert TestClient(app).get("/health/ready").status_code == 200
    with log.store.engine.begin() as conn:
        conn.execute(text("DROP TABLE ledger_head"))
    _not_ready(app, {"database", "keys"})  # the keys check signs the current head: no head, no signature
    log.store.close()


# ------------------------------------------------------------------ metrics


def _sample(text_: str, name: str, **labels: str) -> float:
    for line in text_.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            got = dict(re.findall(r'(\w+)="([^"]*)"', line[len(name) : line.rindex("}") + 1])) if "{" in line else {}
            if all(got.get(k) == v for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {name} {labels} in\n{text_[:3000]}")


def test_metrics_per_app_requests_verifications_issuances_ledger_size(story):
    from issuer.api import create_app as issuer_app
    from ledger.api import create_app as ledger_app
    from verifier.api import create_app as verifier_app

    ver, other = (TestClient(verifier_app(story.verifier)) for _ in range(2))
    created = ver.post("/requests", headers=story.lender, json=story.ask()).json()
    presentation = story.present(created)
    assert ver.post(f"/requests/{created['id']}/presentation", json={"presentation": presentation}).json()["verified"]
    bad = ver.post("/requests", headers=story.lender, json=story.ask()).json()
    assert (
        ver.post(f"/requests/{bad['id']}/presentation", json={"presentation": presentation}).json()["reason"]
        == "invalid_proof"
    )
    assert ver.get("/requests/nope", headers=story.lender).status_code == 404
    text_ = ver.get("/metrics").text
    assert ver.get("/metrics").headers["content-type"].startswith("text/plain")
    route = "/requests/{request_id}/presentation"
    assert _sample(text_, "zkcred_http_requests_total", method="POST", route=route, status="200") == 2
    assert _sample(text_, "zkcred_http_requests_total", method="GET", route="/requests/{request_id}", status="404") == 1
    assert _sample(text_, "zkcred_http_request_duration_seconds_count", method="POST", route=route) == 2
    assert _sample(text_, "zkcred_verifier_verifications_total", result="verified", reason="none") == 1
    assert _sample(text_, "zkcred_verifier_verifications_total", result="rejected", reason="invalid_proof") == 1
    assert created["id"] not in text_ and "nope" not in text_  # ids are never label values
    assert 'route="<unmatched>"' not in text_
    assert other.get("/nowhere").status_code == 404
    other_text = other.get("/metrics").text  # another app in the same process: its own registry
    assert "zkcred_verifier_verifications_total{" not in other_text
    assert _sample(other_text, "zkcred_http_requests_total", route="<unmatched>", status="404") == 1

    iss = TestClient(issuer_app(story.issuer))
    offer = iss.post(
        "/admin/offers",
        headers=story.admin,
        json={
            "credential_definition_id": story.cred_def["id"],
            "attributes": {"income": 1, "birth_date": "2000-01-01", "country": "NL"},
        },
    ).json()
    from wallet import HttpRouter, Wallet
    from zkcred.demo import ISSUER_URL, LEDGER_URL

    clients = {**story.clients, ISSUER_URL: TestClient(iss.app, base_url=ISSUER_URL)}
    wallet = Wallet.create(
        story.tmp / "metrics-wallet.db",
        "pw-metrics-test",
        http=HttpRouter(clients),
        ledger_url=LEDGER_URL,
        ledger_key=story.log.public_key,
        backend=story.be,
    )
    try:
        summary = wallet.accept_offer(offer)
    finally:
        wallet.close()
    assert iss.post(f"/admin/credentials/{summary.id}/revoke", headers=story.admin).status_code == 200
    text_ = iss.get("/metrics").text
    assert _sample(text_, "zkcred_issuer_issuances_total") == 1
    assert _sample(text_, "zkcred_issuer_revocations_total") == 1

    led = TestClient(ledger_app(story.log))
    assert _sample(led.get("/metrics").text, "zkcred_ledger_entries") == story.log.head().size > 0
    assert led.post("/entries", json={"seq": "zero"}).status_code == 422
    assert _sample(led.get("/metrics").text, "zkcred_ledger_rejections_total", reason="malformed-entry") == 1


# ------------------------------------------------------------------ logs


def test_logs_are_json_lines_with_the_request_id_and_the_reason(story):
    from servicekit.logs import configure_logging
    from verifier.api import create_app as verifier_app

    buf = io.StringIO()
    root = logging.getLogger()
    saved = root.level
    handler = configure_logging("info", stream=buf)
    try:
        ver = TestClient(verifier_app(story.verifier))
        created = ver.post("/requests", headers=story.lender, json=story.ask()).json()
        other = ver.post("/requests", headers=story.lender, json=story.ask()).json()
        r = ver.post(
            f"/requests/{created['id']}/presentation",
            headers={"X-Request-ID": "req-rejected-1"},
            json={"presentation": story.present(other)},
        )
        assert r.json()["reason"] == "invalid_proof"
        assert (
            ver.get("/requests/x", headers={"Authorization": "Bearer wrong", "X-Request-ID": "req-403"}).status_code
            == 403
        )
        assert ver.get("/health/live").status_code == 200
    finally:
        root.removeHandler(handler)
        root.setLevel(saved)
    lines = [json.loads(line) for line in buf.getvalue().splitlines()]  # every line is one JSON object
    assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    mine = [line for line in lines if line.get("request_id") == "req-rejected-1"]
    assert any(line.get("reason") == "invalid_proof" and line["level"] == "INFO" for line in mine), mine
    access = [line for line in mine if line["logger"] == "servicekit.access"]
    assert access and access[0]["route"] == "/requests/{request_id}/presentation" and access[0]["status"] == 200
    refused = [line for line in lines if line.get("request_id") == "req-403" and line.get("problem") == "forbidden"]
    assert refused and refused[0]["level"] == "WARNING"
    assert not any(line.get("route") == "/health/live" for line in lines)  # probes log at DEBUG only


def test_log_level_is_validated():
    from servicekit.logs import parse_level

    assert parse_level("DEBUG") == logging.DEBUG and parse_level("warning") == logging.WARNING
    with pytest.raises(ValueError):
        parse_level("verbose")


# ------------------------------------------------------------------ OpenAPI


def test_openapi_security_schemes_and_problem_schema(apps):
    schemes = {"issuer": {"AdminToken", "OfferToken"}, "verifier": {"LenderApiKey"}, "ledger": set()}
    for name, (client, _, _) in apps.items():
        doc = client.get("/openapi.json").json()
        found = doc.get("components", {}).get("securitySchemes", {})
        assert set(found) == schemes[name], (name, found)
        assert all(s == {**s, "type": "http", "scheme": "bearer"} for s in found.values())
        assert "Problem" in doc["components"]["schemas"]
        assert "HTTPValidationError" not in doc["components"]["schemas"]
        ops = 0
        for path, item in doc["paths"].items():
            for method, op in item.items():
                ops += 1
                assert op["operationId"].isidentifier(), (name, path, op["operationId"])
                assert "500" in op["responses"], (name, path)
                for code, response in op["responses"].items():
                    if int(code) >= 400:
                        assert response["content"] == {
                            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                        }, (name, method, path, code)
                        assert response["description"] not in ("", "problem+json"), (name, path, code)
                if "requestBody" in op:
                    assert {"400", "413", "415", "422"} <= set(op["responses"]), (name, method, path)
        assert {"/health/live", "/health/ready", "/metrics"} <= set(doc["paths"])
        assert ops >= 6


# ------------------------------------------------------------------ `zkcred … serve --log-level`


@pytest.mark.parametrize("level, workers", [("debug", 2), ("warning", 1)])
def test_serve_writes_json_lines_at_the_chosen_level(tmp_path, level, workers):
    """The real server: JSON lines on stderr at ``--log-level``, in uvicorn's worker processes too."""
    import os
    import subprocess
    import sys
    import time

    import httpx

    from tests.hardening.conftest import free_ports

    port = free_ports(1)[0]
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "ledger.log"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "ZKCRED_LOG_LEVEL")}
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "zkcred",
                "ledger",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--key-file",
                str(tmp_path / "key"),
                "--database-url",
                f"sqlite:///{tmp_path / 'ledger.db'}",
                "--log-level",
                level,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=out,
            start_new_session=True,
        )
    try:
        deadline = time.time() + 60
        while True:
            try:
                if httpx.get(url + "/health/live", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.time() < deadline, log_path.read_text()[-2000:]
            time.sleep(0.2)
        for _ in range(2 * workers):
            r = httpx.get(url + "/entries/7", headers={"X-Request-ID": "cli-log-test"}, timeout=5)
            assert r.status_code == 404 and r.headers["x-request-id"] == "cli-log-test"
        assert httpx.get(url + "/health/ready", timeout=5).json()["status"] == "ready"
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    assert lines or level != "debug", log_path.read_text()[-2000:]
    levels = {line["level"] for line in lines}
    ours = [line for line in lines if line.get("request_id") == "cli-log-test"]
    if level == "debug":
        assert "DEBUG" in levels and "INFO" in levels, levels
        assert any(
            line["logger"] == "servicekit.access" and line["route"] == "/entries/{seq}" and line["status"] == 404
            for line in ours
        ), ours
        assert any(line.get("problem") == "not-found" for line in ours), ours
    else:
        assert levels <= {"WARNING", "ERROR", "CRITICAL"}, levels
        assert not ours  # a 404 is an INFO refusal: below the level


# ------------------------------------------------------------------ a bug


def test_a_bug_is_a_500_problem_with_the_request_id_and_a_logged_traceback():
    from fastapi import APIRouter

    from servicekit.app import create_service_app
    from servicekit.logs import configure_logging

    app = create_service_app(service="probe", title="probe")
    router = APIRouter()

    @router.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug with a secret-free message")

    app.include_router(router)
    buf = io.StringIO()
    root = logging.getLogger()
    saved = root.level
    handler = configure_logging("warning", stream=buf)
    try:
        r = TestClient(app, raise_server_exceptions=False).get("/boom", headers={"X-Request-ID": "bug-1"})
    finally:
        root.removeHandler(handler)
        root.setLevel(saved)
    assert r.status_code == 500 and r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["x-request-id"] == "bug-1"
    problem = r.json()
    assert (problem["type"], problem["title"], problem["request_id"]) == (
        COMMON["internal-error"].uri,
        "Internal error",
        "bug-1",
    )
    assert "secret-free" not in r.text and "Traceback" not in r.text  # the body names the request, not the bug
    errors = [json.loads(line) for line in buf.getvalue().splitlines()]
    bug = [e for e in errors if e["level"] == "ERROR" and e.get("request_id") == "bug-1"]
    assert len(bug) == 1 and "RuntimeError: a bug with a secret-free message" in bug[0]["exc_info"], errors


def test_limits_are_a_parameter_of_each_service(story):
    """The configuration hook: ``create_app(…, limits=Limits(…))`` on every service."""
    from issuer.api import create_app as issuer_app
    from ledger.api import create_app as ledger_app
    from servicekit.strictjson import Limits
    from verifier.api import create_app as verifier_app

    tight = Limits(max_body_bytes=64, max_depth=2, max_string_bytes=4)
    for app, route in (
        (issuer_app(story.issuer, limits=tight), "/admin/offers"),
        (verifier_app(story.verifier, limits=tight), "/requests"),
        (ledger_app(story.log, limits=tight), "/entries"),
    ):
        client = TestClient(app)
        assert client.post(route, content=b'{"a":"' + b"x" * 64 + b'"}', headers=JSON).status_code == 413
        assert client.post(route, content=b'{"a":"xxxxx"}', headers=JSON).json()["type"].endswith("/malformed-json")
        assert client.post(route, content=b"[[[1]]]", headers=JSON).json()["type"].endswith("/malformed-json")
        assert app.state.limits is tight


def test_a_hung_readiness_check_fails_within_its_timeout():
    """A dependency that accepts the connection and never answers must not hang the probe."""
    import socket
    import time

    import httpx

    from servicekit.app import create_service_app

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts connections, never answers
    try:
        silent = f"http://127.0.0.1:{listener.getsockname()[1]}"
        app = create_service_app(
            service="probe",
            title="probe",
            readiness_timeout=0.5,
            readiness={
                "fine": lambda: None,
                "ledger": lambda: httpx.get(silent + "/tree-head", timeout=30),
            },
        )
        started = time.monotonic()
        r = TestClient(app).get("/health/ready")
        assert time.monotonic() - started < 5
    finally:
        listener.close()
    assert r.status_code == 503
    assert r.json()["checks"] == {"fine": "ok", "ledger": "failing: no answer within 0.5 s"}
