"""Per-user state: recent items, drafts, preferences and per-user caches keyed by a user id alone.

User ids are often only unique within a tenant (a username, a per-tenant number, the subject
of a tenant's own identity provider), so two tenants may each have a user with the same id.
The victim uses the app (opens each of its objects); then a user of the attacker's tenant who
has the victim's user id reads every view of its own, whose responses must show nothing of the
victim's beyond what the attacker's usual user sees making the same read (the positive control).
"""

from __future__ import annotations

from typing import Any

import pytest

from suites.isolation.test_references import foreign_marks_shown, tenant_scope
from tenantprobe.probe import Probe
from tenantprobe.target import SeededTenant, Target

CONTROL = "APP-USER-STATE-SCOPE"


def use_the_app(target: Target, probe: Probe, tenant: SeededTenant) -> None:
    """``tenant``'s owner opens one object of each kind it has, as a user does."""
    for op in tenant_scope(target):
        if op.method == "GET" and op.addresses_item and not any(q.required for q in op.query):
            try:
                url = op.url(tenant.bindings)
            except KeyError:
                continue
            probe.request(target.owner(tenant), "GET", url)


@pytest.mark.attack("user-state")
@pytest.mark.controls(CONTROL)
def test_users_sharing_a_user_id_across_tenants_see_only_their_own_state(
    target: Target, pairs: list[tuple[Any, Any]], probe: Probe
) -> None:
    if not target.tokens.can_forge:
        probe.not_applicable(
            CONTROL, "a user with another tenant's user id needs tokens tenantprobe signs (auth.kind: mint)"
        )
    else:
        for attacker, victim in pairs:
            use_the_app(target, probe, victim)
            namesake = target.twin(attacker, victim)
            for op, url in target.own_reads(attacker.bindings):
                positive = probe.request(target.owner(attacker), "GET", url)
                attack = probe.request(namesake, "GET", url)
                # What the attacker's usual user sees too (its tenant's own objects that name the victim,
                # written by earlier attacks) is not the namesake's state.
                shown = set(foreign_marks_shown(attack, victim, target)) - set(
                    foreign_marks_shown(positive, victim, target)
                )
                probe.judge(
                    CONTROL,
                    attack,
                    positive=positive,
                    leaked=bool(shown),
                    summary=f"{op.key} as {namesake.name} shows {len(shown)} of {victim.slug}'s ids or canaries",
                    exchanges=[positive, attack],
                    success_is_safe=True,
                    attacker=attacker.slug,
                    victim=victim.slug,
                )
