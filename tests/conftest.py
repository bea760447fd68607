"""Shared fixtures: one PostgreSQL server per session, a fresh migrated database per module.

``DATABASE_URL`` (a superuser DSN) selects a server you run; otherwise the embedded server
starts. Databases are cloned from a migrated template, which takes milliseconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

# httpx imports httpcore on its first client and keeps a map of httpcore's exception classes; pytester's
# in-process runs (tests/core) drop every module first imported during the run. Imported here, one httpcore
# serves the whole session and a refused connection stays an httpx.ConnectError.
import httpcore  # noqa: F401
import psycopg
import pytest

from reference_app import database, faults
from reference_app.database import DatabaseUrls
from tenantprobe.cli import DEMO_DIR
from tenantprobe.pgserver import PostgresServer
from tenantprobe.stack import ReferenceStack, RoleDsns
from tests.detection.conftest import ROOT, SuiteRun, read_records

TEMPLATE = "pake_template"


@pytest.fixture(scope="session")
def admin_dsn() -> Iterator[str]:
    if url := os.environ.get("DATABASE_URL"):
        yield url
        return
    with PostgresServer() as server:
        yield server.address.dsn()


@pytest.fixture(scope="session")
def role_passwords(admin_dsn: str) -> dict[str, str]:
    return database.bootstrap_roles(admin_dsn)


@pytest.fixture(scope="session")
def migrated_template(admin_dsn: str, role_passwords: dict[str, str]) -> str:
    database.drop_database(admin_dsn, TEMPLATE)
    urls = database.create_database(admin_dsn, TEMPLATE, role_passwords)
    database.upgrade(urls.owner)
    return TEMPLATE


def new_database(admin_dsn: str, passwords: dict[str, str], template: str | None = None) -> DatabaseUrls:
    return database.create_database(admin_dsn, f"test_{uuid.uuid4().hex[:12]}", passwords, template=template)


def role_dsns(urls: DatabaseUrls) -> RoleDsns:
    return RoleDsns(owner=urls.owner, app=urls.app, platform=urls.platform)


ReferenceDatabase = Callable[[tuple[str, ...]], RoleDsns | None]


@pytest.fixture(scope="session")
def reference_database(admin_dsn: str, role_passwords: dict[str, str], migrated_template: str) -> ReferenceDatabase:
    """The database for a reference app started with the given seeded faults: a copy of the migrated template
    (milliseconds, where migrating costs 1.4 s of CPU), or None for faults that set-up realises.

    Those faults (a schema without row-level security, BYPASSRLS on the application role, which every
    database of a server shares) need the app's own set-up, on a PostgreSQL of its own.
    """
    lock = threading.Lock()  # tests start apps from threads: one CREATE DATABASE from the template at a time

    def choose(seeded: tuple[str, ...]) -> RoleDsns | None:
        if any(faults.REGISTRY[name].at_setup for name in seeded):
            return None
        with lock:
            return role_dsns(new_database(admin_dsn, role_passwords, template=migrated_template))

    return choose


@pytest.fixture(scope="module")
def db(admin_dsn: str, role_passwords: dict[str, str], migrated_template: str) -> DatabaseUrls:
    """A fresh, fully migrated database for this test module."""
    return new_database(admin_dsn, role_passwords, template=migrated_template)


@pytest.fixture(scope="module")
def app_env() -> dict[str, str]:
    """Extra environment of this module's reference app; a module overrides it to set plans, limits or workers."""
    return {}


@pytest.fixture(scope="module")
def api(db: DatabaseUrls, app_env: dict[str, str]) -> Iterator[ReferenceStack]:
    """The reference app serving this module's database over real HTTP."""
    with ReferenceStack(dsns=role_dsns(db), extra_env=app_env) as stack:
        yield stack


def one(conn: psycopg.Connection[Any], query: Any, params: Any = None) -> Any:
    """The row a query must return (a missing row fails the test where it happened)."""
    row = conn.execute(query, params).fetchone()
    assert row is not None, f"no row from {query!r}"
    return row


TENANTPROBE = [sys.executable, "-c", "from tenantprobe.cli import main; main()"]


@pytest.fixture(scope="session")
def demo_run() -> subprocess.CompletedProcess[str]:
    """``make demo``'s command, run once as a user runs it (without waiting for Ctrl-C at the end)."""
    return subprocess.run(
        [*TENANTPROBE, "demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={**os.environ, "TENANTPROBE_DEMO_NO_WAIT": "1", "DATABASE_URL": ""},
    )


@pytest.fixture(scope="session")
def secure_isolation_run(
    demo_run: subprocess.CompletedProcess[str], tmp_path_factory: pytest.TempPathFactory
) -> SuiteRun:
    """The whole isolation suite against the secure reference app, 3 tenants: the demo's own run, whose exit code
    the demo passes on. The detection matrix's secure baseline and the reports' real input (a copy of its
    results, which the next demo replaces)."""
    results = tmp_path_factory.mktemp("secure-isolation") / "results"
    shutil.copytree(ROOT / DEMO_DIR / "results", results)
    return SuiteRun(demo_run.returncode, read_records(results), demo_run.stdout + demo_run.stderr, results)


def tenant_tables(conn: psycopg.Connection[Any]) -> list[str]:
    """The reference app's tables that hold tenant rows (those with a ``tenant_id`` column), from the catalogue."""
    found = conn.execute(
        "select table_name from information_schema.columns where table_schema = 'public' and column_name = 'tenant_id'"
    )
    return sorted(table for (table,) in found)


def tenant_rows(conn: psycopg.Connection[Any], tenant_id: str) -> dict[str, int]:
    """How many rows of the tenant each table holds (its ``tenants`` row included), for the tables holding any."""
    counts = {
        table: one(conn, f"select count(*) from {table} where tenant_id = %s", (tenant_id,))[0]
        for table in tenant_tables(conn)
    }
    counts["tenants"] = one(conn, "select count(*) from tenants where id = %s", (tenant_id,))[0]
    return {table: count for table, count in counts.items() if count}
