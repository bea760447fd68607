"""Steady tenants: N tenants (default 120), one user each, a Poisson stream of the realistic mix.

    locust -f scenarios SteadyTenant --headless -t 60s --tenants 120 --tenant-rps 10

Measures PERF-AVG-RESPONSE, PERF-P95-RESPONSE, PERF-CONCURRENT-TENANTS (every tenant's
achieved/offered >= 0.98 within the latency SLOs) and PERF-RESOURCE-UTILIZATION.
"""

from tenantprobe.load.users import TenantUser


class SteadyTenant(TenantUser):
    scenario = "steady"
    role = "steady"
