"""Sending generated cases as tenant actors, attacking with another tenant's ids, and keeping score.

A :class:`Fuzzer` belongs to one check. It sends every case through schemathesis (so the
built-in checks see exactly what was sent), judges the response with :mod:`suites.fuzz.oracles`,
and adds the cross-tenant judgements: a case that carries a victim's ids must be refused, the
refusal must look like the answer for an id that exists nowhere, and a refused write must leave
the victim's object as it was. Results go to the check's :class:`~tenantprobe.probe.Probe`:
passes as they happen, findings once Hypothesis has shrunk them.
"""

from __future__ import annotations

import json
import posixpath
import re
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx
import requests
from schemathesis import Case, Response

from suites.fuzz.aliases import AnyCase
from suites.fuzz.budget import FuzzProfile
from suites.fuzz.campaign import Campaign
from suites.fuzz.exchanges import FuzzExchange, from_response
from suites.fuzz.oracles import (
    EXISTENCE,
    MASS_ASSIGNMENT,
    NESTED,
    READ,
    WRITE,
    Finding,
    Provenance,
    Verdict,
    builtin,
    foreign_markers,
    hygiene,
)
from tenantprobe.oracles import looks_like_missing
from tenantprobe.probe import Actor, Exchange, Probe
from tenantprobe.target import SeededTenant, Target

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_PATH_PARAMETER = re.compile(r"\{([^}]+)\}")
_ECHO_CHARS = 20_000


@dataclass
class Snapshot:
    """A victim's view of one object: what its owner reads before and after an attack."""

    state: Any
    exchange: Exchange


