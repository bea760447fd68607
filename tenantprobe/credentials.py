"""Tokens for every actor: a tenant in a role, the platform administrator, and forged variants.

With ``auth.kind: mint`` tokens are signed from the profile's key and claim templates, so
the isolation suite can also forge tokens that differ from a valid one in exactly one way.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt

from tenantprobe.errors import ProfileError, ProvisioningError
from tenantprobe.profiles import AuthSettings
from tenantprobe.steps import fill
from tenantprobe.wire import Scope, UnusableAnswer, call


@dataclass(frozen=True)
class TenantRef:
    """A tenant as the target names it; ``variables`` are what its identity steps captured (secrets: no repr)."""

    id: str
    slug: str
    variables: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)


def render(template: Any, values: dict[str, str]) -> Any:
    """Fill ``{name}`` placeholders in every string of a JSON-like template."""
    if isinstance(template, str):
        for name, value in values.items():
            template = template.replace("{" + name + "}", value)
        return template
    if isinstance(template, list):
        return [render(item, values) for item in template]
    if isinstance(template, dict):
        return {key: render(item, values) for key, item in template.items()}
    return template


def expires_at(token: str, default_ttl: float) -> float:
    """When a token stops working: a JWT's ``exp`` (read, not verified), else now plus the profile's TTL."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        claims = {}
    exp = claims.get("exp")
    return float(exp) if isinstance(exp, int | float) else time.time() + default_ttl


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


UNSET = object()  # a claim to remove, in :func:`tamper`


def unverified_claims(token: str) -> dict[str, Any] | None:
    """The claims of a JWT, read without verifying it; None for an opaque token."""
    if token.count(".") != 2:
        return None
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return claims if isinstance(claims, dict) else None


def tamper(token: str, changes: Mapping[str, Any]) -> str | None:
    """The same JWT with some claims changed (or removed with :data:`UNSET`), header and signature kept.

    A verifier that checks the signature refuses it whatever it says; one that reads the claims
    without checking (or checks only a cached signature) accepts it. None when ``token`` is no JWT.
    """
    claims = unverified_claims(token)
    if claims is None:
        return None
    for key, value in changes.items():
        if value is UNSET:
            claims.pop(key, None)
        else:
            claims[key] = value
    header, _, signature = token.split(".")
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"


def claim_holding(claims: Mapping[str, Any], values: Mapping[str, str]) -> tuple[str, str] | None:
    """``(claim, kind)``: the first claim whose value is one of ``values`` (kind → value), e.g. the tenant's id."""
    for claim, value in claims.items():
        for kind, wanted in values.items():
            if wanted and value == wanted:
                return claim, kind
    return None


# Claims that differ between any two tokens (times and a unique id): never a user's identity.
_PER_TOKEN_CLAIMS = frozenset({"iat", "nbf", "exp", "jti"})


