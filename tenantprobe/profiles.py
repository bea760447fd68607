"""Target profiles: everything tenantprobe needs to know about a target, in one YAML file.

Example (``targets/reference.yaml`` describes the reference app)::

    profile = load_profile(Path("targets/reference.yaml"))
    profile.auth.kind  # "mint"

Every mistake is reported as a :class:`ProfileError` naming the file, the key path, what
was expected, and how to fix it.
"""

from __future__ import annotations

import difflib
import json
import os
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from tenantprobe.errors import ProfileError
from tenantprobe.steps import Step
from tenantprobe.wire import DEFAULT_MAX_BODY_BYTES, DEFAULT_TIMEOUT_SECONDS

MAX_PROFILE_BYTES = 1024 * 1024  # a profile is a page of YAML; anything near this is not one
MAX_DOCUMENT_BYTES = 32 * 1024 * 1024  # an OpenAPI document read from a file or the target

DEFAULT_ROLES = ("owner", "admin", "member", "viewer")


@dataclass(frozen=True)
class AuthSettings:
    """How to obtain tokens: ``mint`` signs them from a key and claim templates, ``token_endpoint``
    asks the target, ``static`` uses the tokens given (per tenant slug and role), ``steps`` uses
    what the provisioning steps captured (``credentials``: role → template).

    ``scheme`` says how a credential travels: ``bearer`` (``Authorization: Bearer``), ``basic``
    (the credential is ``user:password``) or ``header`` (the raw value in ``header_name``)."""

    kind: str
    algorithm: str = "RS256"
    key_file: str | None = None
    key_env: str | None = None
    jwks: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)
    platform_claims: dict[str, Any] = field(default_factory=dict)
    ttl_seconds: int = 900
    url: str | None = None
    body: dict[str, Any] = field(default_factory=dict)
    token_field: str = "access_token"  # noqa: S105 - a JSON field name
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)
    platform_token: str | None = None
    scheme: str = "bearer"
    header_name: str = "Authorization"
    credentials: dict[str, str] = field(default_factory=dict)
    body_format: str = "json"


@dataclass(frozen=True)
class NewUser:
    """Steps that make a user in no tenant (``{slug}`` and ``{password}`` are fresh each time), the id they
    capture, and the reference kind it fills (``user_id``: a body field ``user_id`` when adding a member)."""

    steps: tuple[Step, ...]
    id: str
    kind: str = "user_id"


@dataclass(frozen=True)
class ProvisioningSettings:
    kind: str
    path: str | None = None
    body: dict[str, Any] = field(default_factory=lambda: {"slug": "{slug}", "name": "{slug}"})
    id_field: str = "id"
    suspend_path: str | None = None
    activate_path: str | None = None
    deprovision_path: str | None = None
    tenants: tuple[dict[str, str], ...] = ()
    steps: tuple[Step, ...] = ()
    role_steps: dict[str, tuple[Step, ...]] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    tenant_id: str = "{slug}"
    new_user: NewUser | None = None


@dataclass(frozen=True)
class DatabaseSettings:
    """``app_role`` names the role the app serves tenant requests as, when the DSN's role is another."""

    dsn: str | None = None
    dsn_env: str | None = None
    tenant_column: str = "tenant_id"
    tenant_setting: str = "app.tenant_id"
    app_role: str | None = None

    def resolved_dsn(self) -> str | None:
        if self.dsn:
            return self.dsn
        return os.environ.get(self.dsn_env) if self.dsn_env else None


@dataclass(frozen=True)
class JobSettings:
    """An asynchronous job: ``start`` creates it, ``status`` is polled, ``result`` downloads its output.

    Operations are ``"METHOD /path"``; the job's id fills the path's one parameter.
    """

    start: str
    status: str
    result: str
    status_field: str = "status"
    done: tuple[str, ...] = ("succeeded", "done", "completed")
    failed: tuple[str, ...] = ("failed", "error")
    timeout_seconds: float = 60.0


@dataclass(frozen=True)
class InternalService:
    """A service the API calls with propagated tenant context; tenantprobe calls it directly.

    ``url`` may be ``{internal_url}`` for the launched reference app; ``claims`` is the
    template of a valid internal token (signed with ``auth``'s key).
    """

    name: str
    call: str
    claims: dict[str, Any]
    url: str = "{internal_url}"
    body: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AnalyticsSettings:
    operations: tuple[str, ...]
    min_tenants: int = 5


