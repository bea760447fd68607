"""Keep secrets out of logs, evidence and reports.

Tokens, keys and passwords are replaced by a marker that keeps enough to correlate
(a JWT keeps its header's algorithm; a DSN keeps user, host and database).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

REDACTED = "[REDACTED]"
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})

_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
_PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.DOTALL)
_DSN_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]+:)([^@\s]+)(@)")
_KEY_VALUE = re.compile(r"(?i)\b(password|passwd|secret|api[_-]?key|token)(\s*[=:]\s*)(\"?)([^\s\"&,;]+)")


def redact_text(text: str) -> str:
    """Remove JWTs, private keys, DSN passwords and ``password=...`` pairs from free text."""
    text = _PEM.sub("[REDACTED PRIVATE KEY]", text)
    text = _JWT.sub("[REDACTED JWT]", text)
    text = _DSN_PASSWORD.sub(rf"\g<1>{REDACTED}\g<3>", text)
    return _KEY_VALUE.sub(rf"\g<1>\g<2>\g<3>{REDACTED}", text)


def redact_dsn(dsn: str) -> str:
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = parts.netloc.replace(f":{parts.password}@", f":{REDACTED}@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Secret-bearing headers keep only their scheme (``Bearer [REDACTED]``)."""
    redacted = {}
    for name, value in headers.items():
        if name.lower() in SECRET_HEADERS:
            scheme = value.split(" ", 1)[0] if " " in value else ""
            redacted[name] = f"{scheme} {REDACTED}".strip()
        else:
            redacted[name] = redact_text(value)
    return redacted
