"""The API's side of service-to-service calls: a fresh internal token and traceparent per call."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx

from reference_app import tracing
from reference_app.auth import SigningKey
from reference_app.auth.internal import mint_internal_token


class InternalServiceError(RuntimeError):
    """The internal service failed or refused; the API answers 502 and logs this."""


class SearchClient:
    def __init__(self, base_url: str, key: SigningKey, issuer: str, ttl_seconds: int = 60) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(5.0))
        self._key = key
        self._issuer = issuer
        self._ttl = ttl_seconds

    def token(self, tenant_id: UUID) -> str:
        """A fresh internal token for one tenant's call: short-lived, audience ``internal``."""
        return mint_internal_token(self._key, self._issuer, tenant_id, ttl_seconds=self._ttl)

    async def search(self, tenant_id: UUID, q: str, limit: int, traceparent: str | None) -> list[dict[str, Any]]:
        token = self.token(tenant_id)
        headers = {"Authorization": f"Bearer {token}", "traceparent": tracing.child(traceparent)}
        try:
            response = await self._http.post(
                f"/internal/v1/tenants/{tenant_id}/search", json={"q": q, "limit": limit}, headers=headers
            )
        except httpx.HTTPError as exc:
            raise InternalServiceError(f"search service unreachable: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise InternalServiceError(f"search service answered {response.status_code}")
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def aclose(self) -> None:
        await self._http.aclose()
