"""Service-to-service propagation: the API calls the internal search service with a short-lived
internal token and a traceparent; the service refuses any call without proper tenant context."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from reference_app.auth import SigningKey
from reference_app.auth.internal import mint_internal_token
from tenantprobe.stack import ReferenceStack
from tests.reference_app.conftest import SETTINGS, Tenant

SEARCH = "/internal/v1/tenants/{tenant}/search"


@pytest.fixture(scope="module")
def internal(api: ReferenceStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.internal_url, timeout=10) as http:
        yield http


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def marker(client: httpx.Client, tenant_a: Tenant, tenant_b: Tenant) -> str:
    word = f"m{uuid.uuid4().hex}"
    for tenant in (tenant_a, tenant_b):
        created = client.post("/v1/notes", json={"title": f"{tenant.slug}", "body": word}, headers=tenant.headers())
        assert created.status_code == 201
    return word


def test_member_search_runs_in_the_internal_service_with_the_callers_trace(
    client: httpx.Client, api: ReferenceStack, tenant_a: Tenant, marker: str
) -> None:
    trace = uuid.uuid4().hex
    found = client.get(
        "/v1/notes/search",
        params={"q": marker},
        headers={**tenant_a.headers(), "traceparent": f"00-{trace}-{'1' * 16}-01"},
    )
    assert found.status_code == 200
    assert [note["title"] for note in found.json()] == [tenant_a.slug]
    assert f"search for tenant {tenant_a.id} by pake-api trace={trace}" in api.log_text("internal")


def test_internal_call_with_a_fresh_token_for_its_tenant_is_served(
    internal: httpx.Client, signing_key: SigningKey, tenant_a: Tenant, marker: str
) -> None:
    token = mint_internal_token(signing_key, SETTINGS.issuer, uuid.UUID(tenant_a.id))
    response = internal.post(SEARCH.format(tenant=tenant_a.id), json={"q": marker}, headers=bearer(token))
    assert response.status_code == 200
    assert [note["title"] for note in response.json()["items"]] == [tenant_a.slug]
    assert response.headers["traceparent"].startswith("00-")


def _bad_tokens(key: SigningKey, tenant: Tenant) -> dict[str, str]:
    tenant_id = uuid.UUID(tenant.id)
    long_ago = datetime.now(UTC) - timedelta(minutes=10)
    return {
        "expired": mint_internal_token(key, SETTINGS.issuer, tenant_id, now=long_ago),
        "user token (audience pake-api)": Tenant(tenant.id, tenant.slug, key).token(),
        "wrong issuer": mint_internal_token(key, "someone-else", tenant_id),
        "garbage": "not.a.token",
    }


@pytest.mark.parametrize("kind", ["expired", "user token (audience pake-api)", "wrong issuer", "garbage", "none"])
def test_internal_call_without_valid_context_is_refused_with_401(
    internal: httpx.Client, signing_key: SigningKey, tenant_a: Tenant, marker: str, kind: str
) -> None:
    headers = {} if kind == "none" else bearer(_bad_tokens(signing_key, tenant_a)[kind])
    response = internal.post(SEARCH.format(tenant=tenant_a.id), json={"q": marker}, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert tenant_a.slug not in response.text


def test_internal_call_for_another_tenant_than_the_tokens_is_refused_with_403(
    internal: httpx.Client, signing_key: SigningKey, tenant_a: Tenant, tenant_b: Tenant, marker: str
) -> None:
    token = mint_internal_token(signing_key, SETTINGS.issuer, uuid.UUID(tenant_a.id))
    response = internal.post(SEARCH.format(tenant=tenant_b.id), json={"q": marker}, headers=bearer(token))
    assert response.status_code == 403
    assert tenant_b.slug not in response.text


def test_internal_token_is_refused_by_the_public_api(
    client: httpx.Client, signing_key: SigningKey, tenant_a: Tenant
) -> None:
    token = mint_internal_token(signing_key, SETTINGS.issuer, uuid.UUID(tenant_a.id))
    assert client.get("/v1/notes", headers=bearer(token)).status_code == 401


def test_internal_tokens_are_short_lived(signing_key: SigningKey) -> None:
    with pytest.raises(ValueError, match="short-lived"):
        mint_internal_token(signing_key, SETTINGS.issuer, uuid.uuid4(), ttl_seconds=3600)
