"""Cross-tenant matrix: every operation the OpenAPI document exposes, attacked with a victim's real ids.

For every ordered (attacker, victim) pair and every operation that takes path parameters,
the attacker (its most powerful role) replays the victim's request. A refusal counts as
blocked only after a positive control: the same request on the attacker's own object
succeeded. A refusal must also look exactly like the answer for an id that exists nowhere.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest

from tenantprobe.objects import missing_like
from tenantprobe.openapi import Creator, Operation, valid_body
from tenantprobe.oracles import changed_by_others, looks_like_missing
from tenantprobe.probe import Exchange, Probe
from tenantprobe.references import Request, own_request, references
from tenantprobe.target import SeededObject, SeededTenant, Target


def tenant_operations(target: Target) -> list[Operation]:
    return [op for op in target.api.with_path_params() if not target.is_platform_operation(op.path)]


def missing_bindings(op: Operation, bindings: dict[str, str]) -> dict[str, str]:
    """The same bindings with the deepest parameter pointing at an id that exists nowhere."""
    deepest = op.path_params[-1]
    return {**bindings, deepest: missing_like(bindings[deepest])}


def creator_for(target: Target, op: Operation) -> Creator | None:
    return next((c for c in target.api.creators() if c.item_path == op.path), None)


def judge_existence(
    target: Target, probe: Probe, attack: Exchange, missing: Exchange, positive: Exchange, ids: list[str], pair: Pair
) -> None:
    """A refused foreign id must answer exactly as a missing one; what differs between two missing reads is noise."""
    if attack.ok:
        return  # a leak, judged by the cross-tenant control; existence is moot
    same = looks_like_missing(attack, missing, ids)
    if not same:
        again = probe.request(
            missing.actor, missing.method, missing.url, json_body=missing.request_body, headers=missing.request_headers
        )
        same = looks_like_missing(attack, missing, ids, again)
    probe.judge(
        "API-EXISTENCE-ORACLE",
        attack,
        positive=positive,
        leaked=not same,
        summary=f"{attack.target}: a foreign id answers {attack.status}, a missing id {missing.status}",
        exchanges=[attack, missing],
        **pair,
    )


Pair = dict[str, Any]


def victim_unreadable(probe: Probe, baseline: Exchange, controls: tuple[str, ...], pair: Pair) -> bool:
    """The victim's own request failed: its object cannot be addressed, so nothing can be judged."""
    if baseline.ok and not baseline.unreadable:
        return False
    why = baseline.unreadable or f"{baseline.target} answered {baseline.outcome}"
    for control in controls:
        probe.inconclusive(control, f"the victim's own request: {why}", **pair)
    return True


@pytest.mark.attack("path-ids")
@pytest.mark.controls("API-CROSS-TENANT-READ", "API-EXISTENCE-ORACLE")
def test_foreign_reads_look_like_missing(target: Target, pairs: list[tuple[Any, Any]], probe: Probe) -> None:
    reads = [op for op in tenant_operations(target) if op.method == "GET"]
    for op in reads:
        for attacker, victim in pairs:
            if not set(op.path_params) <= set(victim.bindings) or not set(op.path_params) <= set(attacker.bindings):
                probe.skip_operation(op.key, "no seeded object to address")
                continue
            pair = {"attacker": attacker.slug, "victim": victim.slug}
            params = op.required_query(victim.objects[0].canary if victim.objects else "x")
            url = op.url(victim.bindings)
            baseline = probe.request(target.owner(victim), "GET", url, params=params)
            if victim_unreadable(probe, baseline, ("API-CROSS-TENANT-READ", "API-EXISTENCE-ORACLE"), pair):
                continue
            positive = probe.request(target.owner(attacker), "GET", op.url(attacker.bindings), params=params)
            foreign = probe.request(target.owner(attacker), "GET", url, params=params)
            missing = probe.request(
                target.owner(attacker), "GET", op.url(missing_bindings(op, victim.bindings)), params=params
            )
            probe.judge(
                "API-CROSS-TENANT-READ",
                foreign,
                positive=positive,
                leaked=foreign.ok,
                summary=f"{attacker.slug} read {victim.slug}'s object: {op.key} answered {foreign.status}",
                exchanges=[baseline, foreign],
                **pair,
            )
            ids = [*victim.bindings.values(), missing.url.rsplit("/", 1)[-1]]
            judge_existence(target, probe, foreign, missing, positive, ids, pair)
            judge_conditional_existence(target, probe, baseline, missing, positive, ids, pair)