class TokenSource:
    """Issues tokens as the profile says; ``can_forge`` tells whether arbitrary claims can be signed."""

    def __init__(
        self, auth: AuthSettings, base_url: str, variables: Mapping[str, str] | None = None, scope: Scope | None = None
    ) -> None:
        self.auth = auth
        self.base_url = base_url
        self.scope = scope or Scope(base_url, auth.url)
        self.variables = dict(variables or {})
        self._key: Any = None
        self._kid: str | None = None
        if auth.kind == "mint":
            self._key, self._kid = self._load_key()

    @property
    def can_forge(self) -> bool:
        return self.auth.kind == "mint"

    def _load_key(self) -> tuple[Any, str | None]:
        if self.auth.algorithm == "HS256":
            secret = os.environ.get(self.auth.key_env or "", "")
            if not secret:
                raise ProfileError(f"auth.key_env: environment variable {self.auth.key_env!r} is empty or unset")
            return secret.encode(), None
        if not self.auth.key_file:
            raise ProfileError("auth.key_file: RS256 minting needs the private key file")
        try:
            pem = Path(self.auth.key_file).read_bytes()
        except OSError as exc:
            raise ProfileError(f"auth.key_file: cannot read {self.auth.key_file}: {exc.strerror}") from None
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        key = load_pem_private_key(pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ProfileError(f"auth.key_file: {self.auth.key_file} is not an RSA private key (RS256 needs one)")
        public = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
        # RFC 7638 thumbprint: the kid our reference app (and many issuers) publish.
        canonical = json.dumps({k: public[k] for k in ("e", "kty", "n")}, separators=(",", ":"), sort_keys=True)
        return key, _b64(hashlib.sha256(canonical.encode()).digest())

    def claims_for(self, tenant: TenantRef | None, role: str) -> dict[str, Any]:
        now = int(time.time())
        values = {
            "role": role,
            "tenant_id": tenant.id if tenant else "",
            "tenant_slug": tenant.slug if tenant else "",
        }
        template = self.auth.claims if tenant else self.auth.platform_claims
        claims: dict[str, Any] = render(template, values)
        claims.setdefault("iat", now)
        claims.setdefault("nbf", now)
        claims.setdefault("exp", now + self.auth.ttl_seconds)
        claims.setdefault("jti", uuid.uuid4().hex)
        return claims

    def twin_claims(self, tenant: TenantRef, other: TenantRef, role: str) -> dict[str, Any]:
        """Claims of a user of ``tenant`` with ``other``'s user id: ``other``'s claims but the tenant claims.

        Apps with tenant-local user ids (a username, a per-tenant number, an IdP subject) have such
        users; state kept per user id alone is then shared between them.
        """
        own, theirs = self.claims_for(tenant, role), self.claims_for(other, role)
        tenant_values = [tenant.id, tenant.slug]  # a list: claim values may be unhashable (a list of roles)
        return {
            claim: value if claim in _PER_TOKEN_CLAIMS or value in tenant_values else theirs.get(claim, value)
            for claim, value in own.items()
        }

    def sign(self, claims: dict[str, Any], headers: dict[str, Any] | None = None) -> str:
        if not self.can_forge:
            raise ProvisioningError("this profile's tokens cannot be signed by tenantprobe (auth.kind is not mint)")
        extra = {"kid": self._kid} if self._kid else {}
        return jwt.encode(claims, self._key, algorithm=self.auth.algorithm, headers={**extra, **(headers or {})})

    def unsigned(self, claims: dict[str, Any]) -> str:
        """An ``alg: none`` token: header and payload, empty signature."""
        header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
        return f"{header}.{_b64(json.dumps(claims).encode())}."

    def token(self, tenant: TenantRef | None, role: str) -> str:
        """A valid token for ``role`` in ``tenant`` (``None``: the platform administrator)."""
        if self.auth.kind == "mint":
            return self.sign(self.claims_for(tenant, role))
        if self.auth.kind == "steps":
            if tenant is None:
                if not self.auth.platform_token:
                    raise ProvisioningError("auth.platform_token: no platform administrator credential in the profile")
                return str(fill(self.auth.platform_token, self.variables, "auth.platform_token"))
            return str(
                fill(self.auth.credentials[role], {**self.variables, **tenant.variables}, f"auth.credentials.{role}")
            )
        if self.auth.kind == "static":
            if tenant is None:
                if not self.auth.platform_token:
                    raise ProvisioningError("auth.platform_token: no platform administrator token in the profile")
                return self.auth.platform_token
            try:
                return self.auth.tokens[tenant.slug][role]
            except KeyError:
                raise ProvisioningError(f"auth.tokens.{tenant.slug}.{role}: no token in the profile") from None
        return self._from_endpoint(tenant, role)

    def _from_endpoint(self, tenant: TenantRef | None, role: str) -> str:
        assert self.auth.url is not None
        values = {
            "role": role,
            "tenant_id": tenant.id if tenant else "",
            "tenant_slug": tenant.slug if tenant else "",
        }
        url = self.auth.url if "://" in self.auth.url else self.base_url + self.auth.url
        body = fill(render(self.auth.body, values), self.variables, "auth.body")
        form = self.auth.body_format == "form"  # an OAuth2 password or client-credentials grant
        try:
            response = call(self.scope, "POST", url, timeout=10, **({"data": body} if form else {"json": body}))
        except UnusableAnswer as unusable:
            raise ProvisioningError(f"token endpoint {url}: {unusable}") from None
        if response.status_code >= 400:
            raise ProvisioningError(
                f"token endpoint answered {response.status_code} for {role} of {values['tenant_slug']}"
            )
        token = response.json().get(self.auth.token_field)
        if not isinstance(token, str):
            raise ProvisioningError(f"token endpoint response has no string field {self.auth.token_field!r}")
        return token
