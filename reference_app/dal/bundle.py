"""Tenant bundles: every row of one tenant as JSON (the tenant-aware backup), and the restore.

An export reads each tenant table inside the tenant's unit of work, so row-level security and
the explicit tenant filter both scope it. A restore writes into a *new* tenant: every id is
remapped (a bundle can be restored next to its source, and ids of one tenant never reappear
in another), and references between rows follow the mapping. The job queue itself is not
part of a bundle: it is operational state, and would nest earlier bundles in later ones.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from reference_app.dal.session import Params, Row, TenantSession

FORMAT = "pake-tenant-bundle"
VERSION = 1


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[str, ...]
    order_by: str
    remap: tuple[tuple[str, str], ...] = ()  # (column, table whose ids it holds); "id" maps to itself
    generated_id: bool = False  # an identity column: exported for reference, never inserted


# Parents before children, so a restore never inserts a row before what it references.
TABLES: tuple[TableSpec, ...] = (
    TableSpec("users", ("id", "subject", "email", "role", "created_at"), "created_at, id", (("id", "users"),)),
    # A restored tenant keeps its removed members removed: their tokens may still be about.
    TableSpec("removed_members", ("subject", "removed_at"), "subject"),
    TableSpec(
        "notes",
        ("id", "title", "body", "author", "created_at", "updated_at"),
        "created_at, id",
        (("id", "notes"),),
    ),
    TableSpec("tags", ("id", "name"), "name", (("id", "tags"),)),
    TableSpec("note_tags", ("note_id", "tag_id"), "note_id, tag_id", (("note_id", "notes"), ("tag_id", "tags"))),
    TableSpec(
        "comments",
        ("id", "note_id", "body", "author", "created_at"),
        "created_at, id",
        (("id", "comments"), ("note_id", "notes")),
    ),
    TableSpec(
        "attachments",
        ("id", "note_id", "filename", "content_type", "size_bytes", "created_at"),
        "created_at, id",
        (("id", "attachments"), ("note_id", "notes")),
    ),
    TableSpec("audit_log", ("id", "actor", "action", "entity", "entity_id", "at"), "id", generated_id=True),
)
EXCLUDED_TABLES = frozenset({"jobs"})


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"cannot put {type(value).__name__} into a bundle")


async def export_rows(session: TenantSession) -> dict[str, Any]:
    tenant = await session.fetch_one("select slug, name, plan from tenants where id = %(tenant_id)s")
    tables: dict[str, list[Row]] = {}
    for spec in TABLES:
        tables[spec.name] = await session.fetch_all(
            f"select {', '.join(spec.columns)} from {spec.name} where tenant_id = %(tenant_id)s "
            f"order by {spec.order_by}"
        )
    return {
        "format": FORMAT,
        "version": VERSION,
        "source": {"tenant_id": str(session.tenant_id), **(tenant or {})},
        "counts": {name: len(rows) for name, rows in tables.items()},
        "tables": tables,
    }


def encode(bundle: dict[str, Any]) -> bytes:
    return json.dumps(bundle, default=_json_default, separators=(",", ":")).encode()


class BundleError(ValueError):
    """The bundle is not one this service wrote; the message says what is wrong, never echoes values."""


def validate(bundle: object) -> dict[str, Any]:
    """Shape checks before a bundle is queued: format, version, every table with the expected columns."""
    if not isinstance(bundle, dict) or bundle.get("format") != FORMAT:
        raise BundleError(f"not a {FORMAT}")
    if bundle.get("version") != VERSION:
        raise BundleError(f"unsupported bundle version; this service reads version {VERSION}")
    tables = bundle.get("tables")
    if not isinstance(tables, dict):
        raise BundleError("bundle has no tables")
    unknown = sorted(set(tables) - {spec.name for spec in TABLES})
    if unknown:
        raise BundleError(f"unknown tables in bundle: {', '.join(unknown)}")
    for spec in TABLES:
        rows = tables.get(spec.name, [])
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise BundleError(f"tables.{spec.name} must be a list of objects")
        for index, row in enumerate(rows):
            if set(row) != set(spec.columns):
                raise BundleError(
                    f"tables.{spec.name}[{index}] must have exactly the columns {', '.join(spec.columns)}"
                )
    return bundle


async def import_rows(session: TenantSession, bundle: dict[str, Any]) -> dict[str, int]:
    """Restore ``bundle`` into the session's (new, empty) tenant; returns rows written per table."""
    mapping: dict[str, dict[str, str]] = {spec.name: {} for spec in TABLES}
    counts: dict[str, int] = {}
    for spec in TABLES:
        rows: list[dict[str, Any]] = bundle["tables"].get(spec.name, [])
        for row in rows:
            if ("id", spec.name) in spec.remap:
                mapping[spec.name][str(row["id"])] = str(uuid.uuid4())
        columns = [c for c in spec.columns if not (spec.generated_id and c == "id")]
        params: list[Params] = []
        for row in rows:
            values = {c: row[c] for c in columns}
            for column, table in spec.remap:
                try:
                    values[column] = mapping[table][str(row[column])]
                except KeyError:
                    raise BundleError(
                        f"tables.{spec.name}: {column} refers to a row the bundle does not hold"
                    ) from None
            if spec.name == "audit_log" and values["entity_id"] is not None:
                # Audit entries name the entity they touched: follow the remap where the entity came along.
                entity_table = {
                    "note": "notes",
                    "comment": "comments",
                    "attachment": "attachments",
                    "tag": "tags",
                    "member": "users",
                }.get(values["entity"])
                if entity_table:
                    values["entity_id"] = mapping[entity_table].get(str(values["entity_id"]), values["entity_id"])
            params.append(values)
        await session.execute_many(
            f"insert into {spec.name} (tenant_id, {', '.join(columns)}) "
            f"values (%(tenant_id)s, {', '.join(f'%({c})s' for c in columns)})",
            params,
        )
        counts[spec.name] = len(params)
    return counts