def judge_conditional_existence(
    target: Target, probe: Probe, baseline: Exchange, missing: Exchange, positive: Exchange, ids: list[str], pair: Pair
) -> None:
    """The victim's validators (``ETag``, ``Last-Modified``) sent by the attacker with the foreign and a missing id.

    A ``304 Not Modified`` for the foreign id alone says the object exists and is unchanged:
    a conditional fast path that runs before the tenant check.
    """
    validators = {
        "If-None-Match": baseline.response_headers.get("etag"),
        "If-Modified-Since": baseline.response_headers.get("last-modified"),
    }
    headers = {name: value for name, value in validators.items() if value}
    if not headers:
        return  # the target sends no validators: nothing to make conditional
    foreign = probe.request(positive.actor, "GET", baseline.url, headers=headers)
    absent = probe.request(positive.actor, "GET", missing.url, headers=headers)
    judge_existence(target, probe, foreign, absent, positive, ids, pair)


def snapshot(target: Target, probe: Probe, victim: SeededTenant, obj: SeededObject) -> tuple[Exchange, ...]:
    """Two back-to-back reads of the victim's object by id and of its collection, as its owner sees them.

    Both reads, because a cached item read can hide a write that the collection shows; twice,
    so that what changes on its own (timestamps, view counters) is not taken for an attack.
    """
    reads: list[tuple[str, dict[str, Any] | None]] = []
    item = target.api.find("GET", obj.creator.item_path)
    if item is not None:
        # An RPC-style read takes the id in its query (``GET /runs/get?run_id=``): the object's own references.
        params = own_request(Request({}, {}, None), references(target.api, item), obj.bindings).params
        reads.append((item.url(obj.bindings), dict(params) or None))
    if not obj.creator.linked:  # an RPC-style create's path (``POST /runs/create``) lists nothing
        reads.append((obj.creator.operation.url(obj.bindings), None))
    owner = target.owner(victim)
    return tuple(probe.request(owner, "GET", url, params=params) for url, params in reads for _ in range(2))


def changes(before: tuple[Exchange, ...], after: tuple[Exchange, ...]) -> dict[str, Any]:
    """What the victim sees differently after the attack, per URL (volatile keys learned and ignored)."""
    found: dict[str, Any] = {}
    for index in range(0, len(before), 2):
        changed = changed_by_others((before[index], before[index + 1]), (after[index], after[index + 1]))
        if changed:
            found[before[index].target] = changed
    return found


def fresh_objects(
    target: Target, probe: Probe, op: Operation, creator: Creator, attacker: SeededTenant, victim: SeededTenant
) -> tuple[SeededObject, SeededObject] | None:
    """A new object of the victim's and one of the attacker's, for an attack that may change or delete them."""
    obj = target.create(victim, creator, target.owner(victim), probe)
    own = target.create(attacker, creator, target.owner(attacker), probe)
    if isinstance(obj, str) or isinstance(own, str):
        probe.skip_operation(op.key, obj if isinstance(obj, str) else str(own))
        return None
    return obj, own


class ArmedWrite(NamedTuple):
    """A write attack made ready: fresh objects, the attacker's canary in the body, the victim's view before.

    The positive control (the same write on the attacker's own object) is already sent: it goes first, so
    that its effect cannot show up in the victim's snapshots.
    """

    obj: SeededObject
    own: SeededObject
    canary: str
    body: Any
    positive: Exchange
    before: tuple[Exchange, ...]


def arm_write(
    target: Target, probe: Probe, op: Operation, creator: Creator, attacker: SeededTenant, victim: SeededTenant
) -> ArmedWrite | None:
    """Fresh objects on both sides (a successful attack spoils nothing else), or None when they cannot be made."""
    fresh = fresh_objects(target, probe, op, creator, attacker, victim)
    if fresh is None:
        return None
    obj, own = fresh
    canary = target.canaries.issue(attacker.slug)
    body = valid_body(op.body_schema, canary) if op.body_schema else None
    positive = probe.request(target.owner(attacker), op.method, op.url(own.bindings), json_body=body)
    return ArmedWrite(obj, own, canary, body, positive, snapshot(target, probe, victim, obj))


