"""JWT minting (the app's dev issuer) and verification (every request).

The token is the only source of tenant context, so verification is strict: the algorithm comes from
our allow-list, never from the token; every time and identity claim is required; and the tenant claim
must be a canonical UUID, or absent for exactly a platform-admin token.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cachetools import TLRUCache
from cryptography.hazmat.primitives.asymmetric import rsa

from reference_app.auth.keys import SIGNING_ALG, SigningKey

HS256 = "HS256"
HS256_SECRET_ENV = "REFERENCE_APP_JWT_HS256_SECRET"  # noqa: S105 (a variable name, not a secret)
MIN_HS256_SECRET_BYTES = 32
PLATFORM_ADMIN = "platform_admin"
TENANT_ROLES = frozenset({"owner", "admin", "member", "viewer"})
ROLES = TENANT_ROLES | {PLATFORM_ADMIN}
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub")
_MINTED_CLAIMS = frozenset({*REQUIRED_CLAIMS, "nbf", "jti", "tenant_id", "roles"})
# Far above any real token; refusing larger input bounds the parsing work an anonymous caller can cause.
MAX_TOKEN_CHARS = 8192
# Verified tokens remembered per verifier (32-byte digests, so at most a few MB).
VERIFIED_CACHE_ENTRIES = 10_000


@dataclass(frozen=True)
class TokenSettings:
    """What a token must say to be ours. HS256 is accepted only when `hs256_secret` is set."""

    issuer: str
    audience: str
    leeway_seconds: int = 5
    hs256_secret: str | None = None
    max_ttl_seconds: int = 24 * 3600

    def __post_init__(self) -> None:
        if not self.issuer or not self.audience:
            raise ValueError(
                f"issuer={self.issuer!r} and audience={self.audience!r} must both be non-empty: "
                "an empty value would match tokens minted for any service"
            )
        if self.leeway_seconds < 0:
            raise ValueError(f"leeway_seconds={self.leeway_seconds} must be >= 0")
        if self.max_ttl_seconds <= 0:
            raise ValueError(f"max_ttl_seconds={self.max_ttl_seconds} must be > 0")
        if self.hs256_secret is not None and len(self.hs256_secret.encode()) < MIN_HS256_SECRET_BYTES:
            # Never echo the secret itself, only its length.
            raise ValueError(
                f"{HS256_SECRET_ENV} is {len(self.hs256_secret.encode())} bytes; HS256 needs at least "
                f"{MIN_HS256_SECRET_BYTES} random bytes (e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'`), or unset it to accept RS256 only"
            )


@dataclass(frozen=True)
class Principal:
    """Who made the request: a tenant member, or a platform admin with no tenant."""

    subject: str
    tenant_id: uuid.UUID | None
    roles: frozenset[str]

    @property
    def is_platform_admin(self) -> bool:
        return PLATFORM_ADMIN in self.roles and self.tenant_id is None


class InvalidToken(Exception):
    """The token was refused. `reason` is short and safe to show clients: no token, key or claim values."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def mint_token(
    key: SigningKey,
    settings: TokenSettings,
    *,
    subject: str,
    tenant_id: str | None,
    roles: Sequence[str],
    ttl_seconds: int = 900,
    now: datetime | None = None,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """Sign an RS256 token that `TokenVerifier` accepts (pass `tenant_id=None` for a platform token).

    Claims are checked with the verifier's own rules, so the dev issuer fails here, with a ValueError,
    rather than handing out a token that will be refused on use. Tests that need a bad token sign it
    with PyJWT directly.
    """
    if not 0 < ttl_seconds <= settings.max_ttl_seconds:
        raise ValueError(f"ttl_seconds={ttl_seconds} must be in 1..{settings.max_ttl_seconds} (max_ttl_seconds)")
    clashing = sorted(set(extra or {}) & _MINTED_CLAIMS)
    if clashing:
        raise ValueError(f"extra claims {clashing} would override claims mint_token sets; use its arguments")
    issued = int((now or datetime.now(UTC)).timestamp())
    claims: dict[str, Any] = {
        **(extra or {}),
        "iss": settings.issuer,
        "aud": settings.audience,
        "sub": subject,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl_seconds,
        "jti": uuid.uuid4().hex,
        "roles": list(roles),
    }
    if tenant_id is not None:
        claims["tenant_id"] = tenant_id
    try:
        _principal_from_claims(claims)
    except InvalidToken as exc:
        raise ValueError(f"refusing to mint a token the verifier would reject: {exc.reason}") from None
    return jwt.encode(claims, key.private_key, algorithm=SIGNING_ALG, headers={"kid": key.kid})


def decode_options() -> jwt.types.Options:
    """What PyJWT checks besides the signature: the required claims, and (its default) audience and expiry."""
    return {"require": list(REQUIRED_CLAIMS)}


