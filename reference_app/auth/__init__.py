"""The reference app's token layer: RS256 signing keys, the dev issuer, and the per-request verifier.

Pure logic with no database or web framework, so the middleware and the harness can share it.
"""

from reference_app.auth.keys import SigningKey, generate_private_key_pem, jwk_thumbprint
from reference_app.auth.tokens import (
    HS256_SECRET_ENV,
    PLATFORM_ADMIN,
    ROLES,
    TENANT_ROLES,
    InvalidToken,
    Principal,
    TokenSettings,
    TokenVerifier,
    mint_token,
)

__all__ = [
    "HS256_SECRET_ENV",
    "PLATFORM_ADMIN",
    "ROLES",
    "TENANT_ROLES",
    "InvalidToken",
    "Principal",
    "SigningKey",
    "TokenSettings",
    "TokenVerifier",
    "generate_private_key_pem",
    "jwk_thumbprint",
    "mint_token",
]
