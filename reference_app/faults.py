"""Seeded faults: realistic isolation bugs that can be switched on to prove the harness catches them.

``REFERENCE_APP_FAULTS=name,name`` turns faults on for every process of the app (API,
worker, internal service, and ``setup`` for the schema-level ones). None is ever on by
default; an unknown name stops the process with the list of valid names; any fault on is
logged as a WARNING at start.

Each fault below is a small, named unit. Its docstring says which real mistake it imitates
and which control of the tenantprobe catalogue should catch it; the faulty code path lives
where the real bug would, next to the correct one, guarded by ``faults.<name>.active``.
Where defence in depth would hide an API-level leak, the fault also switches off the layer
below the way a real misconfiguration does (``platform_dsn``: the component connects with
the platform role's connection string, which bypasses row-level security, "because someone
reused the admin DSN"). ``FAULTS.md`` beside this file has the table.
"""

from __future__ import annotations

import difflib
import inspect
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Literal

ENV = "REFERENCE_APP_FAULTS"
Layer = Literal["data", "application", "api", "operations"]


class FaultConfigError(ValueError):
    """``REFERENCE_APP_FAULTS`` names a fault that does not exist; the message lists the valid ones."""


@dataclass(frozen=True)
class Fault:
    name: str
    layer: Layer
    control: str
    doc: str
    platform_dsn: bool = False  # realised with the component connecting as the platform (BYPASSRLS) role
    at_setup: bool = False  # realised when the database is set up (schema or role attributes)

    @property
    def active(self) -> bool:
        return self.name in active_names()

    @property
    def summary(self) -> str:
        return self.doc.split("\n\n", 1)[0].replace("\n", " ")


REGISTRY: dict[str, Fault] = {}


def _fault(
    layer: Layer, control: str, *, platform_dsn: bool = False, at_setup: bool = False
) -> Callable[[Callable[[], None]], Fault]:
    def register(declaration: Callable[[], None]) -> Fault:
        fault = Fault(declaration.__name__, layer, control, inspect.getdoc(declaration) or "", platform_dsn, at_setup)
        REGISTRY[fault.name] = fault
        return fault

    return register


# ---------------------------------------------------------------------------------------- data layer
@_fault("data", "DATA-RLS-FORCED", at_setup=True)
def rls_disabled() -> None:
    """The migrations create the tenant policies but never ENABLE or FORCE row-level security.

    A policy on a table without ``ENABLE ROW LEVEL SECURITY`` is silently ignored, so the
    catalog looks busy while nothing is enforced: the app role without tenant context reads
    every tenant's rows. Realised by ``setup`` (``migrations/tenancy.py``). The catalog audit
    (relrowsecurity / relforcerowsecurity) and the RLS probes should catch it.

    Control: ``DATA-RLS-FORCED``.
    """


@_fault("data", "DATA-APP-ROLE-PRIVILEGES", at_setup=True)
def app_role_bypassrls() -> None:
    """The application role was granted BYPASSRLS (a DBA's shortcut for a backfill, never revoked).

    Every policy is skipped for the role that serves requests; only the DAL's explicit
    filters still stand. Realised by ``setup`` (``database.bootstrap_roles``). The role
    audit (rolbypassrls) and the RLS probes as the app role should catch it.

    Control: ``DATA-APP-ROLE-PRIVILEGES``.
    """


@_fault("data", "DATA-POOL-BLEED")
def session_set_bleed() -> None:
    """Tenant context set at session scope on pooled connections, which nothing resets.

    The DAL runs ``set_config('app.tenant_id', id, false)`` and keeps a tenant already present
    on the connection (meant for nested units of work), and binds queries to the connection's
    tenant. The pool has no reset callback (the secure app needs none: its setting is
    transaction-local), so the next request that borrows the connection inherits the previous
    tenant: tenant B reads and writes tenant A's rows. Realised in
    ``dal/session.py``. The pool-bleed probe and the cross-tenant/concurrency oracles should
    catch it.

    Control: ``DATA-POOL-BLEED``.
    """


@_fault("data", "DATA-DEPROVISION-COMPLETE")
def deprovision_orphans() -> None:
    """Deprovisioning purges a hard-coded list of tables and keeps the tenant row "for billing".

    The list predates the audit log and the job queue, and so does the post-check that reads
    the same list; the tenant row is only suspended, so nothing cascades. Rows of a
    deprovisioned tenant survive. Realised in ``api/routes/admin.py``. Counting the tenant's
    rows in every table with a tenant column after deprovisioning should catch it.

    Control: ``DATA-DEPROVISION-COMPLETE``.
    """


