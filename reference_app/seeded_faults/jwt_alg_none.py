"""Unsigned tokens (``alg: none``) are accepted, a leftover of local test tokens.

Anyone can mint a token for any tenant. Realised in front of
``TokenVerifier.verify`` (``auth/tokens.py``). Forged tokens
should catch it.

Control: ``AUTH-JWT-VALIDATION``.
"""

from __future__ import annotations

from collections.abc import Callable

import jwt

from reference_app.auth import tokens
from reference_app.auth.tokens import InvalidToken, Principal, TokenVerifier

LAYER = "api"
CONTROL = "AUTH-JWT-VALIDATION"


def unsigned_principal(token: str) -> Principal:
    """The token's claims, read without checking the signature."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False, "verify_aud": False})
    except jwt.PyJWTError as exc:
        raise InvalidToken(tokens._reason(exc)) from None
    return tokens._principal_from_claims(claims)


def _algorithm(token: str) -> object:
    try:
        return jwt.get_unverified_header(token).get("alg")
    except jwt.PyJWTError:
        return None


def _unsigned_accepted(verify: Callable[[TokenVerifier, str], Principal]) -> Callable[[TokenVerifier, str], Principal]:
    def verify_or_read(self: TokenVerifier, token: str) -> Principal:
        """Local test tokens are unsigned, so ``alg: none`` is read as it comes."""
        if len(token) <= tokens.MAX_TOKEN_CHARS and _algorithm(token) == "none":
            return unsigned_principal(token)
        return verify(self, token)

    return verify_or_read


WRAPS = {TokenVerifier.verify: _unsigned_accepted}
