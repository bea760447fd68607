"""Unit tests of the token layer: every way a token can be wrong must end in InvalidToken."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from reference_app.auth import (
    HS256_SECRET_ENV,
    InvalidToken,
    Principal,
    SigningKey,
    TokenSettings,
    TokenVerifier,
    generate_private_key_pem,
    jwk_thumbprint,
    mint_token,
)

TENANT = "6f1c2a9e-3b4d-4c5e-8f70-112233445566"
SETTINGS = TokenSettings(issuer="https://issuer.test", audience="reference-app")
HS_SECRET = "s" * 48
DROP = object()


@pytest.fixture(scope="module")
def pem() -> bytes:
    return generate_private_key_pem()


@pytest.fixture(scope="module")
def key(pem: bytes) -> SigningKey:
    return SigningKey.from_pem(pem)


@pytest.fixture(scope="module")
def other_key() -> SigningKey:
    return SigningKey.from_pem(generate_private_key_pem())


@pytest.fixture(scope="module")
def verifier(key: SigningKey) -> TokenVerifier:
    return TokenVerifier([key], SETTINGS)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64json(obj: dict[str, Any]) -> str:
    return _b64url(json.dumps(obj).encode())


def _claims(**overrides: Any) -> dict[str, Any]:
    """Valid tenant claims; an override of DROP removes the claim."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": SETTINGS.issuer,
        "aud": SETTINGS.audience,
        "sub": "user-1",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "tenant_id": TENANT,
        "roles": ["member"],
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not DROP}


def _rs256(key: SigningKey, claims: dict[str, Any], kid: str | None = None, alg: str = "RS256") -> str:
    headers = {"kid": kid if kid is not None else key.kid}
    return jwt.encode(claims, key.private_key, algorithm=alg, headers=headers)


def _hand_signed(header: dict[str, Any], claims: dict[str, Any], secret: bytes | None) -> str:
    """Build a JWS by hand, for tokens PyJWT refuses to produce (alg none, a PEM as HMAC secret)."""
    signing_input = f"{_b64json(header)}.{_b64json(claims)}"
    signature = b"" if secret is None else hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(signature)}"


def _rejects(verifier: TokenVerifier, token: str) -> InvalidToken:
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(token)
    # The reason is shown to clients: it must carry no part of the token.
    for part in token.split("."):
        if len(part) >= 8:
            assert part not in caught.value.reason
    return caught.value


def test_valid_tenant_token_round_trips(key: SigningKey, verifier: TokenVerifier) -> None:
    token = mint_token(key, SETTINGS, subject="user-1", tenant_id=TENANT, roles=["admin", "member"])

    principal = verifier.verify(token)

    assert principal == Principal(subject="user-1", tenant_id=uuid.UUID(TENANT), roles=frozenset({"admin", "member"}))
    assert not principal.is_platform_admin


def test_minted_token_has_kid_and_all_claims(key: SigningKey) -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    token = mint_token(
        key,
        SETTINGS,
        subject="u",
        tenant_id=TENANT,
        roles=["viewer"],
        ttl_seconds=60,
        now=now,
        extra={"x": 1},
    )

    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert header == {"alg": "RS256", "kid": key.kid, "typ": "JWT"}
    assert claims["iat"] == claims["nbf"] == int(now.timestamp())
    assert claims["exp"] == claims["iat"] + 60
    assert claims["tenant_id"] == TENANT
    assert claims["roles"] == ["viewer"]
    assert claims["x"] == 1
    assert isinstance(claims["jti"], str)


def test_platform_token_has_no_tenant_and_round_trips(key: SigningKey, verifier: TokenVerifier) -> None:
    token = mint_token(key, SETTINGS, subject="ops", tenant_id=None, roles=["platform_admin"])

    assert "tenant_id" not in jwt.decode(token, options={"verify_signature": False})
    principal = verifier.verify(token)
    assert principal.tenant_id is None
    assert principal.is_platform_admin


def test_audience_list_containing_ours_is_accepted(key: SigningKey, verifier: TokenVerifier) -> None:
    token = _rs256(key, _claims(aud=["other-service", SETTINGS.audience]))

    assert verifier.verify(token).tenant_id == uuid.UUID(TENANT)


def test_expiry_within_leeway_is_accepted(key: SigningKey, verifier: TokenVerifier) -> None:
    now = int(time.time())
    token = _rs256(key, _claims(iat=now - 600, nbf=now - 600, exp=now - 2))

    assert verifier.verify(token).subject == "user-1"


