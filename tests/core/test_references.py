"""Finding object references outside the path, and filling them one location at a time (pure logic)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tenantprobe.objects import pointer_path
from tenantprobe.openapi import parse_openapi
from tenantprobe.references import (
    Reference,
    Request,
    creation_order,
    kind_of,
    lowest_roles,
    own_request,
    references,
    without_unbound,
)

KINDS = ["invoice_id", "project_id", "user_id"]
UUID = {"type": "string", "format": "uuid"}


def test_field_names_name_the_kind_they_reference() -> None:
    assert kind_of("project_id", KINDS) == "project_id"
    assert kind_of("projectId", KINDS) == "project_id"
    assert kind_of("source_invoice_id", KINDS) == "invoice_id"
    assert kind_of("invoice_ids", KINDS) == "invoice_id"
    assert kind_of("invoices", KINDS, plural=True) == "invoice_id"
    assert kind_of("invoices", KINDS) is None  # a plural of names, not of ids
    assert kind_of("parent_id", KINDS, own_kind="project_id") == "project_id"
    assert kind_of("id", KINDS) is None
    assert kind_of("title", KINDS) is None
    assert kind_of("tag_id", KINDS) is None


def document() -> dict[str, Any]:
    def create(kind: str, links: dict[str, Any] | None = None) -> dict[str, Any]:
        response: dict[str, Any] = {"description": "created"}
        if links:
            response["links"] = links
        return {"operationId": f"create_{kind}", "responses": {"201": response}}

    item = {"get": {"responses": {"200": {"description": "one"}}}}
    link = {"Filter": {"operationId": "listReports", "parameters": {"about": "$response.body#/id"}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/projects": {"post": create("project", link)},
            "/projects/{project_id}": item,
            "/projects/{project_id}/invoices": {"post": create("invoice")},
            "/projects/{project_id}/invoices/{invoice_id}": item,
            "/reports": {
                "get": {
                    "operationId": "listReports",
                    "parameters": [
                        {"name": "about", "in": "query", "schema": UUID},
                        {"name": "user_id", "in": "query", "schema": UUID},
                        {"name": "tags", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}},
                    ],
                    "responses": {"200": {"description": "reports"}},
                }
            },
            "/projects/{project_id}/invoices/batch": {
                "post": {
                    "operationId": "batch",
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "invoice_ids": {"type": "array", "items": UUID},
                                        "meta": {"type": "object", "properties": {"parent_id": UUID}},
                                        "title": {"type": "string"},
                                    },
                                }
                            }
                        }
                    },
                    "responses": {"200": {"description": "done"}},
                }
            },
        },
    }


def test_references_are_found_in_queries_links_and_bodies_at_any_depth() -> None:
    api = parse_openapi(document())
    reports = api.find("GET", "/reports")
    batch = api.find("POST", "/projects/{project_id}/invoices/batch")
    assert reports is not None
    assert batch is not None
    # "about" is linked from the project create; user_id has no creator, so no kind; tags are names.
    assert references(api, reports) == [Reference("query", ("about",), "project_id")]
    assert references(api, batch) == [Reference("body", ("invoice_ids",), "invoice_id", many=True)]


def test_links_are_followed_through_refs_to_components() -> None:
    spec = document()
    link = spec["paths"]["/projects"]["post"]["responses"]["201"].pop("links")
    spec["paths"]["/projects"]["post"]["responses"]["201"] = {"$ref": "#/components/responses/Created"}
    spec["components"] = {
        "responses": {"Created": {"description": "created", "links": {"Filter": {"$ref": "#/components/links/F"}}}},
        "links": {"F": link["Filter"]},
    }
    api = parse_openapi(spec)
    reports = api.find("GET", "/reports")
    assert reports is not None
    assert references(api, reports) == [Reference("query", ("about",), "project_id")]


def test_one_location_at_a_time_the_others_keep_the_tenants_own() -> None:
    refs = [
        Reference("body", ("invoice_ids",), "invoice_id", many=True),
        Reference("body", ("meta", "parent_id"), "project_id"),
        Reference("query", ("about",), "project_id"),
        Reference("header", ("X-Invoice",), "invoice_id"),
    ]
    own = own_request(Request({}, {}, {"title": "t"}), refs, {"invoice_id": "i1", "project_id": "p1"})
    assert own == Request(
        {"about": "p1"}, {"X-Invoice": "i1"}, {"title": "t", "invoice_ids": ["i1"], "meta": {"parent_id": "p1"}}
    )
    hostile = own.with_reference(refs[1], "p2")
    assert hostile.body == {"title": "t", "invoice_ids": ["i1"], "meta": {"parent_id": "p2"}}
    assert hostile.params == own.params
    assert own.body["meta"]["parent_id"] == "p1"


def test_seeding_creates_referenced_kinds_first_and_drops_optional_references_it_cannot_fill() -> None:
    doc = document()
    doc["paths"]["/issues"] = {
        "post": {
            "operationId": "create_issue",
            "requestBody": {
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["project_id"],
                            "properties": {"project_id": UUID, "parent_issue_id": UUID, "title": {"type": "string"}},
                        }
                    }
                }
            },
            "responses": {"201": {"description": "created"}},
        }
    }
    doc["paths"]["/issues/{issue_id}"] = {"get": {"responses": {"200": {"description": "one"}}}}
    api = parse_openapi(doc)
    ordered = [creator.id_param for creator in creation_order(api, api.creators())]
    assert ordered.index("project_id") < ordered.index("issue_id")
    issue = api.find("POST", "/issues")
    assert issue is not None
    refs = references(api, issue)
    body = {"project_id": "canary", "parent_issue_id": "canary", "title": "t"}
    assert without_unbound(body, issue.body_schema, refs, {}) == {"project_id": "canary", "title": "t"}
    assert without_unbound(body, issue.body_schema, refs, {"issue_id": "i1", "project_id": "p1"}) == body


def test_role_fields_ask_for_the_lowest_role_instead_of_a_made_up_one() -> None:
    body = {"role": "c1", "name": "c1", "member": {"member_role": "c1", "roles": ["c1"]}, "kept_role": "admin"}
    assert lowest_roles(body, "c1", "viewer") == {
        "role": "viewer",
        "name": "c1",
        "member": {"member_role": "viewer", "roles": ["viewer"]},
        "kept_role": "admin",  # a value the schema chose (an enum) stays
    }


def test_a_kind_the_tenants_are_bound_to_is_a_reference_kind_though_nothing_creates_it() -> None:
    api = parse_openapi(document())
    reports = api.find("GET", "/reports")
    assert reports is not None
    assert Reference("query", ("user_id",), "user_id") not in references(api, reports)
    bound = replace(api, bound_kinds=("user_id",))  # the profile binds each tenant's user: users come from elsewhere
    assert Reference("query", ("user_id",), "user_id") in references(bound, reports)


def rpc_document() -> dict[str, Any]:
    """An RPC-style API: creates answer an id that links hand to a query parameter and a nested body field."""
    run = {"type": "object", "properties": {"run_id": {"type": "string"}, "note": {"type": "string"}}}
    body = {"type": "object", "properties": {"target": {"type": "object", "properties": {"run": {"type": "string"}}}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "rpc", "version": "1"},
        "paths": {
            "/runs.create": {
                "post": {
                    "operationId": "createRun",
                    "responses": {
                        "200": {
                            "description": "the run",
                            "links": {
                                "Get": {
                                    "operationId": "getRun",
                                    "parameters": {"query.run": "$response.body#/run/ref"},
                                },
                                "Tag": {
                                    "operationId": "tagRun",
                                    "requestBody": {"target": {"run": "{$response.body#/run/ref}"}},
                                },
                            },
                        }
                    },
                }
            },
            "/runs.get": {
                "get": {
                    "operationId": "getRun",
                    "parameters": [{"name": "run", "in": "query", "required": True, "schema": {"type": "string"}}],
                    "responses": {"200": {"description": "one"}},
                }
            },
            "/runs.tag": {
                "post": {
                    "operationId": "tagRun",
                    "requestBody": {"content": {"application/json": {"schema": body}}},
                    "responses": {"200": {"description": "tagged"}},
                }
            },
            "/runs.note": {
                "post": {
                    "operationId": "noteRun",
                    "requestBody": {"content": {"application/json": {"schema": run}}},
                    "responses": {"200": {"description": "noted"}},
                }
            },
        },
    }


def test_a_create_known_by_its_links_names_its_kind_its_read_and_where_its_id_is() -> None:
    api = parse_openapi(rpc_document())
    [creator] = api.creators()
    assert (creator.operation.key, creator.item_path, creator.id_param) == ("POST /runs.create", "/runs.get", "run")
    assert creator.id_pointer == "/run/ref"
    assert creator.linked
    assert pointer_path(creator.id_pointer) == "$.run.ref"
    assert pointer_path("/items/0/a~1b") == "$.items[0].a/b"
    get, tag, note = api.find("GET", "/runs.get"), api.find("POST", "/runs.tag"), api.find("POST", "/runs.note")
    assert get is not None
    assert tag is not None
    assert note is not None
    assert references(api, get) == [Reference("query", ("run",), "run")]
    assert references(api, tag) == [Reference("body", ("target", "run"), "run")]
    assert references(api, note) == [Reference("body", ("run_id",), "run")]  # no link: named for the linked kind


def test_a_post_without_links_or_an_item_path_creates_nothing() -> None:
    spec = rpc_document()
    del spec["paths"]["/runs.create"]["post"]["responses"]["200"]["links"]
    assert parse_openapi(spec).creators() == ()
