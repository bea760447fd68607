"""A target under test: its profile, its API model, tokens, tenant lifecycle and seeded canaries.

``Target.open(profile)`` connects to ``base_url``, or, for ``launch: reference-app``
without one, starts the reference app for the run and fills in its URL, signing key and
database DSN. Tenants are provisioned as the profile says and seeded through the API with
canary-carrying objects, one of each kind the OpenAPI document lets a tenant create.
"""

from __future__ import annotations

import itertools
import secrets
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from tenantprobe.canaries import CanaryRegistry
from tenantprobe.containers import ContainerTarget
from tenantprobe.controls import load_catalogue
from tenantprobe.coverage import Coverage
from tenantprobe.credentials import TenantRef, TokenSource, expires_at, render
from tenantprobe.errors import ProfileError, ProvisioningError, TargetError, TenantProbeError
from tenantprobe.objects import bind_fields, created_id, find_in_collection, pointer_path, reference_names
from tenantprobe.openapi import (
    ApiModel,
    Creator,
    Operation,
    parse_openapi,
    under_server_path,
    valid_body,
    with_fresh_ids,
    with_fresh_moments,
)
from tenantprobe.probe import PLATFORM_ROLE, Actor, Exchange, Probe, ProbeClient
from tenantprobe.profiles import (
    MAX_DOCUMENT_BYTES,
    DatabaseSettings,
    InternalService,
    LaunchSettings,
    TargetProfile,
    read_bounded,
)
from tenantprobe.redact import redact_text
from tenantprobe.references import (
    Reference,
    Request,
    creation_order,
    lowest_roles,
    own_request,
    references,
    without_unbound,
)
from tenantprobe.stack import ReferenceStack
from tenantprobe.steps import fill, run_steps
from tenantprobe.wire import Scope, UnusableAnswer, call

TOKEN_RENEW_MARGIN_SECONDS = 60
STEP_TIMEOUT_SECONDS = 30.0


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


def _document(text: str) -> Any:
    """A served OpenAPI document, JSON or YAML (Airflow serves ``openapi.yaml``), read with safe YAML, never code."""
    import json

    import yaml

    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"neither JSON nor YAML: {str(exc).splitlines()[0]}") from None


