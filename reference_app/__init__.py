"""The PAKE knowledge engine, multi-tenant: the reference target of tenantprobe.

Shared database, shared schema. Isolation is enforced at every layer: composite keys and
row-level security in PostgreSQL, a data access layer that cannot run an unscoped query,
and JWT middleware that takes the tenant from the token only.
"""
