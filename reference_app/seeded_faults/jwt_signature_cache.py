"""Verified tokens are remembered by their signature alone, and a remembered token's claims are
only decoded ("RSA verification was 30% of the profile").

Once a tenant's token has been verified, the same signature under any payload passes: a
user switches its ``tenant_id`` claim to another tenant's, or drops ``exp``, and keeps the
signature. Realised around
``TokenVerifier._verify`` (``auth/tokens.py``). The tenant's own token with one claim changed
and the signature kept should catch it.

Control: ``AUTH-JWT-VALIDATION``.
"""

from __future__ import annotations

from collections.abc import Callable
from weakref import WeakKeyDictionary

import jwt

from reference_app.auth.tokens import InvalidToken, Principal, TokenVerifier
from reference_app.seeded_faults.jwt_alg_none import unsigned_principal

LAYER = "api"
CONTROL = "AUTH-JWT-VALIDATION"


Verify = Callable[[TokenVerifier, str], tuple[Principal, float | None]]
_seen: WeakKeyDictionary[TokenVerifier, set[str]] = WeakKeyDictionary()


def _remembered_by_signature(verify: Verify) -> Verify:
    def verify_once(self: TokenVerifier, token: str) -> tuple[Principal, float | None]:
        """RSA verification showed up in profiles, so a verified signature is remembered and its token's
        claims are only decoded next time. The key should be the whole token; the signature alone lets
        any payload ride on a signature once seen."""
        try:
            jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("malformed token") from None
        signature = token.rsplit(".", 1)[-1]
        seen = _seen.setdefault(self, set())
        if signature in seen:
            return unsigned_principal(token), None
        verified = verify(self, token)
        seen.add(signature)
        return verified

    return verify_once


WRAPS = {TokenVerifier._verify: _remembered_by_signature}
