"""The generic oracles, on hand-made exchanges (pure logic)."""

from __future__ import annotations

import json
from typing import Any

from tenantprobe.canaries import CanaryRegistry
from tenantprobe.oracles import changed_by_others, internal_markers, looks_like_missing
from tenantprobe.probe import Actor, Exchange


def exchange(status: int, body: Any, content_type: str = "application/json") -> Exchange:
    text = body if isinstance(body, str) else json.dumps(body)
    return Exchange(Actor("a"), "GET", "http://t/x", {}, None, status, {"content-type": content_type}, text, 1.0)


def test_foreign_looks_like_missing_only_when_identical_after_masking_ids() -> None:
    foreign = exchange(404, {"detail": "no note 111"})
    assert looks_like_missing(foreign, exchange(404, {"detail": "no note 222"}), ["111", "222"])
    assert not looks_like_missing(exchange(403, {"detail": "forbidden"}), exchange(404, {"detail": "x"}), [])
    assert not looks_like_missing(foreign, exchange(404, {"detail": "no note 222"}, "text/html"), ["111", "222"])


def test_counter_of_own_requests_is_volatile_but_other_tenants_writes_are_not() -> None:
    before = (exchange(200, {"count": 3, "mine": 1}), exchange(200, {"count": 3, "mine": 2}))
    after = (exchange(200, {"count": 4, "mine": 3}), exchange(200, {"count": 4, "mine": 4}))
    assert changed_by_others(before, after) == {"count": {"before": 3, "after": 4}}


def test_unchanged_collections_are_clean() -> None:
    snapshot = exchange(200, {"items": [{"id": 1}]})
    assert changed_by_others((snapshot, snapshot), (snapshot, snapshot)) == {}


def test_internal_markers_are_found() -> None:
    text = 'duplicate key value violates unique constraint "x"\nDETAIL:  Key (tenant_id, name)=(1, a)'
    assert internal_markers(text)
    assert internal_markers('{"title": "Conflict", "status": 409}') == []


def test_canary_registry_reports_only_foreign_canaries() -> None:
    registry = CanaryRegistry()
    mine, theirs = registry.issue("a"), registry.issue("b")
    assert registry.foreign(f"{mine} {theirs} tpcanary000000x0000000000", viewer="a") == {theirs: "b"}