@pytest.mark.attack("path-ids")
@pytest.mark.controls("API-CROSS-TENANT-WRITE", "API-EXISTENCE-ORACLE")
def test_foreign_writes_change_nothing(target: Target, pairs: list[tuple[Any, Any]], probe: Probe) -> None:
    writes = [op for op in tenant_operations(target) if op.method in ("PUT", "PATCH", "DELETE") and op.addresses_item]
    for op in writes:
        creator = creator_for(target, op)
        if creator is None:
            probe.skip_operation(op.key, "no operation creates its objects")
            continue
        for attacker, victim in pairs:
            pair = {"attacker": attacker.slug, "victim": victim.slug}
            armed = arm_write(target, probe, op, creator, attacker, victim)
            if armed is None:
                continue
            obj, _, canary, body, positive, before = armed
            attack = probe.request(target.owner(attacker), op.method, op.url(obj.bindings), json_body=body)
            missing = probe.request(
                target.owner(attacker), op.method, op.url(missing_bindings(op, obj.bindings)), json_body=body
            )
            after = snapshot(target, probe, victim, obj)
            changed = changes(before, after)
            planted = any(canary in exchange.text for exchange in after)
            probe.judge(
                "API-CROSS-TENANT-WRITE",
                attack,
                positive=positive,
                leaked=attack.ok or bool(changed) or planted,
                summary=f"{attacker.slug} {op.method} on {victim.slug}'s object answered {attack.status}; "
                + (f"the victim now sees changes: {sorted(changed)}" if changed or planted else "object unchanged"),
                exchanges=[positive, attack, *after[::2]],
                views=[*before, *after],
                **pair,
            )
            ids = [*obj.bindings.values(), missing.url.rsplit("/", 1)[-1]]
            judge_existence(target, probe, attack, missing, positive, ids, pair)


def judge_nested_write(
    target: Target, probe: Probe, op: Operation, attacker: SeededTenant, victim: SeededTenant
) -> None:
    """The victim's child addressed under the attacker's own parent: the handler must check the child's parent.

    Fresh objects on both sides; the positive control is the same write on the attacker's own child.
    """
    creator = creator_for(target, op)
    if creator is None:
        probe.skip_operation(op.key, "no operation creates its objects")
        return
    armed = arm_write(target, probe, op, creator, attacker, victim)
    if armed is None:
        return
    obj, own, canary, body, positive, before = armed
    child = op.path_params[-1]
    mixed = {**{p: own.bindings[p] for p in op.path_params[:-1]}, child: obj.bindings[child]}
    attack = probe.request(target.owner(attacker), op.method, op.url(mixed), json_body=body)
    # A child that exists nowhere, under the same parent: where it succeeds too (MLflow answers 200 to a DELETE of
    # any assessment id under one's own trace), a success says nothing; the victim's re-read still judges the effect.
    missing = probe.request(
        target.owner(attacker), op.method, op.url({**mixed, child: missing_like(mixed[child])}), json_body=body
    )
    after = snapshot(target, probe, victim, obj)
    changed = changes(before, after)
    probe.judge(
        "API-NESTED-PARENT",
        attack,
        positive=positive,
        leaked=(attack.ok and not missing.ok) or bool(changed) or any(canary in exchange.text for exchange in after),
        summary=f"{op.key}: {victim.slug}'s child under {attacker.slug}'s parent answered {attack.status}"
        + (f" (a missing child {missing.status})" if missing.ok else "")
        + (f"; the victim now sees changes: {sorted(changed)}" if changed else ""),
        exchanges=[positive, attack, missing, *after[::2]],
        views=[*before, *after],
        attacker=attacker.slug,
        victim=victim.slug,
    )


