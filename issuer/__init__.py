"""The issuer service: schemas, credential definitions, blind issuance, revocation."""
