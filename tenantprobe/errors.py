"""The one exception tree of tenantprobe.

    TenantProbeError
     ├── ProfileError        the user's configuration is wrong: fix the named key and run again
     ├── TargetError         the target misbehaved or could not be reached
     ├── ProvisioningError   tenants, credentials or canaries could not be set up
     ├── DatabaseError       the embedded or configured PostgreSQL could not be started or used
     ├── RecordError         a result record is malformed (the report lists it as a problem)
     └── InternalError       a bug in tenantprobe: please report it

Isolation *findings* are not exceptions: they are result records with status ``fail``.
"""


class TenantProbeError(Exception):
    """Base class of every error tenantprobe raises on purpose."""


class ProfileError(TenantProbeError, ValueError):
    """The target profile or a command-line option is invalid; the message names the key and the fix."""


class TargetError(TenantProbeError):
    """The target could not be reached or answered in a way no check can interpret."""


class ProvisioningError(TenantProbeError):
    """Tenants, their credentials or their canary data could not be created."""


class DatabaseError(TenantProbeError):
    """PostgreSQL could not be started, reached or prepared."""


class RecordError(TenantProbeError, ValueError):
    """A result record does not match tenantprobe/result_record.schema.json; the message names the key."""


class InternalError(TenantProbeError):
    """tenantprobe itself is wrong; the user cannot fix this."""
