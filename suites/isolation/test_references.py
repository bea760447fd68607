"""Attacks beyond the path: references in queries, headers and bodies, actions, side effects, derived reads.

Every attack first sends the same request with the attacker's own objects (the positive
control). Writes and actions are followed by the victim re-reading its object and collection
twice (what varies between two identical reads is learned first and ignored), and by the
attacker re-reading its own collections, whose responses the canary oracle scans, decoded.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from suites.isolation.test_cross_tenant import changes, distinctive_ids, fresh_objects, snapshot
from tenantprobe.formats import decoded_views
from tenantprobe.objects import missing_like
from tenantprobe.openapi import Creator, Operation, QueryParam, valid_body
from tenantprobe.pagination import passed_back, smallest_page
from tenantprobe.probe import Exchange, Probe
from tenantprobe.references import Reference, Request, own_request, references
from tenantprobe.target import SeededObject, SeededTenant, Target

MAX_ENUM_VALUES = 5


def tenant_scope(target: Target) -> list[Operation]:
    return [op for op in target.api.operations if op.secured and not target.is_platform_operation(op.path)]


def is_collection_read(op: Operation) -> bool:
    return op.method == "GET" and not op.addresses_item


def reads_one_by_reference(op: Operation, refs: list[Reference]) -> bool:
    """A GET that takes the object it reads in a required query parameter (``GET /runs/get?run_id=``, RPC style):
    an item read, attacked with the victim's id like any other reference, not a collection filtered by it."""
    required = {q.name for q in op.query if q.required}
    return op.method == "GET" and any(ref.where == "query" and ref.path[0] in required for ref in refs)


def creator_of(target: Target, kind: str, path: str | None = None) -> Creator | None:
    """The operation that creates objects of ``kind`` (the one ``path`` lies under, when given)."""
    return next(
        (
            c
            for c in target.api.creators()
            if c.id_param == kind
            and not target.is_platform_operation(c.item_path)
            and (path is None or path.startswith(c.item_path))
        ),
        None,
    )


def own_values(tenant: SeededTenant, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**tenant.bindings, **(extra or {})}


def send(probe: Probe, target: Target, tenant: SeededTenant, op: Operation, url: str, request: Request) -> Exchange:
    return probe.request(
        target.owner(tenant),
        op.method,
        url,
        params=request.params or None,
        headers=request.headers or None,
        json_body=request.body,
        reads=op.reads,
    )


def base_request(target: Target, op: Operation, tenant: SeededTenant) -> Request:
    """The required query and a body with a canary; a search form's (``op.reads``) filters left out."""
    canary = target.canaries.issue(tenant.slug)
    body = valid_body(op.body_schema, canary, optional=not op.reads) if op.body_schema else None
    return Request(dict(op.required_query(canary)), {}, body)


def foreign_marks_shown(exchange: Exchange, victim: SeededTenant, target: Target) -> list[str]:
    """The victim's distinctive ids and canaries in what the attacker received, less what it sent itself, in this
    request or into its own objects earlier (an id the attacker wrote is known to it; the write is judged apart)."""
    sent = exchange.url + str(exchange.request_body) + " ".join(exchange.request_headers.values())
    planted = target.canaries.planted.get(exchange.actor.tenant.slug, set()) if exchange.actor.tenant else set()
    marks = distinctive_ids(victim) + target.canaries.of(victim.slug)
    seen = "\n".join([exchange.text, *decoded_views(exchange.content, exchange.text)])
    return [mark for mark in marks if mark in seen and mark not in sent and mark not in planted]


def judge_write(
    target: Target,
    probe: Probe,
    label: str,
    own: tuple[str, Request],
    hostile: tuple[str, Request],
    op: Operation,
    pair: tuple[SeededTenant, SeededTenant],
    watched: SeededObject,
    missing: tuple[str, Request] | None = None,
) -> None:
    """A write whose hostile part names ``watched`` (the victim's): refused, and the victim sees no change.

    ``missing``: the same write naming an object that exists nowhere. Where it succeeds too (a batch delete that
    answers ``{"deleted": 0}``), a success says nothing of the victim's object; the victim's re-read still judges.
    """
    attacker, victim = pair
    positive = send(probe, target, attacker, op, *own)
    before = snapshot(target, probe, victim, watched)
    attack = send(probe, target, attacker, op, *hostile)
    vacuous = missing is not None and send(probe, target, attacker, op, *missing).ok
    after = snapshot(target, probe, victim, watched)
    changed = changes(before, after)
    sent = json.dumps(hostile[1].body)
    planted = [m for m in target.canaries.of(attacker.slug) if m in sent and any(m in e.text for e in after)]
    probe.judge(
        "API-CROSS-TENANT-WRITE",
        attack,
        positive=positive,
        leaked=(attack.ok and not vacuous) or bool(changed) or bool(planted),
        summary=f"{attacker.slug} {op.key} with {victim.slug}'s object in {label} answered {attack.status}"
        + (" (as for an object that exists nowhere)" if vacuous else "")
        + (f"; the victim now sees changes: {sorted(changed)}" if changed else "")
        + (f"; the victim's reads show what {attacker.slug} sent" if planted else ""),
        exchanges=[positive, attack, *after[::2]],
        attacker=attacker.slug,
        victim=victim.slug,
    )