@dataclass(frozen=True)
class Expectation:
    operation: str  # "METHOD /path/glob", METHOD may be "*"
    min_role: str


@dataclass(frozen=True)
class ServiceSpec:
    """One container of a launched target; ``image`` defaults to the target's."""

    name: str
    command: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    image: str | None = None
    ready: str | None = None


@dataclass(frozen=True)
class PostgresSpec:
    image: str = "builtin:postgres"
    database: str = "postgres"


@dataclass(frozen=True)
class BuildSpec:
    """A Containerfile to build as ``launch.image`` first; ``args`` values may be ``builtin:NAME`` images."""

    containerfile: str
    context: str = "."
    args: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ComposeSpec:
    """A compose file (relative to the profile) and the service to probe.

    ``env`` fills the file's ``${VAR}``s: values take the launch placeholders (``{port}``, ``{secret:NAME}``,
    ...) or are ``builtin:NAME`` images; ``dsn`` (placeholders too) is the superuser DSN of its database.
    """

    file: str
    service: str
    env: dict[str, str] = field(default_factory=dict)
    dsn: str | None = None


@dataclass(frozen=True)
class LaunchSettings:
    """``launch:`` as a mapping: the target's image (or compose file) and how to start it and know it is ready."""

    image: str = ""
    command: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    port: int | None = None
    ready: str = "/"
    timeout_seconds: float = 120.0
    postgres: PostgresSpec | None = None
    setup: ServiceSpec | None = None
    services: tuple[ServiceSpec, ...] = ()
    build: BuildSpec | None = None
    compose: ComposeSpec | None = None

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> LaunchSettings:
        def service(name: str, item: dict[str, Any]) -> ServiceSpec:
            return ServiceSpec(**{"name": name, **item, "command": tuple(item.get("command", ()))})

        return cls(
            image=raw.get("image", ""),
            command=tuple(raw.get("command", ())),
            env=dict(raw.get("env", {})),
            port=raw.get("port"),
            ready=raw.get("ready", "/"),
            timeout_seconds=float(raw.get("timeout_seconds", 120)),
            postgres=PostgresSpec(**raw["postgres"]) if "postgres" in raw else None,
            setup=service("setup", raw["setup"]) if "setup" in raw else None,
            services=tuple(service(item["name"], item) for item in raw.get("services", ())),
            build=BuildSpec(**raw["build"]) if "build" in raw else None,
            compose=ComposeSpec(**raw["compose"]) if "compose" in raw else None,
        )


@dataclass(frozen=True)
class TargetProfile:
    name: str
    auth: AuthSettings
    provisioning: ProvisioningSettings
    source: Path | None = None
    launch: str | LaunchSettings | None = None
    base_url: str | None = None
    openapi: str = "/openapi.json"
    roles: tuple[str, ...] = DEFAULT_ROLES
    platform_paths: tuple[str, ...] = ()
    skip_operations: tuple[str, ...] = ()
    public_operations: tuple[str, ...] = ()
    allow_destructive: tuple[str, ...] = ()
    bindings: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    tenant_selectors: tuple[tuple[str, str], ...] = ()  # (in, name): header, query or body
    tenant_prefix: str | None = None  # "/t/{tenant_id}": the tenant named by a path prefix the document omits
    tenant_host: str | None = None  # "{tenant_id}.localhost": the tenant named by a subdomain
    expectations: tuple[Expectation, ...] = ()
    tenant_header: str = "X-Tenant-ID"
    metrics_path: str | None = None
    database: DatabaseSettings | None = None
    faults: tuple[str, ...] = ()
    kubernetes: dict[str, str] = field(default_factory=dict)
    jobs: tuple[JobSettings, ...] = ()
    internal_services: tuple[InternalService, ...] = ()
    analytics: AnalyticsSettings | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    request_timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    @property
    def origins(self) -> tuple[str, ...]:
        """The URLs whose origins the run may send requests to: the target, and where the profile sends logins."""
        urls = [self.base_url, self.auth.url, self.openapi]
        return tuple(url for url in urls if url and url.startswith(("http://", "https://")))

    @property
    def highest_role(self) -> str:
        return self.roles[0]

    def with_overrides(self, **changes: Any) -> TargetProfile:
        return replace(self, **changes)