def test_token_without_nbf_is_accepted(key: SigningKey, verifier: TokenVerifier) -> None:
    assert verifier.verify(_rs256(key, _claims(nbf=DROP))).subject == "user-1"


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_is_rejected(verifier: TokenVerifier, alg: str) -> None:
    token = _hand_signed({"alg": alg, "typ": "JWT"}, _claims(), secret=None)

    assert _rejects(verifier, token).reason == "algorithm not allowed"


@pytest.mark.parametrize("hs256_secret", [None, HS_SECRET])
def test_hs256_signed_with_rsa_public_key_is_rejected(key: SigningKey, hs256_secret: str | None) -> None:
    # The classic HS/RS confusion: the public key is public, so an attacker can HMAC with it.
    verifier = TokenVerifier([key], TokenSettings(SETTINGS.issuer, SETTINGS.audience, hs256_secret=hs256_secret))
    token = _hand_signed({"alg": "HS256", "typ": "JWT", "kid": key.kid}, _claims(), secret=key.public_pem())

    _rejects(verifier, token)


@pytest.mark.parametrize("alg", ["RS384", "RS512", "PS256"])
def test_other_rsa_algorithms_are_rejected(key: SigningKey, verifier: TokenVerifier, alg: str) -> None:
    assert _rejects(verifier, _rs256(key, _claims(), alg=alg)).reason == "algorithm not allowed"


def test_missing_kid_is_rejected(key: SigningKey, verifier: TokenVerifier) -> None:
    token = jwt.encode(_claims(), key.private_key, algorithm="RS256")

    assert _rejects(verifier, token).reason == "missing kid"


def test_unknown_kid_is_rejected(other_key: SigningKey, verifier: TokenVerifier) -> None:
    assert _rejects(verifier, _rs256(other_key, _claims())).reason == "unknown kid"


def test_foreign_key_using_our_kid_is_rejected(key: SigningKey, other_key: SigningKey, verifier: TokenVerifier) -> None:
    assert _rejects(verifier, _rs256(other_key, _claims(), kid=key.kid)).reason == "bad signature"


def test_every_trusted_key_verifies(key: SigningKey, other_key: SigningKey) -> None:
    verifier = TokenVerifier([key, other_key], SETTINGS)

    assert verifier.verify(_rs256(other_key, _claims())).subject == "user-1"


def test_wrong_audience_is_rejected(key: SigningKey, verifier: TokenVerifier) -> None:
    assert _rejects(verifier, _rs256(key, _claims(aud="reference-app-2"))).reason == "wrong audience"


def test_audience_list_without_ours_is_rejected(key: SigningKey, verifier: TokenVerifier) -> None:
    assert _rejects(verifier, _rs256(key, _claims(aud=["a", "b"]))).reason == "wrong audience"


def test_wrong_issuer_is_rejected(key: SigningKey, verifier: TokenVerifier) -> None:
    assert _rejects(verifier, _rs256(key, _claims(iss="https://issuer.test/"))).reason == "wrong issuer"


def test_expired_token_is_rejected(key: SigningKey, verifier: TokenVerifier) -> None:
    now = int(time.time())
    token = _rs256(key, _claims(iat=now - 600, nbf=now - 600, exp=now - 60))

    assert _rejects(verifier, token).reason == "token expired"


def test_minted_token_expires(key: SigningKey, verifier: TokenVerifier) -> None:
    token = mint_token(
        key,
        SETTINGS,
        subject="u",
        tenant_id=TENANT,
        roles=["member"],
        now=datetime.now(UTC) - timedelta(hours=1),
    )

    assert _rejects(verifier, token).reason == "token expired"


def test_nbf_in_future_is_rejected(key: SigningKey, verifier: TokenVerifier) -> None:
    token = _rs256(key, _claims(nbf=int(time.time()) + 60))

    assert _rejects(verifier, token).reason == "token not yet valid"


def test_iat_in_future_is_rejected(key: SigningKey, verifier: TokenVerifier) -> None:
    now = int(time.time())
    token = _rs256(key, _claims(iat=now + 60, nbf=DROP, exp=now + 600))

    assert _rejects(verifier, token).reason == "token not yet valid"


def test_ttl_longer_than_max_is_rejected(key: SigningKey, verifier: TokenVerifier) -> None:
    now = int(time.time())
    token = _rs256(key, _claims(iat=now, exp=now + SETTINGS.max_ttl_seconds + 1))

    assert _rejects(verifier, token).reason == "token lifetime too long"


