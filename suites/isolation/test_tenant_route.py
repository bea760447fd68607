"""The tenant named by the URL: a path prefix (``/t/acme/...``) or a subdomain (``acme.example.com``).

Where the URL says which tenant a request is for, one tenant's valid token sent under another
tenant's prefix or Host must neither switch tenant nor show the other's data: the app has to
check the URL's tenant against the token's, not trust it. The positive control is the same read
under the attacker's own prefix or Host.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from tenantprobe.probe import Probe
from tenantprobe.target import SeededTenant, Target

NO_ROUTE = (
    "requests name no tenant in their URL: the profile has no tenant_prefix or tenant_host, and the document's "
    "server URL has no tenant variable"
)


def reads(target: Target, tenant: SeededTenant) -> dict[str, str]:
    """The tenant's own reads by operation: its collections, and each of its objects that has a GET by id."""
    found = {op.key: url for op, url in target.own_reads(tenant.bindings)}
    for obj in tenant.objects:
        item = target.api.find("GET", obj.creator.item_path)
        if item is not None and not target.is_platform_operation(item.path):
            found.setdefault(item.key, item.url(obj.bindings))
    return found


@pytest.mark.attack("tenant-selector")
@pytest.mark.controls("API-TENANT-CONTEXT-TAMPER")
def test_another_tenants_prefix_or_host_does_not_switch_tenant(
    target: Target, pairs: list[tuple[Any, Any]], probe: Probe
) -> None:
    if target.tenant_route == (None, None):
        probe.not_applicable("API-TENANT-CONTEXT-TAMPER", NO_ROUTE)  # the headers and claims checks still judge it
        pairs = []
    for attacker, victim in pairs:
        pair = {"attacker": attacker.slug, "victim": victim.slug}
        own = target.owner(attacker)
        # The attacker's own token, under the victim's prefix or Host.
        routed = replace(own, name=f"{own.name} via {victim.slug}'s URL", **target.route(victim.ref))
        marks = [obj.id for obj in victim.objects if len(obj.id) >= 8] + [obj.canary for obj in victim.objects]
        mine = reads(target, attacker)
        for key, url in reads(target, victim).items():
            if key not in mine:
                probe.skip_operation(key, f"{attacker.slug} has no object to read the same way")
                continue
            positive = probe.request(own, "GET", mine[key])
            attempt = probe.request(routed, "GET", url)
            leaked = [mark for mark in marks if mark in attempt.text]
            probe.judge(
                "API-TENANT-CONTEXT-TAMPER",
                attempt,
                positive=positive,
                leaked=bool(leaked),
                summary=f"{key} with {attacker.slug}'s token under {victim.slug}'s "
                f"{'prefix' if routed.path_prefix else 'Host'} answered {attempt.status}"
                + (f" and showed {len(leaked)} of {victim.slug}'s ids or canaries" if leaked else ""),
                exchanges=[positive, attempt],
                success_is_safe=True,
                **pair,
            )