class Fuzzer:
    def __init__(self, target: Target, profile: FuzzProfile, campaign: Campaign, probe: Probe) -> None:
        self.target = target
        self.profile = profile
        self.campaign = campaign
        self.probe = probe
        self.session = requests.Session()
        self.provenance = Provenance()
        self.echoes: list[str] = []  # what the run sent: text read back later is not a leak
        self.auth_probes: Counter[str] = Counter()
        self.tenant_column = target.profile.database.tenant_column if target.profile.database else "tenant_id"

    def close(self) -> None:
        self.session.close()

    def adopt(self, tenant: SeededTenant) -> None:
        """Ids a seeded tenant owns: seen by anyone else, they are a leak."""
        self.provenance.register(tenant.slug, [tenant.ref.id, *tenant.bindings.values()])
        self.provenance.register(tenant.slug, [obj.id for obj in tenant.objects])

    # ------------------------------------------------------------------ sending and judging
    def transport(self, actor: Actor) -> dict[str, Any]:
        """How a case is sent: to the profile's base URL only, never following a redirect (another origin would
        get the actor's credentials), within the profile's timeout."""
        return {
            "base_url": self.target.base_url,
            "session": self.session,
            "headers": actor.headers(),
            "allow_redirects": False,
            "timeout": self.target.profile.request_timeout_seconds,
        }

    def send(self, case: AnyCase, actor: Actor) -> tuple[Response, FuzzExchange]:
        response = case.call(**self.transport(actor))
        exchange = from_response(actor, response)
        self.campaign.requests += 1
        self.probe.exchanges += 1  # every response the oracles scan counts for the canary record
        if response.status_code >= 500 and str(response.status_code) not in _documented(case):
            self.campaign.server_errors += 1
        self.echoes.append(exchange.sent_text[:_ECHO_CHARS])
        return response, exchange

    def judge(self, case: AnyCase, response: Response, exchange: FuzzExchange) -> Verdict:
        label = case.operation.label
        auth_probe = (
            exchange.ok and exchange.actor.token is not None and self.auth_probes[label] < self.profile.auth_probes
        )
        if auth_probe:
            self.auth_probes[label] += 1
        verdict = builtin(case, response, exchange, self.transport(exchange.actor), auth_probe=auth_probe)
        collection = case.method.upper() == "GET" and not case.path.rstrip("/").endswith("}")
        verdict.extend(foreign_markers(exchange, self.target.canaries, self.provenance, collection=collection))
        verdict.extend(hygiene(exchange, self.echoes))
        return verdict

    def remember(self, exchange: FuzzExchange) -> None:
        """Ids in a tenant's successful writes are that tenant's (registered after judging, never before).

        Only writes: what a tenant creates is certainly its own, while a read may also show ids that
        are shared by design (a plan, a catalogue entry), which must not count as anyone's.
        """
        if exchange.ok and exchange.actor.tenant is not None and exchange.method.upper() not in SAFE_METHODS:
            self.provenance.register_body(exchange.actor.tenant.slug, exchange.text)
            body = exchange.json()
            if isinstance(body, dict) and isinstance(body.get("id"), str | int) and not isinstance(body["id"], bool):
                # the object written, of any id type: a short one counts only under the path it lives under
                path = httpx.URL(exchange.url).path
                self.target.canaries.remember_id(str(body["id"]), exchange.actor.tenant.slug, path)

    def plain(self, case: AnyCase, actor: Actor) -> tuple[Verdict, FuzzExchange]:
        response, exchange = self.send(case, actor)
        return self.judge(case, response, exchange), exchange

    # ------------------------------------------------------------------ cross-tenant
    def attack(
        self, case: AnyCase, attacker: Actor, victim: Actor, foreign: dict[str, str], victim_url: str | None
    ) -> tuple[Verdict, FuzzExchange]:
        """``case`` as ``attacker``, its path parameters ``foreign`` holding ``victim``'s ids.

        ``victim_url`` is where the victim reads the object the case addresses: a refused write
        must leave it as it was (None when the case addresses no object of the victim's).
        """
        assert attacker.tenant is not None
        assert victim.tenant is not None
        pair = {"attacker": attacker.tenant.slug, "victim": victim.tenant.slug}
        method = case.method.upper()
        control = attack_control(case.path, method, foreign)
        if method in SAFE_METHODS:
            before = None
            if victim_url is not None:  # the owner reads first: a cache keyed without the tenant then answers
                self.target.client.send(victim, "GET", victim_url)
                self.campaign.requests += 1
        else:
            before = None if victim_url is None else self.snapshot(case.path, victim_url, victim)
        response, exchange = self.send(case, attacker)
        verdict = self.judge(case, response, exchange)
        verdict.check(
            not exchange.ok,
            Finding(
                control,
                f"{attacker.name} {method} {case.formatted_path} with {victim.tenant.slug}'s ids answered "
                f"{exchange.status}",
                [exchange],
                **pair,
            ),
        )
        if not exchange.ok:
            fresh = {name: str(uuid.uuid4()) for name in foreign}
            # As the same caller the server saw: negative cases may have dropped the credentials.
            _, missing = self.send(with_path_parameters(case, fresh), exchange.actor)
            verdict.check(
                looks_like_missing(exchange, missing, [*foreign.values(), *fresh.values()]),
                Finding(
                    EXISTENCE,
                    f"{case.operation.label}: a foreign id answers {exchange.status}, a missing id {missing.status}",
                    [exchange, missing],
                    **pair,
                ),
            )
        if before is not None and victim_url is not None:
            after = self.snapshot(case.path, victim_url, victim)
            verdict.check(
                after is not None and after.state == before.state,
                Finding(
                    control if control == NESTED else WRITE,
                    f"{attacker.name} {method} {case.formatted_path} changed {victim.tenant.slug}'s {victim_url} "
                    f"(answered {exchange.status})",
                    [exchange, *([after.exchange] if after else [])],
                    **pair,
                    expected=before.state,
                    actual=after.state if after else None,
                ),
            )
        return verdict, exchange

    def snapshot(self, template: str, url: str, owner: Actor) -> Snapshot | None:
        """The owner's views of what a write addresses: the item itself and its entry in the parent collection.

        Both, because an item read may be served from a cache that a foreign write does not
        invalidate: the collection read shows what the database holds.
        """
        if self.target.is_platform_operation(template):
            return None
        views: list[tuple[Any, Exchange]] = []
        if self.target.api.find("GET", template) is not None:
            views.append(self._view(url, owner, None))
        parent_template = template.rstrip("/").rpartition("/")[0]
        parent_url, _, item_id = url.rstrip("/").rpartition("/")
        parent = self.target.api.find("GET", parent_template)
        if template.rstrip("/").endswith("}") and parent is not None and not any(q.required for q in parent.query):
            views.append(self._view(parent_url, owner, item_id))
        if not views:
            return None
        return Snapshot(tuple(state for state, _ in views), views[-1][1])

    def _view(self, url: str, owner: Actor, item_id: str | None) -> tuple[Any, Exchange]:
        exchange = self.target.client.send(owner, "GET", url)
        self.campaign.requests += 1
        body = exchange.json()
        if item_id is None:
            return (exchange.status, body if body is not None else exchange.text), exchange
        entries = [entry for entry in _objects(body) if str(entry.get("id")) == item_id]
        return (exchange.status, entries or item_id in exchange.text), exchange

    def planted(self, case: AnyCase, exchange: FuzzExchange, victim: SeededTenant) -> Verdict:
        """A write whose body named the victim tenant must not create or move anything into the victim's tenant."""
        verdict = Verdict()
        actor = exchange.actor
        pair = {"attacker": actor.tenant.slug if actor.tenant else actor.name, "victim": victim.slug}
        item_url = self._written_item(case, exchange) if exchange.ok else None
        if item_url is None:
            verdict.check(True, Finding(MASS_ASSIGNMENT, "", [], **pair))
            return verdict
        seen = self.target.client.send(self.target.actor(victim.ref, self.target.profile.highest_role), "GET", item_url)
        self.campaign.requests += 1
        verdict.check(
            not seen.ok,
            Finding(
                MASS_ASSIGNMENT,
                f"{actor.name} {case.method.upper()} {case.formatted_path} with {self.tenant_column}={victim.ref.id} "
                f"answered {exchange.status} and {victim.slug} can read the object at {item_url}",
                [exchange, seen],
                **pair,
            ),
        )
        return verdict

    def _written_item(self, case: AnyCase, exchange: FuzzExchange) -> str | None:
        created = exchange.json()
        for creator in self.target.api.creators():
            if creator.operation.path == case.path and case.method.upper() == "POST":
                if not isinstance(created, dict) or not isinstance(created.get("id"), str):
                    return None
                item = self.target.api.find("GET", creator.item_path)
                bindings = {**{k: str(v) for k, v in case.path_parameters.items()}, creator.id_param: created["id"]}
                return item.url(bindings) if item is not None else None
        if self.target.api.find("GET", case.path) is not None and case.path.rstrip("/").endswith("}"):
            return case.formatted_path
        return None

    # ------------------------------------------------------------------ stateless cases
    def execute(
        self, case: AnyCase, actor: Actor, own: SeededTenant, victim: SeededTenant, ids: str, twist: str = ""
    ) -> Verdict:
        """One stateless case: ``ids`` says whose ids fill the path; ``twist`` puts the victim's tenant in the
        body (``tenant-in-body``), sends the case twice (``repeated``) or puts the victim's canaries in the
        query strings (``victim-terms``)."""
        names = list(_PATH_PARAMETER.findall(case.path))
        owners = {  # whose id goes into each path parameter
            "own": {n: own for n in names},
            "foreign": {n: victim for n in names},
            "foreign-child": {**{n: own for n in names[:-1]}, **{n: victim for n in names[-1:]}},
            "foreign-parent": {**{n: victim for n in names[:-1]}, **{n: own for n in names[-1:]}},
        }.get(ids, {})
        case.path_parameters = {**case.path_parameters, **{n: t.bindings[n] for n, t in owners.items()}}
        foreign = {n: victim.bindings[n] for n, t in owners.items() if t is victim}
        if twist == "tenant-in-body" and isinstance(case.body, dict):
            case.body = {**case.body, self.tenant_column: victim.ref.id}
        if twist == "victim-terms":
            case.query = {**case.query, **{name: victim_words(victim, case.path) for name in _string_query(case)}}
        if foreign:
            victim_actor = self.target.actor(victim.ref, self.target.profile.highest_role)
            # The victim reads its object with its own parents; an own child under its parent is not its object.
            victim_url = fill(case.path, victim.bindings) if ids in ("foreign", "foreign-child") else None
            verdict, exchange = self.attack(case, actor, victim_actor, foreign, victim_url)
        else:
            verdict, exchange = self.plain(case, actor)
        if twist == "repeated":
            self.remember(exchange)
            again, exchange = self.plain(case, actor)
            verdict.extend(again)
        if twist == "tenant-in-body":
            verdict.extend(self.planted(case, exchange, victim))
        self.remember(exchange)
        return verdict

    # ------------------------------------------------------------------ results
    def record_passes(self, verdict: Verdict) -> None:
        for control, attacker, victim in verdict.passed:
            self.probe.check(control, True, "", attacker=attacker, victim=victim)

    def record_findings(self, verdict: Verdict, note: str) -> None:
        for finding in verdict.findings:
            self.campaign.findings += 1
            self.probe.check(
                finding.control,
                False,
                f"{finding.summary} [{note}]",
                [*verdict.history, *finding.exchanges],
                attacker=finding.attacker,
                victim=finding.victim,
                expected=finding.expected,
                actual=finding.actual,
            )