# ---------------------------------------------------------------------------------------- API layer
@_fault("api", "API-CROSS-TENANT-READ", platform_dsn=True)
def dal_unscoped_get() -> None:
    """Get-by-id for notes filters on the (globally unique) id only.

    The tenant placeholder survives in the tags subquery, so the DAL's "query names
    %(tenant_id)s" guard is satisfied; the API connects with the platform DSN, so RLS does
    not save it. Realised in ``dal/notes.py``. Foreign-id reads should catch it.

    Control: ``API-CROSS-TENANT-READ``.
    """


@_fault("api", "API-LIST-FILTER", platform_dsn=True)
def list_unfiltered() -> None:
    """The note list's tenant filter moved into the tag branch of the WHERE clause.

    Without a ``tag`` parameter the list has no tenant filter and shows every tenant's
    notes (the placeholder in the tag branch satisfies the DAL guard; platform DSN, so no
    RLS). Realised in ``dal/notes.py``. Collection reads scanned for foreign ids should
    catch it.

    Control: ``API-LIST-FILTER``.
    """


@_fault("api", "API-LIST-FILTER", platform_dsn=True)
def search_unscoped() -> None:
    """The internal search service queries notes without the tenant filter.

    The search service "indexes every tenant", so it was given the platform DSN; its query
    relies on RLS that the platform role bypasses. Search as one tenant finds every tenant's
    notes. Realised in ``internal/service.py``. Searches for a foreign canary should catch it.

    Control: ``API-LIST-FILTER``.
    """


@_fault("api", "API-CROSS-TENANT-WRITE", platform_dsn=True)
def idor_update() -> None:
    """The note update checks that the caller's tenant is active in the same statement, and
    forgets to correlate the note with that tenant (``UPDATE notes n ... FROM tenants t
    WHERE t.id = %(tenant_id)s AND n.id = %(id)s``).

    Any tenant can change any note by id (platform DSN, so no RLS). Realised in
    ``dal/notes.py``. Foreign writes followed by the victim's re-read should catch it.

    Control: ``API-CROSS-TENANT-WRITE``.
    """


@_fault("api", "API-CROSS-TENANT-WRITE", platform_dsn=True)
def idor_delete() -> None:
    """The note delete joins ``tenants`` to check the caller's tenant is active and forgets the
    correlation, exactly like ``idor_update``.

    Any tenant can delete any note by id (platform DSN, so no RLS). Realised in
    ``dal/notes.py``. Foreign deletes followed by the victim's re-read should catch it.

    Control: ``API-CROSS-TENANT-WRITE``.
    """


@_fault("api", "API-MASS-ASSIGNMENT", platform_dsn=True)
def mass_assignment_tenant() -> None:
    """Note creation accepts the bulk-import shape, which carries ``tenant_id``, and the DAL
    honours it.

    A client can plant notes in another tenant (platform DSN, so RLS's WITH CHECK does not
    refuse the row). Realised in ``models.py``/``dal/notes.py``. Creates with a foreign
    ``tenant_id`` in the body should catch it.

    Control: ``API-MASS-ASSIGNMENT``.
    """


@_fault("api", "API-NESTED-PARENT")
def nested_parent_unchecked() -> None:
    """Comment routes look comments up by (tenant, id) and never check the note in the path.

    ``GET /v1/notes/{any_note}/comments/{comment_id}`` answers for any note id, another
    tenant's or none at all. Realised in ``api/routes/comments.py``. Mixing parents and
    children of two tenants should catch it.

    Control: ``API-NESTED-PARENT``.
    """


@_fault("api", "API-TENANT-CONTEXT-TAMPER")
def trust_tenant_header() -> None:
    """The API prefers an ``X-Tenant-ID`` header over the token's tenant ("the gateway sets it").

    Any valid user of any tenant reads and writes another tenant by sending its id in the
    header; RLS cannot help, because the context it enforces is the header's. Realised in
    ``api/deps.py``. Header tampering with valid credentials should catch it.

    Control: ``API-TENANT-CONTEXT-TAMPER``.
    """


@_fault("api", "API-ERROR-HYGIENE")
def error_detail_leak() -> None:
    """Database errors are answered with the driver's message "so clients know what conflicts".

    A duplicate answers with the SQLSTATE, the constraint name and the driver's message (and
    its ``DETAIL: Key (...)=(...)`` line, which PostgreSQL itself withholds on tables with
    row-level security); unexpected errors carry the exception text. Realised in
    ``api/errors.py``. Error bodies scanned for internals should catch it.

    Control: ``API-ERROR-HYGIENE``.
    """


