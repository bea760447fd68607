"""Noisy neighbour: quiet tenants at a steady rate, then one tenant floods.

    locust -f scenarios QuietTenant Flooder --headless -t 40s --tenants 20 --baseline 15 --flood-users 8

The first ``--baseline`` seconds the quiet tenants run alone (their baseline p95); then the
flooder's users send as fast as they can. The flooder's 429s are expected and counted apart.
Measures PERF-NOISY-NEIGHBOUR (quiet p95 under the flood / alone <= 2, Jain's index of the
quiet tenants' achieved/offered >= 0.99) and OPS-RATE-LIMIT-PER-TENANT (the flooder gets 429
with Retry-After, the quiet tenants never do and keep their rate).
"""

from tenantprobe.load.users import FloodingUser, TenantUser


class QuietTenant(TenantUser):
    scenario = "noisy-neighbour"
    role = "quiet"


class Flooder(FloodingUser):
    scenario = "noisy-neighbour"
    role = "flooder"