def with_path_parameters(case: AnyCase, values: dict[str, str]) -> AnyCase:
    """A copy of ``case`` with some path parameters replaced (no generation metadata: it is not generated)."""
    return Case(
        operation=case.operation,
        method=case.method,
        path=case.path,
        path_parameters={**case.path_parameters, **values},
        headers=case.headers.copy(),
        cookies=dict(case.cookies),
        query=dict(case.query),
        body=case.body,
        media_type=case.media_type,
    )


def _documented(case: AnyCase) -> set[str]:
    responses = case.operation.definition.raw.get("responses", {})
    return {str(code) for code in responses} | ({"500"} if "default" in responses else set())


def _string_query(case: AnyCase) -> list[str]:
    """The case's query parameters that take strings."""
    parameters = case.operation.definition.raw.get("parameters", [])
    return [p["name"] for p in parameters if p.get("in") == "query" and '"string"' in json.dumps(p.get("schema", {}))]


def victim_words(victim: SeededTenant, path: str) -> str:
    """A canary of the victim object most related to ``path`` (the longest shared path prefix)."""
    if not victim.objects:
        return victim.slug
    return max(victim.objects, key=lambda obj: len(posixpath.commonpath([obj.creator.operation.path, path]))).canary


def _objects(value: Any) -> list[dict[str, Any]]:
    """Every JSON object nested in ``value``."""
    if isinstance(value, dict):
        return [value, *(found for item in value.values() for found in _objects(item))]
    if isinstance(value, list):
        return [found for item in value for found in _objects(item)]
    return []


def fill(template: str, bindings: dict[str, str]) -> str:
    return _PATH_PARAMETER.sub(lambda match: bindings[match.group(1)], template)


def attack_control(template: str, method: str, foreign: dict[str, str]) -> str:
    """The control a case with foreign ids tests: another tenant's object by its full path is a plain
    cross-tenant read or write; anything under another tenant's parent, or mixing two tenants' ids,
    is the nested-resource check."""
    names = _PATH_PARAMETER.findall(template)
    if template.rstrip("/").endswith("}") and set(foreign) == set(names):
        return READ if method in SAFE_METHODS else WRITE
    return NESTED


def id_sources(template: str, own: SeededTenant, victim: SeededTenant) -> list[str]:
    """Whose ids a stateless case may put in its path: generated ones always, real ones where seeded."""
    names = _PATH_PARAMETER.findall(template)
    if not names:
        return ["generated"]
    sources = ["generated"]
    if all(n in own.bindings for n in names):
        sources.append("own")
    if all(n in victim.bindings for n in names):
        sources.append("foreign")
    if len(names) >= 2 and all(n in own.bindings for n in names) and all(n in victim.bindings for n in names):
        sources += ["foreign-child", "foreign-parent"]
    return sources