@_fault("api", "API-EXISTENCE-ORACLE")
def existence_oracle() -> None:
    """Reading a note looks the id up across tenants to answer 403 "not yours" instead of 404.

    The answer tells an attacker which ids exist in other tenants. Realised in
    ``api/routes/notes.py``. Comparing the answer for a foreign id with the one for a
    missing id should catch it.

    Control: ``API-EXISTENCE-ORACLE``.
    """


@_fault("api", "API-EXISTENCE-ORACLE")
def etag_precheck_unscoped() -> None:
    """A conditional read (``If-None-Match``) is answered from an index-only version lookup that runs
    before the tenant-scoped read, on the reporting connection ("most reads are revalidations").

    Another tenant's ETag sent with its note id answers ``304 Not Modified`` where a missing id
    answers 404: the note exists, and is at that version. Realised in ``api/routes/notes.py``.
    The victim's validators replayed with the foreign and a missing id should catch it.

    Control: ``API-EXISTENCE-ORACLE``.
    """


@_fault("api", "API-UNIQUENESS-SCOPE")
def member_email_unique_global() -> None:
    """Adding a member checks that the email is not registered yet, against every tenant's users
    ("one login per email"), on the platform connection.

    A tenant that adds a member with an email another tenant already uses gets 409 "already
    registered": it learns who works where, and can squat addresses. Realised in
    ``api/routes/members.py``. Creating in one tenant a value another tenant already uses, in a
    field that looks unique, should catch it.

    Control: ``API-UNIQUENESS-SCOPE``.
    """


@_fault("api", "API-SECRET-EXPOSURE")
def me_exposes_service_token() -> None:
    """``GET /v1/me`` hands the SPA the API's service-to-service token for search ("the browser calls
    search directly").

    Any tenant user holds a credential the internal service trusts as the API itself. Realised in
    ``api/routes/me.py``. Responses scanned for secret-named fields and secret-shaped values
    (tokens, keys, password hashes) that the caller did not send should catch it.

    Control: ``API-SECRET-EXPOSURE``.
    """


@_fault("api", "API-COUNT-LEAK")
def count_leak() -> None:
    """The note count moved to the reporting connection (platform role) and dropped its filter,
    "RLS will scope it".

    The platform role bypasses RLS, so the count is every tenant's. Realised in
    ``api/routes/notes.py``. A count that changes when only another tenant writes should
    catch it.

    Control: ``API-COUNT-LEAK``.
    """


@_fault("api", "API-LIST-FILTER")
def cursor_names_tenant() -> None:
    """Pages after the first are read on the reporting connection (platform role) for the tenant the
    cursor names: "the cursor carries everything the next page needs".

    The cursor is ``<tenant id>.<position>``, and nothing checks that its tenant is the caller's, so
    passing back another tenant's cursor shows that tenant's next page. Realised in
    ``api/routes/notes.py``. Replaying the victim's cursor as the attacker should catch it.

    Control: ``API-LIST-FILTER``.
    """


@_fault("api", "API-AUTHZ-ROLE")
def role_escalation() -> None:
    """Changing a member's role needs only the member role (the check was copied from notes).

    Any member can make anyone, themselves included, an admin. Realised in
    ``api/routes/members.py``. The role matrix (member calling PATCH /v1/members/{id})
    should catch it.

    Control: ``API-AUTHZ-ROLE``.
    """


@_fault("api", "API-CROSS-TENANT-WRITE")
def merge_sources_unscoped() -> None:
    """Merging notes reads the sources named in the body (``note_ids``) by id on the reporting
    connection, "the ids come from the client's own list page".

    Any tenant can fold another tenant's notes into a new note of its own and read them there.
    Realised in ``api/routes/note_actions.py``. Substituting a victim's id into a body field
    that takes a reference, after the same request with the attacker's own id succeeded,
    should catch it.

    Control: ``API-CROSS-TENANT-WRITE``.
    """


@_fault("api", "API-CROSS-TENANT-WRITE")
def duplicate_unscoped() -> None:
    """Duplicating a note reads its source the way the shared template gallery does, across tenants.

    ``POST /v1/notes/{another_tenant's_note}/duplicate`` copies that note into the caller's
    tenant. Realised in ``api/routes/note_actions.py``. Actions (POST on a sub-path of an
    object) attacked with a victim's id should catch it.

    Control: ``API-CROSS-TENANT-WRITE``.
    """


