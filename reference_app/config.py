"""Settings, read once from the environment (``REFERENCE_APP_*``)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import (
    Field,
    PositiveFloat,
    PositiveInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict

PREFIX = "REFERENCE_APP_"
DEV_HS256_SECRET = "changethis"  # noqa: S105 - the value refused outside development
PLANS = ("free", "pro", "enterprise")
GIB = 1024**3


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the variable to change."""


@dataclass(frozen=True)
class PlanLimits:
    """What one plan allows a tenant: a request rate (token bucket) and storage."""

    rate: float  # requests per second, refilled continuously
    burst: int  # bucket size: requests a tenant may send at once
    notes: int  # notes a tenant may store
    attachment_bytes: int  # sum of the attachment sizes a tenant may store


# Generous, so that tests and load runs never meet them unless they set their own
# (REFERENCE_APP_PLAN_FREE="rate=5,burst=5,notes=3").
DEFAULT_PLANS: Mapping[str, PlanLimits] = {
    "free": PlanLimits(rate=200, burst=2_000, notes=10_000, attachment_bytes=1 * GIB),
    "pro": PlanLimits(rate=1_000, burst=10_000, notes=100_000, attachment_bytes=10 * GIB),
    "enterprise": PlanLimits(rate=5_000, burst=50_000, notes=1_000_000, attachment_bytes=100 * GIB),
}


def parse_plan(variable: str, value: str, base: PlanLimits) -> PlanLimits:
    """``"rate=5,burst=10"`` over ``base``; every mistake names the variable and the key."""
    known = {f.name: f.type for f in fields(PlanLimits)}
    changes: dict[str, float | int] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or key not in known:
            hint = difflib.get_close_matches(key, known, n=1)
            suggestion = f" Did you mean {hint[0]!r}?" if hint else ""
            raise ConfigError(f"{variable}: {item!r} is not KEY=VALUE with KEY one of {', '.join(known)}.{suggestion}")
        try:
            number = float(raw) if key == "rate" else int(raw)
        except ValueError:
            raise ConfigError(f"{variable}: {key}={raw!r} is not a number") from None
        if number <= 0:
            raise ConfigError(f"{variable}: {key}={raw} must be greater than 0")
        changes[key] = number
    return replace(base, **changes)  # type: ignore[arg-type]


class Settings(BaseSettings):
    """Every setting from its ``REFERENCE_APP_<NAME>`` variable (``REFERENCE_APP_ENV`` for ``environment``);
    an empty variable counts as unset. Numbers must be greater than 0."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, env_ignore_empty=True, str_strip_whitespace=True, frozen=True)

    database_url: str
    platform_database_url: str
    jwt_private_key_file: Path
    jwt_issuer: str = "pake-dev"
    jwt_audience: str = "pake-api"
    jwt_hs256_secret: str | None = None
    environment: Literal["development", "production"] = Field(default="development", validation_alias=PREFIX + "ENV")
    max_body_bytes: PositiveInt = 1024 * 1024
    max_import_bytes: PositiveInt = 256 * 1024 * 1024
    internal_url: str | None = None
    internal_token_ttl_seconds: PositiveInt = 60
    redis_url: str | None = None
    cache_max_entries: PositiveInt = 10_000
    cache_ttl_seconds: PositiveInt = 300
    plan_free: str = ""  # "rate=5,burst=10" over the plan's defaults (DEFAULT_PLANS)
    plan_pro: str = ""
    plan_enterprise: str = ""
    analytics_min_tenants: PositiveInt = 5
    metrics_max_tenants: PositiveInt = 50
    db_pool_size: PositiveInt = 20
    db_acquire_timeout_seconds: PositiveFloat = 5.0  # then 503 (429 if the tenant's own share was the wait)
    db_connections_per_tenant: PositiveInt | None = None  # None: half the pool
    worker_poll_seconds: PositiveFloat = 1.0
    job_lease_seconds: PositiveFloat = 30.0  # a claimed job no worker holds for this long is taken again
    throttle_delay_ms: PositiveInt = 100
    api_workers: PositiveInt = 1  # API processes; rate buckets are in PostgreSQL, metrics in multiprocess mode

    @field_validator("jwt_private_key_file")
    @classmethod
    def _key_file_exists(cls, key_file: Path) -> Path:
        if not key_file.is_file():
            raise ValueError(f"{PREFIX}JWT_PRIVATE_KEY_FILE={key_file}: no such file")
        return key_file

    @field_validator("internal_url")
    @classmethod
    def _no_trailing_slash(cls, url: str | None) -> str | None:
        return (url or "").rstrip("/") or None

    @field_validator("plan_free", "plan_pro", "plan_enterprise")
    @classmethod
    def _plan_parses(cls, value: str, info: ValidationInfo) -> str:
        plan = str(info.field_name).removeprefix("plan_")
        parse_plan(f"{PREFIX}PLAN_{plan.upper()}", value, DEFAULT_PLANS[plan])
        return value

    @model_validator(mode="after")
    def _no_development_secret_in_production(self) -> Settings:
        if self.environment == "production" and self.jwt_hs256_secret == DEV_HS256_SECRET:
            raise ValueError(f"{PREFIX}JWT_HS256_SECRET is the development default; set a real secret")
        return self

    @cached_property
    def plans(self) -> Mapping[str, PlanLimits]:
        """What each plan allows: the defaults, with the ``REFERENCE_APP_PLAN_<PLAN>`` changes."""
        return {
            plan: parse_plan(f"{PREFIX}PLAN_{plan.upper()}", getattr(self, f"plan_{plan}"), limits)
            for plan, limits in DEFAULT_PLANS.items()
        }

    @classmethod
    def from_env(cls) -> Settings:
        """The settings of this process; a bad or missing variable raises ConfigError naming it and the fix."""
        try:
            return cls()  # type: ignore[call-arg]  # the required settings come from the environment
        except ValidationError as exc:
            raise ConfigError("; ".join(_explain(error) for error in exc.errors())) from None


def _explain(error: ErrorDetails) -> str:
    """One validation error as the user's mistake: the variable, the value, what it must be."""
    field = str(error["loc"][0]) if error["loc"] else ""
    variable = field if field.startswith(PREFIX) else PREFIX + field.upper()
    value = error.get("input")
    kind = error["type"]
    if kind == "missing":
        return f"{variable} is not set; see the README for what it must hold"
    if kind == "int_parsing":
        return f"{variable}={value!r} must be an integer"
    if kind == "float_parsing":
        return f"{variable}={value!r} must be a number"
    if kind == "greater_than":
        return f"{variable}={value} must be greater than 0"
    if kind == "literal_error":
        return f"{variable}={value!r}: expected {error['ctx']['expected']}"
    if kind == "value_error":
        return str(error["ctx"]["error"])
    return f"{variable}={value!r}: {error['msg']}"