class Target:
    def __init__(
        self, profile: TargetProfile, stack: ReferenceStack | None = None, launched: ContainerTarget | None = None
    ) -> None:
        if not profile.base_url:
            raise ProfileError(f"{profile.source or 'profile'}: base_url is missing")
        self.profile = profile
        self.base_url = profile.base_url
        self.stack = stack
        self.launched = launched
        self.canaries = CanaryRegistry()
        # Requests go only to the profile's origins, whatever the target's documents or answers name.
        internal = [self.internal_url(service) for service in profile.internal_services]
        self.scope = Scope(*profile.origins, *internal)
        self.client = ProbeClient(
            self.base_url,
            profile.request_timeout_seconds,
            max_body_bytes=profile.max_body_bytes,
            scope=self.scope,
        )
        # The profile's constants, {env:NAME} read once: steps, credentials and fixed ids use them.
        self.variables = {
            name: str(fill(value, {}, f"provisioning.variables.{name}"))
            for name, value in profile.provisioning.variables.items()
        }
        self.tokens = TokenSource(profile.auth, self.base_url, self.variables, self.scope)
        self.provisioning_seconds: list[float] = []
        self._api: ApiModel | None = None
        self._coverage: Coverage | None = None
        self._token_cache: dict[tuple[str | None, str], tuple[str, float]] = {}
        self._listed_used = 0  # kind steps: how many of provisioning.tenants have been provisioned
        self._creates = itertools.count(1)  # each created object's own moment in its date-time fields

    def internal_url(self, service: InternalService) -> str | None:
        """Where an internal service the profile names listens (``{internal_url}``: the launched stack's)."""
        internal = self.stack.internal_url if self.stack is not None else ""
        return service.url.replace("{internal_url}", internal).rstrip("/") or None

    @classmethod
    def open(
        cls, profile: TargetProfile, faults: tuple[str, ...] = (), log_dir: Path | None = None, db: str = ""
    ) -> Target:
        """Connect to ``base_url``, or start what ``launch`` says: the reference app (its PostgreSQL from
        ``db``, see :func:`tenantprobe.stack.database_choice`) or containers."""
        if isinstance(profile.launch, LaunchSettings) and not profile.base_url:
            if faults:
                raise ProfileError(
                    "--faults applies only to launch: reference-app; for an image, set the app's own fault "
                    "switch in launch.env"
                )
            container_target = ContainerTarget(profile, profile.launch, log_dir).start()
            return cls(container_target.profile, launched=container_target)
        if profile.base_url or profile.launch is None:
            if faults:
                raise ProfileError("--faults applies only to a launched reference app (launch: reference-app)")
            return cls(profile)
        stack = ReferenceStack(faults=faults or profile.faults, log_dir=log_dir, database_image=db).start()
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
            profile = self.profile
            self._api = replace(
                parse_openapi(
                    under_server_path(self._fetch_openapi()),
                    profile.skip_operations,
                    profile.public_operations,
                    profile.allow_destructive,
                ),
                bound_kinds=tuple(profile.bindings),
            )
        return self._api

    @property
    def excluded_operations(self) -> dict[str, str]:
        """Operations never called (skipped by the profile, or destructive), once the document is read."""
        return self._api.excluded if self._api is not None else {}

    @property
    def coverage(self) -> Coverage:
        """What the run did per operation: baselines and attacks (printed at the end of the run)."""
        if self._coverage is None:
            # A base_url with a path (/api), then the tenant's prefix (/t/{tenant_id}): requests carry both.
            prefix = urlsplit(self.base_url).path + (self.tenant_route[0] or "")
            operations = self.api.operations
            public = [op.key for op in operations if not op.secured]
            self._coverage = Coverage((op.key for op in operations), self.api.excluded, prefix, public)
        return self._coverage

    @property
    def coverage_so_far(self) -> Coverage | None:
        """The coverage once the document was read, even if nothing was attempted (the gaps are then the news);
        None before that: the end of a run must not fetch the document."""
        return self.coverage if self._api is not None else None

    def _fetch_openapi(self) -> dict[str, Any]:
        """The OpenAPI document, read with safe YAML (never code) and a size cap, from a file or the profile's
        origins; its ``servers`` are never used: requests go to ``base_url``."""
        location = self.profile.openapi
        if Path(location).is_absolute() and Path(location).is_file():  # load_profile resolved a file reference
            import yaml

            try:
                loaded = yaml.safe_load(read_bounded(Path(location), MAX_DOCUMENT_BYTES, "OpenAPI document"))
            except yaml.YAMLError as exc:
                raise ProfileError(f"openapi: {location} is not valid YAML or JSON: {exc}") from None
            if not isinstance(loaded, dict):
                raise ProfileError(f"openapi: {location} is not an OpenAPI document (a YAML or JSON mapping)")
            return loaded
        url = location if "://" in location else self.base_url + location
        try:
            response = call(self.scope, "GET", url, max_bytes=MAX_DOCUMENT_BYTES, timeout=15)
            response.raise_for_status()
            document = _document(response.text)
        except (httpx.HTTPError, ValueError, UnusableAnswer) as exc:
            raise TargetError(f"cannot load the OpenAPI document from {url}: {exc}") from None
        if not isinstance(document, dict):
            raise TargetError(f"the OpenAPI document at {url} is not a JSON object")
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
            "launch": self._launch_recipe,
        }

    @property
    def tenant_fields(self) -> set[str]:
        column = self.profile.database.tenant_column if self.profile.database else "tenant_id"
        return {column, "tenant_id", "tenantId"}

    def tenant_selectors(self) -> list[tuple[str, str]]:
        """Where a request can name a tenant: the profile's selectors, its tenant header and column, and every
        tenant-like parameter or body field of the OpenAPI document (``(in, name)``, ``in`` header/query/body)."""
        defaults = [("header", self.profile.tenant_header), *(("body", name) for name in sorted(self.tenant_fields))]
        found = [*self.profile.tenant_selectors, *defaults, *self.api.tenant_selectors()]
        return list(dict.fromkeys(found))

    @property
    def database_dsn(self) -> str | None:
        return self.profile.database.resolved_dsn() if self.profile.database else None

    # ------------------------------------------------------------------ actors
    def _token(self, tenant: TenantRef | None, role: str) -> str:
        """A cached token, renewed before it expires: a long run must not turn into refusals."""
        key = (tenant.id if tenant else None, role)
        cached = self._token_cache.get(key)
        if cached is None or time.time() > cached[1] - TOKEN_RENEW_MARGIN_SECONDS:
            token = self.tokens.token(tenant, role)
            self._token_cache[key] = (token, expires_at(token, self.profile.auth.ttl_seconds))
        return self._token_cache[key][0]

    def renew(self, actor: Actor) -> Actor:
        """The same actor with a freshly obtained token (after the target refused the cached one)."""
        if actor.role is None:
            return actor
        self._token_cache.pop((actor.tenant.id if actor.tenant else None, actor.role), None)
        return self.actor(actor.tenant, actor.role) if actor.tenant else self.platform_actor()

    @property
    def tenant_route(self) -> tuple[str | None, str | None]:
        """Where a URL names the tenant: ``(path prefix, host)`` templates from the profile, else from the
        document's server URL (``/t/{tenant}``, ``https://{tenant}.example.com``); ``(None, None)`` if nowhere."""
        profile = self.profile
        if profile.tenant_prefix or profile.tenant_host:
            return profile.tenant_prefix, profile.tenant_host
        return self.api.server_tenant_route()

    def route(self, tenant: TenantRef) -> dict[str, Any]:
        """The tenant's own path prefix and Host, as :class:`Actor` fields (none where the URL names no tenant)."""
        prefix, host = self.tenant_route
        values = {"tenant_id": tenant.id, "tenant_slug": tenant.slug}
        return {
            "path_prefix": render(prefix, values) if prefix else "",
            "host": render(host, values) if host else None,
        }

    def actor(self, tenant: TenantRef, role: str) -> Actor:
        auth = self.profile.auth
        token = self._token(tenant, role)
        return Actor(f"{tenant.slug}:{role}", tenant, role, token, auth.scheme, auth.header_name, **self.route(tenant))

    def twin(self, tenant: SeededTenant, other: SeededTenant) -> Actor:
        """The owner of ``tenant`` under ``other``'s owner's user id (minted tokens only: ``tokens.can_forge``)."""
        auth, role = self.profile.auth, self.profile.highest_role
        token = self.tokens.sign(self.tokens.twin_claims(tenant.ref, other.ref, role))
        name = f"{tenant.slug}:{role} (user id of {other.slug}'s)"
        return Actor(name, tenant.ref, role, token, auth.scheme, auth.header_name, **self.route(tenant.ref))

    def owner(self, tenant: SeededTenant) -> Actor:
        """The tenant's most powerful role: the attacker (and the victim) of cross-tenant checks."""
        return self.actor(tenant.ref, self.profile.highest_role)

    def platform_actor(self) -> Actor:
        auth = self.profile.auth
        token = self._token(None, PLATFORM_ROLE)
        return Actor("platform-admin", None, PLATFORM_ROLE, token, auth.scheme, auth.header_name)

    @staticmethod
    def anonymous() -> Actor:
        return Actor("anonymous")

    def own_reads(self, bindings: dict[str, str]) -> list[tuple[Operation, str]]:
        """Collection reads a tenant may make on its own data, with their URLs: secured, not platform, no
        required query, every path parameter bound (``/users/{username}/notes`` with the tenant's username)."""
        return [
            (op, op.url(bindings))
            for op in self.api.operations
            if op.method == "GET"
            and not op.addresses_item
            and op.secured
            and not self.is_platform_operation(op.path)
            and not any(q.required for q in op.query)
            and set(op.path_params) <= set(bindings)
        ]

    def is_platform_operation(self, path: str) -> bool:
        import fnmatch

        return any(fnmatch.fnmatchcase(path, pattern) for pattern in self.profile.platform_paths)

    # ------------------------------------------------------------------ tenant lifecycle
    def provision(self, slug: str | None = None) -> TenantRef:
        """Create a tenant as the profile says, timed until its first authenticated read succeeds."""
        settings = self.profile.provisioning
        if settings.kind == "fixed":
            raise ProvisioningError("provisioning.kind is 'fixed': tenantprobe cannot create tenants for this target")
        slug = slug or f"tp-{uuid.uuid4().hex[:10]}"
        limit = load_catalogue().get("OPS-PROVISIONING-TIME").measure.threshold or 300.0
        started = time.perf_counter()
        try:
            tenant = (
                self._provision_by_steps(slug) if settings.kind == "steps" else self._provision_by_admin(slug, limit)
            )
        except httpx.HTTPError as exc:
            self.provisioning_seconds.append(time.perf_counter() - started)
            raise ProvisioningError(f"provisioning {slug} failed: {exc!r}") from None
        self._wait_until_usable(tenant, started, limit)
        return tenant

    def _provision_by_admin(self, slug: str, limit: float) -> TenantRef:
        settings = self.profile.provisioning
        assert settings.path is not None
        # The client waits longer than the threshold: a slow provisioning is a measurement, not an error.
        try:
            response = call(
                self.scope,
                "POST",
                self.base_url + settings.path,
                json=render(settings.body, {"slug": slug}),
                headers=self.platform_actor().headers(),
                max_bytes=self.profile.max_body_bytes,
                timeout=limit + 30,
            )
        except UnusableAnswer as unusable:
            raise ProvisioningError(f"provisioning {slug} via POST {settings.path}: {unusable}") from None
        if not response.is_success:
            raise ProvisioningError(
                f"provisioning {slug} via POST {settings.path} answered {response.status_code}: {response.text[:300]}"
            )
        tenant_id = (response.json() or {}).get(settings.id_field)
        if not isinstance(tenant_id, str):
            raise ProvisioningError(f"provisioning response has no string field {settings.id_field!r}")
        return TenantRef(tenant_id, slug)

    def _wait_until_usable(self, tenant: TenantRef, started: float, limit: float) -> None:
        """Poll a secured read as the tenant's highest role until it answers 2xx; record the time it took."""
        reads = [
            op.path
            for op in self.api.collection_reads()
            if op.secured and not self.is_platform_operation(op.path) and not any(q.required for q in op.query)
        ]
        if not reads:
            return  # nothing tells when it is usable: no sample, so the control stays not assessed
        delay, last = 0.05, "no attempt"
        while True:
            try:
                answer = self.client.send(self.actor(tenant, self.profile.highest_role), "GET", reads[0])
                last = f"GET {reads[0]} answered {answer.status}"
                if answer.ok:
                    self.provisioning_seconds.append(time.perf_counter() - started)
                    return
            except (TenantProbeError, httpx.HTTPError) as exc:  # a token endpoint may refuse a tenant not ready
                last = str(exc)
            elapsed = time.perf_counter() - started
            if elapsed >= limit:
                self.provisioning_seconds.append(elapsed)
                raise ProvisioningError(f"tenant {tenant.slug} was not usable {limit:g} s after provisioning: {last}")
            time.sleep(min(delay, limit - elapsed))
            delay = min(delay * 1.5, 2.0)

    def _provision_by_steps(self, slug: str) -> TenantRef:
        """The profile's identity steps for a new tenant, then its other roles' steps, in one variable space."""
        settings = self.profile.provisioning
        own: dict[str, str] = {}
        if settings.tenants:  # values each tenant has before the run (a team, a DAG): one entry per tenant
            if self._listed_used >= len(settings.tenants):
                raise ProvisioningError(
                    f"provisioning.tenants lists {len(settings.tenants)} tenant(s) and the run needs more; "
                    f"run with --tenants {len(settings.tenants)} or list more tenants"
                )
            own = {
                name: str(fill(value, self.variables, f"provisioning.tenants.{self._listed_used}.{name}"))
                for name, value in settings.tenants[self._listed_used].items()
            }
            self._listed_used += 1
        variables = {**self.variables, **own, "slug": slug, "password": secrets.token_urlsafe(12) + "Aa1!"}
        limit = self.profile.max_body_bytes
        with httpx.Client(base_url=self.base_url, timeout=STEP_TIMEOUT_SECONDS) as http:
            variables = run_steps(http, settings.steps, variables, "provisioning.steps", self.scope, limit)
            for role, steps in settings.role_steps.items():
                variables = run_steps(http, steps, variables, f"provisioning.role_steps.{role}", self.scope, limit)
        tenant_id = str(fill(settings.tenant_id, variables, "provisioning.tenant_id"))
        return TenantRef(tenant_id, slug, variables)

    def fixed_tenants(self) -> list[TenantRef]:
        variables = self.variables
        return [
            TenantRef(str(fill(t["id"], variables, "provisioning.tenants.id")), t["slug"])
            for t in self.profile.provisioning.tenants
        ]

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
    def seeded_tenants(self, count: int, probe: Probe) -> list[SeededTenant]:
        """``count`` tenants (the fixed ones, or provisioned now), each seeded with canary objects."""
        if self.profile.provisioning.kind == "fixed":
            refs = self.fixed_tenants()[:count]
        else:
            refs = [self.provision() for _ in range(count)]
        return [self.seed(ref, probe) for ref in refs]

    def seed(self, tenant: TenantRef, probe: Probe) -> SeededTenant:
        """Create one object per creating operation, as the tenant's highest role, with fresh canaries.

        Seeding that creates nothing is an error naming each operation and its answer: every
        check that addresses an object would otherwise have nothing to attack.
        """
        bindings = {
            name: str(fill(value, tenant.variables, f"bindings.{name}"))
            for name, value in self.profile.bindings.items()
        }
        seeded = SeededTenant(tenant, bindings=bindings)
        self.canaries.remember_id(tenant.id, tenant.slug)
        actor = self.actor(tenant, self.profile.highest_role)
        creators = creation_order(
            self.api, [c for c in self.api.creators() if not self.is_platform_operation(c.operation.path)]
        )
        failures = [why for creator in creators if isinstance(why := self.create(seeded, creator, actor, probe), str)]
        if creators and not seeded.objects:
            raise ProvisioningError(
                f"seeding tenant {tenant.slug} created no object: "
                + "; ".join(failures)
                + ". Check the profile's auth and bindings, or name the id's JSON path under ids:"
            )
        return seeded

    def create_body(self, seeded: SeededTenant, operation: Operation, canary: str) -> Any:
        """A valid body for ``operation`` carrying ``canary``, with the tenant's own values for the tenant's fields.

        A create that names a user (``POST /members {"user_id"}``) gets a new one when the profile says how to
        make one (``provisioning.new_user``); a field named for a role gets the profile's lowest role, so the
        body asks for no privilege and a refusal is about who sent it.
        """
        body = valid_body(operation.body_schema, canary)
        if isinstance(body, dict):
            # A schema that (wrongly) accepts a tenant id gets the tenant's own: seeding is not an attack.
            body.update({key: seeded.ref.id for key in self.tenant_fields if key in body})
            # A create's own id field (``{"dag_run_id": ...}`` when the client names the run) is the new object's:
            # it keeps its fresh value, never an existing object's.
            own_id = next((c.id_param for c in self.api.creators() if c.operation.key == operation.key), None)
            body = with_fresh_ids(body, operation.body_schema, own_id, canary) if own_id else body
            bindings = {name: value for name, value in seeded.bindings.items() if name != own_id}
            bind_fields(body, {name: bindings[name] for name in self.profile.bindings if name in bindings})
            # Fields that reference other objects (``{"project_id": ...}``) name the tenant's own, not a canary.
            refs = [ref for ref in references(self.api, operation) if ref.path != (own_id,)]
            new_user = self._new_user_for(operation, body, refs)
            body.update({name: value for name, value in new_user.items() if name in body})
            values = {**bindings, **new_user}
            body = own_request(Request({}, {}, body), refs, values).body
            body = without_unbound(body, operation.body_schema, refs, values)
            body = lowest_roles(body, canary, self.profile.roles[-1])
        return body

    def own_query(self, seeded: SeededTenant, operation: Operation, canary: str) -> dict[str, str | list[str]]:
        """The required query of ``operation``: free text ``canary``, references the tenant's own objects (an
        RPC-style read's ``?run_id=``: a canary there is refused as unknown, whoever asks)."""
        required = {q.name for q in operation.query if q.required}
        refs = [ref for ref in references(self.api, operation) if ref.where == "query" and ref.path[0] in required]
        return own_request(Request(dict(operation.required_query(canary)), {}, None), refs, seeded.bindings).params

    def _new_user_for(self, operation: Operation, body: dict[str, Any], refs: list[Reference]) -> dict[str, str]:
        """``{kind: id}`` of a new user when ``operation`` creates something and its body names a user."""
        new_user = self.profile.provisioning.new_user
        if new_user is None or operation.method != "POST" or operation.addresses_item:
            return {}
        if new_user.kind not in body and not any(ref.kind == new_user.kind for ref in refs):
            return {}
        return {new_user.kind: self.new_user()}

    def new_user(self) -> str:
        """A user in no tenant, made by the profile's ``provisioning.new_user`` steps; its id."""
        new_user = self.profile.provisioning.new_user
        assert new_user is not None
        slug = f"tp-user-{uuid.uuid4().hex[:10]}"
        variables = {**self.variables, "slug": slug, "password": secrets.token_urlsafe(12) + "Aa1!"}
        limit = self.profile.max_body_bytes
        with httpx.Client(base_url=self.base_url, timeout=STEP_TIMEOUT_SECONDS) as http:
            try:
                variables = run_steps(http, new_user.steps, variables, "provisioning.new_user.steps", self.scope, limit)
            except httpx.HTTPError as exc:
                raise ProvisioningError(f"provisioning.new_user.steps failed: {exc!r}") from None
        return str(fill(new_user.id, variables, "provisioning.new_user.id"))

    def create(self, seeded: SeededTenant, creator: Creator, actor: Actor, probe: Probe) -> SeededObject | str:
        """One object through ``creator`` under the tenant's existing parents, or why it could not be made."""
        operation = creator.operation
        try:
            path = operation.url(seeded.bindings)
        except KeyError as missing:
            return f"{operation.key}: no object of the tenant binds {{{missing.args[0]}}}"
        canary = self.canaries.issue(seeded.slug)
        # Its own moment: a target that keeps one object per date (a run per logical date) answers 409 to a second.
        body = self.create_body(seeded, operation, canary)
        body = with_fresh_moments(body, operation.body_schema, next(self._creates))
        exchange = probe.request(actor, "POST", path, json_body=body)
        self.coverage.baseline(exchange)
        if not exchange.ok:
            return f"{operation.key} answered {exchange.outcome}: {redact_text(exchange.text)[:200]!r}"
        explicit = next((where for pattern, where in self.profile.ids.items() if operation.matches(pattern)), None)
        if explicit is None and creator.id_pointer is not None:  # the document's link says where the id is
            explicit = pointer_path(creator.id_pointer)
        object_id = created_id(exchange.json(), exchange.response_headers, creator.id_param, explicit)
        if object_id is None and explicit is None:  # no id in the answer: find the object in its collection
            listing = probe.request(actor, "GET", path)
            object_id = find_in_collection(listing.json(), canary, creator.id_param) if listing.ok else None
        if object_id is None:
            return (
                f"{operation.key} answered {exchange.status} with no id for {{{creator.id_param}}} "
                f"(body starts {redact_text(exchange.text)[:120]!r}); name its JSON path under ids: in the profile"
            )
        bindings = {**{p: seeded.bindings[p] for p in operation.path_params}, creator.id_param: object_id}
        obj = SeededObject(creator, object_id, bindings, canary, exchange.json())
        self.canaries.remember_id(
            object_id, seeded.slug, operation.url(seeded.bindings), creator.item_path.split("?")[0]
        )
        seeded.objects.append(obj)
        # An RPC-style create's item path (``/runs/get``) names no collection: its link named the id already.
        names = () if creator.linked else reference_names(creator.item_path, creator.id_param)
        for name in (creator.id_param, *names):
            seeded.bindings.setdefault(name, object_id)
        return obj

    @property
    def _launch_recipe(self) -> str | None:
        if self.stack is not None:
            return str(self.profile.launch)
        if self.launched is not None:
            compose = self.launched.settings.compose
            return f"compose:{compose.file}:{compose.service}" if compose else f"image:{self.launched.settings.image}"
        return None

    def close(self) -> None:
        self.client.close()
        if self.stack is not None:
            self.stack.stop()
        if self.launched is not None:
            self.launched.stop()
