"""The target's operations, discovered from its OpenAPI document rather than listed by hand.

The isolation suite needs to know, for any API, which operations create objects, which
address one object by id, which read collections, and how to build a valid request body.
All of that is read off the OpenAPI document, so the suite works on targets it has never seen.
"""

from __future__ import annotations

import copy
import fnmatch
import functools
import json
import re
import secrets
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import jsonschema

from tenantprobe.errors import TargetError

_PARAM = re.compile(r"\{([^}]+)\}")
# Names apps give the tenant selector: org, X-Org-Id, account_id, teamId, workspace, tenant...
TENANT_WORDS = re.compile(
    r"(x-)?(tenant|org|organi[sz]ation|account|team|workspace|project|space|company|customer)([-_]?(id|slug|key))?",
    re.IGNORECASE,
)
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class QueryParam:
    name: str
    required: bool
    schema: dict[str, Any]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    secured: bool
    query: tuple[QueryParam, ...] = ()
    body_schema: dict[str, Any] | None = None
    success_statuses: tuple[int, ...] = ()
    reads: bool = False  # a POST that reads (a search form, a batch list): judged as a read, never as a write

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(_PARAM.findall(self.path))

    @property
    def addresses_item(self) -> bool:
        """The last path segment is an id: the operation acts on one object."""
        return self.path.rstrip("/").endswith("}")

    @property
    def mutates(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH", "DELETE") and not self.reads

    def required_query(self, text: str) -> dict[str, str]:
        """Required query parameters, strings filled with ``text`` (a canary: an attacker's search terms)."""
        return {q.name: text if q.schema.get("type", "string") == "string" else "1" for q in self.query if q.required}

    def url(self, bindings: dict[str, str]) -> str:
        def bind(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in bindings:
                raise KeyError(name)
            return bindings[name]

        return _PARAM.sub(bind, self.path)

    def matches(self, pattern: str) -> bool:
        """``pattern`` is ``"METHOD /path/glob"`` (METHOD may be ``*``) or just a path glob."""
        method, _, path = pattern.partition(" ") if " " in pattern else ("*", "", pattern)
        return (method == "*" or method.upper() == self.method) and fnmatch.fnmatchcase(self.path, path)


@dataclass(frozen=True)
class Creator:
    """A POST on a collection whose objects are then addressable at ``item_path``, or (``id_pointer`` set) an
    RPC-style create (``POST /runs/create``) whose answer's id an OpenAPI link hands to ``item_path``'s operation
    as the parameter or body field ``id_param`` (``GET /runs/get?run_id=``)."""

    operation: Operation
    item_path: str
    id_param: str
    id_pointer: str | None = None  # where the answer holds the id: a link's ``$response.body#/run/info/run_id``

    @property
    def depth(self) -> int:
        return len(self.operation.path_params)

    @property
    def linked(self) -> bool:
        """Created as a link says, not on a collection: no listing of its objects lives at its path."""
        return self.id_pointer is not None


@dataclass(frozen=True)
class Link:
    """One value an OpenAPI link takes from an answer's body to another operation: a parameter (``where`` is
    ``path``, ``query``, ``header``, or empty when the link does not qualify it) or a field of the linked
    operation's request body (``where`` is ``body``, ``name`` its keys from the root)."""

    operation_id: str
    where: str
    name: tuple[str, ...]
    pointer: str  # a JSON pointer into the answer's body: "/run/info/run_id"


_BODY_EXPRESSION = re.compile(r"\{?\$response\.body#(/[^}]*)\}?")


def _body_links(operation_id: str, node: Any, pointer_of: Any, prefix: tuple[str, ...] = ()) -> list[Link]:
    """The links of a link's ``requestBody`` written as an object whose leaves are expressions."""
    if isinstance(node, dict):
        return [
            link for key, value in node.items() for link in _body_links(operation_id, value, pointer_of, (*prefix, key))
        ]
    pointer = pointer_of(node)
    return [Link(operation_id, "body", prefix, pointer)] if prefix and pointer else []


def links_of(document: dict[str, Any], spec: dict[str, Any]) -> list[Link]:
    """What the successful answers of the operation ``spec`` hand on through OpenAPI links, taken from its body."""

    def pointer_of(expression: Any) -> str | None:
        match = _BODY_EXPRESSION.fullmatch(expression) if isinstance(expression, str) else None
        return match.group(1) if match else None

    found: list[Link] = []
    for code, response in (spec.get("responses") or {}).items():
        if not str(code).startswith("2"):
            continue
        for link in (deref(document, response).get("links") or {}).values():
            link = deref(document, link)
            if not isinstance(link, dict):
                continue
            target = str(link.get("operationId", ""))
            for parameter, expression in (link.get("parameters") or {}).items():
                where, _, name = parameter.rpartition(".")
                if (pointer := pointer_of(expression)) is not None:
                    found.append(Link(target, where, (name,), pointer))
            found += _body_links(target, link.get("requestBody"), pointer_of)
    return found


@dataclass
class ApiModel:
    operations: list[Operation]
    document: dict[str, Any] = field(repr=False)
    excluded: dict[str, str] = field(default_factory=dict)  # "METHOD /path" -> why it is never called
    # Kinds of objects the tenants have without creating them (the profile's bindings: a DAG from a file).
    bound_kinds: tuple[str, ...] = ()
    # Names an operation that needs credentials takes in its path and no public operation takes anywhere:
    # a response field so named hands out an object reference (``file_token`` for ``/dagSources/{file_token}``).
    reference_params: frozenset[str] = frozenset()
    _creators: tuple[Creator, ...] | None = field(default=None, init=False, repr=False, compare=False)

    def find(self, method: str, path: str) -> Operation | None:
        return next((op for op in self.operations if op.method == method and op.path == path), None)

    def creators(self) -> tuple[Creator, ...]:
        """Creating operations in dependency order (parents before children): POSTs on a collection whose items
        live at ``<collection>/{id}``, and POSTs whose answer links its id to other operations (RPC style).

        Found once: seeding and the checks ask for every body they build, and the search is quadratic in the
        operations."""
        if self._creators is None:
            self._creators = self._find_creators()
        return self._creators

    def _find_creators(self) -> tuple[Creator, ...]:
        found = []
        for op in self.operations:
            if op.method != "POST" or op.addresses_item:
                continue
            base = op.path.rstrip("/") + "/"  # a collection may be written with a trailing slash: /projects/
            for other in self.operations:
                if not other.path.startswith(base):
                    continue
                if match := _PARAM.fullmatch(other.path[len(base) :].rstrip("/")):
                    found.append(Creator(op, other.path, match.group(1)))
                    break
            else:
                if (linked := self._linked_creator(op)) is not None:
                    found.append(linked)
        return tuple(sorted(found, key=lambda creator: (creator.depth, creator.operation.path)))

    def _linked_creator(self, op: Operation) -> Creator | None:
        """``op`` as a create when its answer links an id to other operations: the link to a read (a GET that
        takes it), else the first; the id's kind is the name the linked operation gives it."""
        spec = self.document["paths"].get(op.path, {}).get(op.method.lower(), {})
        by_id = {other.operation_id: other for other in self.operations}
        links = [link for link in links_of(self.document, spec) if link.operation_id in by_id]
        links.sort(key=lambda link: by_id[link.operation_id].method != "GET")
        if not links:
            return None
        link = links[0]
        return Creator(op, by_id[link.operation_id].path, link.name[-1], link.pointer)

    def kinds(self) -> list[str]:
        """Every kind a reference may name: what the API creates and what the tenants are bound to."""
        return sorted({creator.id_param for creator in self.creators()} | set(self.bound_kinds))

    def with_path_params(self) -> list[Operation]:
        return [op for op in self.operations if op.path_params]

    def collection_reads(self) -> list[Operation]:
        return [op for op in self.operations if op.method == "GET" and not op.path_params]

    def search_reads(self) -> list[Operation]:
        """POSTs that read a collection: batch lists and search forms (``POST /runs/search``)."""
        return [op for op in self.operations if op.reads]

    def server_tenant_route(self) -> tuple[str | None, str | None]:
        """``(path prefix, host)`` templates when the document's server URL names the tenant in a variable.

        ``servers: [{url: "/t/{tenant}"}]`` → ``("/t/{tenant_id}", None)``; ``https://{org}.example.com`` →
        ``(None, "{tenant_id}.example.com")``.
        """
        servers = self.document.get("servers") or [{}]
        url = servers[0].get("url", "") if isinstance(servers[0], dict) else ""
        names = [name for name in _PARAM.findall(url) if TENANT_WORDS.fullmatch(name)]
        if not names:
            return None, None
        parts = urlsplit(url.replace("{" + names[0] + "}", "{tenant_id}"))
        prefix = parts.path.rstrip("/") if "{tenant_id}" in parts.path else None
        host = parts.hostname if parts.hostname and "{tenant_id}" in parts.netloc else None
        return prefix, host

    def tenant_selectors(self) -> list[tuple[str, str]]:
        """Every place a request can name a tenant: ``(in, name)`` for query and header parameters and body fields
        whose name says tenant, organisation, account, team, workspace, project, space, company or customer."""
        found: dict[tuple[str, str], None] = {}
        for item in self.document["paths"].values():
            for method in METHODS:
                spec = item.get(method) if isinstance(item, dict) else None
                if not isinstance(spec, dict):
                    continue
                for parameter in item.get("parameters", []) + spec.get("parameters", []):
                    parameter = _resolve(self.document, parameter)
                    if parameter.get("in") in ("query", "header") and TENANT_WORDS.fullmatch(parameter.get("name", "")):
                        found[(parameter["in"], parameter["name"])] = None
        for op in self.operations:
            properties = (op.body_schema or {}).get("properties", {})
            found.update({("body", name): None for name in properties if TENANT_WORDS.fullmatch(name)})
        return list(found)


def deref(document: dict[str, Any], node: Any) -> Any:
    """``node`` itself, or what its ``$ref`` chain points at, without inlining anything below it.

    Cheap where only one level is read (a response's links): inlining a whole response schema costs
    thousands of calls.
    """
    for _ in range(12):  # bounded, so a cycle of refs terminates
        if not isinstance(node, dict) or "$ref" not in node:
            return node
        target: Any = document
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return {}


_MAX_REF_HOPS = 6  # $refs followed along one branch: recursive schemas stop there
_MAX_NESTING = 100


def _resolve(document: dict[str, Any], schema: Any, hops: int = 0, depth: int = 0) -> Any:
    """Inline ``$ref``s. A branch that follows too many refs (a recursive schema) ends in ``{}``, which is a
    schema (any value): the bound counts refs, not nesting, so a deep but finite body keeps its leaves intact
    (a ``type`` cut off at a fixed depth became ``type: {}``, which schema tools reject)."""
    if hops > _MAX_REF_HOPS or depth > _MAX_NESTING:
        return {}
    if isinstance(schema, dict):
        if "$ref" in schema:
            target: Any = document
            for part in schema["$ref"].lstrip("#/").split("/"):
                target = target[part]
            return _resolve(document, target, hops + 1, depth + 1)
        return {key: _resolve(document, value, hops, depth + 1) for key, value in schema.items()}
    if isinstance(schema, list):
        return [_resolve(document, item, hops, depth + 1) for item in schema]
    return schema


# Operations that would end the run's own identities or wipe the target: never called unless allowed.
_DESTRUCTIVE = (
    (re.compile(r"log-?out|sign-?out", re.I), "*", "logs the caller out"),
    (re.compile(r"(^|[/_-])(reset|wipe|truncate|factory-?reset|purge-?all)([/_-]|$)", re.I), "*", "resets data"),
    (re.compile(r"password", re.I), "POST PUT PATCH DELETE", "changes a password"),
    (re.compile(r"(^|[/_-])(revoke|deactivate)([/_-]|$)", re.I), "POST PUT PATCH DELETE", "revokes access"),
    (re.compile(r"/(users?|accounts?|me|profile)(/\{[^}]+\})?/?$", re.I), "DELETE", "deletes a user"),
)


def destructive_reason(method: str, path: str, operation_id: str) -> str | None:
    """Why calling this operation could destroy the run's identities or the target's data, if it could."""
    for pattern, methods, reason in _DESTRUCTIVE:
        if (methods == "*" or method in methods.split()) and (pattern.search(path) or pattern.search(operation_id)):
            return reason
    return None


def _declares_security(document: dict[str, Any]) -> bool:
    if document.get("security"):
        return True
    return any(
        isinstance(spec, dict) and spec.get("security")
        for item in document["paths"].values()
        if isinstance(item, dict)
        for spec in item.values()
    )


def _requires_credentials(security: Any) -> bool:
    """A security requirement list demands credentials unless it is empty or offers ``{}`` (anonymous) as an option."""
    return isinstance(security, list) and bool(security) and all(security)


_READ_WORDS = {"list", "search", "query", "find", "lookup", "filter", "get", "fetch", "count", "read", "retrieve"}
_WRITE_WORDS = {"create", "add", "new", "update", "set", "delete", "remove", "trigger", "clear", "run", "send"}


def _words(text: str) -> list[str]:
    return [w.lower() for w in re.split(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])", text) if w]


def reads_by_name(method: str, path: str, spec: dict[str, Any]) -> bool:
    """A POST named as a read: its operationId or summary starts with list/search/get/..., or its last path
    segment is one (``POST /dags/~/dagRuns/~/taskInstances/list``, ``get_task_instances_batch``, ``POST
    /runs/search``), and no word of them says it writes (``get_or_create``)."""
    if method != "post":
        return False
    names = [
        _words(str(spec.get("operationId", ""))),
        _words(str(spec.get("summary", ""))),
        _words(path.rstrip("/").rsplit("/", 1)[-1]),
    ]
    if any(word in _WRITE_WORDS for words in names for word in words):
        return False
    return any(words[:1] and words[0] in _READ_WORDS for words in names)


def under_server_path(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with its paths under the path of its first server when that is a relative URL without
    variables (``servers: [{url: /api/v1}]`` and ``/dags``: ``/api/v1/dags``, where Airflow serves it); the
    server's host is never used, requests go to ``base_url``."""
    servers = document.get("servers") or [{}]
    url = servers[0].get("url", "") if isinstance(servers[0], dict) else ""
    prefix = url.rstrip("/") if isinstance(url, str) and url.startswith("/") and "{" not in url else ""
    paths = document.get("paths")
    if not prefix or not isinstance(paths, dict) or all(path.startswith(prefix + "/") for path in paths):
        return document
    return {**document, "paths": {prefix + path: item for path, item in paths.items()}}


def parse_openapi(
    document: dict[str, Any],
    skip: tuple[str, ...] = (),
    public: tuple[str, ...] = (),
    allow_destructive: tuple[str, ...] = (),
) -> ApiModel:
    """The operations of ``document``, less those ``skip`` names and those that are destructive.

    A document that declares no security at all (common where the token is read by a handler
    dependency) is taken to need authentication everywhere except the ``public`` operations.
    """
    if not isinstance(document.get("paths"), dict):
        raise TargetError("the OpenAPI document has no 'paths'; is the openapi location in the profile right?")
    global_security = _requires_credentials(document.get("security"))
    undeclared = not _declares_security(document)
    operations, excluded, every = [], {}, []
    for path, item in document["paths"].items():
        for method in METHODS:
            spec = item.get(method)
            if spec is None:
                continue
            parameters = [_resolve(document, p) for p in item.get("parameters", []) + spec.get("parameters", [])]
            body = spec.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            responses = spec.get("responses", {})
            operation = Operation(
                method=method.upper(),
                path=path,
                operation_id=spec.get("operationId", f"{method} {path}"),
                secured=undeclared
                or (_requires_credentials(spec["security"]) if "security" in spec else global_security),
                query=tuple(
                    QueryParam(p["name"], bool(p.get("required")), p.get("schema", {}))
                    for p in parameters
                    if p.get("in") == "query"
                ),
                body_schema=_resolve(document, body) if body else None,
                success_statuses=tuple(int(code) for code in responses if code.isdigit() and code.startswith("2")),
                reads=reads_by_name(method, path, spec),
            )
            if any(operation.matches(pattern) for pattern in public):
                operation = replace(operation, secured=False)
            every.append(operation)
            reason = destructive_reason(operation.method, path, operation.operation_id)
            if any(operation.matches(pattern) for pattern in skip):
                excluded[operation.key] = "skip_operations"
            elif reason and not any(operation.matches(pattern) for pattern in allow_destructive):
                excluded[operation.key] = f"{reason} (list it in allow_destructive to call it)"
            else:
                operations.append(operation)
    return ApiModel(operations, document, excluded, reference_params=_reference_params(every))


def _reference_params(operations: list[Operation]) -> frozenset[str]:
    """Path parameters of operations that need credentials, less every name a public operation takes (in its
    path, query or body): a value a public operation takes opens it without credentials, a capability (an
    invitation's ``{token}``), not a reference. Skipped operations count: they are still the API's."""
    secured = {name for op in operations if op.secured for name in op.path_params}
    public = {
        name
        for op in operations
        if not op.secured
        for name in (*op.path_params, *(q.name for q in op.query), *(op.body_schema or {}).get("properties", {}))
    }
    return frozenset(secured - public)


def _non_null(schema: dict[str, Any]) -> dict[str, Any]:
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [option for option in schema[key] if option.get("type") != "null"]
            return options[0] if options else {}
    return schema


_FIRST_MOMENT = datetime(2026, 1, 1, tzinfo=UTC)  # every synthesised date-time; creates move it on


def _string(schema: dict[str, Any], canary: str) -> str:
    fmt = schema.get("format")
    if fmt == "uuid":
        return str(uuid.uuid4())
    if fmt == "email":
        return f"{canary}@example.com"
    if fmt == "date-time":
        return _FIRST_MOMENT.strftime("%Y-%m-%dT%H:%M:%SZ")
    pattern = schema.get("pattern")
    low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
    for candidate in (canary, f"{canary}/{canary}", f"{canary}@example.com", canary[:8]):
        # Long enough for minLength (the canary repeated keeps it a word the target can index), short enough for max.
        candidate = (candidate + " " + canary * (1 + low // max(len(canary), 1)))[: max(low, len(candidate))]
        candidate = candidate[:high] if isinstance(high, int) else candidate
        if pattern is None or re.search(pattern, candidate):
            return candidate
    return canary


def synthesize(schema: dict[str, Any] | None, canary: str, optional: bool = True) -> Any:
    """A small valid instance of ``schema`` that carries ``canary`` in every free-text string; without
    ``optional``, of its required properties only (a search form's filters left out: ``{}``)."""
    if not schema:
        return {}
    schema = _non_null(schema)
    kind = schema.get("type")
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][-1]  # enums tend to list the least privileged value last
    if kind == "object" or "properties" in schema:
        required = set(schema.get("required", []))
        instance = {}
        for name, prop in schema.get("properties", {}).items():
            prop = _non_null(prop)
            if prop.get("readOnly"):  # the server's to set: a request that carries it is refused (Airflow's dag_id)
                continue
            if name in required or (optional and prop.get("type") in ("string", "array")):
                instance[name] = synthesize(prop, canary, optional)
        return instance
    if kind == "array":
        items = _non_null(schema.get("items", {}))
        if items.get("type") == "string" or schema.get("minItems", 0) > 0:
            return [synthesize(items, canary, optional)]
        return []
    if kind == "string":
        return _string(schema, canary)
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1)
        return max(low, 1) if schema.get("maximum", 1) >= 1 else low
    if kind == "boolean":
        return False
    return canary


def with_fresh_moments(body: Any, schema: dict[str, Any] | None, serial: int) -> Any:
    """``body`` with its date-time and date fields set to moment number ``serial`` (``serial`` minutes, or days,
    after the synthesised one): objects unique per date (an Airflow run's ``logical_date``) each get their own."""
    schema = _non_null(schema or {})
    if isinstance(body, dict):
        properties = schema.get("properties", {})
        return {
            key: with_fresh_moments(value, properties[key], serial) if isinstance(properties.get(key), dict) else value
            for key, value in body.items()
        }
    if isinstance(body, list):
        items = schema.get("items")
        return [with_fresh_moments(item, items, serial) for item in body] if isinstance(items, dict) else body
    if isinstance(body, str) and schema.get("format") == "date-time":
        return (_FIRST_MOMENT + timedelta(minutes=serial)).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(body, str) and schema.get("format") == "date":
        return (_FIRST_MOMENT + timedelta(days=serial)).date().isoformat()
    return body


def _redrawn(value: str, pattern: str | None) -> str:
    """``value`` with its digits drawn again (as hex digits where ``pattern`` allows, else decimal), still matching
    ``pattern``; ``value`` itself when no redraw does."""
    for pool in ("0123456789abcdef", "0123456789"):
        candidate = "".join(secrets.choice(pool) if char.isdigit() else char for char in value)
        if pattern is None or re.search(pattern, candidate):
            return candidate
    return value


def with_fresh_ids(body: Any, schema: dict[str, Any] | None, name: str, canary: str) -> Any:
    """``body`` with every field called ``name`` (a create's own id, the client's to choose: a trace's
    ``trace_id``) given a value of its own that still matches its pattern: a generated value (``tr-000…``)
    is the same for every create, and a second create with it is refused as a duplicate."""
    schema = _non_null(schema or {})
    if isinstance(body, dict):
        properties = schema.get("properties", {})
        fresh = {}
        for key, value in body.items():
            prop = properties.get(key) if isinstance(properties.get(key), dict) else {}
            if key == name and isinstance(value, str) and canary not in value:
                fresh[key] = _redrawn(value, _non_null(prop).get("pattern"))
            else:
                fresh[key] = with_fresh_ids(value, prop, name, canary)
        return fresh
    if isinstance(body, list):
        items = schema.get("items")
        return [with_fresh_ids(item, items if isinstance(items, dict) else {}, name, canary) for item in body]
    return body


def _as_request(schema: Any) -> Any:
    """``schema`` as a request sees it: a read-only property is never required there (drf-spectacular lists
    ``id`` as required and read-only), so a body without it is valid."""
    if isinstance(schema, list):
        return [_as_request(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    view = {key: _as_request(value) for key, value in schema.items()}
    properties = schema.get("properties")
    if isinstance(properties, dict) and isinstance(schema.get("required"), list):
        view["required"] = [
            name
            for name in schema["required"]
            if not (isinstance(properties.get(name), dict) and properties[name].get("readOnly"))
        ]
    return view


def valid_body(schema: dict[str, Any] | None, canary: str, optional: bool = True) -> Any:
    """A body ``schema`` accepts that carries ``canary`` where it can (without ``optional``: the least it takes).

    The canary-bearing instance of :func:`synthesize` first; when the schema refuses it (a
    pattern, a format, ``oneOf``...), the simplest instance schemathesis' JSON-Schema generation
    finds, with each field taken from the canary instance where the schema still accepts it.
    The positive controls of the checks then prove the target accepts it too.
    """
    candidate = synthesize(schema, canary, optional)
    schema = _as_request(schema)
    if not schema or jsonschema.Draft202012Validator(schema).is_valid(candidate):
        return candidate
    generated = copy.deepcopy(_generated_instance(json.dumps(schema, sort_keys=True)))
    if generated is None:
        return candidate
    if isinstance(generated, dict) and isinstance(candidate, dict):
        validator = jsonschema.Draft202012Validator(schema)
        for key, value in candidate.items():
            trial = {**generated, key: value}
            if validator.is_valid(trial):
                generated = trial
    return generated


@functools.lru_cache(maxsize=256)
def _generated_instance(schema_json: str) -> Any:
    """The simplest instance of a schema (None without the fuzz extra, or when none is found quickly)."""
    schema = json.loads(schema_json)
    try:
        import hypothesis
        import schemathesis
        from schemathesis.config import SchemathesisConfig
    except ImportError:
        return None
    document = {
        "openapi": "3.1.0",
        "info": {"title": "body", "version": "0"},
        "paths": {
            "/body": {
                "post": {
                    "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
    }
    strategy = schemathesis.openapi.from_dict(document, config=SchemathesisConfig())["/body"]["POST"].as_strategy()
    # Generation alone: Hypothesis tries the simplest instance (all choices zero) first, and shrinking the
    # whole request case after it cost 5 s of CPU per schema for the same body.
    quick = hypothesis.settings(
        database=None,
        max_examples=50,
        deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.generate],
    )
    try:
        return hypothesis.find(strategy, lambda case: True, settings=quick).body
    except (hypothesis.errors.NoSuchExample, hypothesis.errors.Unsatisfiable):
        return None
