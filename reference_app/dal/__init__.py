"""The tenant-aware data access layer: units of work and one repository module per resource."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reference_app.dal.session import (
    Database,
    Gate,
    PlatformSession,
    TenantBusyError,
    TenantSession,
    UnscopedQueryError,
)

if TYPE_CHECKING:
    from reference_app.config import Settings

__all__ = [
    "Database",
    "Gate",
    "PlatformSession",
    "TenantBusyError",
    "TenantSession",
    "UnscopedQueryError",
    "serving_database",
]


def serving_database(settings: Settings) -> Database:
    """The pools of a process that serves requests (the API, the internal service), sized by the settings."""
    return Database(
        settings.database_url,
        settings.platform_database_url,
        max_size=settings.db_pool_size,
        acquire_timeout=settings.db_acquire_timeout_seconds,
        per_tenant=settings.db_connections_per_tenant,
    )
