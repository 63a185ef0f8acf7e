"""No secret anywhere it should not be: logs, HTTP bodies (errors included), database columns.

The story runs through the real services (on SQLite, and on PostgreSQL): schema, two
revocable definitions, offers, blind issuance to two wallets, a presentation verified, a
replay, failed auth, a hostile presentation, a revocation, a wallet sync — once at each log
level (DEBUG, INFO, WARNING, ERROR). Every log line the services write is captured as
written (``servicekit.logs``' JSON lines: message, extras, request ids, tracebacks) and
every log record of every logger (message and arguments), every response body of the
three services is kept (but the offer and the issued credential, which carry a token and
values to their one recipient), and every row of every table of the ledger, issuer and verifier
databases is dumped (and the wallets' SQLite files, byte for byte). Then none of these
appears in any of them, in raw, hex (both cases), base64 or base64url form, or as a decimal
integer: the issuer's BBS secret keys, accumulator secrets α, its ledger signing key and the
master key; the ledger's signing key; the holders' link secrets; the admin token, the offer
tokens and the lender's API key; the holders' attribute values that were never disclosed.
"""

from __future__ import annotations

import base64
import io
import logging
import re
from pathlib import Path

import pytest
from sqlalchemy import MetaData, select

from circuits.codec import b64e
from tests.hardening.conftest import build_story
from tests.postgres import postgres_schema

SECRET_VALUES = (
    {"income": 64123, "birth_date": "1987-06-05", "country": "Zyxwvut-Land"},
    {"income": 58321, "birth_date": "1979-04-03", "country": "Qwertzuiop-Land"},
)


#: The two responses whose purpose is to carry a token or values to their one recipient.
INTENDED = {("POST", "/admin/offers", 201), ("POST", "/credentials", 201)}


def _forms(secret: bytes | int | str) -> list[bytes]:
    if isinstance(secret, str):
        return [secret.encode()]
    if isinstance(secret, int):
        raw = secret.to_bytes(32, "big")
        return [*_forms(raw), secret.to_bytes(32, "little"), str(secret).encode(), f"{secret:x}".encode()]
    return [
        secret,
        secret.hex().encode(),
        secret.hex().upper().encode(),
        b64e(secret).encode(),
        base64.b64encode(secret).rstrip(b"="),
    ]


def _occurs(form: bytes, blob: bytes) -> bool:
    """``form`` in ``blob``; a decimal number only as a whole number, not inside a longer one
    (a timestamp such as 1795464123… contains 64123 by chance)."""
    if form.isdigit():
        return re.search(rb"(?<![0-9])" + form + rb"(?![0-9])", blob) is not None
    return form in blob


def _dump(engine) -> bytes:
    """Every column of every row of every table the engine sees (its schema only, on PostgreSQL)."""
    meta = MetaData()
    meta.reflect(engine)
    out = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)):
                for value in row:
                    out.append(bytes(value) if isinstance(value, (bytes, memoryview)) else str(value).encode())
    assert out, "nothing dumped"
    return b"\n".join(out)


def _secrets(story) -> dict[str, list]:
    from issuer.models import CredentialDefinitionRow, IssuerIdentity

    issuer = story.issuer
    sealer = issuer._sealer
    keys: list = [
        issuer.settings.master_key,
        issuer._ledger_key.private_bytes_raw(),
        story.log._signing_key.private_bytes_raw(),
    ]
    with issuer.engine.connect() as conn:
        for row in conn.execute(select(CredentialDefinitionRow.__table__)):
            keys.append(
                sealer.open(row.bbs_secret_key_sealed, f"issuer_credential_definitions/bbs_secret_key/{row.id}")
            )
            if row.accumulator_secret_sealed is not None:
                alpha = sealer.open(
                    row.accumulator_secret_sealed, f"issuer_credential_definitions/accumulator_secret/{row.id}"
                )
                keys += [alpha, int.from_bytes(alpha, "big")]
        assert conn.execute(select(IssuerIdentity.__table__)).one()
    return {
        "issuer/ledger keys": keys,
        "link secrets": [w._link_secret for w in story.wallets],
        "tokens": [story.admin_token, story.api_key, *story.offer_tokens],
        "attribute values": [v for values in SECRET_VALUES for k, v in values.items() if k != "income"]
        + [f'"income":{v["income"]}' for v in SECRET_VALUES]
        + [str(v["income"]) for v in SECRET_VALUES],
    }


