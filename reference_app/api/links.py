"""OpenAPI links: which operations take the id that a create returns.

They let a client, and a stateful fuzzer, chain calls (create a note, then read, update,
comment on and delete that note) instead of guessing ids that exist nowhere.
"""

from __future__ import annotations

from typing import Any


def created(id_param: str, *operations: str, status: int = 201, carry: tuple[str, ...] = ()) -> dict[str, Any]:
    """``openapi_extra`` for a create: links from its ``status`` response to ``operations``.

    The new object's ``id`` fills ``id_param``; ``carry`` names path parameters of the create
    itself (a comment's note) that the linked operations take as well. For example
    ``@router.post("", openapi_extra=created("tag_id", "deleteTag"))``.
    """
    parameters = {id_param: "$response.body#/id", **{name: f"$request.path.{name}" for name in carry}}
    links = {op[:1].upper() + op[1:]: {"operationId": op, "parameters": parameters} for op in operations}
    return {"responses": {str(status): {"links": links}}}