class TokenVerifier:
    """Turns a bearer token into a Principal or raises InvalidToken; built once, used per request.

    A verified token is remembered, keyed by a digest of the whole token, until its ``exp`` (never
    past it, and at most ``cache_entries`` tokens): a client's next request with the same token
    then costs a hash instead of an RSA verification. The key set is fixed for the verifier's life,
    so rotating keys means a new verifier, with an empty cache; :meth:`forget_tenant` drops a
    suspended tenant's tokens (the unit of work checks the tenant's status on every request anyway).
    """

    def __init__(
        self,
        keys: Sequence[SigningKey],
        settings: TokenSettings,
        *,
        cache_entries: int = VERIFIED_CACHE_ENTRIES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # digest -> (exp, principal), each until its exp, least recently used dropped first
        self._verified: TLRUCache[bytes, tuple[float, Principal]] = TLRUCache(
            maxsize=cache_entries, ttu=lambda _digest, entry, _now: entry[0], timer=clock
        )
        self._clock = clock
        # Key objects, not PEMs: PyJWT then skips parsing a key on every request.
        self._public_keys: dict[str, rsa.RSAPublicKey] = {key.kid: key.public_key for key in keys}
        self._settings = settings
        self._hs256_key = settings.hs256_secret.encode() if settings.hs256_secret is not None else None
        self._leeway = timedelta(seconds=settings.leeway_seconds)
        self._options = decode_options()

    def verify(self, token: str) -> Principal:
        if len(token) > MAX_TOKEN_CHARS:
            raise InvalidToken("malformed token")
        digest = hashlib.sha256(token.encode()).digest()
        cached = self._verified.get(digest)
        if cached is not None:
            return cached[1]
        principal, expires = self._verify(token)
        if expires is not None and expires > self._clock() and self._verified.maxsize:  # 0: remember none
            self._verified[digest] = (expires, principal)
        return principal

    def forget_tenant(self, tenant_id: uuid.UUID) -> None:
        """Drop the remembered tokens of one tenant (it was suspended or deprovisioned)."""
        for digest in [d for d, (_, principal) in self._verified.items() if principal.tenant_id == tenant_id]:
            self._verified.pop(digest, None)

    def _verify(self, token: str) -> tuple[Principal, float | None]:
        """The full check; the principal and until when it may be remembered (None: never)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("malformed token") from None
        alg, key = self._key_for(header)
        try:
            claims = jwt.decode(
                token,
                key,
                # Exactly the algorithm the key was chosen for, so an HS256 token can never be checked
                # with an RSA public key used as an HMAC secret.
                algorithms=[alg],
                audience=self._settings.audience,
                issuer=self._settings.issuer,
                leeway=self._leeway,
                options=self._options,
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(_reason(exc)) from None
        _check_lifetime(claims, self._settings.max_ttl_seconds)
        return _principal_from_claims(claims), float(claims["exp"])

    def _key_for(self, header: dict[str, Any]) -> tuple[str, rsa.RSAPublicKey | bytes]:
        """Pick the key by our allow-list before any signature work: the token's alg is only a claim."""
        alg = header.get("alg")
        if alg == SIGNING_ALG:
            kid = header.get("kid")
            if not isinstance(kid, str) or not kid:
                raise InvalidToken("missing kid")
            public_key = self._public_keys.get(kid)
            if public_key is None:
                raise InvalidToken("unknown kid")
            return alg, public_key
        if alg == HS256 and self._hs256_key is not None:
            return alg, self._hs256_key
        raise InvalidToken("algorithm not allowed")


def _reason(exc: jwt.PyJWTError) -> str:
    """Map PyJWT's errors to fixed reasons; its messages are not promised to be free of token content."""
    if isinstance(exc, jwt.ExpiredSignatureError):
        return "token expired"
    if isinstance(exc, jwt.ImmatureSignatureError):
        return "token not yet valid"
    if isinstance(exc, jwt.MissingRequiredClaimError) and exc.claim in REQUIRED_CLAIMS:
        return f"missing claim {exc.claim}"
    if isinstance(exc, jwt.InvalidAudienceError):
        return "wrong audience"
    if isinstance(exc, jwt.InvalidIssuerError):
        return "wrong issuer"
    if isinstance(exc, jwt.InvalidSignatureError):
        return "bad signature"
    return "invalid token"


def _check_lifetime(claims: Mapping[str, Any], max_ttl_seconds: int) -> None:
    # PyJWT coerces with int(), which accepts strings like "1700000000"; insist on JSON numbers.
    exp, iat = claims["exp"], claims["iat"]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (exp, iat)):
        raise InvalidToken("exp and iat must be numbers")
    # A stolen long-lived token outlives any revocation we could do, so cap what we accept.
    if exp - iat > max_ttl_seconds:
        raise InvalidToken("token lifetime too long")


def _principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise InvalidToken("sub must be a non-empty string")
    roles = claims.get("roles")
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) and r in ROLES for r in roles):
        raise InvalidToken("roles must be a non-empty list of known roles")
    role_set = frozenset(roles)
    if PLATFORM_ADMIN in role_set:
        # Platform power is never mixed with a tenant membership: a token is either one or the other.
        if role_set != {PLATFORM_ADMIN}:
            raise InvalidToken("platform_admin cannot be combined with tenant roles")
        if "tenant_id" in claims:
            raise InvalidToken("platform token must not carry tenant_id")
        return Principal(subject=subject, tenant_id=None, roles=role_set)
    return Principal(subject=subject, tenant_id=_tenant_id(claims.get("tenant_id")), roles=role_set)


def _tenant_id(value: object) -> uuid.UUID:
    # Canonical form only (lowercase, hyphenated): uuid.UUID also accepts braces, "urn:uuid:" and
    # missing hyphens, and two spellings of one tenant must never reach code that compares strings.
    if not isinstance(value, str):
        raise InvalidToken("tenant_id must be a UUID string")
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise InvalidToken("tenant_id must be a UUID string") from None
    if str(parsed) != value:
        raise InvalidToken("tenant_id must be a canonical UUID")
    return parsed
