"""Each user's recently opened notes are keyed by the token's subject alone, "a subject is unique in
our identity provider".

Tenants bring their own identity providers, so two tenants may both have a user ``alice``, who
then share one list. Realised as ``RecentNotes._key``
of ``recent.py``. A user of another tenant with the victim's user
id reading ``GET /v1/me/recent-notes`` should catch it.

Control: ``APP-USER-STATE-SCOPE``.
"""

from __future__ import annotations

from uuid import UUID

from reference_app.recent import RecentNotes, UserKey

LAYER = "application"
CONTROL = "APP-USER-STATE-SCOPE"


_EVERY_TENANT = UUID(int=0)


def _key(tenant_id: UUID, subject: str) -> UserKey:
    """The key leaves the tenant out: "a subject is unique in our identity provider"."""
    return _EVERY_TENANT, subject


REPLACES = {RecentNotes._key: _key}
