"""Operation discovery and request synthesis from an OpenAPI document."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import pytest

from tenantprobe.openapi import (
    _resolve,
    parse_openapi,
    synthesize,
    under_server_path,
    valid_body,
    with_fresh_ids,
    with_fresh_moments,
)

DOC: dict[str, Any] = {
    "openapi": "3.1.0",
    "security": [{"bearer": []}],
    "paths": {
        "/health": {"get": {"security": [], "responses": {"200": {}}}},
        "/projects": {
            "get": {"responses": {"200": {}}, "parameters": [{"name": "q", "in": "query", "required": True}]},
            "post": {
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/P"}}}},
                "responses": {"201": {}},
            },
        },
        "/projects/{pid}": {"get": {"responses": {"200": {}}}, "delete": {"responses": {"204": {}}}},
        "/projects/{pid}/tasks": {"post": {"responses": {"201": {}}}},
        "/projects/{pid}/tasks/{tid}": {"get": {"responses": {"200": {}}}},
    },
    "components": {
        "schemas": {
            "P": {
                "type": "object",
                "required": ["name", "kind"],
                "properties": {
                    "name": {"type": "string", "pattern": r"^\w+$"},
                    "kind": {"enum": ["admin", "basic"]},
                    "mime": {"type": "string", "pattern": r"^[\w.+-]+/[\w.+-]+$"},
                    "size": {"type": "integer", "minimum": 0},
                    "labels": {"type": "array", "items": {"type": "string"}},
                    "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                },
            }
        }
    },
}


def test_creators_are_ordered_parents_first() -> None:
    model = parse_openapi(DOC)
    assert [(c.operation.path, c.item_path, c.id_param) for c in model.creators()] == [
        ("/projects", "/projects/{pid}", "pid"),
        ("/projects/{pid}/tasks", "/projects/{pid}/tasks/{tid}", "tid"),
    ]


def test_security_and_query_parameters_are_read() -> None:
    model = parse_openapi(DOC)
    assert model.find("GET", "/health").secured is False  # type: ignore[union-attr]
    listing = model.find("GET", "/projects")
    assert listing is not None
    assert listing.secured
    assert [(q.name, q.required) for q in listing.query] == [("q", True)]


def test_skip_patterns_drop_operations() -> None:
    model = parse_openapi(DOC, skip=("DELETE /projects/*",))
    assert model.find("DELETE", "/projects/{pid}") is None


def test_reference_params_are_path_parameters_of_secured_operations_that_no_public_one_takes() -> None:
    """``{file_token}`` addresses a DAG's source with credentials: a reference; an invitation's ``{token}``, which a
    public operation also takes, opens that operation on its own: a capability, never a reference."""
    token = {"content": {"application/json": {"schema": {"type": "object", "properties": {"code": {}}}}}}
    document = {
        "security": [{"bearer": []}],
        "paths": {
            "/dagSources/{file_token}": {"get": {"responses": {"200": {}}}},
            "/invites/{token}": {"get": {"responses": {"200": {}}}},
            "/invites/{token}/accept": {"post": {"security": [], "responses": {"200": {}}}},
            "/resets/{code}": {"get": {"responses": {"200": {}}}},
            "/resets": {"post": {"security": [], "requestBody": token, "responses": {"200": {}}}},
            "/keys/{key_id}": {"delete": {"responses": {"204": {}}}},
        },
    }
    model = parse_openapi(document, skip=("DELETE /keys/*",))  # a skipped operation is still the API's
    assert model.reference_params == {"file_token", "key_id"}


def test_synthesized_body_is_valid_and_carries_the_canary() -> None:
    body = synthesize(parse_openapi(DOC).find("POST", "/projects").body_schema, "tpcanaryabcdefx0123456789")  # type: ignore[union-attr]
    assert body["name"] == "tpcanaryabcdefx0123456789"
    assert body["kind"] == "basic", "enums take their last (least privileged) value"
    assert re.fullmatch(r"^[\w.+-]+/[\w.+-]+$", body["mime"])
    assert body["labels"] == ["tpcanaryabcdefx0123456789"]
    assert body["note"] == "tpcanaryabcdefx0123456789"
    assert "size" not in body, "optional numbers are left out"


def test_valid_body_keeps_the_canary_where_the_schema_allows_and_satisfies_the_rest() -> None:
    schema = {
        "type": "object",
        "required": ["code", "title"],
        "properties": {"code": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$"}, "title": {"type": "string"}},
    }
    body = valid_body(schema, "tpcanaryabcdefx0123456789")
    assert jsonschema.Draft202012Validator(schema).is_valid(body)
    assert body["title"] == "tpcanaryabcdefx0123456789"


def test_synthesized_strings_meet_min_length() -> None:
    body = valid_body(
        {"type": "object", "required": ["t"], "properties": {"t": {"type": "string", "minLength": 40}}},
        "tpcanaryabcdefx0123456789",
    )
    assert len(body["t"]) >= 40
    assert "tpcanaryabcdefx0123456789" in body["t"]


def test_a_security_requirement_that_offers_anonymous_access_is_not_secured() -> None:
    """drf-spectacular writes ``[{"tokenAuth": []}, {}]`` for a view that allows anyone: credentials optional."""
    document = {
        "paths": {
            "/api/schema/": {"get": {"security": [{"tokenAuth": []}, {}], "responses": {"200": {}}}},
            "/api/orgs/": {"get": {"security": [{"tokenAuth": []}], "responses": {"200": {}}}},
        }
    }
    model = parse_openapi(document)
    assert {op.path: op.secured for op in model.operations} == {"/api/schema/": False, "/api/orgs/": True}


@pytest.mark.parametrize(
    ("server", "route"),
    [
        ("/t/{tenant}", ("/t/{tenant_id}", None)),
        ("https://{org}.example.com/api", (None, "{tenant_id}.example.com")),
        ("https://api.example.com/{version}", (None, None)),
        (None, (None, None)),
    ],
)
def test_a_tenant_variable_in_the_server_url_says_where_the_url_names_the_tenant(
    server: str | None, route: tuple[str | None, str | None]
) -> None:
    document: dict[str, Any] = {"paths": {"/books": {"get": {"responses": {"200": {}}}}}}
    if server is not None:
        document["servers"] = [{"url": server, "variables": {}}]
    assert parse_openapi(document).server_tenant_route() == route


def test_paths_go_under_a_relative_server_path_and_nowhere_else() -> None:
    document = {"servers": [{"url": "/api/v1/"}], "paths": {"/dags": {}, "/dags/{dag_id}": {}}}
    assert list(under_server_path(document)["paths"]) == ["/api/v1/dags", "/api/v1/dags/{dag_id}"]
    assert under_server_path(under_server_path(document)) == under_server_path(document)  # already under it
    for servers in ([{"url": "https://api.example.com/v1"}], [{"url": "/t/{tenant}"}], [{"url": "/"}], []):
        assert under_server_path({"servers": servers, "paths": {"/dags": {}}})["paths"] == {"/dags": {}}


def test_read_only_properties_are_neither_sent_nor_required_in_a_request_body() -> None:
    schema = {
        "type": "object",
        "required": ["id", "name"],
        "properties": {"id": {"type": "string", "readOnly": True}, "name": {"type": "string", "minLength": 1}},
    }
    body = valid_body(schema, "tpcanary1")
    assert body == {"name": "tpcanary1"}


def test_a_post_named_as_a_read_reads_and_one_named_as_a_write_mutates() -> None:
    def post(path: str, **spec: str) -> dict[str, Any]:
        return {path: {"post": {**spec, "responses": {"200": {"description": "ok"}}}}}

    api = parse_openapi(
        {
            "paths": {
                **post("/dags/~/dagRuns/~/taskInstances/list", operationId="get_task_instances_batch"),
                **post("/runs/search"),
                **post("/issues/query", summary="Query issues"),
                **post("/dags/{dag_id}/dagRuns", operationId="post_dag_run", summary="Trigger a new DAG run."),
                **post("/things", operationId="get_or_create_thing"),
                **post("/things/{thing_id}/clear", operationId="clear_thing"),
            }
        }
    )
    assert [op.path for op in api.operations if op.reads] == [
        "/dags/~/dagRuns/~/taskInstances/list",
        "/runs/search",
        "/issues/query",
    ]
    assert [op.path for op in api.search_reads()] == [op.path for op in api.operations if not op.mutates]


def test_a_minimal_body_has_only_the_required_fields() -> None:
    schema = {
        "type": "object",
        "required": ["scope"],
        "properties": {
            "scope": {"type": "string"},
            "dag_ids": {"type": "array", "items": {"type": "string"}},
            "queue": {"type": "string"},
        },
    }
    assert valid_body(schema, "tpcanary1", optional=False) == {"scope": "tpcanary1"}
    assert valid_body({"type": "object", "properties": schema["properties"]}, "tpcanary1", optional=False) == {}
    assert set(valid_body(schema, "tpcanary1")) == {"scope", "dag_ids", "queue"}


def test_fresh_moments_give_each_create_its_own_date_times_and_leave_the_rest() -> None:
    schema = {
        "type": "object",
        "properties": {
            "logical_date": {"type": "string", "format": "date-time"},
            "execution_date": {"type": "string", "format": "date-time", "nullable": True},
            "day": {"type": "string", "format": "date"},
            "window": {"type": "object", "properties": {"start": {"type": "string", "format": "date-time"}}},
            "note": {"type": "string"},
        },
    }
    body = synthesize(schema, "tpcanary1") | {"day": "2026-01-01", "window": {"start": "2026-01-01T00:00:00Z"}}
    first, second = with_fresh_moments(body, schema, 1), with_fresh_moments(body, schema, 2)
    assert first["logical_date"] == first["execution_date"] == first["window"]["start"] == "2026-01-01T00:01:00Z"
    assert second["logical_date"] == "2026-01-01T00:02:00Z"
    assert second["day"] == "2026-01-03"
    assert first["note"] == second["note"] == "tpcanary1"
    assert body["logical_date"] == "2026-01-01T00:00:00Z"  # the body given is not changed


def test_deep_bodies_keep_their_leaves_and_recursive_ones_end() -> None:
    """A trace's ``trace_info.trace_location.mlflow_experiment.experiment_id``: a depth bound on nesting made
    its ``type`` ``{}``, which schemathesis rejects; the bound counts refs, so only a recursive schema ends."""
    leaf = {"type": "object", "properties": {"e": {"type": "object", "properties": {"id": {"type": "string"}}}}}
    schemas = {
        "a": {"type": "object", "properties": {"b": {"$ref": "#/components/schemas/b"}}},
        "b": {
            "type": "object",
            "properties": {"c": {"type": "object", "properties": {"d": {"$ref": "#/components/schemas/d"}}}},
        },
        "d": leaf,
        "node": {"type": "object", "properties": {"child": {"$ref": "#/components/schemas/node"}}},
    }
    document = {"components": {"schemas": schemas}}
    resolved = _resolve(document, {"$ref": "#/components/schemas/a"})
    assert resolved["properties"]["b"]["properties"]["c"]["properties"]["d"] == leaf
    assert jsonschema.Draft202012Validator.check_schema(resolved) is None
    node = _resolve(document, {"$ref": "#/components/schemas/node"})
    for _ in range(10):
        node = node.get("properties", {}).get("child", {})
    assert node == {}


def test_a_clients_own_id_is_fresh_per_create_and_keeps_its_pattern() -> None:
    schema = {
        "type": "object",
        "properties": {
            "trace": {"type": "object", "properties": {"trace_id": {"type": "string", "pattern": "^tr-[0-9a-f]{32}$"}}},
            "name": {"type": "string"},
        },
    }
    body = {"trace": {"trace_id": "tr-" + "0" * 32}, "name": "tpcanary"}
    fresh = [with_fresh_ids(body, schema, "trace_id", "tpcanary") for _ in range(2)]
    assert fresh[0]["trace"]["trace_id"] != fresh[1]["trace"]["trace_id"]
    assert all(re.fullmatch("tr-[0-9a-f]{32}", f["trace"]["trace_id"]) for f in fresh)
    assert fresh[0]["name"] == "tpcanary"
    assert with_fresh_ids({"trace_id": "tpcanary-1"}, schema, "trace_id", "tpcanary") == {"trace_id": "tpcanary-1"}