@pytest.mark.attack("path-ids")
@pytest.mark.controls("API-NESTED-PARENT")
def test_nested_resources_check_the_parent(target: Target, pairs: list[tuple[Any, Any]], probe: Probe) -> None:
    nested = [op for op in tenant_operations(target) if len(op.path_params) >= 2 and op.method == "GET"]
    nested_writes = [
        op
        for op in tenant_operations(target)
        if len(op.path_params) >= 2 and op.method in ("PUT", "PATCH", "DELETE") and op.addresses_item
    ]
    creators = [c for c in target.api.creators() if c.depth >= 1 and not target.is_platform_operation(c.item_path)]
    if not nested and not creators:
        probe.not_assessed("API-NESTED-PARENT", "the API has no nested resources (no path with two or more ids)")
    for attacker, victim in pairs:
        pair = {"attacker": attacker.slug, "victim": victim.slug}
        for op in nested:
            params = op.path_params
            if not (set(params) <= set(victim.bindings) and set(params) <= set(attacker.bindings)):
                probe.skip_operation(op.key, "no seeded objects to mix")
                continue
            parent, child = params[:-1], params[-1]
            positive = probe.request(target.owner(attacker), "GET", op.url(attacker.bindings))
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
                exchange = probe.request(target.owner(attacker), "GET", op.url(bindings))
                # An item that opens under a mixed path is the leak; a list under one may be rightly empty (the
                # app filters by both ids), so there only what it shows of the victim's counts.
                leaked = exchange.ok and (op.addresses_item or bool(shown_marks(exchange, victim)))
                probe.judge(
                    "API-NESTED-PARENT",
                    exchange,
                    positive=positive,
                    leaked=leaked,
                    summary=f"{op.key}: {description} answered {exchange.status}",
                    **pair,
                )
        for op in nested_writes:
            judge_nested_write(target, probe, op, attacker, victim)
        for creator in creators:
            try:
                path = creator.operation.url(victim.bindings)
                own_path = creator.operation.url(attacker.bindings)
            except KeyError:
                probe.skip_operation(creator.operation.key, "a tenant has no parent object")
                continue
            canary = target.canaries.issue(attacker.slug)
            body = valid_body(creator.operation.body_schema, canary)
            positive = probe.request(target.owner(attacker), "POST", own_path, json_body=body)
            attack = probe.request(target.owner(attacker), "POST", path, json_body=body)
            listing = probe.request(target.owner(victim), "GET", path)
            probe.judge(
                "API-NESTED-PARENT",
                attack,
                positive=positive,
                leaked=attack.ok or canary in listing.text,
                summary=f"{attacker.slug} created under {victim.slug}'s parent: POST {creator.operation.path} "
                f"answered {attack.status}",
                exchanges=[attack, listing],
                **pair,
            )


def shown_marks(exchange: Exchange, victim: SeededTenant) -> list[str]:
    """The victim's distinctive ids and canaries in an answer, less those the request itself named."""
    marks = distinctive_ids(victim) + [obj.canary for obj in victim.objects]
    return [mark for mark in marks if mark in exchange.text and mark not in exchange.url]


def collection_reads(target: Target) -> list[Operation]:
    return [op for op in target.api.collection_reads() if op.secured and not target.is_platform_operation(op.path)]


def distinctive_ids(tenant: SeededTenant) -> list[str]:
    """Ids long enough that finding one in a response means something (``7`` is in every body)."""
    return [obj.id for obj in tenant.objects if len(obj.id) >= 8]


@pytest.mark.attack("lists")
@pytest.mark.controls("API-LIST-FILTER")
def test_collections_show_only_own_objects(target: Target, pairs: list[tuple[Any, Any]], probe: Probe) -> None:
    reads = collection_reads(target) + [
        op for op in tenant_operations(target) if op.method == "GET" and not op.addresses_item
    ]
    reads += [op for op in target.api.search_reads() if op.secured and not target.is_platform_operation(op.path)]
    for attacker, victim in pairs:
        victim_marks = distinctive_ids(victim) + [obj.canary for obj in victim.objects]
        for op in reads:
            bindings = attacker.bindings  # the attacker's own collections, searched for the victim's words
            if not set(op.path_params) <= set(bindings):
                probe.skip_operation(op.key, "no seeded object to address")
                continue
            for obj in victim.objects[:3]:
                # A search form with no filter (``{}``): what it lists unasked must be the attacker's own.
                body = valid_body(op.body_schema, obj.canary, optional=False) if op.body_schema else None
                exchange = probe.request(
                    target.owner(attacker),
                    op.method,
                    op.url(bindings),
                    params=target.own_query(attacker, op, obj.canary),
                    json_body=body,
                    reads=op.reads,
                )
                pair = {"attacker": attacker.slug, "victim": victim.slug}
                if not exchange.ok:
                    probe.inconclusive("API-LIST-FILTER", f"{exchange.target} answered {exchange.outcome}", **pair)
                    continue
                leaked = [mark for mark in victim_marks if mark in exchange.text]
                probe.check(
                    "API-LIST-FILTER",
                    not leaked,
                    f"{op.key} as {attacker.slug} shows {len(leaked)} of {victim.slug}'s ids or canaries",
                    [exchange],
                    **pair,
                )


