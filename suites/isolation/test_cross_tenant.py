"""Cross-tenant matrix: every operation the OpenAPI document exposes, attacked with a victim's real ids.

For every ordered (attacker, victim) pair and every operation that takes path parameters,
the attacker (its most powerful role) replays the victim's request. A denial counts only
when it looks exactly like the answer for an id that exists nowhere, and only after a
sentinel shows the attacker can perform the same operation on its own objects.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tenantprobe.openapi import Creator, Operation, synthesize
from tenantprobe.oracles import changed_by_others, looks_like_missing
from tenantprobe.probe import Actor, Probe
from tenantprobe.target import SeededObject, SeededTenant, Target


def owner(target: Target, tenant: SeededTenant) -> Actor:
    return target.actor(tenant.ref, target.profile.highest_role)


def tenant_operations(target: Target) -> list[Operation]:
    return [op for op in target.api.with_path_params() if not target.is_platform_operation(op.path)]


def missing_bindings(op: Operation, bindings: dict[str, str]) -> dict[str, str]:
    """The same bindings with the deepest parameter pointing at an id that exists nowhere."""
    return {**bindings, op.path_params[-1]: str(uuid.uuid4())}


def creator_for(target: Target, op: Operation) -> Creator | None:
    return next((c for c in target.api.creators() if c.item_path == op.path), None)


def query_for(op: Operation, canary: str) -> dict[str, str]:
    """Required query parameters, strings filled with the victim's canary (an attacker's search terms)."""
    return {q.name: canary if q.schema.get("type", "string") == "string" else "1" for q in op.query if q.required}


@pytest.mark.controls("API-CROSS-TENANT-READ", "API-EXISTENCE-ORACLE")
def test_foreign_reads_look_like_missing(target: Target, pairs: list[tuple[Any, Any]], probe: Probe) -> None:
    reads = [op for op in tenant_operations(target) if op.method == "GET"]
    assert reads, "the OpenAPI document has no tenant read operation with an id"
    for op in reads:
        for attacker, victim in pairs:
            if not set(op.path_params) <= set(victim.bindings) or not set(op.path_params) <= set(attacker.bindings):
                probe.skip_operation(op.key, "no seeded object to address")
                continue
            params = query_for(op, victim.objects[0].canary if victim.objects else "x")
            url = op.url(victim.bindings)
            baseline = probe.request(owner(target, victim), "GET", url, params=params)
            sentinel = probe.request(owner(target, attacker), "GET", op.url(attacker.bindings), params=params)
            if not (baseline.ok and sentinel.ok):
                probe.skip_operation(op.key, f"owner baseline {baseline.status}, attacker sentinel {sentinel.status}")
                continue
            foreign = probe.request(owner(target, attacker), "GET", url, params=params)
            missing = probe.request(
                owner(target, attacker), "GET", op.url(missing_bindings(op, victim.bindings)), params=params
            )
            pair = {"attacker": attacker.slug, "victim": victim.slug}
            probe.check(
                "API-CROSS-TENANT-READ",
                not foreign.ok,
                f"{attacker.slug} read {victim.slug}'s object: {op.key} answered {foreign.status}",
                [baseline, foreign],
                **pair,
            )
            ids = [*victim.bindings.values(), missing.url.rsplit("/", 1)[-1]]
            probe.check(
                "API-EXISTENCE-ORACLE",
                foreign.ok or looks_like_missing(foreign, missing, ids),
                f"{op.key}: a foreign id answers {foreign.status}, a missing id {missing.status}",
                [foreign, missing],
                **pair,
            )
    probe.finish()


def _still_there(
    target: Target, probe: Probe, victim: SeededTenant, obj: SeededObject, attack_canary: str
) -> tuple[bool, list[Any]]:
    """Re-read the victim's object by id and in its collection: (unchanged?, the exchanges that show it).

    Both reads, because a cached item read can hide a write that the collection shows.
    """
    exchanges = []
    unchanged = True
    item = target.api.find("GET", obj.creator.item_path)
    if item is not None:
        exchange = probe.request(owner(target, victim), "GET", item.url(obj.bindings))
        unchanged = exchange.ok and exchange.json() == obj.snapshot
        exchanges.append(exchange)
    listing = probe.request(owner(target, victim), "GET", obj.creator.operation.url(obj.bindings))
    if listing.ok:
        unchanged = unchanged and obj.id in listing.text and attack_canary not in listing.text
        exchanges.append(listing)
    return unchanged, exchanges


@pytest.mark.controls("API-CROSS-TENANT-WRITE", "API-EXISTENCE-ORACLE")
def test_foreign_writes_change_nothing(target: Target, pairs: list[tuple[Any, Any]], probe: Probe) -> None:
    writes = [op for op in tenant_operations(target) if op.method in ("PUT", "PATCH", "DELETE") and op.addresses_item]
    assert writes, "the OpenAPI document has no tenant write operation on an item"
    for op in writes:
        creator = creator_for(target, op)
        if creator is None:
            probe.skip_operation(op.key, "no operation creates its objects")
            continue
        for attacker, victim in pairs:
            # A fresh object per attack, so a successful attack cannot spoil the other checks.
            obj = target.create(victim, creator, owner(target, victim), probe)
            if obj is None:
                probe.skip_operation(op.key, "could not create a victim object")
                continue
            item = target.api.find("GET", creator.item_path)
            if item is not None:
                obj.snapshot = probe.request(owner(target, victim), "GET", item.url(obj.bindings)).json()
            canary = target.canaries.issue(attacker.slug)
            body = synthesize(op.body_schema, canary) if op.body_schema else None
            attack = probe.request(owner(target, attacker), op.method, op.url(obj.bindings), json_body=body)
            missing = probe.request(
                owner(target, attacker), op.method, op.url(missing_bindings(op, obj.bindings)), json_body=body
            )
            unchanged, reread = _still_there(target, probe, victim, obj, canary)
            pair = {"attacker": attacker.slug, "victim": victim.slug}
            probe.check(
                "API-CROSS-TENANT-WRITE",
                unchanged and not attack.ok,
                f"{attacker.slug} {op.method} on {victim.slug}'s object answered {attack.status}; "
                f"object {'unchanged' if unchanged else 'changed or gone'}",
                [attack, *reread],
                **pair,
            )
            ids = [*obj.bindings.values(), missing.url.rsplit("/", 1)[-1]]
            probe.check(
                "API-EXISTENCE-ORACLE",
                attack.ok or looks_like_missing(attack, missing, ids),
                f"{op.key}: a foreign id answers {attack.status}, a missing id {missing.status}",
                [attack, missing],
                **pair,
            )
    probe.finish()


@pytest.mark.controls("API-NESTED-PARENT")
def test_nested_resources_check_the_parent(target: Target, pairs: list[tuple[Any, Any]], probe: Probe) -> None:
    nested = [op for op in tenant_operations(target) if len(op.path_params) >= 2 and op.method == "GET"]
    creators = [c for c in target.api.creators() if c.depth >= 1 and not target.is_platform_operation(c.item_path)]
    if not nested and not creators:
        pytest.skip("the API has no nested resources")
    for attacker, victim in pairs:
        pair = {"attacker": attacker.slug, "victim": victim.slug}
        for op in nested:
            params = op.path_params
            if not (set(params) <= set(victim.bindings) and set(params) <= set(attacker.bindings)):
                probe.skip_operation(op.key, "no seeded objects to mix")
                continue
            parent, child = params[:-1], params[-1]
            mixes = {
                "victim's child under the attacker's parent": {
                    **{p: attacker.bindings[p] for p in parent},
                    child: victim.bindings[child],
                },
                "attacker's child under the victim's parent": {
                    **{p: victim.bindings[p] for p in parent},
                    child: attacker.bindings[child],
                },
            }
            for description, bindings in mixes.items():
                exchange = probe.request(owner(target, attacker), "GET", op.url(bindings))
                probe.check(
                    "API-NESTED-PARENT",
                    not exchange.ok,
                    f"{op.key}: {description} answered {exchange.status}",
                    [exchange],
                    **pair,
                )
        for creator in creators:
            try:
                path = creator.operation.url(victim.bindings)
            except KeyError:
                probe.skip_operation(creator.operation.key, "the victim has no parent object")
                continue
            canary = target.canaries.issue(attacker.slug)
            body = synthesize(creator.operation.body_schema, canary)
            attack = probe.request(owner(target, attacker), "POST", path, json_body=body)
            listing = probe.request(owner(target, victim), "GET", path)
            probe.check(
                "API-NESTED-PARENT",
                not attack.ok and canary not in listing.text,
                f"{attacker.slug} created under {victim.slug}'s parent: POST {creator.operation.path} "
                f"answered {attack.status}",
                [attack, listing],
                **pair,
            )
    probe.finish()


def collection_reads(target: Target) -> list[Operation]:
    return [op for op in target.api.collection_reads() if op.secured and not target.is_platform_operation(op.path)]


@pytest.mark.controls("API-LIST-FILTER")
def test_collections_show_only_own_objects(target: Target, pairs: list[tuple[Any, Any]], probe: Probe) -> None:
    reads = collection_reads(target) + [
        op for op in tenant_operations(target) if op.method == "GET" and not op.addresses_item
    ]
    for attacker, victim in pairs:
        victim_ids = [obj.id for obj in victim.objects]
        for op in reads:
            bindings = attacker.bindings  # the attacker's own collections, searched for the victim's words
            if not set(op.path_params) <= set(bindings):
                probe.skip_operation(op.key, "no seeded object to address")
                continue
            for obj in victim.objects[:3]:
                exchange = probe.request(
                    owner(target, attacker), "GET", op.url(bindings), params=query_for(op, obj.canary)
                )
                leaked = [i for i in victim_ids if i in exchange.text]
                probe.check(
                    "API-LIST-FILTER",
                    not leaked,
                    f"{op.key} as {attacker.slug} lists {len(leaked)} of {victim.slug}'s objects",
                    [exchange],
                    attacker=attacker.slug,
                    victim=victim.slug,
                )
    probe.finish()


@pytest.mark.controls("API-COUNT-LEAK")
def test_collections_do_not_reflect_other_tenants_writes(
    target: Target, pairs: list[tuple[Any, Any]], probe: Probe
) -> None:
    reads = [op for op in collection_reads(target) if not any(q.required for q in op.query)]
    top_creators = [c for c in target.api.creators() if c.depth == 0 and not target.is_platform_operation(c.item_path)]
    for attacker, victim in pairs:
        looker = owner(target, attacker)
        before = {
            op.key: (probe.request(looker, "GET", op.path), probe.request(looker, "GET", op.path)) for op in reads
        }
        for creator in top_creators:
            target.create(victim, creator, owner(target, victim), probe)
        for op in reads:
            after = (probe.request(looker, "GET", op.path), probe.request(looker, "GET", op.path))
            changed = changed_by_others(before[op.key], after)
            probe.check(
                "API-COUNT-LEAK",
                not changed,
                f"{op.key} as {attacker.slug} changed when only {victim.slug} wrote: {sorted(changed)[:5]}",
                [before[op.key][1], after[0]],
                attacker=attacker.slug,
                victim=victim.slug,
                expected="unchanged",
                actual=changed,
            )
    probe.finish()


@pytest.mark.controls("APP-CACHE-TENANT-KEY")
def test_same_request_never_served_from_another_tenants_cache(
    target: Target, pairs: list[tuple[Any, Any]], probe: Probe
) -> None:
    """Cold, warm, repeat: what the attacker gets after the victim warmed a URL must equal what it got before.

    Item reads use objects created just now, so no earlier check has warmed their URLs.
    """
    item_reads = [op for op in tenant_operations(target) if op.method == "GET" and op.addresses_item]
    for attacker, victim in pairs:
        urls: list[str] = []
        for op in item_reads:
            creator = creator_for(target, op)
            obj = target.create(victim, creator, owner(target, victim), probe) if creator else None
            if obj is None:
                probe.skip_operation(op.key, "could not create a fresh victim object")
                continue
            urls.append(op.url(obj.bindings))
        urls += [op.path for op in collection_reads(target) if not any(q.required for q in op.query)]
        for url in urls:
            cold = probe.request(owner(target, attacker), "GET", url)
            warm = probe.request(owner(target, victim), "GET", url)
            repeat = probe.request(owner(target, attacker), "GET", url)
            served_victims = warm.ok and repeat.text == warm.text and repeat.text != cold.text
            probe.check(
                "APP-CACHE-TENANT-KEY",
                not served_victims,
                f"GET {url}: after {victim.slug} read it, {attacker.slug} received {victim.slug}'s response",
                [cold, warm, repeat],
                attacker=attacker.slug,
                victim=victim.slug,
            )
    probe.finish()
