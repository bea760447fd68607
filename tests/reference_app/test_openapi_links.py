"""The OpenAPI links: each names a real operation and fills its path parameters, and following one works."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.reference_app.conftest import Tenant


def _operations(document: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    return {
        operation["operationId"]: (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "operationId" in operation
    }


def test_every_link_fills_exactly_the_path_parameters_of_an_existing_operation(client: httpx.Client) -> None:
    document = client.get("/openapi.json").json()
    operations = _operations(document)
    links = [
        (source, link)
        for source, (_, _, operation) in operations.items()
        for response in operation["responses"].values()
        for link in response.get("links", {}).values()
    ]
    assert {source for source, _ in links} >= {"createNote", "createComment", "createAttachment", "createMember"}
    for source, link in links:
        assert link["operationId"] in operations, f"{source} links to an unknown operation {link['operationId']}"
        _, path, _ = operations[link["operationId"]]
        assert set(link["parameters"]) == set(re.findall(r"\{(\w+)\}", path)), f"{source} -> {path}"


def test_owner_following_the_create_note_links_reaches_the_new_note(client: httpx.Client, tenant_a: Tenant) -> None:
    document = client.get("/openapi.json").json()
    operations = _operations(document)
    _, _, create = operations["createNote"]
    created = client.post("/v1/notes", json={"title": "linked"}, headers=tenant_a.headers("member")).json()
    link = create["responses"]["201"]["links"]["GetNote"]
    assert link["parameters"] == {"note_id": "$response.body#/id"}
    _, path, _ = operations[link["operationId"]]
    response = client.get(path.format(note_id=created["id"]), headers=tenant_a.headers("member"))
    assert response.status_code == 200
    assert response.json()["title"] == "linked"
