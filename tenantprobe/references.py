"""Where an operation takes an object reference besides its path, and of which kind.

A reference travels in a query parameter (``?note_id=``, repeated ``?item=``), a header, a
body field at any depth (``{"invoice": {"parent_id": ...}}``) or an array of them
(``{"note_ids": [...]}``). Its *kind* is the path parameter that addresses objects of that kind
(``note_id``), so the harness can fill it with a tenant's real id: the attacker's own for the
positive control, the victim's for the attack. The kinds are those the API creates and those the
profile binds the tenants to (an Airflow team's DAG comes from a file: ``dag_ids`` in a body names
the kind ``dag_id``). A field's kind comes from the OpenAPI document's links when it has them, else
from its name (``related_note_id``, ``noteIds`` → ``note_id``; ``parent_id`` → the kind the
operation's own collection holds).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from tenantprobe.openapi import ApiModel, Creator, Operation, _resolve, links_of

Where = Literal["query", "header", "body"]
_ID_WORDS = ("id", "ids", "pk", "uuid", "uuids", "key", "keys", "slug", "slugs", "ref", "refs")
_MAX_BODY_DEPTH = 6


@dataclass(frozen=True)
class Reference:
    """One place of one operation that takes a reference: ``path`` is the parameter name, or the
    body field's keys from the root (``("invoice", "parent_id")``); ``many`` for an array of ids."""

    where: Where
    path: tuple[str, ...]
    kind: str
    many: bool = False

    @property
    def label(self) -> str:
        return f"{self.where} {'.'.join(self.path)}{'[]' if self.many else ''}"


def _words(name: str) -> list[str]:
    return [w.lower() for w in re.split(r"[_\-\s]|(?<=[a-z0-9])(?=[A-Z])", name) if w]


def kind_of(name: str, kinds: Iterable[str], plural: bool = False, own_kind: str | None = None) -> str | None:
    """The kind a field called ``name`` refers to, if its name says so.

    ``note_id``, ``noteId``, ``source_note_id`` → ``note_id``; ``note_ids`` and, with ``plural`` (an
    array of id-shaped values), ``notes`` → ``note_id``; ``parent_id`` → ``own_kind``. A bare ``id``
    names nothing: it is the object's own.
    """
    words = _words(name)
    if len(words) >= 2 and words[-1] in _ID_WORDS:
        stem = words[:-1]
    elif plural and words and words[-1].endswith("s"):
        stem = [*words[:-1], words[-1][:-1]]
    else:
        return None
    if stem == ["parent"]:
        return own_kind
    for kind in kinds:
        kind_words = _words(kind)
        kind_stem = kind_words[:-1] if len(kind_words) >= 2 and kind_words[-1] in _ID_WORDS else kind_words
        if kind_stem and stem[-len(kind_stem) :] == kind_stem:
            return kind
    return None


def _is_id_shaped(schema: Mapping[str, Any]) -> bool:
    """An id by its type alone (a uuid or an integer), not a name or a tag that merely sits in a plural field."""
    options = schema.get("anyOf") or schema.get("oneOf") or [schema]
    return any(
        isinstance(option, dict) and (option.get("format") == "uuid" or option.get("type") == "integer")
        for option in options
    )


def _is_scalar_id(schema: Mapping[str, Any]) -> bool:
    options = schema.get("anyOf") or schema.get("oneOf") or [schema]
    return any(option.get("type") in ("string", "integer") for option in options if isinstance(option, dict))


def _array_items(schema: Mapping[str, Any]) -> Mapping[str, Any] | None:
    options = schema.get("anyOf") or schema.get("oneOf") or [schema]
    for option in options:
        if isinstance(option, dict) and option.get("type") == "array":
            items = option.get("items", {})
            return items if isinstance(items, dict) else {}
    return None


def _object(schema: Mapping[str, Any]) -> Mapping[str, Any] | None:
    options = schema.get("anyOf") or schema.get("oneOf") or [schema]
    return next((o for o in options if isinstance(o, dict) and "properties" in o), None)


def _body_references(
    schema: Mapping[str, Any], kinds: list[str], own_kind: str | None, prefix: tuple[str, ...] = ()
) -> list[Reference]:
    found: list[Reference] = []
    shape = _object(schema)
    if shape is None or len(prefix) >= _MAX_BODY_DEPTH:
        return found
    for name, prop in shape["properties"].items():
        if not isinstance(prop, dict) or prop.get("readOnly"):  # set by the server, never sent
            continue
        items = _array_items(prop)
        many = items is not None and _is_scalar_id(items)
        plural = many and items is not None and _is_id_shaped(items)
        kind = kind_of(name, kinds, plural, own_kind) if many or _is_scalar_id(prop) else None
        if kind is not None:
            found.append(Reference("body", (*prefix, name), kind, many))
        elif _object(prop) is not None:
            found += _body_references(prop, kinds, own_kind, (*prefix, name))
    return found


def _linked(api: ApiModel, kinds: list[str]) -> dict[tuple[str, str, tuple[str, ...]], str]:
    """``(operationId, where, name) → kind`` from the document's links out of creating operations: each link that
    hands on the created object's id (``$response.body#/id``, or the pointer an RPC-style create is known by)."""
    linked: dict[tuple[str, str, tuple[str, ...]], str] = {}
    for creator in api.creators():
        if creator.id_param not in kinds:
            continue
        spec = api.document["paths"].get(creator.operation.path, {}).get(creator.operation.method.lower(), {})
        for link in links_of(api.document, spec):
            if link.pointer in ("/id", creator.id_pointer) or link.pointer.endswith("/" + creator.id_param):
                linked[(link.operation_id, link.where, link.name)] = creator.id_param
    return linked