@pytest.mark.attack("references")
@pytest.mark.controls("API-CROSS-TENANT-WRITE")
def test_foreign_references_outside_the_path_are_refused(
    target: Target, pairs: list[tuple[Any, Any]], probe: Probe
) -> None:
    """One reference location at a time gets the victim's id; every other one keeps the attacker's own."""
    located = [
        (op, refs)
        for op in tenant_scope(target)
        if (refs := references(target.api, op))
        if not is_collection_read(op) or reads_one_by_reference(op, refs)
    ]
    if not located:
        probe.not_applicable("API-CROSS-TENANT-WRITE", "no operation takes an object reference outside its path")
    for attacker, victim in pairs:
        pair = {"attacker": attacker.slug, "victim": victim.slug}
        for op, refs in located:
            try:
                url = op.url(attacker.bindings)
            except KeyError as missing:
                probe.skip_operation(op.key, f"no object of the attacker binds {{{missing.args[0]}}}")
                continue
            for ref in refs:
                creator = creator_of(target, ref.kind)
                if not {ref.kind} <= set(victim.bindings) & set(attacker.bindings) or (op.mutates and creator is None):
                    probe.skip_operation(op.key, f"no object of kind {{{ref.kind}}} for {ref.label}")
                    continue
                base = base_request(target, op, attacker)
                if op.mutates and creator is not None:
                    fresh = fresh_objects(target, probe, op, creator, attacker, victim)
                    if fresh is None:
                        continue
                    obj, mine = fresh
                    own = own_request(base, refs, own_values(attacker, {ref.kind: mine.id}))
                    hostile = own.with_reference(ref, obj.id)
                    absent = (url, own.with_reference(ref, missing_like(obj.id)))
                    sides = (attacker, victim)
                    judge_write(target, probe, ref.label, (url, own), (url, hostile), op, sides, obj, absent)
                    continue
                # A search form filters by every field it is given: the reference under test alone, or its answer
                # would be empty for want of a match on the others.
                if op.reads:
                    own = base.with_reference(ref, attacker.bindings[ref.kind])
                else:
                    own = own_request(base, refs, own_values(attacker))
                positive = send(probe, target, attacker, op, url, own)
                attack = send(probe, target, attacker, op, url, own.with_reference(ref, victim.bindings[ref.kind]))
                shown = foreign_marks_shown(attack, victim, target)
                probe.judge(
                    "API-CROSS-TENANT-READ",
                    attack,
                    positive=positive,
                    leaked=bool(shown),
                    summary=f"{op.key} with {victim.slug}'s {ref.kind} in {ref.label} shows {len(shown)} of its marks",
                    exchanges=[positive, attack],
                    success_is_safe=True,
                    **pair,
                )


def action_operations(target: Target) -> list[Operation]:
    """Writes on a sub-path of one object (``POST /things/{id}/close``, ``PUT /things/{id}:transfer``), not creates."""
    creating = {c.operation.key for c in target.api.creators()}
    return [
        op
        for op in tenant_scope(target)
        if op.mutates and op.path_params and not op.addresses_item and op.key not in creating
    ]


@pytest.mark.attack("actions")
@pytest.mark.controls("API-CROSS-TENANT-WRITE")
def test_actions_on_foreign_objects_change_nothing(target: Target, pairs: list[tuple[Any, Any]], probe: Probe) -> None:
    """Each action runs on a fresh object of the attacker's, then of the victim's; then the victim re-reads."""
    actions = action_operations(target)
    if not actions:
        probe.not_applicable("API-CROSS-TENANT-WRITE", "the API has no actions on objects (POST /things/{id}/verb)")
    for attacker, victim in pairs:
        for op in actions:
            creator = creator_of(target, op.path_params[-1], op.path)
            if creator is None:
                probe.skip_operation(op.key, f"no operation creates the {{{op.path_params[-1]}}} it acts on")
                continue
            fresh = fresh_objects(target, probe, op, creator, attacker, victim)
            if fresh is None:
                continue
            obj, mine = fresh
            refs = references(target.api, op)
            own = own_request(base_request(target, op, attacker), refs, own_values(attacker, mine.bindings))
            own_url = op.url({**attacker.bindings, **mine.bindings})
            foreign_url = op.url({**victim.bindings, **obj.bindings})
            judge_write(target, probe, "the path", (own_url, own), (foreign_url, own), op, (attacker, victim), obj)
        # Whatever the actions made in the attacker's tenant: the canary oracle scans its own collections.
        for _, url in target.own_reads(attacker.bindings):
            probe.request(target.owner(attacker), "GET", url)