@pytest.mark.attack("lists")
@pytest.mark.controls("API-COUNT-LEAK")
def test_collections_do_not_reflect_other_tenants_writes(
    target: Target, pairs: list[tuple[Any, Any]], probe: Probe
) -> None:
    creators = [c for c in target.api.creators() if not target.is_platform_operation(c.item_path)]
    for attacker, victim in pairs:
        pair = {"attacker": attacker.slug, "victim": victim.slug}
        looker = target.owner(attacker)
        reads = target.own_reads(attacker.bindings)
        before = {op.key: (probe.request(looker, "GET", url), probe.request(looker, "GET", url)) for op, url in reads}
        made = [target.create(victim, creator, target.owner(victim), probe) for creator in creators]
        written = [obj for obj in made if not isinstance(obj, str)]
        for op, url in reads:
            after = (probe.request(looker, "GET", url), probe.request(looker, "GET", url))
            failed = next((e for e in (*before[op.key], *after) if not e.ok), None)
            if failed is not None or not any(written):
                reason = (
                    f"{failed.target} answered {failed.outcome}"
                    if failed is not None
                    else f"none of {victim.slug}'s writes succeeded: nothing could show"
                )
                probe.inconclusive("API-COUNT-LEAK", reason, **pair)
                continue
            changed = changed_by_others(before[op.key], after)
            probe.check(
                "API-COUNT-LEAK",
                not changed,
                f"{op.key} as {attacker.slug} changed when only {victim.slug} wrote: {sorted(changed)[:5]}",
                [before[op.key][1], after[0]],
                **pair,
                expected="unchanged",
                actual=changed,
            )


@pytest.mark.attack("user-state")
@pytest.mark.controls("APP-CACHE-TENANT-KEY")
def test_same_request_never_served_from_another_tenants_cache(
    target: Target, pairs: list[tuple[Any, Any]], probe: Probe
) -> None:
    """Cold, warm, repeat: what the attacker gets after the victim warmed a URL must equal what it got before.

    Item reads use objects created just now, so no earlier check has warmed their URLs.
    """
    item_reads = [op for op in tenant_operations(target) if op.method == "GET" and op.addresses_item]
    for attacker, victim in pairs:
        pair = {"attacker": attacker.slug, "victim": victim.slug}
        urls: list[str] = []
        for op in item_reads:
            creator = creator_for(target, op)
            obj = target.create(victim, creator, target.owner(victim), probe) if creator else "no operation creates it"
            if isinstance(obj, str):
                probe.skip_operation(op.key, f"no fresh victim object: {obj}")
                continue
            urls.append(op.url(obj.bindings))
        urls += [op.path for op in collection_reads(target) if not any(q.required for q in op.query)]
        for url in urls:
            cold = probe.request(target.owner(attacker), "GET", url)
            warm = probe.request(target.owner(victim), "GET", url)
            repeat = probe.request(target.owner(attacker), "GET", url)
            unusable = next((e for e in (cold, repeat) if e.status == 429 or e.status >= 500), None)
            if not warm.ok or unusable is not None:
                shown = unusable if unusable is not None else warm
                probe.inconclusive("APP-CACHE-TENANT-KEY", f"{shown.target} answered {shown.outcome}", **pair)
                continue
            served_victims = repeat.text == warm.text and repeat.text != cold.text
            probe.check(
                "APP-CACHE-TENANT-KEY",
                not served_victims,
                f"GET {url}: after {victim.slug} read it, {attacker.slug} received {victim.slug}'s response",
                [cold, warm, repeat],
                **pair,
            )
