"""Tenant context: it must come from a verified token, and nothing a client adds may change it.

Valid credentials of one tenant carrying another tenant's id (in a header, a query parameter
or a body) must neither switch tenant nor leak; forged, expired or misdirected tokens, and
tokens of unknown or suspended tenants, must be refused — after a sentinel shows that the
unmodified token works, so a refusal means what it seems to.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tenantprobe import credentials
from tenantprobe.objects import missing_like
from tenantprobe.openapi import valid_body
from tenantprobe.probe import Actor, Exchange, Probe
from tenantprobe.target import SeededTenant, Target


def sentinel_operation(target: Target, tenant: SeededTenant, probe: Probe) -> tuple[str, Exchange] | None:
    """A read that the tenant's valid token is allowed, and its answer: the positive control of every refusal."""
    for _, url in target.own_reads(tenant.bindings):
        exchange = probe.request(target.owner(tenant), "GET", url)
        if exchange.status == 401:  # the cached token may have been revoked or expired early: renew once
            exchange = probe.request(target.renew(target.owner(tenant)), "GET", url)
        if exchange.ok:
            return url, exchange
    return None


NO_SENTINEL = "no secured read of the tenant's own data answers 2xx to its valid token: refusals cannot be judged"


@pytest.mark.attack("tenant-selector")
@pytest.mark.controls("API-TENANT-CONTEXT-TAMPER")
def test_tenant_hints_in_headers_and_queries_do_not_switch_tenant(
    target: Target, pairs: list[tuple[Any, Any]], probe: Probe
) -> None:
    selectors = [(where, name) for where, name in target.tenant_selectors() if where in ("header", "query")]
    for attacker, victim in pairs:
        pair = {"attacker": attacker.slug, "victim": victim.slug}
        victim_marks = [obj.id for obj in victim.objects if len(obj.id) >= 8] + [obj.canary for obj in victim.objects]
        hints: dict[str, dict[str, Any]] = {
            f"{name} {where}": {"headers" if where == "header" else "params": {name: victim.ref.id}}
            for where, name in selectors
        }
        if not victim_marks:
            probe.inconclusive("API-TENANT-CONTEXT-TAMPER", f"{victim.slug} has no seeded object to leak", **pair)
            continue
        for op, url in target.own_reads(attacker.bindings):
            plain = probe.request(target.owner(attacker), "GET", url)
            for hint, kwargs in hints.items():
                exchange = probe.request(target.owner(attacker), "GET", url, **kwargs)
                leaked = [mark for mark in victim_marks if mark in exchange.text]
                probe.judge(
                    "API-TENANT-CONTEXT-TAMPER",
                    exchange,
                    positive=plain,
                    leaked=bool(leaked),
                    summary=f"{op.key} with {victim.slug}'s id in the {hint} showed {victim.slug}'s data",
                    success_is_safe=True,
                    **pair,
                )


@pytest.mark.attack("tenant-selector")
@pytest.mark.controls("API-MASS-ASSIGNMENT", "API-TENANT-CONTEXT-TAMPER")
def test_writes_naming_another_tenant_land_in_the_callers_tenant(
    target: Target, pairs: list[tuple[Any, Any]], probe: Probe
) -> None:
    selectors = target.tenant_selectors()
    # An RPC-style create (``POST /runs/create``) has no collection at its path to read a planted object back from.
    creators = [c for c in target.api.creators() if not c.linked and not target.is_platform_operation(c.item_path)]
    for attacker, victim in pairs:
        pair = {"attacker": attacker.slug, "victim": victim.slug}
        for creator in creators:
            try:  # each tenant's own collection: the same path, or its own parents' (/users/{username}/notes)
                path, victim_path = creator.operation.url(attacker.bindings), creator.operation.url(victim.bindings)
            except KeyError:
                continue
            positive = probe.request(
                target.owner(attacker),
                "POST",
                path,
                json_body=valid_body(creator.operation.body_schema, target.canaries.issue(attacker.slug)),
            )
            # A tenant field in the body is mass assignment; a header or query selector is context tampering.
            variants = [
                (
                    "API-MASS-ASSIGNMENT" if where == "body" else "API-TENANT-CONTEXT-TAMPER",
                    f"{name} in the {where}",
                    where,
                    name,
                )
                for where, name in selectors
            ]
            for control, hint, where, name in variants:
                headers = {name: victim.ref.id} if where == "header" else {}
                params = {name: victim.ref.id} if where == "query" else {}
                extra = {name: victim.ref.id} if where == "body" else {}
                canary = target.canaries.issue(attacker.slug)
                body = valid_body(creator.operation.body_schema, canary)
                if not isinstance(body, dict):
                    continue  # not an object: no field to add
                body.update(extra)
                attempt = probe.request(
                    target.owner(attacker), "POST", path, json_body=body, headers=headers, params=params
                )
                # Planted: the victim sees the object and its author does not (an unfiltered list shows it to both).
                seen_by_victim = probe.request(target.owner(victim), "GET", victim_path)
                seen_by_author = probe.request(target.owner(attacker), "GET", path)
                planted = canary in seen_by_victim.text and canary not in seen_by_author.text
                probe.judge(
                    control,
                    attempt,
                    positive=[positive, seen_by_victim, seen_by_author],
                    leaked=planted,
                    summary=f"{attacker.slug} planted an object in {victim.slug} with {hint} "
                    f"(POST {path} answered {attempt.status})",
                    exchanges=[attempt, seen_by_victim, seen_by_author],
                    success_is_safe=True,
                    **pair,
                )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256_with_public_key(target: Target, claims: dict[str, Any]) -> str | None:
    """The HS/RS confusion attack: an HMAC keyed with the server's public key."""
    if not target.profile.auth.jwks:
        return None
    from jwt.algorithms import RSAAlgorithm

    jwks = httpx.get(target.base_url + target.profile.auth.jwks, timeout=10).json()
    key = RSAAlgorithm.from_jwk(json.dumps(jwks["keys"][0]))
    from cryptography.hazmat.primitives import serialization

    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)  # type: ignore[union-attr]
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": jwks["keys"][0].get("kid")}).encode())
    signing_input = f"{header}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest())}"


