"""The tenant-aware data access layer: units of work and one repository module per resource."""

from reference_app.dal.session import (
    Database,
    Gate,
    PlatformSession,
    TenantBusyError,
    TenantSession,
    UnscopedQueryError,
)

__all__ = ["Database", "Gate", "PlatformSession", "TenantBusyError", "TenantSession", "UnscopedQueryError"]
