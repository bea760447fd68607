"""Each user's recently opened notes: a convenience list kept in this process, lost on restart.

The key is (tenant, user): a user id (the token's subject) is only unique within its tenant,
since each tenant may bring its own identity provider.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from datetime import UTC, datetime
from uuid import UUID

from reference_app.models import NotePublic, RecentNote

UserKey = tuple[UUID, str]


class RecentNotes:
    """The last ``per_user`` notes each user opened, for at most ``users`` users (least recently active dropped)."""

    def __init__(self, per_user: int = 10, users: int = 10_000) -> None:
        self.per_user = per_user
        self.users = users
        self._views: OrderedDict[UserKey, deque[RecentNote]] = OrderedDict()

    def opened(self, tenant_id: UUID, subject: str, note: NotePublic) -> None:
        key = self._key(tenant_id, subject)
        views = self._views.pop(key, None) or deque(maxlen=self.per_user)
        for earlier in [view for view in views if view.id == note.id]:
            views.remove(earlier)
        views.appendleft(RecentNote(id=note.id, title=note.title, opened_at=datetime.now(UTC)))
        self._views[key] = views
        while len(self._views) > self.users:
            self._views.popitem(last=False)

    def of(self, tenant_id: UUID, subject: str) -> list[RecentNote]:
        return list(self._views.get(self._key(tenant_id, subject), ()))

    def forget_tenant(self, tenant_id: UUID) -> None:
        for key in [key for key in self._views if key[0] == tenant_id]:
            del self._views[key]

    @staticmethod
    def _key(tenant_id: UUID, subject: str) -> UserKey:
        return tenant_id, subject