def _tenant_claim(target: Target) -> str:
    return next((k for k, v in target.profile.auth.claims.items() if v == "{tenant_id}"), "tenant_id")


MINT_ONLY = "needs a JWT the harness can sign (auth.kind mint)"
JWT_ONLY = "needs the tenant's token to be a JWT (this target's tokens are opaque)"
Forgery = tuple[Callable[[], str | None], str]  # how to make it, and what it needs when it cannot be made


def forged_tokens(target: Target, tenant: SeededTenant, victim: SeededTenant | None) -> dict[str, Forgery]:
    """Each differs from a valid token in one way; the maker returns None when this target cannot have it."""
    tokens, role = target.tokens, target.profile.highest_role
    claim = _tenant_claim(target)

    def variant(**changes: Any) -> Callable[[], str | None]:
        def make() -> str | None:
            if not tokens.can_forge:
                return None
            claims = tokens.claims_for(tenant.ref, role)
            for key, value in changes.items():
                key = claim if key == "tenant" else key
                if value is ...:
                    claims.pop(key, None)
                else:
                    claims[key] = value
            return tokens.sign(claims)

        return make

    now = int(time.time())
    minted: dict[str, Callable[[], str | None]] = {
        "alg none": lambda: tokens.unsigned(tokens.claims_for(tenant.ref, role)) if tokens.can_forge else None,
        "HS256 signed with the public key": lambda: (
            _hs256_with_public_key(target, tokens.claims_for(tenant.ref, role)) if tokens.can_forge else None
        ),
        "wrong audience": variant(aud="not-this-api"),
        "wrong issuer": variant(iss="https://issuer.invalid"),
        "expired": variant(exp=now - 3600, iat=now - 7200, nbf=now - 7200),
        "not yet valid": variant(nbf=now + 3600),
        "no tenant claim": variant(tenant=...),
        "empty tenant claim": variant(tenant=""),
        "tenant claim is a list": variant(tenant=[tenant.ref.id]),
        "tenant claim is a number": variant(tenant=7),
        "no expiry": variant(exp=...),
    }
    forged = {name: (make, MINT_ONLY) for name, make in minted.items()}
    kept = signature_kept_tokens(target, tenant, victim)
    return forged | {name: (make, JWT_ONLY) for name, make in kept.items()}


def signature_kept_tokens(
    target: Target, tenant: SeededTenant, victim: SeededTenant | None
) -> dict[str, Callable[[], str | None]]:
    """The tenant's real token (minted, issued by the target or static) with one claim changed and its signature kept.

    Whatever issued the token, only a verifier that checks the signature refuses these: the
    tenant claim switched to another tenant's (an app that reads claims unverified serves that
    tenant), the subject or role changed, or the expiry removed.
    """
    role = target.profile.highest_role
    other_roles = [r for r in target.profile.roles if r != role]

    def token() -> str:
        return target.owner(tenant).token or ""

    def switched_tenant() -> str | None:
        claims = credentials.unverified_claims(token())
        if claims is None:
            return None
        held = credentials.claim_holding(claims, {"id": tenant.ref.id, "slug": tenant.slug})
        name, kind = held if held is not None else (_tenant_claim(target), "id")
        own = tenant.ref.id if kind == "id" else tenant.slug
        other = (victim.ref.id if kind == "id" else victim.slug) if victim is not None else missing_like(own)
        return credentials.tamper(token(), {name: other})

    def changed(name: str, value: Callable[[Any], Any]) -> Callable[[], str | None]:
        def make() -> str | None:
            claims = credentials.unverified_claims(token())
            return None if claims is None else credentials.tamper(token(), {name: value(claims.get(name))})

        return make

    def other_role(current: Any) -> Any:
        lower = other_roles[0] if other_roles else "viewer"
        return [lower] if isinstance(current, list) else lower

    return {
        "the tenant claim switched to another tenant's, signature kept": switched_tenant,
        "the subject changed, signature kept": changed("sub", lambda sub: f"{sub or 'user'}-other"),
        "the role claim changed, signature kept": changed(_role_claim(target), other_role),
        "no expiry, signature kept": lambda: credentials.tamper(token(), {"exp": credentials.UNSET}),
    }


