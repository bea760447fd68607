"""The application's own database sessions, seen from outside, and what its role may do.

The harness's DSN (``database.dsn``) need not be the application's: an app may connect as
another role, or reuse an admin connection string "for now". So the data-layer checks audit
the role that really serves tenant requests: the one named by ``database.app_role``, else
the one observed in ``pg_stat_activity`` as the sessions that moved while the harness sent
tenant requests through the API, one at a time.

PostgreSQL shows a session's activity only to its own role, the role's members and
``pg_read_all_stats``; other sessions show their role and nothing else. Those are kept
apart as *hidden*, never taken for idle.

Example::

    with connect(dsn) as conn:
        watcher = Watcher(conn)
        watcher.watch("tenant-a", lambda: client.get("/v1/notes"))
        decide_app_roles(None, watcher).roles  # ("app",)
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import psycopg

from tenantprobe.errors import ProfileError

APPLICATION_NAME = "tenantprobe"
# A role serves tenant requests if its sessions moved in at least this share of them:
# background pollers (job queues, health checks) move in a few windows only.
SERVING_SHARE = 0.5
SETTLE_SECONDS = 0.5
T = TypeVar("T")

_SESSIONS = """
select pid, usename, state is not null, query_start, state, coalesce(query, '')
from pg_stat_activity
where datname = current_database() and usename is not null and pid <> pg_backend_pid()
  and coalesce(backend_type, 'client backend') = 'client backend'
  and coalesce(application_name, '') <> %s