def _drive(story) -> None:
    """The rest of the story, with failures: requests, presentations, replay, bad auth, revocation, sync."""
    ask = {
        "disclose": [],
        "predicates": [
            {"attribute": "income", "op": ">=", "value": 50000},
            {"attribute": "country", "op": "!=", "value": "NL"},
        ],
    }
    for w in range(2):
        created = story.new_request(**ask)
        p = story.present(created, w)
        assert story.submit(created, p).json()["verified"] is True
        assert story.submit(created, p).status_code == 409
    created = story.new_request(**ask)
    p = story.present(created, 0)
    p["credentials"][0]["bbs"] = p["credentials"][0]["bbs"][:-4] + "AAAA"
    assert story.submit(created, p).json()["verified"] is False
    assert (
        story.ver.post("/requests", headers={"Authorization": "Bearer " + story.api_key[:-2]}, json={}).status_code
        == 403
    )
    assert (
        story.iss.get("/admin/schemas", headers={"Authorization": "Bearer " + story.admin_token + "x"}).status_code
        == 403
    )
    offer = story.offer(story.other_def["id"], SECRET_VALUES[0])
    r = story.iss.post(
        "/credentials",
        headers={"Authorization": f"Bearer {offer['token']}"},
        json={"offer_id": offer["offer_id"], "request": "AAAA"},
    )
    assert r.status_code == 422
    story.wallets[0].accept_offer(offer)
    bad_offer = story.iss.post(
        "/admin/offers",
        headers=story.admin,
        json={"credential_definition_id": story.cred_def["id"], "attributes": {**SECRET_VALUES[1], "income": "64123x"}},
    )
    assert bad_offer.status_code == 422
    assert (
        story.iss.post(f"/admin/credentials/{story.credential_ids[0]}/revoke", headers=story.admin).status_code == 200
    )
    assert story.wallets[0].sync()["revoked"] == 1
    assert story.wallets[1].sync()["updated"] >= 1
    for path in ("/admin/credentials", "/admin/credential-definitions", "/admin/schemas"):
        assert story.iss.get(path, headers=story.admin).status_code == 200
    assert story.ver.get(f"/requests/{created['id']}", headers=story.lender).status_code == 200


LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR"]


def _check(tmp: Path, urls, caplog, level: str) -> dict[str, int]:
    bodies: list[bytes] = []

    def keep(response):
        response.read()
        route = (response.request.method, response.request.url.path, response.status_code)
        if route in INTENDED:
            return  # the offer (to be handed to its holder) and the credential (to its holder): their purpose
        bodies.append(response.content)

    from servicekit.logs import configure_logging

    root = logging.getLogger()
    saved_level = root.level
    lines = io.StringIO()
    handler = configure_logging(level, stream=lines)  # the services' JSON lines, at this level (root: all loggers)
    story = build_story(tmp, urls, holders=SECRET_VALUES)
    try:
        for client in story.clients.values():
            client.event_hooks["response"].append(keep)
        _drive(story)
        logs = "\n".join(
            f"{r.name} {r.levelname} {r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records
        ).encode()
        places = {
            "logs": logs,
            "log lines": lines.getvalue().encode(),
            "HTTP bodies": b"\n".join(bodies),
            "ledger database": _dump(story.log.store.engine),
            "issuer database": _dump(story.issuer.engine),
            "verifier database": _dump(story.verifier.store.engine),
            "wallet files": b"".join(Path(w._store.path).read_bytes() for w in story.wallets),
        }
        written = lines.getvalue().splitlines()
        assert len(bodies) > 20
        assert all(r.levelno >= getattr(logging, level) for r in caplog.records)
        if level in ("DEBUG", "INFO"):
            assert len(caplog.records) > 20 and len(written) > 20, (len(caplog.records), len(written))
        elif level == "WARNING":  # the failed logins of _drive are WARNING
            assert any('"level": "WARNING"' in line for line in written), written
        found = []
        searched = 0
        for kind, values in _secrets(story).items():
            for value in values:
                for form in _forms(value):
                    for place, blob in places.items():
                        if kind == "attribute values" and place == "wallet files":
                            continue  # the holder's own store: encrypted, checked below by its raw bytes
                        searched += 1
                        if _occurs(form, blob):
                            found.append(f"{kind} in {place}: {form[:12]!r}…")
        for values in SECRET_VALUES:  # the wallet's file is sealed: not even the values in clear
            assert values["country"].encode() not in places["wallet files"]
        assert not found, "secrets found:\n" + "\n".join(found)
        return {
            "searched": searched,
            "log records": len(caplog.records),
            "log lines": len(written),
            "bodies": len(bodies),
        }
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_level)
        story.close()


@pytest.mark.parametrize("level", LEVELS)
def test_no_secret_in_logs_bodies_or_tables_sqlite(tmp_path, caplog, level):
    stats = _check(tmp_path, None, caplog, level)
    print(f"\nsecrets (SQLite, {level}): 0 found; {stats}")


@pytest.mark.postgres
@pytest.mark.parametrize("level", LEVELS)
def test_no_secret_in_logs_bodies_or_tables_postgres(tmp_path, caplog, level):
    with postgres_schema("sec_l") as ledger, postgres_schema("sec_i") as issuer, postgres_schema("sec_v") as verifier:
        stats = _check(tmp_path, {"ledger": ledger, "issuer": issuer, "verifier": verifier}, caplog, level)
    print(f"\nsecrets (PostgreSQL, {level}): 0 found; {stats}")
