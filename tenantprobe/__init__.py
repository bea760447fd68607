"""tenantprobe: prove that a multi-tenant SaaS keeps its tenants apart."""

__version__ = "0.1.0"
