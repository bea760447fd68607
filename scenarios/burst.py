"""Tenant burst: one tenant alone, to show it sustains more than 100 requests/s.

    locust -f scenarios BurstTenant --headless -t 30s --burst-rps 150 --burst-users 10
    locust -f scenarios BurstTenant --headless -t 30s --burst-rps 0     # unpaced: the saturation rate

Measures PERF-TENANT-THROUGHPUT (achieved requests/s of the one tenant).
"""

from tenantprobe.load.users import BurstUser


class BurstTenant(BurstUser):
    scenario = "burst"
    role = "burst"
