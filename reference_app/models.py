"""Request and response shapes.

Create/Update models forbid unknown fields, so a client cannot smuggle ``tenant_id`` or
``author`` into a write; Public models list exactly what leaves the service.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Role = Literal["owner", "admin", "member", "viewer"]
Plan = Literal["free", "pro", "enterprise"]
TenantStatus = Literal["active", "suspended"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


TagName = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\w-]+$")]


class NoteCreate(Strict):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=100_000)
    tags: list[TagName] = Field(default_factory=list, max_length=20)


class NoteUpdate(Strict):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    body: str | None = Field(default=None, max_length=100_000)


class NoteMerge(Strict):
    """Several notes of the caller's tenant folded into a new one (the sources stay)."""

    title: str = Field(min_length=1, max_length=200)
    note_ids: list[UUID] = Field(min_length=1, max_length=20)


class NoteAppend(Strict):
    text: str = Field(min_length=1, max_length=10_000)


class NotePublic(BaseModel):
    id: UUID
    title: str
    body: str
    author: str
    tags: list[str]
    created_at: datetime
    updated_at: datetime


class NotePage(BaseModel):
    items: list[NotePublic]
    next_cursor: str | None


class NoteCount(BaseModel):
    count: int


class CommentCreate(Strict):
    body: str = Field(min_length=1, max_length=10_000)


class CommentPublic(BaseModel):
    id: UUID
    note_id: UUID
    body: str
    author: str
    created_at: datetime


class TagCreate(Strict):
    name: TagName


class TagPublic(BaseModel):
    id: UUID
    name: str


class AttachmentCreate(Strict):
    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(min_length=3, max_length=100, pattern=r"^[\w.+-]+/[\w.+-]+$")
    size_bytes: int = Field(ge=0, le=100 * 1024 * 1024)


class AttachmentPublic(BaseModel):
    id: UUID
    note_id: UUID
    filename: str
    content_type: str
    size_bytes: int
    created_at: datetime


class MemberCreate(Strict):
    subject: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    role: Role


class MemberUpdate(Strict):
    role: Role


class MemberPublic(BaseModel):
    id: UUID
    subject: str
    email: str | None
    role: Role
    created_at: datetime


class TenantCreate(Strict):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    name: str = Field(min_length=1, max_length=200)
    plan: Plan = "free"


class TenantPublic(BaseModel):
    id: UUID
    slug: str
    name: str
    plan: Plan
    status: TenantStatus
    created_at: datetime


class RecentNote(BaseModel):
    id: UUID
    title: str
    opened_at: datetime


class Me(BaseModel):
    subject: str
    tenant: TenantPublic
    roles: list[str]


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[dict[str, str]] | None = None
    # Extension members of quota and rate-limit problems: which quota, its limit, current use.
    quota: str | None = None
    limit: int | None = None
    used: int | None = None


JobStatus = Literal["queued", "running", "succeeded", "failed"]


class JobPublic(BaseModel):
    id: UUID
    kind: Literal["export", "import"]
    status: JobStatus
    requested_by: str
    result_bytes: int | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class TenantImport(Strict):
    """A restore: a bundle written by an export, into a new tenant."""

    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    name: str = Field(min_length=1, max_length=200)
    plan: Plan | None = None  # default: the plan of the bundle's source tenant
    bundle: dict[str, Any]


class ImportAccepted(BaseModel):
    tenant: TenantPublic
    job: JobPublic


class UsageMeter(BaseModel):
    used: int
    limit: int


class Usage(BaseModel):
    plan: Plan
    notes: UsageMeter
    attachment_bytes: UsageMeter
    requests_per_second: float
    request_burst: int


class NotesPerPlanDay(BaseModel):
    plan: str
    day: date
    tenants: int
    notes: int
    tenant: str | None = None  # only ever set by the seeded fault analytics_row_level


class NotesPerPlanReport(BaseModel):
    min_tenants: int
    days: int
    groups: list[NotesPerPlanDay]
    suppressed_groups: int
