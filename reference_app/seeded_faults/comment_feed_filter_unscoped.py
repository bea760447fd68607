"""The comment feed's optional ``note_id`` filter is served by the note index alone on the
reporting connection, "a note id is unique, so it already names the tenant".

``GET /v1/comments?note_id=<another tenant's note>`` lists that note's comments; without
the filter the feed is correct. Realised in front of the
``listRecentComments`` handler. Collection reads
sent with every optional parameter, reference filters set to a victim's ids, should catch it.

Control: ``API-LIST-FILTER``.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Query

from reference_app.api.deps import TenantDep
from reference_app.api.routes import activity
from reference_app.dal import comments
from reference_app.faults import Endpoint
from reference_app.models import CommentPublic

LAYER = "api"
CONTROL = "API-LIST-FILTER"


def _note_feed_from_index(list_recent_comments: Endpoint) -> Endpoint:
    async def list_recent_comments_indexed(
        ctx: TenantDep,
        note_id: Annotated[UUID | None, Query(description="only the comments of this note")] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> list[CommentPublic]:
        # A note's feed is served from the reporting connection by the (note_id, created_at) index alone,
        # "a note id is unique, so it already names the tenant".
        if note_id is None:
            feed: list[CommentPublic] = await list_recent_comments(ctx, note_id, limit)
            return feed
        await ctx.ensure_active()
        async with ctx.database.platform("per-note feed from the reporting replica") as reporting:
            rows = await reporting.fetch_all(
                f"select {comments.COLUMNS} from comments where note_id = %(note_id)s "
                "order by created_at desc, id desc limit %(limit)s",
                {"note_id": note_id, "limit": limit},
            )
        return [CommentPublic.model_validate(row) for row in rows]

    return list_recent_comments_indexed


ENDPOINTS = {activity.list_recent_comments: _note_feed_from_index}
