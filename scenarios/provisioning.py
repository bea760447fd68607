"""Provisioning under load: steady tenants run while new tenants are onboarded one by one.

    locust -f scenarios LoadedTenant Onboarder --headless -t 60s --tenants 20 --provision-count 10

Each new tenant is timed from the provisioning request to its first successful request.
Measures OPS-PROVISIONING-TIME (p95 of that time, under load).
"""

from tenantprobe.load.users import OnboardingUser, TenantUser


class LoadedTenant(TenantUser):
    scenario = "provisioning"
    role = "steady"


class Onboarder(OnboardingUser):
    scenario = "provisioning"
