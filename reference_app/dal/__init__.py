"""The tenant-aware data access layer: units of work and one repository module per resource."""

from reference_app.dal.session import (
    Database,
    PlatformSession,
    TenantBusyError,
    TenantSession,
    UnscopedQueryError,
)

__all__ = ["Database", "PlatformSession", "TenantBusyError", "TenantSession", "UnscopedQueryError"]
