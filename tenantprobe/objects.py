"""Where an app puts the id of an object it just created, whatever its type and shape.

Apps answer a create with ``{"id": 7}``, ``{"data": {"id": "..."}}``, ``{"run": {"info":
{"run_id": ...}}}``, a ``slug`` or ``username`` that is the key, only a ``Location`` header, or
nothing at all (then the object is found again in its collection by its canary). Ids are
returned as strings, since they travel in paths; a profile's ``ids`` entry names a JSON path
where none of this finds them.
"""

from __future__ import annotations

import json
import re
import secrets
import string
import uuid
from collections import deque
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from tenantprobe.steps import json_path

MAX_DEPTH = 4


def id_keys(param: str) -> list[str]:
    """The field names that may hold the value for path parameter ``param``, best first.

    ``invoice_id`` → ``invoice_id``, ``invoiceId``, ``id``; ``slug`` → ``slug``; ``workspace_slug`` →
    ``workspace_slug``, ``workspaceSlug``, ``slug``.
    """
    words = [w for w in re.split(r"_|(?<=[a-z])(?=[A-Z])", param) if w]
    camel = words[0].lower() + "".join(w.capitalize() for w in words[1:]) if words else param
    last = words[-1].lower() if words else param
    keys = [param, camel, "id" if last in ("id", "pk", "uuid", "key") else last, "id"]
    return list(dict.fromkeys(keys))


def reference_names(item_path: str, id_param: str) -> list[str]:
    """The names other operations give a reference to an object at ``item_path``, by the collection's noun.

    ``/orgs/{org}/projects/{slug}`` → ``project_slug``, ``projectSlug``, ``project_id``, ``projectId``,
    ``project_pk``, ``project``: how nested routes (``/projects/{project_slug}/tasks``) and filters
    (``?project=``) name a project, where no OpenAPI link says so.
    """
    literal = [part for part in item_path.strip("/").split("/") if part and not part.startswith("{")]
    if not literal:
        return []
    noun = literal[-1].replace("-", "_")
    singular = noun[:-3] + "y" if noun.endswith("ies") else noun[:-1] if noun.endswith("s") else noun
    camel = id_keys(f"{singular}_{id_param}")[1]
    names = [f"{singular}_{id_param}", camel, f"{singular}_id", f"{singular}Id", f"{singular}_pk", singular]
    return [name for name in dict.fromkeys(names) if name != id_param]


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int):
        return str(value)
    return None


def id_in_body(body: Any, param: str) -> str | None:
    """The first value of a key that names ``param`` (see :func:`id_keys`), breadth first up to a few levels."""
    keys = id_keys(param)
    queue: deque[tuple[Any, int]] = deque([(body, 0)])
    while queue:
        node, depth = queue.popleft()
        if isinstance(node, dict):
            for key in keys:
                if (found := _scalar(node.get(key))) is not None:
                    return found
            if depth < MAX_DEPTH:
                queue.extend((value, depth + 1) for value in node.values() if isinstance(value, dict))
    return None


def id_in_location(headers: Mapping[str, str]) -> str | None:
    """The last path segment of a ``Location`` header (``/api/things/42`` → ``42``)."""
    location = next((value for name, value in headers.items() if name.lower() == "location"), None)
    if not location:
        return None
    segment = urlsplit(location).path.rstrip("/").rsplit("/", 1)[-1]
    return segment or None


def find_in_collection(listing: Any, canary: str, param: str) -> str | None:
    """The id of the item of a collection response whose fields carry ``canary``."""
    queue: deque[tuple[Any, int]] = deque([(listing, 0)])
    while queue:
        node, depth = queue.popleft()
        items = node if isinstance(node, list) else list(node.values()) if isinstance(node, dict) else []
        for item in items:
            if isinstance(item, dict) and canary in json.dumps(item) and (found := id_in_body(item, param)):
                return found
            if depth < MAX_DEPTH and isinstance(item, dict | list):
                queue.append((item, depth + 1))
    return None


def pointer_path(pointer: str) -> str:
    """A JSON pointer (an OpenAPI link's ``$response.body#/run/info/run_id``) as a JSON path: ``$.run.info.run_id``,
    ``/items/0/id`` → ``$.items[0].id``."""
    parts = [part.replace("~1", "/").replace("~0", "~") for part in pointer.split("/")[1:]]
    return "$" + "".join(f"[{part}]" if part.isdigit() else f".{part}" for part in parts)


def created_id(body: Any, headers: Mapping[str, str], param: str, path: str | None = None) -> str | None:
    """The new object's id from a create response: an explicit JSON ``path``, the body, or ``Location``."""
    if path is not None:
        return _scalar(json_path(body, path))
    return id_in_body(body, param) or id_in_location(headers)


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def missing_like(value: str) -> str:
    """An id of the same shape as ``value`` that names nothing: a route typed ``<int:id>`` must still match.

    Integers get a far larger integer, UUIDs a fresh UUID; other ids keep their prefix (``tk_``) and
    separators, with every other character drawn again from its own class.
    """
    if value.isdigit():
        return str(10 ** max(len(value) + 6, 12) + secrets.randbelow(10**6))
    if _UUID.fullmatch(value):
        return str(uuid.uuid4())
    prefix, sep, rest = value.partition("_") if "_" in value[:8] else ("", "", value)
    hexadecimal = all(char in "0123456789abcdef" for char in rest if char.isalnum())
    pools = ("0123456789abcdef",) if hexadecimal else (string.digits, string.ascii_lowercase, string.ascii_uppercase)
    drawn = "".join(
        secrets.choice(next((pool for pool in pools if char in pool), char)) if char.isalnum() else char
        for char in rest
    )
    return prefix + sep + drawn


def bind_fields(body: Any, values: Mapping[str, str]) -> None:
    """Set every field named in ``values``, at any depth of ``body``, to the tenant's own value (in place)."""
    if isinstance(body, dict):
        for key in body:
            if key in values and not isinstance(body[key], dict | list):
                body[key] = values[key]
            else:
                bind_fields(body[key], values)
    elif isinstance(body, list):
        for item in body:
            bind_fields(item, values)
