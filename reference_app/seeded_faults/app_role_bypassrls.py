"""The application role was granted BYPASSRLS (a DBA's shortcut for a backfill, never revoked).

Every policy is skipped for the role that serves requests; only the DAL's explicit
filters still stand. Realised by ``setup``: wraps
``bootstrap_roles`` of ``database.py``. The role
audit (rolbypassrls) and the RLS probes as the app role should catch it.

Control: ``DATA-APP-ROLE-PRIVILEGES``.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg
from psycopg import sql

from reference_app import database

LAYER = "data"
CONTROL = "DATA-APP-ROLE-PRIVILEGES"
AT_SETUP = True


def _backfill_grant_kept(bootstrap_roles: Callable[[str], dict[str, str]]) -> Callable[[str], dict[str, str]]:
    def bootstrap_roles_then_grant(admin_dsn: str) -> dict[str, str]:
        """The roles as set up, then the backfill's grant that nobody took back."""
        passwords = bootstrap_roles(admin_dsn)
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("ALTER ROLE {} BYPASSRLS").format(sql.Identifier(database.APP_ROLE)))
        return passwords

    return bootstrap_roles_then_grant


WRAPS = {database.bootstrap_roles: _backfill_grant_kept}
