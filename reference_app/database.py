"""Database roles, bootstrap and migrations of the reference app.

Three roles, so that no single credential can both change the schema and read every tenant:

- ``pake_owner`` owns the schema and runs migrations; it never serves requests.
- ``pake_app`` serves tenant requests: not the owner, ``NOSUPERUSER NOBYPASSRLS``, so
  row-level security always applies to it.
- ``pake_platform`` provisions tenants and computes aggregates: ``BYPASSRLS``, used only
  through the DAL's named escape hatch.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from alembic import command
from alembic.config import Config
from psycopg import sql

OWNER_ROLE = "pake_owner"
APP_ROLE = "pake_app"
PLATFORM_ROLE = "pake_platform"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class DatabaseUrls:
    """Connection strings of the three roles for one database."""

    owner: str
    app: str
    platform: str


def with_credentials(dsn: str, user: str, password: str, dbname: str | None = None) -> str:
    """The same server as ``dsn``, as another role (and optionally another database)."""
    parts = urlsplit(dsn)
    host = parts.hostname or "localhost"
    netloc = f"{quote(user)}:{quote(password, safe='')}@{host}" + (f":{parts.port}" if parts.port else "")
    path = f"/{dbname}" if dbname is not None else parts.path
    return urlunsplit((parts.scheme, netloc, path, parts.query, ""))


def sqlalchemy_url(dsn: str) -> str:
    """SQLAlchemy needs the driver named in the scheme; psycopg 3 is the one we ship."""
    return "postgresql+psycopg://" + dsn.split("://", 1)[1]


def bootstrap_roles(admin_dsn: str) -> dict[str, str]:
    """Create (or re-password) the three roles; returns role name → new password.

    Needs a superuser or a role with CREATEROLE. Idempotent: re-running rotates passwords
    and resets the attributes (so it also undoes a BYPASSRLS someone granted the app role).
    """
    passwords = {role: secrets.token_urlsafe(24) for role in (OWNER_ROLE, APP_ROLE, PLATFORM_ROLE)}
    attributes = {
        OWNER_ROLE: "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE",
        APP_ROLE: "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB",
        PLATFORM_ROLE: "LOGIN NOSUPERUSER BYPASSRLS NOCREATEROLE NOCREATEDB",
    }
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        for role, password in passwords.items():
            exists = conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone()
            verb = sql.SQL("ALTER") if exists else sql.SQL("CREATE")
            conn.execute(
                sql.SQL("{} ROLE {} WITH {} PASSWORD {}").format(
                    verb, sql.Identifier(role), sql.SQL(attributes[role]), sql.Literal(password)
                )
            )
    return passwords


def create_database(
    admin_dsn: str, dbname: str, passwords: dict[str, str], template: str | None = None
) -> DatabaseUrls:
    """Create ``dbname`` owned by the owner role, closed to PUBLIC, and return the role DSNs."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE {}").format(
                sql.Identifier(dbname), sql.Identifier(OWNER_ROLE), sql.Identifier(template or "template0")
            )
        )
        conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(dbname)))
        conn.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}, {}").format(
                sql.Identifier(dbname), sql.Identifier(APP_ROLE), sql.Identifier(PLATFORM_ROLE)
            )
        )
    return DatabaseUrls(
        owner=with_credentials(admin_dsn, OWNER_ROLE, passwords[OWNER_ROLE], dbname),
        app=with_credentials(admin_dsn, APP_ROLE, passwords[APP_ROLE], dbname),
        platform=with_credentials(admin_dsn, PLATFORM_ROLE, passwords[PLATFORM_ROLE], dbname),
    )


def drop_database(admin_dsn: str, dbname: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))


def alembic_config(owner_dsn: str) -> Config:
    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["dsn"] = owner_dsn
    return config


def upgrade(owner_dsn: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(owner_dsn), revision)


def downgrade(owner_dsn: str, revision: str) -> None:
    command.downgrade(alembic_config(owner_dsn), revision)