@pytest.mark.parametrize("claim", ["exp", "iat", "iss", "aud", "sub"])
def test_missing_required_claim_is_rejected(key: SigningKey, verifier: TokenVerifier, claim: str) -> None:
    assert _rejects(verifier, _rs256(key, _claims(**{claim: DROP}))).reason == f"missing claim {claim}"


@pytest.mark.parametrize("claim", ["exp", "iat"])
def test_numeric_date_as_string_is_rejected(key: SigningKey, verifier: TokenVerifier, claim: str) -> None:
    now = int(time.time())
    token = _rs256(key, _claims(**{claim: str(now + 60 if claim == "exp" else now)}))

    _rejects(verifier, token)


@pytest.mark.parametrize("sub", ["", 42])
def test_bad_subject_is_rejected(key: SigningKey, verifier: TokenVerifier, sub: object) -> None:
    _rejects(verifier, _rs256(key, _claims(sub=sub)))


@pytest.mark.parametrize(
    "tenant_id",
    [
        DROP,
        None,
        "",
        [TENANT],
        42,
        "not-a-uuid",
        TENANT.upper(),
        TENANT.replace("-", ""),
        "{" + TENANT + "}",
        "urn:uuid:" + TENANT,
    ],
    ids=["missing", "null", "empty", "list", "int", "non-uuid", "uppercase", "no-hyphens", "braces", "urn"],
)
def test_bad_tenant_claim_is_rejected(key: SigningKey, verifier: TokenVerifier, tenant_id: object) -> None:
    _rejects(verifier, _rs256(key, _claims(tenant_id=tenant_id)))


@pytest.mark.parametrize(
    "roles",
    [DROP, None, "member", [], ["superuser"], ["member", "superuser"], [1], [["member"]], {"member": True}],
    ids=["missing", "null", "string", "empty", "unknown", "one-unknown", "int", "nested", "object"],
)
def test_bad_roles_are_rejected(key: SigningKey, verifier: TokenVerifier, roles: object) -> None:
    assert _rejects(verifier, _rs256(key, _claims(roles=roles))).reason == (
        "roles must be a non-empty list of known roles"
    )


@pytest.mark.parametrize("tenant_id", [TENANT, None, ""])
def test_platform_admin_with_tenant_is_rejected(
    key: SigningKey, verifier: TokenVerifier, tenant_id: str | None
) -> None:
    token = _rs256(key, _claims(roles=["platform_admin"], tenant_id=tenant_id))

    assert _rejects(verifier, token).reason == "platform token must not carry tenant_id"


@pytest.mark.parametrize("tenant_id", [TENANT, DROP])
def test_platform_admin_mixed_with_tenant_roles_is_rejected(
    key: SigningKey, verifier: TokenVerifier, tenant_id: object
) -> None:
    token = _rs256(key, _claims(roles=["platform_admin", "admin"], tenant_id=tenant_id))

    assert _rejects(verifier, token).reason == "platform_admin cannot be combined with tenant roles"


def test_tampered_signature_is_rejected(key: SigningKey, verifier: TokenVerifier) -> None:
    header, payload, signature = _rs256(key, _claims()).split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[0] ^= 0x01

    assert _rejects(verifier, f"{header}.{payload}.{_b64url(bytes(raw))}").reason == "bad signature"


def test_tampered_payload_is_rejected(key: SigningKey, verifier: TokenVerifier) -> None:
    header, _, signature = _rs256(key, _claims()).split(".")
    forged = _b64json(_claims(tenant_id=str(uuid.uuid4())))

    assert _rejects(verifier, f"{header}.{forged}.{signature}").reason == "bad signature"


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b.c", "e30.e30.", _b64json({"alg": "RS256"}) + ".!!.x"],
    ids=["empty", "one-part", "garbage", "empty-objects", "bad-payload"],
)
def test_malformed_token_is_rejected(verifier: TokenVerifier, token: str) -> None:
    _rejects(verifier, token)


def test_oversized_token_is_rejected_before_parsing(key: SigningKey, verifier: TokenVerifier) -> None:
    # Validly signed, so only the size cap can refuse it.
    token = _rs256(key, _claims(padding="x" * 10_000))

    assert _rejects(verifier, token).reason == "malformed token"


def test_hs256_is_rejected_when_not_configured(key: SigningKey, verifier: TokenVerifier) -> None:
    token = jwt.encode(_claims(), HS_SECRET, algorithm="HS256")

    assert _rejects(verifier, token).reason == "algorithm not allowed"