@_fault("api", "API-CROSS-TENANT-WRITE")
def append_unscoped() -> None:
    """Quick capture appends to a note by id on the shared connection ("no lock on the tenant
    row") and reads the answer back in the tenant transaction.

    A foreign note answers 404 exactly like a missing one, yet the text was appended: only the
    victim, re-reading its note list, sees the change. Realised in
    ``api/routes/note_actions.py``. The victim's differential re-read after every action
    attempted on its object should catch it.

    Control: ``API-CROSS-TENANT-WRITE``.
    """


@_fault("api", "API-LIST-FILTER")
def comment_feed_filter_unscoped() -> None:
    """The comment feed's optional ``note_id`` filter is served by the note index alone on the
    reporting connection, "a note id is unique, so it already names the tenant".

    ``GET /v1/comments?note_id=<another tenant's note>`` lists that note's comments; without
    the filter the feed is correct. Realised in ``api/routes/activity.py``. Collection reads
    sent with every optional parameter, reference filters set to a victim's ids, should catch it.

    Control: ``API-LIST-FILTER``.
    """


# ---------------------------------------------------------------------------------------- tokens
@_fault("api", "AUTH-JWT-VALIDATION")
def jwt_alg_none() -> None:
    """Unsigned tokens (``alg: none``) are accepted, a leftover of local test tokens.

    Anyone can mint a token for any tenant. Realised in ``auth/tokens.py``. Forged tokens
    should catch it.

    Control: ``AUTH-JWT-VALIDATION``.
    """


@_fault("api", "AUTH-JWT-VALIDATION")
def jwt_skip_audience() -> None:
    """The audience is not verified ("we only have one API").

    Tokens minted for another service of the same issuer (the internal service's tokens
    among them) are accepted. Realised in ``auth/tokens.py``. Wrong-audience tokens should
    catch it.

    Control: ``AUTH-JWT-VALIDATION``.
    """


@_fault("api", "AUTH-JWT-VALIDATION")
def jwt_expired_accepted() -> None:
    """Expiry is not verified (turned off after clock-skew complaints).

    Stolen tokens never die. Realised in ``auth/tokens.py``. Expired tokens should catch it.

    Control: ``AUTH-JWT-VALIDATION``.
    """


@_fault("api", "AUTH-JWT-VALIDATION")
def jwt_signature_cache() -> None:
    """Verified tokens are remembered by their signature alone, and a remembered token's claims are
    only decoded ("RSA verification was 30% of the profile").

    Once a tenant's token has been verified, the same signature under any payload passes: a
    user switches its ``tenant_id`` claim to another tenant's, or drops ``exp``, and keeps the
    signature. Realised in ``auth/tokens.py``. The tenant's own token with one claim changed
    and the signature kept should catch it.

    Control: ``AUTH-JWT-VALIDATION``.
    """


# ---------------------------------------------------------------------------------------- application
@_fault("application", "APP-CACHE-TENANT-KEY")
def cache_key_without_tenant() -> None:
    """The cache key dropped the tenant "because note ids are UUIDs, globally unique anyway".

    After tenant A reads a note, tenant B asking for the same id gets A's note from the
    cache. Realised in ``cache.py``. Cold/warm/repeat reads of the same URL by two tenants
    should catch it.

    Control: ``APP-CACHE-TENANT-KEY``.
    """


@_fault("application", "APP-USER-STATE-SCOPE")
def recent_notes_keyed_by_user() -> None:
    """Each user's recently opened notes are keyed by the token's subject alone, "a subject is unique in
    our identity provider".

    Tenants bring their own identity providers, so two tenants may both have a user ``alice``, who
    then share one list. Realised in ``recent.py``. A user of another tenant with the victim's user
    id reading ``GET /v1/me/recent-notes`` should catch it.

    Control: ``APP-USER-STATE-SCOPE``.
    """


@_fault("application", "APP-JOB-CONTEXT")
def job_context_lost() -> None:
    """The worker reuses its export runner, built for the first job, for every later job.

    The runner captured the first job's tenant, so later exports of other tenants contain
    the first tenant's data, downloadable by whoever asked. Realised in ``worker.py``.
    Export results scanned for foreign canaries should catch it.

    Control: ``APP-JOB-CONTEXT``.
    """


