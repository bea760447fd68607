"""The JWT middleware over real HTTP: every failing token is a 401, the token is the only tenant source."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable

import httpx
import jwt
import pytest

from reference_app.auth import SigningKey, generate_private_key_pem
from tests.reference_app.conftest import Tenant


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims(tenant: Tenant, **overrides: object) -> dict[str, object]:
    now = int(time.time())
    base: dict[str, object] = {
        "iss": "pake-dev",
        "aud": "pake-api",
        "sub": "mallory",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "tenant_id": tenant.id,
        "roles": ["member"],
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not ...}


def hs256_signed_with_public_key(key: SigningKey, payload: dict[str, object]) -> str:
    """The HS/RS confusion attack: HMAC keyed with the (public) RSA key, hoping the server reuses it."""
    signing_input = f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': key.kid})}.{_b64(payload)}"
    mac = hmac.new(key.public_pem(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def signed(key: SigningKey, payload: dict[str, object], **header: str) -> str:
    return jwt.encode(payload, key.private_key, algorithm="RS256", headers={"kid": key.kid, **header})


BAD_TOKENS: dict[str, Callable[[SigningKey, Tenant], str]] = {
    "alg_none": lambda key, t: f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims(t))}.",
    "hs256_with_public_key": lambda key, t: hs256_signed_with_public_key(key, claims(t)),
    "foreign_signing_key": lambda key, t: signed(SigningKey.from_pem(generate_private_key_pem()), claims(t)),
    "wrong_audience": lambda key, t: signed(key, claims(t, aud="other-api")),
    "wrong_issuer": lambda key, t: signed(key, claims(t, iss="evil")),
    "expired": lambda key, t: signed(key, claims(t, exp=int(time.time()) - 120, iat=int(time.time()) - 400)),
    "not_yet_valid": lambda key, t: signed(key, claims(t, nbf=int(time.time()) + 600)),
    "missing_tenant": lambda key, t: signed(key, claims(t, tenant_id=...)),
    "empty_tenant": lambda key, t: signed(key, claims(t, tenant_id="")),
    "list_tenant": lambda key, t: signed(key, claims(t, tenant_id=[t.id])),
    "int_tenant": lambda key, t: signed(key, claims(t, tenant_id=42)),
    "unknown_tenant": lambda key, t: signed(key, claims(t, tenant_id=str(uuid.uuid4()))),
    "missing_exp": lambda key, t: signed(key, claims(t, exp=...)),
    "unknown_role": lambda key, t: signed(key, claims(t, roles=["superadmin"])),
    "garbage": lambda key, t: "not-a-token",
}


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
def test_bad_token_is_rejected_with_401(
    kind: str, client: httpx.Client, signing_key: SigningKey, tenant_a: Tenant
) -> None:
    token = BAD_TOKENS[kind](signing_key, tenant_a)
    response = client.get("/v1/notes", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert token not in response.text or token == "not-a-token"


def test_anonymous_request_is_rejected_with_401(client: httpx.Client) -> None:
    response = client.get("/v1/notes")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_suspended_tenant_token_is_rejected_then_accepted_after_activation(
    client: httpx.Client, new_tenant: Callable[..., Tenant], platform_headers: dict[str, str]
) -> None:
    tenant = new_tenant()
    assert client.get("/v1/me", headers=tenant.headers()).status_code == 200
    client.post(f"/v1/admin/tenants/{tenant.id}/suspend", headers=platform_headers).raise_for_status()
    assert client.get("/v1/me", headers=tenant.headers()).status_code == 401
    client.post(f"/v1/admin/tenants/{tenant.id}/activate", headers=platform_headers).raise_for_status()
    assert client.get("/v1/me", headers=tenant.headers()).status_code == 200


def test_tenant_header_disagreeing_with_token_is_rejected(
    client: httpx.Client, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    response = client.get("/v1/notes", headers={**tenant_a.headers(), "X-Tenant-ID": tenant_b.id})
    assert response.status_code == 403


def test_tenant_query_disagreeing_with_token_is_rejected(
    client: httpx.Client, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    response = client.get("/v1/notes", params={"tenant_id": tenant_b.id}, headers=tenant_a.headers())
    assert response.status_code == 403


def test_tenant_header_agreeing_with_token_is_accepted(client: httpx.Client, tenant_a: Tenant) -> None:
    response = client.get("/v1/notes", headers={**tenant_a.headers(), "X-Tenant-ID": tenant_a.id})
    assert response.status_code == 200


def test_tenant_id_in_body_is_rejected(client: httpx.Client, tenant_a: Tenant, tenant_b: Tenant) -> None:
    response = client.post("/v1/notes", json={"title": "t", "tenant_id": tenant_b.id}, headers=tenant_a.headers())
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.tenant_id"


def test_tenant_token_cannot_use_platform_endpoints(client: httpx.Client, tenant_a: Tenant) -> None:
    assert client.get("/v1/admin/tenants", headers=tenant_a.headers("owner")).status_code == 403


def test_platform_token_cannot_use_tenant_endpoints(client: httpx.Client, platform_headers: dict[str, str]) -> None:
    assert client.get("/v1/notes", headers=platform_headers).status_code == 403


def test_jwks_publishes_the_verification_key(client: httpx.Client, signing_key: SigningKey) -> None:
    keys = client.get("/.well-known/jwks.json").json()["keys"]
    assert [key["kid"] for key in keys] == [signing_key.kid]
    assert "d" not in keys[0]
