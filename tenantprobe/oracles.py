"""Generic oracles: decisions that need no knowledge of the target's domain.

- *foreign ≡ missing*: a response for another tenant's id must be indistinguishable from the
  response for an id that exists nowhere (after the ids themselves are masked);
- *differential snapshots*: what a tenant sees must not change when only another tenant acts;
  values that change on their own (timestamps, counters of the caller's own requests) are
  learned as volatile from two back-to-back snapshots and ignored;
- *error hygiene*: error bodies must not carry database or runtime internals;
- *secret exposure*: JSON fields named like secrets, and values shaped like them (password
  hashes, private keys, JWTs), that the caller did not send;
- *foreign identifiers*: another tenant's ids, of any type, in the id-bearing fields of a response.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tenantprobe.redact import PASSWORD_HASH

if TYPE_CHECKING:  # the probe scans with these oracles: a type-only import keeps the two modules acyclic
    from tenantprobe.probe import Exchange

# Markers of internals leaking into responses: drivers, SQL errors, stack traces.
INTERNAL_MARKERS = re.compile(
    r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|psycopg|sqlalchemy|asyncpg|"
    r"SQLSTATE|violates (?:foreign key|unique|check|not-null) constraint|duplicate key value|"
    r"\bDETAIL:|Key \([^)]*\)=\(|syntax error at or near|relation \"[^\"]+\"|"
    r"column \"[^\"]+\" (?:does not exist|of relation)|\bat [\w.$]+\([\w.]+:\d+\)|"
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----|"
    # SQLAlchemy's echo of the failed statement and SQLite's constraint messages (MLflow's duplicate experiment).
    r"\[SQL: |\[parameters: |(?:UNIQUE|FOREIGN KEY|NOT NULL) constraint failed",
    re.IGNORECASE,
)


def mask(text: str, ids: list[str]) -> str:
    for value in ids:
        if value:
            text = text.replace(value, "<id>")
    return text


def looks_like_missing(foreign: Exchange, missing: Exchange, ids: list[str], again: Exchange | None = None) -> bool:
    """Status, content type, header names and body (ids masked) are the same for the foreign and the missing id.

    With ``again`` (the missing request sent a second time), JSON fields that differ between
    the two missing answers (request ids, timestamps) are noise and are not compared.
    """
    content_type = foreign.response_headers.get("content-type", "")
    if foreign.status != missing.status or content_type != missing.response_headers.get("content-type", ""):
        return False
    if not _same_header_names(foreign, missing, again):
        return False
    if mask(foreign.text, ids) == mask(missing.text, ids):
        return True
    if again is None:
        return False
    first, second, seen = (_masked_fields(e, ids) for e in (missing, again, foreign))
    volatile = {k for k in first.keys() | second.keys() if first.get(k, ...) != second.get(k, ...)}
    return all(first.get(k, ...) == seen.get(k, ...) for k in (first.keys() | seen.keys()) - volatile)


def _same_header_names(foreign: Exchange, missing: Exchange, again: Exchange | None) -> bool:
    """The same response headers are present (an ``ETag`` or ``Last-Modified`` only for ids that exist is an
    oracle); a header present in one missing answer and not in the other is noise."""
    names = [{name.lower() for name in e.response_headers} for e in (foreign, missing)]
    volatile = names[1] ^ {name.lower() for name in again.response_headers} if again is not None else set()
    return names[0] - volatile == names[1] - volatile


def _masked_fields(exchange: Exchange, ids: list[str]) -> dict[str, Any]:
    body = exchange.json()
    fields = flatten(body) if body is not None else {"": exchange.text}
    return {key: mask(value, ids) if isinstance(value, str) else value for key, value in fields.items()}


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": [{"b": 1}]}`` → ``{"a.0.b": 1}``; scalars at the root map to ``""``."""
    out: dict[str, Any] = {}
    _flatten_into(out, value, prefix)
    return out