def test_hs256_is_accepted_when_configured(key: SigningKey) -> None:
    settings = TokenSettings(SETTINGS.issuer, SETTINGS.audience, hs256_secret=HS_SECRET)
    verifier = TokenVerifier([key], settings)

    principal = verifier.verify(jwt.encode(_claims(), HS_SECRET, algorithm="HS256"))

    assert principal.tenant_id == uuid.UUID(TENANT)
    # RS256 keeps working next to it.
    assert verifier.verify(_rs256(key, _claims())).subject == "user-1"


def test_hs256_with_wrong_secret_is_rejected(key: SigningKey) -> None:
    verifier = TokenVerifier([key], TokenSettings(SETTINGS.issuer, SETTINGS.audience, hs256_secret=HS_SECRET))
    token = jwt.encode(_claims(), "t" * 48, algorithm="HS256")

    assert _rejects(verifier, token).reason == "bad signature"


def test_short_hs256_secret_is_refused() -> None:
    secret = "short-but-not-32-bytes-long"

    with pytest.raises(ValueError, match=HS256_SECRET_ENV) as caught:
        TokenSettings(SETTINGS.issuer, SETTINGS.audience, hs256_secret=secret)

    assert secret not in str(caught.value)


@pytest.mark.parametrize(
    "kwargs",
    [{"issuer": ""}, {"audience": ""}, {"leeway_seconds": -1}, {"max_ttl_seconds": 0}],
)
def test_nonsensical_settings_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        TokenSettings(**{"issuer": "i", "audience": "a", **kwargs})


def test_mint_refuses_ttl_over_max(key: SigningKey) -> None:
    with pytest.raises(ValueError, match="ttl_seconds"):
        mint_token(key, SETTINGS, subject="u", tenant_id=TENANT, roles=["member"], ttl_seconds=86_401)


@pytest.mark.parametrize(
    ("tenant_id", "roles"),
    [("not-a-uuid", ["member"]), (TENANT, ["root"]), (TENANT, ["platform_admin"]), (None, ["member"])],
)
def test_mint_refuses_tokens_the_verifier_would_reject(
    key: SigningKey, tenant_id: str | None, roles: list[str]
) -> None:
    with pytest.raises(ValueError, match="verifier would reject"):
        mint_token(key, SETTINGS, subject="u", tenant_id=tenant_id, roles=roles)


def test_mint_refuses_extra_claims_that_override_its_own(key: SigningKey) -> None:
    with pytest.raises(ValueError, match="tenant_id"):
        mint_token(key, SETTINGS, subject="u", tenant_id=TENANT, roles=["member"], extra={"tenant_id": "x"})


def test_kid_is_rfc7638_thumbprint() -> None:
    # The example key and thumbprint of RFC 7638 §3.1.
    jwk = {
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPeb"
        "WKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQ"
        "MicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2Nc"
        "Rwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }

    assert jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_jwks_thumbprint_is_stable(pem: bytes, key: SigningKey, other_key: SigningKey) -> None:
    reloaded = SigningKey.from_pem(pem)

    assert reloaded.kid == key.kid == jwk_thumbprint(key.public_jwk())
    assert reloaded.jwks() == key.jwks()
    assert other_key.kid != key.kid


def test_jwks_publishes_only_the_public_key(key: SigningKey) -> None:
    (jwk,) = key.jwks()["keys"]

    assert set(jwk) == {"kty", "n", "e", "kid", "use", "alg"}
    assert (jwk["kid"], jwk["use"], jwk["alg"]) == (key.kid, "sig", "RS256")


def test_jwks_key_verifies_minted_tokens(key: SigningKey) -> None:
    # Interop: a third party reading only our JWKS can check our tokens.
    token = mint_token(key, SETTINGS, subject="u", tenant_id=TENANT, roles=["member"])
    public = jwt.PyJWK(key.public_jwk()).key

    claims = jwt.decode(token, public, algorithms=["RS256"], audience=SETTINGS.audience)

    assert claims["sub"] == "u"


def test_signing_key_repr_hides_key_material(key: SigningKey) -> None:
    assert repr(key) == f"SigningKey(kid={key.kid!r})"


def test_short_rsa_key_is_refused() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 (weak on purpose)

    with pytest.raises(ValueError, match="1024 bits"):
        SigningKey(small)


def test_non_rsa_key_is_refused() -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )

    with pytest.raises(ValueError, match="RSA"):
        SigningKey.from_pem(pem)


