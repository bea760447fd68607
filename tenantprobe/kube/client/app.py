"""The application layer of a tenant: created and removed through the target's tenant admin API.

For the reference app that is ``POST /v1/admin/tenants`` (idempotent on the slug) and
``DELETE /v1/admin/tenants/{id}``, called with a platform administrator's token. The paths,
body and token come from the target profile, so any target with such an API works.

Example::

    app = AppTenants.from_profile("http://127.0.0.1:8000", load_profile(Path("targets/reference.yaml")),
                                  key_file=Path("jwt-signing-key.pem"))
    tenant_id, created = app.create("acme")
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from tenantprobe.credentials import TokenSource, render
from tenantprobe.errors import ProfileError, ProvisioningError, TargetError
from tenantprobe.profiles import ProvisioningSettings, TargetProfile


class AppTenants:
    """Creates and deletes tenants through a target's admin API."""

    def __init__(self, base_url: str, settings: ProvisioningSettings, token: str, timeout: float = 15.0) -> None:
        if settings.kind != "admin_endpoint" or not settings.path:
            raise ProfileError("provisioning.kind: creating app tenants needs kind 'admin_endpoint' with a path")
        self.base_url = base_url.rstrip("/")
        self.settings = settings
        self.description = f"app {self.base_url}"
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, headers={"Authorization": f"Bearer {token}"})

    @classmethod
    def from_profile(
        cls, base_url: str, profile: TargetProfile, *, key_file: Path | None = None, token: str | None = None
    ) -> AppTenants:
        """Use ``token`` as the platform administrator's, or mint one from ``key_file`` with the profile's claims."""
        if token is None:
            auth = replace(profile.auth, key_file=str(key_file)) if key_file else profile.auth
            if auth.kind == "mint" and auth.algorithm == "RS256" and not auth.key_file:
                raise ProfileError(
                    "the app's platform administrator token: pass --app-key-file (the app's signing key, e.g. "
                    "REFERENCE_APP_JWT_PRIVATE_KEY_FILE) or --app-token"
                )
            token = TokenSource(auth, base_url).token(None, "platform_admin")
        return cls(base_url, profile.provisioning, token)

    def _send(self, method: str, path: str, body: Any = None) -> httpx.Response:
        try:
            return self._http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise TargetError(f"{method} {self.base_url}{path}: {exc}") from None

    def create(self, tenant: str) -> tuple[str, bool]:
        assert self.settings.path is not None
        response = self._send("POST", self.settings.path, render(self.settings.body, {"slug": tenant}))
        if response.status_code not in (200, 201):
            raise ProvisioningError(f"POST {self.settings.path} answered {response.status_code}: {response.text[:300]}")
        tenant_id = response.json().get(self.settings.id_field)
        if not isinstance(tenant_id, str):
            raise ProvisioningError(f"POST {self.settings.path}: the answer has no string {self.settings.id_field!r}")
        return tenant_id, response.status_code == 201

    def find(self, tenant: str) -> str | None:
        """The id of the tenant with this slug, from the tenant list, or None."""
        assert self.settings.path is not None
        response = self._send("GET", self.settings.path)
        if response.status_code != 200 or not isinstance(response.json(), list):
            raise ProvisioningError(f"GET {self.settings.path} answered {response.status_code}: {response.text[:300]}")
        for item in response.json():
            if isinstance(item, dict) and item.get("slug") == tenant:
                return str(item[self.settings.id_field])
        return None

    def delete(self, tenant: str) -> bool:
        if not self.settings.deprovision_path:
            raise ProfileError("provisioning.deprovision_path: needed to delete app tenants")
        tenant_id = self.find(tenant)
        if tenant_id is None:
            return False
        path = render(self.settings.deprovision_path, {"tenant_id": tenant_id})
        response = self._send("DELETE", path)
        if response.status_code not in (200, 202, 204, 404):
            raise ProvisioningError(f"DELETE {path} answered {response.status_code}: {response.text[:300]}")
        return response.status_code != 404

    def close(self) -> None:
        self._http.close()