def _is_array_at(schema: Mapping[str, Any], path: tuple[str, ...]) -> bool:
    """Whether the body field at ``path`` holds an array (of ids, for a linked field)."""
    node: Mapping[str, Any] | None = schema
    for key in path:
        shape = _object(node) if node is not None else None
        node = shape["properties"].get(key) if shape is not None else None
    return isinstance(node, dict) and _array_items(node) is not None


def references(api: ApiModel, op: Operation) -> list[Reference]:
    """Every place ``op`` takes a reference outside its path, with its kind (path parameters excluded)."""
    kinds = api.kinds()
    own_kind = next((c.id_param for c in api.creators() if c.operation.path == op.path), None)
    linked = _linked(api, kinds)
    found: list[Reference] = []
    spec = api.document["paths"].get(op.path, {})
    parameters = [
        _resolve(api.document, p) for p in spec.get("parameters", []) + spec[op.method.lower()].get("parameters", [])
    ]
    for parameter in parameters:
        where, name = parameter.get("in"), parameter.get("name", "")
        if where not in ("query", "header") or name in op.path_params:
            continue
        schema = parameter.get("schema", {})
        items = _array_items(schema)
        many = items is not None
        plural = items is not None and _is_id_shaped(items)
        kind = (
            linked.get((op.operation_id, where, (name,)))
            or linked.get((op.operation_id, "", (name,)))
            or kind_of(name, kinds, plural, own_kind)
        )
        if kind is not None:
            found.append(Reference(where, (name,), kind, many))
    if op.body_schema:
        by_name = _body_references(op.body_schema, kinds, own_kind)
        in_body = [
            Reference("body", path, kind, _is_array_at(op.body_schema, path))
            for (operation_id, where, path), kind in linked.items()
            if operation_id == op.operation_id and where == "body"
        ]
        found += in_body + [ref for ref in by_name if ref.path not in {ref.path for ref in in_body}]
    return found


def _set(body: Any, path: tuple[str, ...], value: Any) -> Any:
    """``body`` with ``path`` set to ``value``, creating the objects on the way (a copy)."""
    root = copy.deepcopy(body) if isinstance(body, dict) else {}
    node = root
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[path[-1]] = value
    return root


@dataclass
class Request:
    """A request's query, headers and body, built up one reference at a time."""

    params: dict[str, str | list[str]]
    headers: dict[str, str]
    body: Any

    def with_reference(self, ref: Reference, value: str) -> Request:
        filled: str | list[str] = [value] if ref.many else value
        if ref.where == "query":
            return Request({**self.params, ref.path[0]: filled}, self.headers, self.body)
        if ref.where == "header":
            return Request(self.params, {**self.headers, ref.path[0]: value}, self.body)
        return Request(self.params, self.headers, _set(self.body, ref.path, filled))


def own_request(base: Request, refs: list[Reference], values: Mapping[str, str]) -> Request:
    """``base`` with every reference whose kind the tenant has filled with the tenant's own id."""
    request = base
    for ref in refs:
        if ref.kind in values:
            request = request.with_reference(ref, values[ref.kind])
    return request


def without_unbound(
    body: Any, schema: Mapping[str, Any] | None, refs: list[Reference], values: Mapping[str, str]
) -> Any:
    """``body`` less the optional reference fields the tenant has no object for (a canary there is a 500, not a
    create); required ones stay, so the target's answer says what is missing."""
    pruned = copy.deepcopy(body)
    for ref in refs:
        if ref.where != "body" or ref.kind in values:
            continue
        node, shape = pruned, _object(schema or {})
        for key in ref.path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
            shape = _object(shape["properties"].get(key, {})) if shape else None
        required = shape.get("required", []) if shape else []
        if isinstance(node, dict) and ref.path[-1] not in required:
            node.pop(ref.path[-1], None)
    return pruned


def creation_order(api: ApiModel, creators: Sequence[Creator]) -> list[Creator]:
    """``creators`` with each one after the creators of the kinds its body references (``project_id`` in an
    issue's body: projects first), otherwise in their given order; a cycle keeps the given order."""
    produced = {creator.id_param for creator in creators}
    needs = {
        creator.operation.key: {
            ref.kind
            for ref in references(api, creator.operation)
            if ref.where == "body" and ref.kind in produced and ref.kind != creator.id_param
        }
        for creator in creators
    }
    ordered: list[Creator] = []
    made: set[str] = set()
    pending = list(creators)
    while pending:
        creator = next((c for c in pending if needs[c.operation.key] <= made), pending[0])
        ordered.append(creator)
        made.add(creator.id_param)
        pending.remove(creator)
    return ordered


def lowest_roles(body: Any, canary: str, role: str) -> Any:
    """``body`` with ``canary`` replaced by ``role`` in fields named for a role (``role``, ``member_role``,
    ``roles: [...]``): a made-up role is refused for being invalid, whoever asks, and the lowest asks for nothing."""
    if isinstance(body, list):
        return [lowest_roles(item, canary, role) for item in body]
    if not isinstance(body, dict):
        return body
    result: dict[str, Any] = {}
    for key, value in body.items():
        words = _words(key)
        if words and words[-1] in ("role", "roles") and (value == canary or value == [canary]):
            result[key] = [role] if isinstance(value, list) else role
        else:
            result[key] = lowest_roles(value, canary, role)
    return result