def _flatten_into(out: dict[str, Any], value: Any, prefix: str) -> None:
    """One output dict for the whole walk: every scan of every response flattens its body."""
    if isinstance(value, dict):
        if not value:
            out[prefix] = {}
        for key, item in value.items():
            _flatten_into(out, item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        if not value:
            out[prefix] = []
        for index, item in enumerate(value):
            _flatten_into(out, item, f"{prefix}.{index}" if prefix else str(index))
    else:
        out[prefix] = value


def _snapshot(exchange: Exchange) -> dict[str, Any]:
    body = exchange.json()
    return {"<status>": exchange.status, **flatten(body if body is not None else exchange.text)}


def changed_by_others(before: tuple[Exchange, Exchange], after: tuple[Exchange, Exchange]) -> dict[str, Any]:
    """Keys stable within each pair of back-to-back snapshots but different across the other tenant's writes."""
    first, second = (_snapshot(e) for e in before)
    third, fourth = (_snapshot(e) for e in after)
    keys = set(first) | set(second) | set(third) | set(fourth)
    stable = {k for k in keys if first.get(k, ...) == second.get(k, ...) and third.get(k, ...) == fourth.get(k, ...)}
    return {
        k: {"before": second.get(k), "after": third.get(k)} for k in stable if second.get(k, ...) != third.get(k, ...)
    }


def internal_markers(text: str) -> list[str]:
    return sorted({match.group(0)[:80] for match in INTERNAL_MARKERS.finditer(text)})


_QUALIFIED = r"(?:[a-z0-9]+[_-])*"
# Words that name a credential whatever else the field is: a password, a key, a token that authenticates.
_CREDENTIAL = (
    r"password|passwd|passphrase|secret|client[_-]?secret|secret[_-]?key|api[_-]?key|apikey|private[_-]?key"
    r"|(?:access|refresh|id|auth|session|bearer)[_-]?token"
)
CREDENTIAL_FIELD = re.compile(rf"{_QUALIFIED}(?:{_CREDENTIAL})", re.IGNORECASE)
# Fields whose string value is a credential: ``password``, ``client_secret``, ``api_key``, ``search_token``...
SECRET_FIELD = re.compile(rf"{_QUALIFIED}(?:{_CREDENTIAL}|token)", re.IGNORECASE)
# ...except the tokens that are no credential: pagination, CSRF (bound to a session), counts and kinds.
NOT_A_SECRET = re.compile(r"page|cursor|continuation|next|sync|csrf|xsrf|nonce|count|type|expires|hint", re.IGNORECASE)
JWT_VALUE = re.compile(r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
MASKED = re.compile(r"[*\u2022]{3,}|^x{4,}|\[REDACTED")
MIN_SECRET_CHARS = 8


def exposed_secrets(
    body: Any, sent: str, *, read: bool, is_reference: Callable[[str], bool] | None = None
) -> list[str]:
    """Where (JSON paths, never values) ``body`` carries a secret the caller did not send itself.

    Password hashes and private keys count in any response. Secret-named fields and JWTs count
    only in reads: a create or a token endpoint hands out a credential once, by design, while a
    read that repeats one keeps it in every cache and log it passes through. ``is_reference``
    tells a field name that is an object reference of the API (see :func:`named_like_secret`).
    """
    found = []
    for path, value in flatten(body).items():
        if not isinstance(value, str) or len(value) < MIN_SECRET_CHARS or value in sent or MASKED.search(value):
            continue
        name = path.rsplit(".", 1)[-1]
        if PASSWORD_HASH.search(value):
            found.append(f"{path} (a password hash)")
        elif PRIVATE_KEY.search(value):
            found.append(f"{path} (a private key)")
        elif read and JWT_VALUE.fullmatch(value):
            found.append(f"{path} (a JWT)")
        elif read and named_like_secret(name, is_reference):
            found.append(f"{path} (a field named like a secret)")
    return found


def named_like_secret(name: str, is_reference: Callable[[str], bool] | None = None) -> bool:
    """``name`` says credential: a password, a key, or a token that is not an object reference.

    A ``token`` is often only a handle: Airflow's ``file_token`` is the DAG's own file path, signed,
    and ``GET /dagSources/{file_token}`` takes it. A token field named like a path parameter of the
    API (``is_reference``: of an operation that needs credentials, and taken by no public one, where
    it would open something on its own) is such a reference, as an id is: whether the caller may see
    the object it names is for the isolation checks to judge. A credential in it still shows by its
    value (a JWT, a key, another tenant's token); names that say credential (``api_key``,
    ``access_token``) count whatever takes them.
    """
    if not SECRET_FIELD.fullmatch(name) or NOT_A_SECRET.search(name):
        return False
    return CREDENTIAL_FIELD.fullmatch(name) is not None or is_reference is None or not is_reference(name)


def id_bearing(key: str) -> bool:
    """``id``, ``note_id``, ``noteId``, ``tag_ids``, ``slug``, ``uuid``, ``username``: fields that hold references."""
    return bool(re.fullmatch(r"id|ids|uuid|slug|username|handle|.*(?:_ids?|Ids?|_uuid|_slug)", key))


def referenced_values(body: Any) -> list[tuple[str, str]]:
    """``(path, value)`` of every scalar in an id-bearing field (arrays under such a field included)."""
    found = []
    for path, value in flatten(body).items():
        keys = [part for part in path.split(".") if not part.isdigit()]
        if not keys or not id_bearing(keys[-1]) or isinstance(value, bool) or not isinstance(value, str | int):
            continue
        found.append((path, str(value)))
    return found
