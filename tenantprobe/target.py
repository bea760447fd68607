"""A target under test: its profile, its API model, tokens, tenant lifecycle and seeded canaries.

``Target.open(profile)`` connects to ``base_url``, or, for ``launch: reference-app``
without one, starts the reference app for the run and fills in its URL, signing key and
database DSN. Tenants are provisioned as the profile says and seeded through the API with
canary-carrying objects, one of each kind the OpenAPI document lets a tenant create.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from tenantprobe.canaries import CanaryRegistry
from tenantprobe.credentials import TenantRef, TokenSource, render
from tenantprobe.errors import ProfileError, ProvisioningError, TargetError
from tenantprobe.openapi import ApiModel, Creator, parse_openapi, synthesize
from tenantprobe.probe import Actor, Exchange, Probe, ProbeClient
from tenantprobe.profiles import DatabaseSettings, TargetProfile
from tenantprobe.stack import ReferenceStack


@dataclass
class SeededObject:
    creator: Creator
    id: str
    bindings: dict[str, str]
    canary: str
    snapshot: Any = None


@dataclass
class SeededTenant:
    """A provisioned tenant, the objects it created and the path bindings that address them."""

    ref: TenantRef
    objects: list[SeededObject] = field(default_factory=list, repr=False)
    bindings: dict[str, str] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        return self.ref.slug


class Target:
    def __init__(self, profile: TargetProfile, stack: ReferenceStack | None = None) -> None:
        if not profile.base_url:
            raise ProfileError(f"{profile.source or 'profile'}: base_url is missing")
        self.profile = profile
        self.base_url = profile.base_url
        self.stack = stack
        self.canaries = CanaryRegistry()
        self.client = ProbeClient(self.base_url)
        self.tokens = TokenSource(profile.auth, self.base_url)
        self.provisioning_seconds: list[float] = []
        self._api: ApiModel | None = None
        self._token_cache: dict[tuple[str | None, str], str] = {}

    @classmethod
    def open(cls, profile: TargetProfile, faults: tuple[str, ...] = (), log_dir: Path | None = None) -> Target:
        if profile.base_url or profile.launch is None:
            if faults:
                raise ProfileError("--faults applies only to a launched reference app (launch: reference-app)")
            return cls(profile)
        stack = ReferenceStack(faults=faults or profile.faults, log_dir=log_dir).start()
        assert stack.dsns is not None
        database = profile.database or DatabaseSettings()
        launched = profile.with_overrides(
            base_url=stack.base_url,
            auth=replace(profile.auth, key_file=str(stack.key_file)),
            database=replace(database, dsn=stack.dsns.app),
            faults=faults or profile.faults,
        )
        return cls(launched, stack)

    @property
    def api(self) -> ApiModel:
        if self._api is None:
            self._api = parse_openapi(self._fetch_openapi(), self.profile.skip_operations)
        return self._api

    def _fetch_openapi(self) -> dict[str, Any]:
        location = self.profile.openapi
        if "://" not in location and not location.startswith("/"):
            import yaml

            return yaml.safe_load(Path(location).read_text())  # type: ignore[no-any-return]
        url = location if "://" in location else self.base_url + location
        try:
            response = httpx.get(url, timeout=15)
            response.raise_for_status()
            document: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise TargetError(f"cannot load the OpenAPI document from {url}: {exc}") from None
        return document

    @property
    def identity(self) -> dict[str, Any]:
        info = self.api.document.get("info", {})
        return {
            "name": self.profile.name,
            "base_url": self.base_url,
            "title": info.get("title"),
            "version": info.get("version"),
            "faults": list(self.profile.faults),
            # A launched app listens on a fresh port each session: its fingerprint uses this instead.
            "launch": self.profile.launch if self.stack is not None else None,
        }

    @property
    def tenant_fields(self) -> set[str]:
        column = self.profile.database.tenant_column if self.profile.database else "tenant_id"
        return {column, "tenant_id", "tenantId"}

    @property
    def database_dsn(self) -> str | None:
        return self.profile.database.resolved_dsn() if self.profile.database else None

    # ------------------------------------------------------------------ actors
    def actor(self, tenant: TenantRef, role: str) -> Actor:
        key = (tenant.id, role)
        if key not in self._token_cache:
            self._token_cache[key] = self.tokens.token(tenant, role)
        return Actor(f"{tenant.slug}:{role}", tenant, role, self._token_cache[key])

    def platform_actor(self) -> Actor:
        key = (None, "platform")
        if key not in self._token_cache:
            self._token_cache[key] = self.tokens.token(None, "platform_admin")
        return Actor("platform-admin", None, "platform_admin", self._token_cache[key])

    @staticmethod
    def anonymous() -> Actor:
        return Actor("anonymous")

    def is_platform_operation(self, path: str) -> bool:
        import fnmatch

        return any(fnmatch.fnmatchcase(path, pattern) for pattern in self.profile.platform_paths)

    # ------------------------------------------------------------------ tenant lifecycle
    def provision(self, slug: str | None = None) -> TenantRef:
        """Create a tenant as the profile says and time it (the provisioning-time metric)."""
        settings = self.profile.provisioning
        if settings.kind == "fixed":
            raise ProvisioningError("provisioning.kind is 'fixed': tenantprobe cannot create tenants for this target")
        slug = slug or f"tp-{uuid.uuid4().hex[:10]}"
        assert settings.path is not None
        started = time.perf_counter()
        response = self.client.send(
            self.platform_actor(), "POST", settings.path, json_body=render(settings.body, {"slug": slug})
        )
        if not response.ok:
            raise ProvisioningError(
                f"provisioning {slug} via POST {settings.path} answered {response.status}: {response.text[:300]}"
            )
        self.provisioning_seconds.append(time.perf_counter() - started)
        tenant_id = (response.json() or {}).get(settings.id_field)
        if not isinstance(tenant_id, str):
            raise ProvisioningError(f"provisioning response has no string field {settings.id_field!r}")
        return TenantRef(tenant_id, slug)

    def fixed_tenants(self) -> list[TenantRef]:
        return [TenantRef(t["id"], t["slug"]) for t in self.profile.provisioning.tenants]

    def lifecycle(self, action: str, tenant: TenantRef) -> Exchange:
        """``suspend``, ``activate`` or ``deprovision`` a tenant through the platform API."""
        settings = self.profile.provisioning
        path = {
            "suspend": settings.suspend_path,
            "activate": settings.activate_path,
            "deprovision": settings.deprovision_path,
        }[action]
        if path is None:
            raise ProvisioningError(f"provisioning.{action}_path is not set in the profile")
        method = "DELETE" if action == "deprovision" else "POST"
        return self.client.send(self.platform_actor(), method, render(path, {"tenant_id": tenant.id}))

    # ------------------------------------------------------------------ seeding
    def seed(self, tenant: TenantRef, probe: Probe) -> SeededTenant:
        """Create one object per creating operation, as the tenant's highest role, with fresh canaries."""
        seeded = SeededTenant(tenant)
        actor = self.actor(tenant, self.profile.highest_role)
        for creator in self.api.creators():
            if self.is_platform_operation(creator.operation.path):
                continue
            self.create(seeded, creator, actor, probe)
        return seeded

    def create(self, seeded: SeededTenant, creator: Creator, actor: Actor, probe: Probe) -> SeededObject | None:
        """One object through ``creator`` under the tenant's existing parents; None if it cannot be made."""
        try:
            path = creator.operation.url(seeded.bindings)
        except KeyError:
            return None
        canary = self.canaries.issue(seeded.slug)
        body = synthesize(creator.operation.body_schema, canary)
        if isinstance(body, dict):
            # A schema that (wrongly) accepts a tenant id gets the tenant's own: seeding is not an attack.
            body.update({key: seeded.ref.id for key in self.tenant_fields if key in body})
        exchange = probe.request(actor, "POST", path, json_body=body)
        created = exchange.json()
        if not exchange.ok or not isinstance(created, dict) or not isinstance(created.get("id"), str):
            return None
        bindings = {
            **{p: seeded.bindings[p] for p in creator.operation.path_params},
            creator.id_param: created["id"],
        }
        obj = SeededObject(creator, created["id"], bindings, canary, created)
        seeded.objects.append(obj)
        seeded.bindings.setdefault(creator.id_param, created["id"])
        return obj

    def close(self) -> None:
        self.client.close()
        if self.stack is not None:
            self.stack.stop()
