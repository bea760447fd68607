"""Keep secrets out of logs, evidence and reports.

Tokens, keys and passwords are replaced by a marker that keeps enough to correlate (a JWT
keeps its header's algorithm; a DSN keeps user, host and database; a secret field keeps its
key). Canaries (``tpcanary...``) are never secrets: they are the evidence of a leak, so a
redacted value that held one keeps it.

Redact first, then cut: a body truncated before redaction can end inside a private key whose
END line is gone, and the tail would survive. :func:`redact_body` and :func:`redact_value` are
for whole bodies and structures, :func:`redact_text` for any text (JSON, form bodies, query
strings, free text).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REDACTED = "[REDACTED]"
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})

# Names of fields, parameters and headers whose value is a secret, also with a prefix
# (db_password, csrf_token, aws_secret, x-api-key); matched whole and case-insensitively.
_SECRET_NAME = (
    r"(?:[a-z0-9]+[_-])*"  # noqa: S105 - names of secret fields, not a secret
    r"(?:password|passwd|pass|pwd|passphrase|secret|client[_-]?secret|token|access[_-]?token|refresh[_-]?token"
    r"|id[_-]?token|api[_-]?key|apikey|private[_-]?key|authorization|cookie|session|session[_-]?id|credentials?)"
)
_SECRET_KEY = re.compile(_SECRET_NAME, re.IGNORECASE)
_CANARY = re.compile(r"tpcanary[0-9a-f]{6}x[0-9a-f]{10}")

# A PEM key up to its END line, or, when the text was cut before it, up to the end of the key
# material (base64, whitespace, and the \n escapes of a JSON string), so a tail never survives.
_PEM = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----(?:.*?-----END [A-Z ]*PRIVATE KEY-----|[A-Za-z0-9+/=\s\\:,-]*)", re.DOTALL
)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
_SCHEME_TOKEN = re.compile(r"\b(Bearer|Basic|Token)(\s+)([A-Za-z0-9._~+/=-]{16,})", re.IGNORECASE)
# Well-known token formats that carry no key name: Stripe, GitHub, AWS access key ids, Slack.
_KNOWN_TOKEN = re.compile(
    r"\b(?:(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}|gh[pousr]_[A-Za-z0-9]{30,}|AKIA[0-9A-Z]{16}|xox[abprs]-[A-Za-z0-9-]{10,})"
)
# Password hashes (bcrypt, argon2, PHC pbkdf2/scrypt, Django pbkdf2, sha-crypt): secrets whatever the field is called.
PASSWORD_HASH = re.compile(
    r"\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}|\$argon2(?:id|i|d)\$[^\s\"']+|\$(?:pbkdf2|scrypt)[-\w]*\$[^\s\"']+"
    r"|\bpbkdf2_sha\d+\$\d+\$[^\s\"']+|\$[56]\$[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{43,86}|\bscrypt:\d+:\d+:\d+\$[^\s\"']+"
)
_DSN_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]+:)([^@\s]+)(@)")
# "key": "value" (or a bare number/literal) in JSON text, at any depth.
_JSON_PAIR = re.compile(rf'("{_SECRET_NAME}"\s*:\s*)("(?:[^"\\]|\\.)*"|[-+\w.]+)', re.IGNORECASE)
# key=value / key: value in form bodies, query strings, headers and free text.
_KEY_VALUE = re.compile(rf"(?<![\w-])({_SECRET_NAME})(\s*[=:]\s*)(\"?)([^\s\"&,;]+)", re.IGNORECASE)


def _keep_canaries(value: str) -> str:
    """The marker, plus any canary the secret held (it is the evidence of a leak, not a secret)."""
    canaries = list(dict.fromkeys(_CANARY.findall(value)))
    return f"{REDACTED} {' '.join(canaries)}" if canaries else REDACTED


def _json_pair(match: re.Match[str]) -> str:
    value = match.group(2)
    if value.startswith('"'):
        return f'{match.group(1)}"{_keep_canaries(value)}"'
    if value.lower() in ("null", "true", "false"):
        return match.group(0)
    return f'{match.group(1)}"{_keep_canaries(value)}"'


def _key_value(match: re.Match[str]) -> str:
    value = match.group(4)
    # An auth scheme is followed by its token (redacted on its own); "$TOKEN_X" in a curl line is a
    # shell variable, not a secret; a marker is already redacted.
    if value.startswith(("[REDACTED", "$")) or value.lower() in ("bearer", "basic", "token"):
        return match.group(0)
    return f"{match.group(1)}{match.group(2)}{match.group(3)}{_keep_canaries(match.group(4))}"


def _scheme_token(match: re.Match[str]) -> str:
    return f"{match.group(1)}{match.group(2)}{_keep_canaries(match.group(3))}"


def redact_text(text: str) -> str:
    """Remove private keys, JWTs, bearer and known tokens, DSN passwords and secret fields from any text."""
    text = _PEM.sub("[REDACTED PRIVATE KEY]", text)
    text = _JWT.sub("[REDACTED JWT]", text)
    text = _SCHEME_TOKEN.sub(_scheme_token, text)
    text = _KNOWN_TOKEN.sub(REDACTED, text)
    text = PASSWORD_HASH.sub("[REDACTED HASH]", text)
    text = _DSN_PASSWORD.sub(rf"\g<1>{REDACTED}\g<3>", text)
    text = _JSON_PAIR.sub(_json_pair, text)
    return _KEY_VALUE.sub(_key_value, text)


def redact_value(value: Any) -> Any:
    """A copy of a JSON-like structure with secret fields (by name, at any depth) and secret text removed."""
    if isinstance(value, Mapping):
        return {
            key: _redact_field(item) if isinstance(key, str) and _SECRET_KEY.fullmatch(key) else redact_value(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_value(item) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def _redact_field(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        scheme, _, rest = value.partition(" ")
        if rest and scheme.lower() in ("bearer", "basic", "token"):
            return f"{scheme} {_keep_canaries(rest)}"
        return _keep_canaries(value)
    if isinstance(value, Mapping | list | tuple):
        # A structure under a secret name (a session object, a credentials list) is secret as a whole,
        # but its canaries stay visible.
        return _keep_canaries(json.dumps(value, default=str))
    return REDACTED


def redact_body(text: str) -> str:
    """A response or request body: secret fields removed structurally when it is JSON, textually otherwise."""
    try:
        parsed = json.loads(text)
    except ValueError:
        return redact_text(text)
    if not isinstance(parsed, dict | list):
        return redact_text(text)
    return json.dumps(redact_value(parsed), ensure_ascii=False)


def redact_url(url: str) -> str:
    """A URL without a password in its authority or secrets in its query (``?token=``, ``?api_key=``)."""
    return redact_text(redact_dsn(url))


def redact_dsn(dsn: str) -> str:
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = parts.netloc.replace(f":{parts.password}@", f":{REDACTED}@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def redact_headers(headers: Mapping[str, str], also: tuple[str, ...] = ()) -> dict[str, str]:
    """Secret-bearing headers (and ``also``: a profile's credential header) keep only their scheme."""
    redacted = {}
    extra = {name.lower() for name in also}
    for name, value in headers.items():
        if name.lower() in SECRET_HEADERS or name.lower() in extra or _SECRET_KEY.fullmatch(name):
            scheme = value.split(" ", 1)[0] if " " in value else ""
            redacted[name] = f"{scheme} {REDACTED}".strip()
        else:
            redacted[name] = redact_text(value)
    return redacted
