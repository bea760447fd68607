"""Expiry is not verified (turned off after clock-skew complaints).

Stolen tokens never die. Realised as ``decode_options`` of
``auth/tokens.py``. Expired tokens should catch it.

Control: ``AUTH-JWT-VALIDATION``.
"""

from __future__ import annotations

from collections.abc import Callable

import jwt

from reference_app.auth import tokens

LAYER = "api"
CONTROL = "AUTH-JWT-VALIDATION"


def _expiry_unchecked(decode_options: Callable[[], jwt.types.Options]) -> Callable[[], jwt.types.Options]:
    """Expiry off after clock-skew complaints."""
    return lambda: {**decode_options(), "verify_exp": False}


WRAPS = {tokens.decode_options: _expiry_unchecked}
