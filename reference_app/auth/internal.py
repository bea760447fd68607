"""Service-to-service tokens: how the API tells an internal service which tenant a call is for.

The API signs a short-lived RS256 token with its own key: audience ``internal`` (so neither
side accepts the other's tokens), a ``tenant_id`` claim, and at most a minute of life. The
internal service verifies it with the API's public key and refuses a call whose token is
missing, expired, for another audience, or for another tenant than the one the call names.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt

from reference_app.auth.keys import SIGNING_ALG, SigningKey
from reference_app.auth.tokens import InvalidToken

INTERNAL_AUDIENCE = "internal"
DEFAULT_TTL_SECONDS = 60
MAX_TTL_SECONDS = 300
_REQUIRED = ("exp", "iat", "iss", "aud", "sub", "tenant_id")


@dataclass(frozen=True)
class InternalPrincipal:
    """The calling service and the tenant the call acts for."""

    service: str
    tenant_id: uuid.UUID


def mint_internal_token(
    key: SigningKey,
    issuer: str,
    tenant_id: uuid.UUID,
    *,
    service: str = "pake-api",
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
    now: datetime | None = None,
) -> str:
    if not 0 < ttl_seconds <= MAX_TTL_SECONDS:
        raise ValueError(f"ttl_seconds={ttl_seconds} must be in 1..{MAX_TTL_SECONDS}: internal tokens are short-lived")
    issued = int((now or datetime.now(UTC)).timestamp())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": INTERNAL_AUDIENCE,
        "sub": service,
        "tenant_id": str(tenant_id),
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key.private_key, algorithm=SIGNING_ALG, headers={"kid": key.kid})


class InternalTokenVerifier:
    """Verifies internal tokens against the API's public key; raises InvalidToken with a safe reason."""

    def __init__(self, key: SigningKey, issuer: str, leeway_seconds: int = 5) -> None:
        self._key = key
        self._issuer = issuer
        self._leeway = leeway_seconds

    def verify(self, token: str) -> InternalPrincipal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("malformed token") from None
        if header.get("alg") != SIGNING_ALG or header.get("kid") != self._key.kid:
            raise InvalidToken("algorithm or key not allowed")
        try:
            claims = jwt.decode(
                token,
                self._key.public_key,
                algorithms=[SIGNING_ALG],
                audience=INTERNAL_AUDIENCE,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": list(_REQUIRED)},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("token expired") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("wrong audience") from None
        except jwt.PyJWTError:
            raise InvalidToken("invalid token") from None
        exp, iat = claims["exp"], claims["iat"]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (exp, iat)) or exp - iat > MAX_TTL_SECONDS:
            raise InvalidToken("token lifetime too long")
        tenant = claims["tenant_id"]
        try:
            tenant_id = uuid.UUID(tenant) if isinstance(tenant, str) else None
        except ValueError:
            tenant_id = None
        if tenant_id is None or str(tenant_id) != tenant:
            raise InvalidToken("tenant_id must be a canonical UUID")
        return InternalPrincipal(service=str(claims["sub"]), tenant_id=tenant_id)