"""


def connect(dsn: str) -> psycopg.Connection[Any]:
    """A harness session, named so that observation leaves it out."""
    return psycopg.connect(dsn, autocommit=True, application_name=APPLICATION_NAME)


@dataclass(frozen=True)
class Session:
    pid: int
    role: str
    visible: bool  # False: its activity is hidden from the harness's role
    query_start: datetime | None
    state: str | None
    query: str


@dataclass(frozen=True)
class Window:
    """One action (a request) and the sessions of the target database it moved."""

    label: str
    moved: tuple[Session, ...]


@dataclass
class Watcher:
    """Which sessions each action moved; run actions one at a time, nothing else may run in between.

    ``conn`` must be in autocommit: PostgreSQL freezes ``pg_stat_activity`` for the rest of
    a transaction at its first read.
    """

    conn: psycopg.Connection[Any]
    windows: list[Window] = field(default_factory=list)
    last: dict[int, Session] = field(default_factory=dict)
    hidden: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.last = self._snapshot()

    def _snapshot(self) -> dict[int, Session]:
        rows = self.conn.execute(_SESSIONS, (APPLICATION_NAME,)).fetchall()
        sessions = {row[0]: Session(*row) for row in rows}
        self.hidden |= {s.role for s in sessions.values() if not s.visible}
        return sessions

    @property
    def roles_seen(self) -> list[str]:
        return sorted({s.role for s in self.last.values()} | self.hidden)

    def watch(self, label: str, action: Callable[[], T]) -> T:
        before = self.last
        result = action()
        after = self._settle()
        moved = tuple(
            s
            for pid, s in after.items()
            if s.visible and (pid not in before or before[pid].query_start != s.query_start)
        )
        self.windows.append(Window(label, moved))
        self.last = after
        return result

    def _settle(self) -> dict[int, Session]:
        """Snapshot until nothing moves: a pool may reset a connection after the response has gone out."""
        current = self._snapshot()
        deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline:
            time.sleep(0.01)
            again = self._snapshot()
            if _starts(again) == _starts(current):
                return again
            current = again
        return current


def _starts(sessions: dict[int, Session]) -> dict[int, datetime | None]:
    return {pid: s.query_start for pid, s in sessions.items() if s.visible}


def serving_roles(windows: list[Window], share: float = SERVING_SHARE) -> list[str]:
    """Roles whose sessions moved in at least ``share`` of the windows."""
    counts = Counter(role for window in windows for role in {s.role for s in window.moved})
    return sorted(role for role, n in counts.items() if windows and n >= share * len(windows))


def cross_tenant_reuse(windows: list[Window], roles: Iterable[str]) -> list[tuple[int, str, str]]:
    """(pid, previous label, next label) each time one session of ``roles`` served two labels in turn."""
    wanted = set(roles)
    last: dict[int, str] = {}
    reused = []
    for window in windows:
        for session in window.moved:
            if session.role not in wanted:
                continue
            previous = last.get(session.pid)
            if previous is not None and previous != window.label:
                reused.append((session.pid, previous, window.label))
            last[session.pid] = window.label
    return reused


@dataclass(frozen=True)
class AppRoles:
    """The roles to audit as the application's, and how they were found.

    ``source`` is ``database.app_role``, ``observed`` (its sessions served the requests),
    ``inferred`` (no visible session moved, so only the hidden roles can have served them),
    or empty when undecided (``note`` says why).
    """

    roles: tuple[str, ...]
    source: str
    seen: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()
    note: str = ""


def decide_app_roles(explicit: str | None, watcher: Watcher | None) -> AppRoles:
    if explicit:
        return AppRoles((explicit,), "database.app_role", note=f"named by database.app_role: {explicit}")
    if watcher is None:
        return AppRoles((), "", note="tenantprobe has no database connection (database.dsn) to observe the app's")
    seen, hidden = tuple(watcher.roles_seen), tuple(sorted(watcher.hidden))
    requests = len(watcher.windows)
    if observed := serving_roles(watcher.windows):
        note = f"sessions of {', '.join(observed)} moved while {requests} tenant requests were served"
        return AppRoles(tuple(observed), "observed", seen, hidden, note)
    if hidden and requests:
        note = (
            f"no session visible to tenantprobe moved during {requests} tenant requests; the only sessions "
            f"that can have served them belong to {', '.join(hidden)}, whose activity is hidden from the "
            "harness's role"
        )
        return AppRoles(hidden, "inferred", seen, hidden, note)
    note = f"no session of the target database moved while {requests} tenant requests were served"
    return AppRoles((), "", seen, hidden, note)


def privilege_findings(conn: psycopg.Connection[Any], role: str, tables: list[str]) -> list[str]:
    """What lets ``role`` ignore row-level security, itself or through a role it can SET ROLE to."""
    if conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone() is None:
        raise ProfileError(f"database.app_role: the target database has no role {role!r}")
    findings = []
    # 'MEMBER' is any membership, with or without INHERIT: enough to SET ROLE (or to be granted SET).
    reachable = conn.execute(
        "select rolname, rolsuper, rolbypassrls from pg_roles where pg_has_role(%s, oid, 'MEMBER') order by 1",
        (role,),
    ).fetchall()
    for name, superuser, bypass in reachable:
        via = "is" if name == role else f"can SET ROLE {name}, which is"
        if superuser:
            findings.append(f"the application role {role} {via} a superuser")
        if bypass:
            findings.append(f"the application role {role} {via} BYPASSRLS")
    rows = conn.execute(
        """
        select r.rolname, format('%%I.%%I', n.nspname, c.relname), c.relowner = r.oid,
               has_table_privilege(r.oid, c.oid, 'TRUNCATE')
        from pg_roles r cross join pg_class c join pg_namespace n on n.oid = c.relnamespace
        where pg_has_role(%s, r.oid, 'MEMBER') and c.oid = any(%s::regclass[])
          and (c.relowner = r.oid or has_table_privilege(r.oid, c.oid, 'TRUNCATE'))
        order by 2, 1
        """,
        (role, tables),
    ).fetchall()
    for name, table, owns, truncate in rows:
        who = role if name == role else f"{role} (as {name}, by SET ROLE)"
        if owns:
            findings.append(f"{who} owns {table}, and an owner skips its policies unless RLS is forced")
        if truncate:
            findings.append(f"{who} may TRUNCATE {table}, which ignores row-level security")
    return findings


_CLEARING = re.compile(r"(?is)^\s*(''|null|default)(\s*::\s*\w+)?\s*$")


def sets_tenant_for_session(query: str, setting: str) -> bool:
    """Whether ``query`` gives its session (not only its transaction) a non-empty ``setting``.

    ``set_config(setting, value, false)`` and ``SET [SESSION] setting ...`` outlive the
    transaction; ``set_config(..., true)`` and ``SET LOCAL`` do not. An empty value clears.
    """
    name = re.escape(setting)
    for match in re.finditer(
        rf"(?is)set_config\s*\(\s*'{name}'\s*,\s*(?P<value>.*)\s*,\s*(?P<local>false|'f'|'false'|'off')\s*\)", query
    ):
        if not _CLEARING.match(match.group("value")):
            return True
    for match in re.finditer(
        rf"(?is)\bset\s+(?P<scope>session\s+|local\s+)?{name}\s*(=|\bto\b)\s*(?P<value>[^;]*)", query
    ):
        if (match.group("scope") or "").strip().lower() != "local" and not _CLEARING.match(match.group("value")):
            return True
    return False
