"""Settings, read once from the environment (``REFERENCE_APP_*``)."""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Literal

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


@dataclass(frozen=True)
class Settings:
    database_url: str
    platform_database_url: str
    jwt_private_key_file: Path
    jwt_issuer: str = "pake-dev"
    jwt_audience: str = "pake-api"
    jwt_hs256_secret: str | None = None
    environment: Literal["development", "production"] = "development"
    max_body_bytes: int = 1024 * 1024
    max_import_bytes: int = 256 * 1024 * 1024
    internal_url: str | None = None
    internal_token_ttl_seconds: int = 60
    redis_url: str | None = None
    cache_max_entries: int = 10_000
    cache_ttl_seconds: int = 300
    plans: Mapping[str, PlanLimits] = field(default_factory=lambda: dict(DEFAULT_PLANS))
    analytics_min_tenants: int = 5
    metrics_max_tenants: int = 50
    db_pool_size: int = 20
    db_acquire_timeout_seconds: float = 5.0  # then 503 (429 if the tenant's own share was the wait)
    db_connections_per_tenant: int | None = None  # None: half the pool
    worker_poll_seconds: float = 1.0
    job_lease_seconds: float = 30.0  # a claimed job no worker holds for this long is taken again
    throttle_delay_ms: int = 100
    api_workers: int = 1  # API processes; rate buckets are in PostgreSQL, metrics in multiprocess mode

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def required(name: str) -> str:
            value = env.get(PREFIX + name, "").strip()
            if not value:
                raise ConfigError(f"{PREFIX}{name} is not set; see the README for what it must hold")
            return value

        def number(name: str, default: float, kind: type[int] | type[float] = int) -> float:
            raw = env.get(PREFIX + name, "").strip()
            if not raw:
                return default
            try:
                value = kind(raw)
            except ValueError:
                raise ConfigError(
                    f"{PREFIX}{name}={raw!r} must be a{'n integer' if kind is int else ' number'}"
                ) from None
            if value <= 0:
                raise ConfigError(f"{PREFIX}{name}={raw} must be greater than 0")
            return value

        environment = env.get(PREFIX + "ENV", "development")
        if environment not in ("development", "production"):
            raise ConfigError(f"{PREFIX}ENV={environment!r}: expected 'development' or 'production'")
        secret = env.get(PREFIX + "JWT_HS256_SECRET") or None
        if environment == "production" and secret == DEV_HS256_SECRET:
            raise ConfigError(f"{PREFIX}JWT_HS256_SECRET is the development default; set a real secret")
        key_file = Path(required("JWT_PRIVATE_KEY_FILE"))
        if not key_file.is_file():
            raise ConfigError(f"{PREFIX}JWT_PRIVATE_KEY_FILE={key_file}: no such file")
        plans = {
            plan: parse_plan(PREFIX + f"PLAN_{plan.upper()}", env.get(PREFIX + f"PLAN_{plan.upper()}", ""), limits)
            for plan, limits in DEFAULT_PLANS.items()
        }
        return cls(
            database_url=required("DATABASE_URL"),
            platform_database_url=required("PLATFORM_DATABASE_URL"),
            jwt_private_key_file=key_file,
            jwt_issuer=env.get(PREFIX + "JWT_ISSUER", cls.jwt_issuer),
            jwt_audience=env.get(PREFIX + "JWT_AUDIENCE", cls.jwt_audience),
            jwt_hs256_secret=secret,
            environment=environment,  # type: ignore[arg-type]
            max_body_bytes=int(number("MAX_BODY_BYTES", cls.max_body_bytes)),
            max_import_bytes=int(number("MAX_IMPORT_BYTES", cls.max_import_bytes)),
            internal_url=env.get(PREFIX + "INTERNAL_URL", "").strip().rstrip("/") or None,
            internal_token_ttl_seconds=int(number("INTERNAL_TOKEN_TTL_SECONDS", cls.internal_token_ttl_seconds)),
            redis_url=env.get(PREFIX + "REDIS_URL", "").strip() or None,
            cache_max_entries=int(number("CACHE_MAX_ENTRIES", cls.cache_max_entries)),
            cache_ttl_seconds=int(number("CACHE_TTL_SECONDS", cls.cache_ttl_seconds)),
            plans=plans,
            analytics_min_tenants=int(number("ANALYTICS_MIN_TENANTS", cls.analytics_min_tenants)),
            metrics_max_tenants=int(number("METRICS_MAX_TENANTS", cls.metrics_max_tenants)),
            db_pool_size=int(number("DB_POOL_SIZE", cls.db_pool_size)),
            db_acquire_timeout_seconds=number("DB_ACQUIRE_TIMEOUT_SECONDS", cls.db_acquire_timeout_seconds, float),
            db_connections_per_tenant=int(number("DB_CONNECTIONS_PER_TENANT", 0)) or None,
            worker_poll_seconds=number("WORKER_POLL_SECONDS", cls.worker_poll_seconds, float),
            job_lease_seconds=number("JOB_LEASE_SECONDS", cls.job_lease_seconds, float),
            throttle_delay_ms=int(number("THROTTLE_DELAY_MS", cls.throttle_delay_ms)),
            api_workers=int(number("API_WORKERS", cls.api_workers)),
        )
