"""Secrets never leave: not in responses, not in plaintext columns; the master key is required and checked."""

from __future__ import annotations

import base64
import json
import secrets

import pytest
from sqlalchemy import select

from circuits.codec import b64e
from issuer.config import ConfigError, Settings
from issuer.models import TABLES, CredentialDefinitionRow, IssuerIdentity, OfferRow
from issuer.publisher import InProcessPublisher
from issuer.sealing import UnsealError
from issuer.service import IssuerService
from tests.issuer.holder import accept


def _forms(secret: bytes) -> list[bytes]:
    """The encodings a leaked secret would take: raw, hex, base64 (both alphabets)."""
    return [
        secret,
        secret.hex().encode(),
        secret.hex().upper().encode(),
        b64e(secret).encode(),
        base64.b64encode(secret).rstrip(b"="),
    ]


def _dump(engine) -> bytes:
    """Every column of every row of every issuer table, as bytes."""
    out = []
    with engine.connect() as conn:
        for table in TABLES:
            for row in conn.execute(select(table)):
                for value in row:
                    out.append(bytes(value) if isinstance(value, (bytes, memoryview)) else str(value).encode())
    return b"\n".join(out)


def test_secrets_never_in_responses_or_plaintext_columns(api, client, service):
    responses: list[bytes] = []
    schema = api.schema()
    revocable = api.definition(schema["id"], capacity=4)
    plain = api.definition(schema["id"], revocable=False, tag="plain")
    offers = [api.offer(revocable["id"]), api.offer(plain["id"])]
    for offer in offers:
        _, body, _ = accept(client, offer)
        responses.append(json.dumps(body).encode())
    cred_id = json.loads(responses[0])["credential_id"]
    responses.append(client.post(f"/admin/credentials/{cred_id}/revoke", headers=api.admin).content)
    for path in (
        "/admin/schemas",
        "/admin/credential-definitions",
        "/admin/credentials",
        f"/admin/credentials/{cred_id}",
        f"/admin/credential-definitions/{revocable['id']}",
    ):
        responses.append(client.get(path, headers=api.admin).content)
    responses += [json.dumps(x).encode() for x in (schema, revocable, plain)]
    listing = b"\n".join(responses)

    sealer = service._sealer
    secret_keys: list[bytes] = []
    with service.engine.connect() as conn:
        for row in conn.execute(select(CredentialDefinitionRow.__table__)):
            secret_keys.append(
                sealer.open(row.bbs_secret_key_sealed, f"issuer_credential_definitions/bbs_secret_key/{row.id}")
            )
            if row.accumulator_secret_sealed is not None:
                secret_keys.append(
                    sealer.open(
                        row.accumulator_secret_sealed, f"issuer_credential_definitions/accumulator_secret/{row.id}"
                    )
                )
        ident = conn.execute(select(IssuerIdentity.__table__)).one()
        secret_keys.append(sealer.open(ident.ledger_key_sealed, f"issuer_identity/ledger_key/{ident.issuer_id}"))
    assert len(secret_keys) == 4 and all(len(k) == 32 for k in secret_keys)
    secret_keys.append(service.settings.master_key)

    dump = _dump(service.engine)
    tokens = [api.admin["Authorization"].split()[1].encode()] + [o["token"].encode() for o in offers]
    for secret in secret_keys:
        for form in _forms(secret):
            assert form not in dump, "a secret key is stored in plaintext"
            assert form not in listing, "a secret key left in a response"
    for token in tokens:
        assert token not in dump, "a bearer token is stored in plaintext"
    for value in ("Zyxwvut-Land", "64000.50", "1990-12-10"):
        assert value.encode() not in dump, "an attribute value is stored in plaintext"
    # admin listings never show attribute values either
    for path in ("/admin/credentials", f"/admin/credentials/{cred_id}"):
        assert b"Zyxwvut-Land" not in client.get(path, headers=api.admin).content


def test_sealed_values_are_bound_to_their_row(api, client, service):
    d1 = api.definition(api.schema()["id"], tag="a")
    d2 = api.definition(d1["schema_id"], tag="b")
    o1, o2 = api.offer(d1["id"]), api.offer(d2["id"])
    with service.engine.begin() as conn:
        rows = {r.id: r for r in conn.execute(select(CredentialDefinitionRow.__table__))}
        sealed_other = rows[d2["id"]].bbs_secret_key_sealed
    with pytest.raises(UnsealError):
        service._sealer.open(sealed_other, f"issuer_credential_definitions/bbs_secret_key/{d1['id']}")
    with service.engine.begin() as conn:  # an attacker with write access swaps offer values between rows
        v2 = conn.execute(
            select(OfferRow.__table__.c.values_sealed).where(OfferRow.__table__.c.id == o2["offer_id"])
        ).scalar_one()
        conn.execute(
            OfferRow.__table__.update().where(OfferRow.__table__.c.id == o1["offer_id"]).values(values_sealed=v2)
        )
    with pytest.raises(UnsealError):
        from tests.issuer.holder import request_for

        req = request_for(o1)
        service.issue_credential(offer_id=o1["offer_id"], token=o1["token"], request=b64e(req.request))


def test_master_key_is_required_and_checked(settings, ledger, service, tmp_path):
    empty = {"ZKCRED_STATE_DIR": str(tmp_path / "state")}  # no master key file there
    with pytest.raises(ConfigError, match="ZKCRED_MASTER_KEY is not set"):
        Settings.from_env({**empty, "DATABASE_URL": settings.database_url})
    with pytest.raises(ConfigError, match="32 bytes"):
        Settings.from_env({**empty, "ZKCRED_MASTER_KEY": "abcd"})
    dev = Settings.from_env({**empty, "ZKCRED_DEV_MODE": "1"})
    assert dev.dev_mode and len(dev.master_key) == 32
    key = secrets.token_bytes(32)
    assert Settings.from_env({"ZKCRED_MASTER_KEY": key.hex()}).master_key == key
    assert Settings.from_env({"ZKCRED_MASTER_KEY": base64.b64encode(key).decode()}).master_key == key
    assert Settings.from_env({"ZKCRED_MASTER_KEY": b64e(key)}).master_key == key
    assert key.hex() not in repr(Settings(master_key=key)) and str(key) not in repr(Settings(master_key=key))

    wrong = Settings(master_key=secrets.token_bytes(32), database_url=settings.database_url)
    with pytest.raises(ConfigError, match="does not open"):
        IssuerService.open(settings=wrong, publisher=InProcessPublisher(ledger))
    # the right key still opens
    IssuerService.open(settings=settings, publisher=InProcessPublisher(ledger)).engine.dispose()