@_fault("application", "APP-SERVICE-PROPAGATION")
def internal_service_trusts_caller() -> None:
    """The internal service trusts its network position: it takes the tenant from the path and
    ignores the missing or invalid internal token.

    Anything that can reach it reads any tenant. Realised in ``internal/service.py``. Direct
    calls without, or with bad, tenant context should catch it.

    Control: ``APP-SERVICE-PROPAGATION``.
    """


@_fault("application", "APP-ANALYTICS-AGGREGATE-ONLY")
def analytics_row_level() -> None:
    """Analytics gained a per-tenant drill-down for the sales team and lost the k-tenant floor.

    Groups of one tenant, named by slug, are returned. Realised in ``dal/analytics.py``.
    Analytics output scanned for tenant identifiers and small groups should catch it.

    Control: ``APP-ANALYTICS-AGGREGATE-ONLY``.
    """


# ---------------------------------------------------------------------------------------- operations
@_fault("operations", "OPS-QUOTA-ENFORCED")
def quota_unenforced() -> None:
    """The storage-quota check reads usage from a per-process snapshot that writes never refresh.

    A tenant writes far past its plan until the snapshot expires. Realised in
    ``limits.py``. Writing past the quota should catch it.

    Control: ``OPS-QUOTA-ENFORCED``.
    """


@_fault("operations", "OPS-MONITORING-COVERAGE")
def metrics_tenant_from_header() -> None:
    """Request metrics take their tenant label from the ``X-Tenant-ID`` header the old gateway set.

    Clients of the JWT API never send it, so every request is counted under ``none`` and no
    tenant's traffic can be told apart. Realised in ``metrics.py``. Scraping the metrics after
    a tenant's requests should catch it.

    Control: ``OPS-MONITORING-COVERAGE``.
    """


@_fault("operations", "OPS-RATE-LIMIT-PER-TENANT")
def rate_limit_global() -> None:
    """The rate limiter is keyed by client address, and every tenant arrives through one gateway.

    One noisy tenant exhausts the bucket of all. Realised in ``limits.py``. A noisy
    neighbour with quiet tenants' throttling measured should catch it.

    Control: ``OPS-RATE-LIMIT-PER-TENANT``.
    """


def parse(value: str | None) -> tuple[Fault, ...]:
    """Faults named in ``value`` (comma-separated); an unknown name raises FaultConfigError."""
    names = [name.strip() for name in (value or "").split(",") if name.strip()]
    unknown = [name for name in names if name not in REGISTRY]
    if unknown:
        hints = [
            f"{name!r} (did you mean {close[0]!r}?)"
            if (close := difflib.get_close_matches(name, REGISTRY, n=1))
            else repr(name)
            for name in unknown
        ]
        raise FaultConfigError(f"{ENV}: unknown fault {', '.join(hints)}; valid names: {', '.join(sorted(REGISTRY))}")
    return tuple(REGISTRY[name] for name in dict.fromkeys(names))


@cache
def active_names() -> frozenset[str]:
    """The faults of this process, read once from the environment."""
    return frozenset(fault.name for fault in parse(os.environ.get(ENV)))


def active() -> tuple[Fault, ...]:
    return tuple(REGISTRY[name] for name in sorted(active_names()))


def announce(component: str, logger: logging.Logger | None = None) -> tuple[Fault, ...]:
    """Validate the environment and shout about any fault that is on; call once at start-up."""
    on = active()
    if on:
        (logger or logging.getLogger("reference_app")).warning(
            "!!! SEEDED FAULTS ACTIVE in the %s: %s -- this build is deliberately INSECURE; "
            "never serve real tenants with it !!!",
            component,
            ", ".join(f"{fault.name} ({fault.control})" for fault in on),
        )
    return on


def table(faults: Iterable[Fault] | None = None) -> str:
    """The Markdown table of ``FAULTS.md`` (a test keeps the file in step with the registry)."""
    rows = [
        "| fault | layer | what a real team got wrong | layer below switched off | control that should catch it |",
        "|---|---|---|---|---|",
    ]
    for fault in faults if faults is not None else REGISTRY.values():
        below = (
            "realised by `setup`"
            if fault.at_setup
            else "connects as the platform role (no RLS)"
            if fault.platform_dsn
            else "—"
        )
        rows.append(f"| `{fault.name}` | {fault.layer} | {fault.summary} | {below} | `{fault.control}` |")
    return "\n".join(rows)


def by_control() -> Mapping[str, tuple[str, ...]]:
    grouped: dict[str, list[str]] = {}
    for fault in REGISTRY.values():
        grouped.setdefault(fault.control, []).append(fault.name)
    return {control: tuple(names) for control, names in grouped.items()}