OTHER_TENANT = "0a1b2c3d-4e5f-4a6b-8c7d-8e9fa0b1c2d3"
STRICT = TokenSettings(issuer=SETTINGS.issuer, audience=SETTINGS.audience, leeway_seconds=0)


def _expiring_soon(key: SigningKey, tenant: str = TENANT) -> tuple[str, float]:
    """A token that passes verification now and expires (for PyJWT's real clock too) about a second later."""
    token = mint_token(
        key, STRICT, subject="u", tenant_id=tenant, roles=["member"], ttl_seconds=2,
        now=datetime.now(UTC) - timedelta(seconds=1),
    )  # fmt: skip
    return token, float(jwt.decode(token, options={"verify_signature": False})["exp"])


def _after(exp: float) -> None:
    time.sleep(max(0.0, exp - time.time()) + 0.05)


def test_a_verified_token_is_remembered_until_its_exp_and_never_past_it(key: SigningKey) -> None:
    """The cache's clock is held back so the remembered answer shows once the token has really expired."""
    now = [time.time()]
    verifier = TokenVerifier([key], STRICT, clock=lambda: now[0])
    token, exp = _expiring_soon(key)
    assert verifier.verify(token).tenant_id == uuid.UUID(TENANT)
    _after(exp)
    now[0] = exp - 0.5
    assert verifier.verify(token).tenant_id == uuid.UUID(TENANT)  # remembered: RS256 not run again
    now[0] = exp
    with pytest.raises(InvalidToken, match="token expired"):
        verifier.verify(token)


def test_the_cache_is_bounded_oldest_first(key: SigningKey) -> None:
    now = [time.time()]
    verifier = TokenVerifier([key], STRICT, cache_entries=2, clock=lambda: now[0])
    (first, exp), (second, _), (third, _) = (_expiring_soon(key) for _ in range(3))
    for token in (first, second, third):
        verifier.verify(token)
    _after(exp)
    now[0] = exp - 0.5
    verifier.verify(second)
    verifier.verify(third)
    with pytest.raises(InvalidToken, match="token expired"):
        verifier.verify(first)


def test_a_verifier_of_no_entries_verifies_every_time(key: SigningKey) -> None:
    """``cache_entries=0`` remembers nothing (cachetools refuses to store in a cache of size 0)."""
    now = [time.time()]
    verifier = TokenVerifier([key], STRICT, cache_entries=0, clock=lambda: now[0])
    token, exp = _expiring_soon(key)
    assert verifier.verify(token).tenant_id == uuid.UUID(TENANT)
    assert verifier.verify(token).tenant_id == uuid.UUID(TENANT)
    _after(exp)
    now[0] = exp - 0.5
    with pytest.raises(InvalidToken, match="token expired"):
        verifier.verify(token)


def test_a_suspended_tenants_tokens_are_forgotten(key: SigningKey) -> None:
    now = [time.time()]
    verifier = TokenVerifier([key], STRICT, clock=lambda: now[0])
    (suspended, exp), (other, _) = _expiring_soon(key), _expiring_soon(key, OTHER_TENANT)
    verifier.verify(suspended)
    verifier.verify(other)
    verifier.forget_tenant(uuid.UUID(TENANT))
    _after(exp)
    now[0] = exp - 0.5
    assert verifier.verify(other).tenant_id == uuid.UUID(OTHER_TENANT)
    with pytest.raises(InvalidToken, match="token expired"):
        verifier.verify(suspended)


def test_a_rotated_key_set_starts_with_no_remembered_token(key: SigningKey, other_key: SigningKey) -> None:
    token = mint_token(key, SETTINGS, subject="u", tenant_id=TENANT, roles=["member"])
    TokenVerifier([key], SETTINGS).verify(token)
    with pytest.raises(InvalidToken, match="unknown kid"):
        TokenVerifier([other_key], SETTINGS).verify(token)


def test_a_remembered_signature_does_not_carry_another_payload(key: SigningKey) -> None:
    """The cache is keyed by the whole token: a seen signature on a forged payload is checked and refused."""
    verifier = TokenVerifier([key], SETTINGS)
    token = mint_token(key, SETTINGS, subject="u", tenant_id=TENANT, roles=["member"])
    verifier.verify(token)
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = ".".join((header, _b64url(json.dumps({**claims, "tenant_id": OTHER_TENANT}).encode()), signature))
    with pytest.raises(InvalidToken, match="bad signature"):
        verifier.verify(forged)
