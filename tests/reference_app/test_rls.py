"""Row-level security, probed as the app role: the last line of defence holds on its own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import errors

from reference_app.database import DatabaseUrls
from tests.conftest import one


@pytest.fixture(scope="module")
def two_tenants(db: DatabaseUrls) -> tuple[str, str, str]:
    """Tenants A and B, and one note of B's (created as the platform role, which bypasses RLS)."""
    with psycopg.connect(db.platform) as conn:
        a, b = (
            one(conn, "insert into tenants (slug, name) values (%s, %s) returning id", (slug, slug))[0]
            for slug in ("rls-a", "rls-b")
        )
        note_b = one(
            conn, "insert into notes (tenant_id, title, author) values (%s, 'b secret', 'b') returning id", (b,)
        )[0]
    return str(a), str(b), str(note_b)


@pytest.fixture
def app_conn(db: DatabaseUrls) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(db.app) as conn:
        yield conn
        conn.rollback()


def as_tenant(conn: psycopg.Connection[tuple[object, ...]], tenant_id: str) -> None:
    conn.execute("select set_config('app.tenant_id', %s, true)", (tenant_id,))


def test_no_tenant_context_sees_no_rows(app_conn: psycopg.Connection, two_tenants: tuple[str, str, str]) -> None:
    assert one(app_conn, "select count(*) from notes") == (0,)
    assert one(app_conn, "select count(*) from tenants") == (0,)


def test_empty_tenant_context_sees_no_rows(app_conn: psycopg.Connection, two_tenants: tuple[str, str, str]) -> None:
    as_tenant(app_conn, "")
    assert one(app_conn, "select count(*) from notes") == (0,)


def test_tenant_a_cannot_read_b_rows(app_conn: psycopg.Connection, two_tenants: tuple[str, str, str]) -> None:
    a, b, note_b = two_tenants
    as_tenant(app_conn, a)
    assert one(app_conn, "select count(*) from notes where id = %s", (note_b,)) == (0,)
    assert one(app_conn, "select count(*) from tenants where id = %s", (b,)) == (0,)


def test_tenant_a_cannot_insert_into_b(app_conn: psycopg.Connection, two_tenants: tuple[str, str, str]) -> None:
    a, b, _ = two_tenants
    as_tenant(app_conn, a)
    with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
        app_conn.execute("insert into notes (tenant_id, title, author) values (%s, 'x', 'a')", (b,))


def test_tenant_a_cannot_update_or_delete_b_rows(
    app_conn: psycopg.Connection, two_tenants: tuple[str, str, str]
) -> None:
    a, _, note_b = two_tenants
    as_tenant(app_conn, a)
    assert app_conn.execute("update notes set title = 'pwned' where id = %s", (note_b,)).rowcount == 0
    assert app_conn.execute("delete from notes where id = %s", (note_b,)).rowcount == 0


def test_tenant_a_cannot_move_its_row_to_b(app_conn: psycopg.Connection, two_tenants: tuple[str, str, str]) -> None:
    a, b, _ = two_tenants
    as_tenant(app_conn, a)
    note_a = one(app_conn, "insert into notes (tenant_id, title, author) values (%s, 'mine', 'a') returning id", (a,))[
        0
    ]
    with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
        app_conn.execute("update notes set tenant_id = %s where id = %s", (b, note_a))


def test_composite_foreign_key_refuses_a_child_under_a_foreign_parent(
    db: DatabaseUrls, two_tenants: tuple[str, str, str]
) -> None:
    """Even the platform role (no RLS) cannot hang A's comment under B's note: the key includes the tenant."""
    a, _, note_b = two_tenants
    with psycopg.connect(db.platform) as conn, pytest.raises(errors.ForeignKeyViolation):
        conn.execute("insert into comments (tenant_id, note_id, body, author) values (%s, %s, 'x', 'a')", (a, note_b))


def test_app_role_is_neither_superuser_nor_bypassrls_nor_owner(db: DatabaseUrls) -> None:
    with psycopg.connect(db.app) as conn:
        superuser, bypass = one(conn, "select rolsuper, rolbypassrls from pg_roles where rolname = current_user")
        owned = one(conn, "select count(*) from pg_tables where schemaname = 'public' and tableowner = current_user")
    assert (superuser, bypass, owned) == (False, False, (0,))


def test_app_role_cannot_truncate(app_conn: psycopg.Connection, two_tenants: tuple[str, str, str]) -> None:
    """TRUNCATE ignores row-level security, so the app role must not hold it."""
    with pytest.raises(errors.InsufficientPrivilege):
        app_conn.execute("truncate notes")


def test_unknown_tenant_id_in_context_sees_nothing(
    app_conn: psycopg.Connection, two_tenants: tuple[str, str, str]
) -> None:
    as_tenant(app_conn, str(uuid.uuid4()))
    assert one(app_conn, "select count(*) from notes") == (0,)