def hostile_values(
    param: QueryParam,
    ref: Reference | None,
    handed: tuple[dict[str, str], dict[str, str]],
    attacker: SeededTenant,
    victim: SeededTenant,
    target: Target,
) -> list[tuple[str | None, str]]:
    """``(own value, hostile value)`` for one optional parameter: the victim's cursor for one its reads
    handed back, the victim's id for a reference, the victim's canary for free text, every value of an
    enum, both booleans, the largest number. ``handed``: what the read handed the attacker and the victim."""
    own_handed, victim_handed = handed
    if param.name in own_handed and param.name in victim_handed:
        return [(own_handed[param.name], victim_handed[param.name])]
    schema = param.schema
    options = schema.get("anyOf") or [schema]
    kind = next((o.get("type") for o in options if isinstance(o, dict) and o.get("type") != "null"), "string")
    enum = next((o["enum"] for o in options if isinstance(o, dict) and "enum" in o), None)
    if ref is not None:
        if ref.kind not in attacker.bindings or ref.kind not in victim.bindings:
            return []
        return [(attacker.bindings[ref.kind], victim.bindings[ref.kind])]
    if enum:
        return [(None, str(value)) for value in enum[:MAX_ENUM_VALUES]]
    if kind == "boolean":
        return [(None, "true"), (None, "false")]
    if kind in ("integer", "number"):
        bound = next((o.get("maximum") for o in options if isinstance(o, dict) and "maximum" in o), None)
        return [(None, str(bound if bound is not None else schema.get("default", 1)))]
    if kind == "string" and not any(isinstance(o, dict) and o.get("format") for o in options):
        victim_canary = next((obj.canary for obj in victim.objects), None)
        return [(target.canaries.issue(attacker.slug), victim_canary)] if victim_canary else []
    return []


@pytest.mark.attack("lists")
@pytest.mark.controls("API-LIST-FILTER")
def test_derived_reads_with_every_filter_show_only_own_objects(
    target: Target, pairs: list[tuple[Any, Any]], probe: Probe
) -> None:
    """Collection, search, count and export reads with each optional parameter the document offers, one at a time,
    the victim's cursors included: the attacker passes back what the victim's smallest page handed it."""
    reads = [op for op in tenant_scope(target) if is_collection_read(op) and any(not q.required for q in op.query)]
    if not reads:
        probe.not_applicable("API-LIST-FILTER", "no collection read takes an optional parameter")
    handed: dict[tuple[str, str], dict[str, str]] = {}

    def handed_back(op: Operation, tenant: SeededTenant) -> dict[str, str]:
        """Cursors and page tokens ``tenant``'s smallest page of ``op`` hands back (read once per tenant).

        A tenant with one object gets no next page: one more is created where the collection takes them.
        """
        if (op.key, tenant.slug) in handed:
            return handed[op.key, tenant.slug]
        try:
            url = op.url(tenant.bindings)
        except KeyError:
            return {}
        params = {**base_request(target, op, tenant).params, **smallest_page(op)}
        creator = next((c for c in target.api.creators() if c.operation.path == op.path), None)
        for attempt in range(2):
            read = probe.request(target.owner(tenant), "GET", url, params=params)
            found = passed_back(op, read.json(), read.response_headers) if read.ok else {}
            if found or not params or creator is None or attempt:
                break
            target.create(tenant, creator, target.owner(tenant), probe)
        handed[op.key, tenant.slug] = found
        return found

    for attacker, victim in pairs:
        pair = {"attacker": attacker.slug, "victim": victim.slug}
        for op in reads:
            try:
                url = op.url(attacker.bindings)
            except KeyError as missing:
                probe.skip_operation(op.key, f"no object of the attacker binds {{{missing.args[0]}}}")
                continue
            refs = {ref.path[0]: ref for ref in references(target.api, op) if ref.where == "query"}
            base = base_request(target, op, attacker)
            cursors = (handed_back(op, attacker), handed_back(op, victim))
            for param in (q for q in op.query if not q.required):
                for own_value, hostile in hostile_values(
                    param, refs.get(param.name), cursors, attacker, victim, target
                ):
                    own_params = {**base.params, param.name: own_value} if own_value is not None else base.params
                    positive = probe.request(target.owner(attacker), "GET", url, params=own_params)
                    attack = probe.request(
                        target.owner(attacker), "GET", url, params={**base.params, param.name: hostile}
                    )
                    shown = foreign_marks_shown(attack, victim, target)
                    probe.judge(
                        "API-LIST-FILTER",
                        attack,
                        positive=positive,
                        leaked=bool(shown),
                        summary=f"{op.key}?{param.name}=<{victim.slug}'s> as {attacker.slug} shows "
                        f"{len(shown)} of {victim.slug}'s ids or canaries",
                        exchanges=[positive, attack],
                        success_is_safe=True,
                        **pair,
                    )