@cache
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(resources.files("tenantprobe").joinpath("profile.schema.json").read_text())
    return schema


def _key_path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(part) for part in error.absolute_path) or "(top level)"


def _explain(error: jsonschema.ValidationError, source: str) -> str:
    """Rephrase a raw JSON Schema error as: where, what is wrong, what to do."""
    where = f"{source}: {_key_path(error)}"
    schema: Any = error.schema
    instance: Any = error.instance
    if error.validator == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        unknown = [key for key in instance if key not in allowed]
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, allowed, n=1)
            hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        return f"{where}: unknown key {', '.join(hints)}; allowed keys: {', '.join(allowed)}"
    if error.validator == "enum":
        options = [str(option) for option in error.validator_value]  # type: ignore[union-attr]
        close = difflib.get_close_matches(str(error.instance), options, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        return f"{where}: {error.instance!r} is not one of {', '.join(options)}.{hint}"
    if error.validator == "oneOf" and error.context:
        # The alternative of the value's own shape (a mapping or a name) says what is wrong better than
        # "not valid under any of the given schemas".
        branches = schema["oneOf"]
        same_shape = [
            e
            for e in error.context
            if (branches[e.relative_schema_path[0]].get("type") == "object") == isinstance(instance, dict)
        ]
        return _explain(jsonschema.exceptions.best_match(same_shape or error.context), source)
    if error.validator == "required":
        return f"{where}: {error.message}; add it to the profile"
    if error.validator == "type":
        return f"{where}: expected {error.validator_value}, got {type(error.instance).__name__} {error.instance!r}"
    return f"{where}: {error.message}"


_IMAGE_ONLY = ("command", "env", "postgres", "setup", "services")


def _check_launch(launch: dict[str, Any], source: str) -> None:
    """``launch`` starts an image or a compose file's services; with compose, ``image`` is what ``build`` makes."""
    if "image" not in launch and "compose" not in launch:
        raise ProfileError(f"{source}: launch: give image (a container image to start) or compose (file: and service:)")
    if "compose" not in launch:
        return
    if "image" in launch and "build" not in launch:
        raise ProfileError(
            f"{source}: launch.image: not with launch.compose, unless launch.build makes it (the compose file names "
            "its images); remove launch.image, or add launch.build"
        )
    if "build" in launch and "image" not in launch:
        raise ProfileError(f"{source}: launch.build: needs launch.image, the tag it builds (the compose file names it)")
    extra = [key for key in _IMAGE_ONLY if key in launch]
    if extra:
        raise ProfileError(
            f"{source}: launch.{extra[0]}: not with launch.compose (the compose file says how its services start); "
            "move it into the compose file, or pass values to it through launch.compose.env"
        )


def _check_semantics(raw: dict[str, Any], source: str) -> None:
    """Rules JSON Schema cannot say well: which keys each kind needs."""
    auth, provisioning = raw["auth"], raw["provisioning"]
    if auth["kind"] == "mint" and not (auth.get("key_file") or auth.get("key_env") or raw.get("launch")):
        raise ProfileError(f"{source}: auth: kind 'mint' needs key_file (RS256 private key) or key_env (HS256 secret)")
    if auth["kind"] == "mint" and not auth.get("claims"):
        raise ProfileError(
            f"{source}: auth.claims: kind 'mint' needs a claim template, e.g. tenant_id: '{{tenant_id}}'"
        )
    if auth["kind"] == "token_endpoint" and not auth.get("url"):
        raise ProfileError(f"{source}: auth.url: kind 'token_endpoint' needs the URL of the token endpoint")
    if auth["kind"] == "static" and not auth.get("tokens"):
        raise ProfileError(f"{source}: auth.tokens: kind 'static' needs tokens per tenant slug and role")
    if (auth["kind"] == "steps") != (provisioning["kind"] == "steps"):
        raise ProfileError(
            f"{source}: auth.kind and provisioning.kind: 'steps' goes with 'steps' (the credentials are what the "
            "provisioning steps capture)"
        )
    if auth["kind"] == "steps":
        roles = raw.get("roles", DEFAULT_ROLES)
        missing = [role for role in roles if role not in auth.get("credentials", {})]
        if missing:
            raise ProfileError(
                f"{source}: auth.credentials: no credential template for role(s) {', '.join(missing)}; give one per "
                f"role (e.g. owner: '{{token}}'), or list only the roles your steps create in roles:"
            )
        if not provisioning.get("steps"):
            raise ProfileError(f"{source}: provisioning.steps: kind 'steps' needs the steps that create a tenant")
    if provisioning["kind"] == "admin_endpoint" and not provisioning.get("path"):
        raise ProfileError(f"{source}: provisioning.path: kind 'admin_endpoint' needs the provisioning path")
    if provisioning["kind"] == "fixed" and len(provisioning.get("tenants", [])) < 2:
        raise ProfileError(f"{source}: provisioning.tenants: kind 'fixed' needs at least two tenants to compare")
    if provisioning["kind"] == "fixed":
        for index, tenant in enumerate(provisioning["tenants"]):
            if set(tenant) != {"id", "slug"}:
                raise ProfileError(
                    f"{source}: provisioning.tenants.{index}: kind 'fixed' takes exactly id and slug per tenant "
                    f"(got {', '.join(sorted(tenant)) or 'nothing'})"
                )
    if not raw.get("base_url") and not raw.get("launch"):
        raise ProfileError(f"{source}: base_url: give the target's URL (or launch: reference-app, or launch.image)")
    _check_tenant_route(raw, source)
    if isinstance(raw.get("launch"), dict):
        _check_launch(raw["launch"], source)
    roles = raw.get("roles", DEFAULT_ROLES)
    for index, expectation in enumerate(raw.get("expectations", [])):
        if expectation["min_role"] not in roles:
            raise ProfileError(
                f"{source}: expectations.{index}.min_role: {expectation['min_role']!r} is not one of the "
                f"profile's roles ({', '.join(roles)})"
            )


TENANT_PLACEHOLDERS = ("{tenant_id}", "{tenant_slug}")


def _check_tenant_route(raw: dict[str, Any], source: str) -> None:
    """``tenant_prefix`` and ``tenant_host`` must name the tenant, and be a path and a host name respectively."""
    prefix, host = raw.get("tenant_prefix"), raw.get("tenant_host")
    for key, value, example in (
        ("tenant_prefix", prefix, "/t/{tenant_id}"),
        ("tenant_host", host, "{tenant_id}.localhost"),
    ):
        if value is not None and not any(p in value for p in TENANT_PLACEHOLDERS):
            raise ProfileError(
                f"{source}: {key}: {value!r} names no tenant, so every tenant would share it; put {{tenant_id}} "
                f"(or {{tenant_slug}}) where the tenant goes, e.g. {example!r}"
            )
    if prefix is not None and (not prefix.startswith("/") or prefix.endswith("/") or "?" in prefix):
        raise ProfileError(
            f"{source}: tenant_prefix: {prefix!r} is not a path prefix; it starts with '/' and ends without one, "
            "e.g. '/t/{tenant_id}' (the operations' paths from the OpenAPI document follow it)"
        )
    if host is not None and ("/" in host or ":" in host):
        raise ProfileError(
            f"{source}: tenant_host: {host!r} is not a host name; give the name alone, e.g. '{{tenant_id}}.localhost' "
            "(requests still go to base_url, with this Host header)"
        )


def _steps(raw: list[dict[str, Any]]) -> tuple[Step, ...]:
    return tuple(Step(**{**step, "expect": tuple(step.get("expect", ()))}) for step in raw)


def _provisioning(raw: dict[str, Any]) -> ProvisioningSettings:
    return ProvisioningSettings(
        **{
            **raw,
            "tenants": tuple(raw.get("tenants", ())),
            "steps": _steps(raw.get("steps", [])),
            "role_steps": {role: _steps(steps) for role, steps in raw.get("role_steps", {}).items()},
            "new_user": NewUser(**{**raw["new_user"], "steps": _steps(raw["new_user"]["steps"])})
            if "new_user" in raw
            else None,
        }
    )


def parse_profile(raw: object, source: str = "<profile>", path: Path | None = None) -> TargetProfile:
    if not isinstance(raw, dict):
        raise ProfileError(f"{source}: a target profile is a YAML mapping, got {type(raw).__name__}")
    errors = sorted(jsonschema.Draft202012Validator(_schema()).iter_errors(raw), key=lambda e: list(e.path))
    if errors:
        raise ProfileError("\n".join(_explain(error, source) for error in errors[:5]))
    _check_semantics(raw, source)
    database = raw.get("database")
    return TargetProfile(
        name=raw["name"],
        source=path,
        launch=LaunchSettings.parse(raw["launch"]) if isinstance(raw.get("launch"), dict) else raw.get("launch"),
        base_url=raw.get("base_url", "").rstrip("/") or None,
        openapi=raw.get("openapi", "/openapi.json"),
        roles=tuple(raw.get("roles", DEFAULT_ROLES)),
        auth=AuthSettings(**raw["auth"]),
        provisioning=_provisioning(raw["provisioning"]),
        platform_paths=tuple(raw.get("platform_paths", ())),
        skip_operations=tuple(raw.get("skip_operations", ())),
        public_operations=tuple(raw.get("public_operations", ())),
        allow_destructive=tuple(raw.get("allow_destructive", ())),
        bindings=raw.get("bindings", {}),
        ids=raw.get("ids", {}),
        tenant_selectors=tuple((s["in"], s["name"]) for s in raw.get("tenant_selectors", ())),
        tenant_prefix=raw.get("tenant_prefix"),
        tenant_host=raw.get("tenant_host"),
        expectations=tuple(Expectation(**e) for e in raw.get("expectations", ())),
        tenant_header=raw.get("tenant_header", "X-Tenant-ID"),
        metrics_path=raw.get("metrics_path"),
        database=DatabaseSettings(**database) if database is not None else None,
        faults=tuple(raw.get("faults", ())),
        kubernetes=raw.get("kubernetes", {}),
        jobs=tuple(
            JobSettings(**{**job, **{k: tuple(job[k]) for k in ("done", "failed") if k in job}})
            for job in raw.get("jobs", ())
        ),
        internal_services=tuple(InternalService(**service) for service in raw.get("internal_services", ())),
        analytics=AnalyticsSettings(tuple(raw["analytics"]["operations"]), raw["analytics"].get("min_tenants", 5))
        if "analytics" in raw
        else None,
        max_body_bytes=raw.get("max_body_bytes", DEFAULT_MAX_BODY_BYTES),
        request_timeout_seconds=float(raw.get("request_timeout_seconds", DEFAULT_TIMEOUT_SECONDS)),
    )


def load_profile(path: Path) -> TargetProfile:
    """Read and validate a profile file (safe YAML only: a profile never runs code)."""
    try:
        text = read_bounded(path, MAX_PROFILE_BYTES, "target profile").decode("utf-8")
    except FileNotFoundError:
        raise ProfileError(f"{path}: no such target profile; see targets/reference.yaml for an example") from None
    except UnicodeDecodeError as exc:
        raise ProfileError(f"{path}: not UTF-8 text ({exc}); a target profile is a YAML file") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path}: not valid YAML: {exc}") from None
    profile = parse_profile(raw, str(path), path)
    if profile.auth.key_file:
        profile = profile.with_overrides(auth=replace(profile.auth, key_file=str(_beside(path, profile.auth.key_file))))
    document = _document_file(path, profile.openapi)
    if document is not None:
        if not document.is_file():
            raise ProfileError(
                f"{path}: openapi: no such file {document} (a relative path is read from the profile's folder)"
            )
        profile = profile.with_overrides(openapi=str(document))
    return profile


def read_bounded(path: Path, limit: int, what: str) -> bytes:
    """The bytes of ``path``, refused with a :class:`ProfileError` beyond ``limit`` (no file is read whole first)."""
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ProfileError(
            f"{path}: larger than {limit} bytes, the most tenantprobe reads for a {what}; is this the right file?"
        )
    return data


def _beside(profile: Path, value: str) -> Path:
    """A file named in a profile: absolute as given, ``file://`` as a path, relative to the profile's folder."""
    value = value.removeprefix("file://")
    candidate = Path(value).expanduser()
    return candidate if candidate.is_absolute() else (profile.parent / candidate).resolve()


def _document_file(profile: Path, location: str) -> Path | None:
    """Where ``openapi:`` names a file rather than a URL path on the target, that file.

    ``https://...`` is a URL and ``/openapi.json`` a path on the target, unless it names an
    existing file; ``file://...``, ``./spec.yaml`` and ``spec.yaml`` are files.
    """
    if location.startswith(("http://", "https://")):
        return None
    if location.startswith("file://") or not location.startswith("/"):
        return _beside(profile, location)
    return Path(location) if Path(location).is_file() else None
