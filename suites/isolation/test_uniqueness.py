"""Uniqueness scoped to the tenant: a value another tenant already uses can be used again.

A unique constraint or an application check that forgets the tenant (``UNIQUE (email)``,
"is this slug taken?") answers a conflict for a value that exists only in another tenant: an
existence oracle on other tenants' data, and a way to squat the names a tenant needs. For
every create and every body field whose name says it is meant to be unique (slug, name,
email, key, code...), the victim creates an object, then the attacker creates one with a fresh
value (the positive control) and one with the victim's value.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tenantprobe.openapi import Creator
from tenantprobe.probe import Probe
from tenantprobe.target import SeededTenant, Target

CONTROL = "API-UNIQUENESS-SCOPE"
# Field names that suggest a unique value, as a whole or as the last word (``display_name``, ``api_key``).
UNIQUE_LOOKING = re.compile(
    r"(?:.*[_-])?(?:slug|name|email|key|code|handle|username|login|domain|subdomain|sku|identifier)"
    r"|(?:.*[a-z])(?:Name|Email|Key|Code|Slug|Handle)",
)
CONFLICT_WORDS = re.compile(r"already|exists|taken|duplicate|conflict|unique|in use|registered", re.IGNORECASE)


def unique_looking_fields(body: Any) -> list[str]:
    """Top-level string fields of a create body that look meant to be unique."""
    if not isinstance(body, dict):
        return []
    return [key for key, value in body.items() if isinstance(value, str) and UNIQUE_LOOKING.fullmatch(key)]


def judge_uniqueness(
    target: Target, probe: Probe, creator: Creator, attacker: SeededTenant, victim: SeededTenant
) -> None:
    operation = creator.operation
    try:
        path, victim_path = operation.url(attacker.bindings), operation.url(victim.bindings)
    except KeyError:
        probe.skip_operation(operation.key, "a tenant has no parent object to create under")
        return
    pair = {"attacker": attacker.slug, "victim": victim.slug}
    probe_body = target.create_body(attacker, operation, target.canaries.issue(attacker.slug))
    for name in unique_looking_fields(probe_body):
        taken = target.create_body(victim, operation, target.canaries.issue(victim.slug))
        made = probe.request(target.owner(victim), "POST", victim_path, json_body=taken)
        if not made.ok:
            probe.inconclusive(CONTROL, f"the victim's own {made.target} answered {made.status}", **pair)
            continue
        fresh = target.create_body(attacker, operation, target.canaries.issue(attacker.slug))
        positive = probe.request(target.owner(attacker), "POST", path, json_body=fresh)
        reused = {**target.create_body(attacker, operation, target.canaries.issue(attacker.slug)), name: taken[name]}
        attempt = probe.request(target.owner(attacker), "POST", path, json_body=reused)
        conflict = not attempt.ok and (
            attempt.status == 409 or (400 <= attempt.status < 500 and CONFLICT_WORDS.search(attempt.text) is not None)
        )
        probe.judge(
            CONTROL,
            attempt,
            positive=positive,
            leaked=conflict,
            summary=f"{operation.key}: {victim.slug}'s {name} refused to {attacker.slug} as a conflict "
            f"({attempt.status}), while a fresh {name} was accepted ({positive.status})",
            exchanges=[made, positive, attempt],
            success_is_safe=True,
            attacker=attacker.slug,
            victim=victim.slug,
        )


@pytest.mark.attack("existence")
@pytest.mark.controls(CONTROL)
def test_values_of_other_tenants_are_not_taken(target: Target, pairs: list[tuple[Any, Any]], probe: Probe) -> None:
    creators = [c for c in target.api.creators() if not target.is_platform_operation(c.item_path)]
    for attacker, victim in pairs:
        for creator in creators:
            judge_uniqueness(target, probe, creator, attacker, victim)
