"""The audience is not verified ("we only have one API").

Tokens minted for another service of the same issuer (the internal service's tokens
among them) are accepted. Realised as
``decode_options`` of ``auth/tokens.py``. Wrong-audience tokens should
catch it.

Control: ``AUTH-JWT-VALIDATION``.
"""

from __future__ import annotations

from collections.abc import Callable

import jwt

from reference_app.auth import tokens

LAYER = "api"
CONTROL = "AUTH-JWT-VALIDATION"


def _audience_unchecked(decode_options: Callable[[], jwt.types.Options]) -> Callable[[], jwt.types.Options]:
    """The audience goes unchecked: "we only have one API"."""
    return lambda: {**decode_options(), "verify_aud": False}


WRAPS = {tokens.decode_options: _audience_unchecked}