def _role_claim(target: Target) -> str:
    """The claim the profile's template fills with the role (``roles`` in a list, ``role``...), else ``role``."""
    for name, value in target.profile.auth.claims.items():
        if value == "{role}" or value == ["{role}"]:
            return name
    return "role"


@pytest.mark.attack("token-trust")
@pytest.mark.controls("AUTH-JWT-VALIDATION")
def test_forged_and_misdirected_tokens_are_refused(target: Target, tenants: list[SeededTenant], probe: Probe) -> None:
    tenant, victim = tenants[0], (tenants[1] if len(tenants) > 1 else None)
    sentinel = sentinel_operation(target, tenant, probe)
    if sentinel is None:
        probe.not_assessed("AUTH-JWT-VALIDATION", NO_SENTINEL)
        return
    url, positive = sentinel
    for name, (make, needs) in forged_tokens(target, tenant, victim).items():
        token = make()
        if token is None:
            probe.not_assessed("AUTH-JWT-VALIDATION", f"'{name}' {needs}")
            continue
        # The untouched token first, on the same request: a refusal of the forgery then means what it seems to.
        untouched = probe.request(target.owner(tenant), "GET", url)
        exchange = probe.request(Actor(f"forged ({name})", tenant.ref, None, token), "GET", url)
        probe.judge(
            "AUTH-JWT-VALIDATION",
            exchange,
            positive=[positive, untouched],
            leaked=exchange.ok,
            summary=f"a token with {name} was accepted: GET {url} answered {exchange.status}",
        )
    # Anonymous calls of every secured operation that does not address one object (those are the tenant's own).
    secured = [o for o in target.api.operations if o.secured and not o.addresses_item]
    for op in secured:
        if not set(op.path_params) <= set(tenant.bindings):
            continue
        canary = target.canaries.issue(tenant.slug)
        body = valid_body(op.body_schema, canary) if op.body_schema else None
        params = op.required_query(canary)
        caller = target.platform_actor() if target.is_platform_operation(op.path) else target.owner(tenant)
        path = op.url(tenant.bindings)
        valid = probe.request(caller, op.method, path, json_body=body, params=params)
        exchange = probe.request(target.anonymous(), op.method, path, json_body=body, params=params)
        probe.judge(
            "AUTH-JWT-VALIDATION",
            exchange,
            positive=valid,
            leaked=exchange.ok,
            summary=f"anonymous {op.key} answered {exchange.status}",
        )


@pytest.mark.attack("token-trust")
@pytest.mark.controls("AUTH-TENANT-STATUS")
def test_tokens_of_unknown_and_suspended_tenants_are_refused(
    target: Target, tenants: list[SeededTenant], probe: Probe
) -> None:
    tenant = tenants[0]
    sentinel = sentinel_operation(target, tenant, probe)
    if sentinel is None:
        probe.not_assessed("AUTH-TENANT-STATUS", NO_SENTINEL)
        return
    url, positive = sentinel
    if target.tokens.can_forge:
        claims = target.tokens.claims_for(tenant.ref, target.profile.highest_role)
        claims[_tenant_claim(target)] = str(uuid.uuid4())
        exchange = probe.request(Actor("unknown tenant", None, None, target.tokens.sign(claims)), "GET", url)
        probe.judge(
            "AUTH-TENANT-STATUS",
            exchange,
            positive=positive,
            leaked=exchange.ok,
            summary=f"a token for a tenant that does not exist was accepted ({exchange.status})",
        )
    else:
        probe.not_assessed("AUTH-TENANT-STATUS", "tokens for an unknown tenant need auth.kind mint")
    settings = target.profile.provisioning
    if settings.kind != "admin_endpoint" or not (settings.suspend_path and settings.activate_path):
        probe.not_assessed("AUTH-TENANT-STATUS", "suspension needs provisioning.suspend_path and activate_path")
        return
    suspended = target.seed(target.provision(), probe)
    actor = target.owner(suspended)
    own = target.own_reads(suspended.bindings)[0][1] if target.own_reads(suspended.bindings) else url
    before = probe.request(actor, "GET", own)
    target.lifecycle("suspend", suspended.ref)
    during = probe.request(actor, "GET", own)
    target.lifecycle("activate", suspended.ref)
    after = probe.request(actor, "GET", own)
    probe.judge(
        "AUTH-TENANT-STATUS",
        during,
        positive=[before, after],
        leaked=during.ok,
        summary=f"suspension: before {before.status}, suspended {during.status}, reactivated {after.status}",
        exchanges=[before, during, after],
    )
