"""Cursors a collection read hands back, found from the document and the response alone (pure logic)."""

from __future__ import annotations

from typing import Any

import pytest

from tenantprobe.openapi import Operation, QueryParam
from tenantprobe.pagination import passed_back, smallest_page

LIST = Operation(
    "GET",
    "/things",
    "listThings",
    True,
    query=(
        QueryParam("limit", False, {"type": "integer", "minimum": 1, "maximum": 100}),
        QueryParam("cursor", False, {"type": "string"}),
        QueryParam("page_token", False, {"type": "string"}),
        QueryParam("q", False, {"type": "string"}),
        QueryParam("offset", False, {"type": "integer", "minimum": 0}),
    ),
)


def test_the_smallest_page_sets_each_bounded_integer_to_its_minimum() -> None:
    assert smallest_page(LIST) == {"limit": "1"}


@pytest.mark.parametrize(
    ("body", "headers", "expected"),
    [
        ({"items": [], "next_cursor": "abc"}, {}, {"cursor": "abc"}),
        ({"data": [], "meta": {"nextPageToken": "t1"}}, {}, {"page_token": "t1"}),
        ([{"id": 1}], {"Link": '<http://app/things?cursor=xyz&limit=1>; rel="next"'}, {"cursor": "xyz"}),
        ({"items": [], "next_cursor": None}, {}, {}),
        ({"items": [], "query": "hello"}, {}, {}),
    ],
    ids=["body-field", "nested-token", "link-header", "last-page", "short-name-ignored"],
)
def test_a_value_handed_back_is_matched_to_the_parameter_it_feeds(
    body: Any, headers: dict[str, str], expected: dict[str, str]
) -> None:
    assert passed_back(LIST, body, headers) == expected
