"""HTTP fixtures for the reference app: tenants provisioned through the admin API, tokens per role."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from reference_app.auth import SigningKey, TokenSettings, mint_token
from tenantprobe.stack import ReferenceStack

SETTINGS = TokenSettings(issuer="pake-dev", audience="pake-api")


@dataclass
class Tenant:
    id: str
    slug: str
    key: SigningKey

    def token(self, role: str = "member", subject: str | None = None) -> str:
        return mint_token(self.key, SETTINGS, subject=subject or f"{role}@{self.slug}", tenant_id=self.id, roles=[role])

    def headers(self, role: str = "member") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role)}"}


@pytest.fixture(scope="module")
def signing_key(api: ReferenceStack) -> SigningKey:
    return SigningKey.from_pem(api.key_file.read_bytes())


@pytest.fixture(scope="module")
def client(api: ReferenceStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.base_url, timeout=10) as http:
        yield http


@pytest.fixture(scope="module")
def platform_headers(signing_key: SigningKey) -> dict[str, str]:
    token = mint_token(signing_key, SETTINGS, subject="ops", tenant_id=None, roles=["platform_admin"])
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def new_tenant(
    client: httpx.Client, platform_headers: dict[str, str], signing_key: SigningKey
) -> Callable[..., Tenant]:
    def provision(plan: str = "free") -> Tenant:
        slug = f"t-{uuid.uuid4().hex[:10]}"
        response = client.post(
            "/v1/admin/tenants", json={"slug": slug, "name": slug, "plan": plan}, headers=platform_headers
        )
        assert response.status_code == 201, response.text
        return Tenant(response.json()["id"], slug, signing_key)

    return provision


@pytest.fixture(scope="module")
def tenant_a(new_tenant: Callable[..., Tenant]) -> Tenant:
    return new_tenant()


@pytest.fixture(scope="module")
def tenant_b(new_tenant: Callable[..., Tenant]) -> Tenant:
    return new_tenant()
