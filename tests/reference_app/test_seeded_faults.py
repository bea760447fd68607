"""Every seeded fault really breaks isolation: the app started with it leaks or lets the attack
through on a direct request, and the same request against the secure app is refused.

Each demonstration runs twice (``@demonstrates``): on an app started with the fault (``app.faulty``)
and on the module's secure app, started with the same small limits. Faults whose demonstrations
cannot disturb each other share one app start (a group); the rest start an app of their own.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import psycopg
import pytest

from reference_app import faults
from reference_app.auth import SigningKey, mint_token
from reference_app.database import DatabaseUrls
from tenantprobe.stack import ReferenceStack, RoleDsns
from tests.conftest import ReferenceDatabase, one, role_dsns, tenant_rows
from tests.reference_app.conftest import SETTINGS, Tenant

# Small limits, the same for the faulty and the secure app: pro for storage, enterprise for rate.
# Every tenant the module creates gets its own metrics label (the default bound is 50).
LIMITS = {
    "REFERENCE_APP_PLAN_PRO": "notes=2",
    "REFERENCE_APP_PLAN_ENTERPRISE": "rate=0.01,burst=8",
    "REFERENCE_APP_METRICS_MAX_TENANTS": "10000",
}

# Faults whose demonstrations cannot disturb each other, started together.
GROUPS = {
    "api": (
        "jwt_alg_none",
        "jwt_skip_audience",
        "jwt_expired_accepted",
        "trust_tenant_header",
        "role_escalation",
        "nested_parent_unchecked",
        "error_detail_leak",
        "existence_oracle",
        "analytics_row_level",
        "deprovision_orphans",
        "quota_unenforced",
        "metrics_tenant_from_header",
        "jwt_signature_cache",
        "etag_precheck_unscoped",
        "member_email_unique_global",
        "me_exposes_service_token",
        "merge_sources_unscoped",
        "duplicate_unscoped",
        "append_unscoped",
        "comment_feed_filter_unscoped",
        "cursor_names_tenant",
        "recent_notes_keyed_by_user",
    ),
    # The data access layer's: each would change what the api group's demonstrations see.
    "dal": (
        "dal_unscoped_get",
        "list_unfiltered",
        "idor_update",
        "idor_delete",
        "mass_assignment_tenant",
        "count_leak",
    ),
    "app": ("job_context_lost", "internal_service_trusts_caller", "search_unscoped", "cache_key_without_tenant"),
}
# Faults with an app of their own, and what it starts with.
ALONE: dict[str, dict[str, str]] = {
    "session_set_bleed": {"REFERENCE_APP_DB_POOL_SIZE": "1"},  # one pooled connection, handed on
    "rate_limit_global": {},  # one bucket for every tenant would throttle a group's other demonstrations
    "rls_disabled": {},  # set-up realises these two (see reference_database)
    "app_role_bypassrls": {},
}


@dataclass
class App:
    """One running reference app with helpers to act on it."""

    stack: ReferenceStack
    dsns: RoleDsns
    http: httpx.Client
    key: SigningKey
    faulty: bool
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def platform(self) -> dict[str, str]:
        token = mint_token(self.key, SETTINGS, subject="ops", tenant_id=None, roles=["platform_admin"])
        return {"Authorization": f"Bearer {token}"}

    def tenant(self, plan: str = "free") -> Tenant:
        slug = f"f-{uuid.uuid4().hex[:10]}"
        created = self.http.post(
            "/v1/admin/tenants", json={"slug": slug, "name": slug, "plan": plan}, headers=self.platform
        )
        assert created.status_code == 201, created.text
        return Tenant(created.json()["id"], slug, self.key)

    def note(self, tenant: Tenant, title: str | None = None, **extra: Any) -> dict[str, Any]:
        response = self.http.post(
            "/v1/notes", json={"title": title or f"c{uuid.uuid4().hex}", **extra}, headers=tenant.headers("owner")
        )
        assert response.status_code == 201, response.text
        note: dict[str, Any] = response.json()
        return note


@contextmanager
def running(dsns: RoleDsns | None, seeded: tuple[str, ...], env: dict[str, str] | None = None) -> Iterator[App]:
    with (
        ReferenceStack(dsns=dsns, faults=seeded, extra_env={**LIMITS, **(env or {})}) as stack,
        httpx.Client(base_url=stack.base_url, timeout=15) as http,
    ):
        assert stack.dsns is not None
        yield App(stack, stack.dsns, http, SigningKey.from_pem(stack.key_file.read_bytes()), faulty=bool(seeded))


@pytest.fixture(scope="module")
def app_env() -> dict[str, str]:
    return LIMITS


@pytest.fixture(scope="module")
def secure(api: ReferenceStack, db: DatabaseUrls, client: httpx.Client) -> App:
    return App(api, role_dsns(db), client, SigningKey.from_pem(api.key_file.read_bytes()), faulty=False)


@pytest.fixture(scope="module")
def grouped(reference_database: ReferenceDatabase) -> Iterator[Callable[[str], App]]:
    """The app started with a fault's group: started when first asked for, kept for the module."""
    with ExitStack() as apps:
        started: dict[str, App] = {}

        def app_with(fault: str) -> App:
            group = next(name for name, members in GROUPS.items() if fault in members)
            if group not in started:
                started[group] = apps.enter_context(running(reference_database(GROUPS[group]), GROUPS[group]))
            return started[group]

        yield app_with


@pytest.fixture
def app(
    request: pytest.FixtureRequest, secure: App, grouped: Callable[[str], App], reference_database: ReferenceDatabase
) -> Iterator[App]:
    fault, faulty = request.param
    if not faulty:
        yield secure
    elif fault in ALONE:
        with running(reference_database((fault,)), (fault,), ALONE[fault]) as alone:
            yield alone
    else:
        yield grouped(fault)


demonstrated: set[str] = set()


def demonstrates(fault: str) -> pytest.MarkDecorator:
    """Run the test on an app started with ``fault`` (``app.faulty``) and on the secure app."""
    demonstrated.add(fault)
    return pytest.mark.parametrize("app", [(fault, True), (fault, False)], indirect=True, ids=["faulty", "secure"])


def test_every_seeded_fault_is_demonstrated_on_an_app_of_its_group_or_its_own() -> None:
    placed = [fault for members in GROUPS.values() for fault in members] + list(ALONE)
    assert sorted(placed) == sorted(faults.REGISTRY)
    assert demonstrated == set(faults.REGISTRY)


def pair(app: App, plan: str = "free") -> tuple[Tenant, Tenant]:
    return app.tenant(plan), app.tenant(plan)


def assert_shown_only_if_faulty(app: App, response: httpx.Response, secret: str, refused: int) -> None:
    """The faulty app answers 200 with the victim's ``secret``; the secure one answers ``refused`` without it."""
    __tracebackhide__ = True
    if app.faulty:
        assert response.status_code == 200, response.text
        assert secret in response.text
    else:
        assert response.status_code == refused, response.text
        assert secret not in response.text


# ------------------------------------------------------------------------------------ the group start
def test_any_active_fault_is_announced_loudly_at_start(grouped: Callable[[str], App], api: ReferenceStack) -> None:
    for process in ("api", "internal", "worker"):
        log = grouped("jwt_alg_none").stack.log_text(process)
        assert "WARNING" in log
        assert "SEEDED FAULTS ACTIVE" in log
        assert "jwt_alg_none (AUTH-JWT-VALIDATION)" in log
    assert "SEEDED FAULTS" not in api.log_text("api")


# ------------------------------------------------------------------------------------ tokens and context
def _unsigned(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def _claims(tenant: Tenant, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": SETTINGS.issuer,
        "aud": SETTINGS.audience,
        "sub": "mallory",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "tenant_id": tenant.id,
        "roles": ["owner"],
        **changes,
    }


@demonstrates("jwt_alg_none")
def test_jwt_alg_none_lets_an_unsigned_token_read_any_tenant(app: App) -> None:
    victim = app.tenant()
    secret = app.note(victim)["title"]
    listing = app.http.get("/v1/notes", headers={"Authorization": f"Bearer {_unsigned(_claims(victim))}"})
    assert_shown_only_if_faulty(app, listing, secret, 401)


def _signed(app: App, claims: dict[str, Any]) -> str:
    return jwt.encode(claims, app.key.private_key, algorithm="RS256", headers={"kid": app.key.kid})


@demonstrates("jwt_skip_audience")
def test_jwt_skip_audience_accepts_a_token_minted_for_another_service(app: App) -> None:
    tenant = app.tenant()
    token = _signed(app, _claims(tenant, aud="billing-service"))
    status = app.http.get("/v1/notes", headers={"Authorization": f"Bearer {token}"}).status_code
    assert status == (200 if app.faulty else 401)


@demonstrates("jwt_expired_accepted")
def test_jwt_expired_accepted_lets_a_day_old_token_in(app: App) -> None:
    tenant = app.tenant()
    day_ago = int((datetime.now(UTC) - timedelta(days=1)).timestamp())
    token = _signed(app, _claims(tenant, iat=day_ago, nbf=day_ago, exp=day_ago + 600))
    status = app.http.get("/v1/notes", headers={"Authorization": f"Bearer {token}"}).status_code
    assert status == (200 if app.faulty else 401)


@demonstrates("trust_tenant_header")
def test_trust_tenant_header_switches_tenant_with_a_valid_token(app: App) -> None:
    attacker, victim = pair(app)
    secret = app.note(victim)["title"]
    listing = app.http.get("/v1/notes", headers={**attacker.headers(), "X-Tenant-ID": victim.id})
    assert_shown_only_if_faulty(app, listing, secret, 403)


@demonstrates("role_escalation")
def test_role_escalation_lets_a_member_make_an_admin(app: App) -> None:
    tenant = app.tenant()
    viewer = app.http.post("/v1/members", json={"subject": "v", "role": "viewer"}, headers=tenant.headers("admin"))
    promoted = app.http.patch(
        f"/v1/members/{viewer.json()['id']}", json={"role": "admin"}, headers=tenant.headers("member")
    )
    assert promoted.status_code == (200 if app.faulty else 403)


@demonstrates("merge_sources_unscoped")
def test_merge_sources_unscoped_folds_a_foreign_note_into_ones_own(app: App) -> None:
    attacker, victim = pair(app)
    foreign = app.note(victim, body="victim's secret")["id"]
    merged = app.http.post("/v1/notes/merge", json={"title": "m", "note_ids": [foreign]}, headers=attacker.headers())
    assert merged.status_code == (201 if app.faulty else 404)
    assert ("victim's secret" in merged.text) == app.faulty


@demonstrates("duplicate_unscoped")
def test_duplicate_unscoped_copies_a_foreign_note(app: App) -> None:
    attacker, victim = pair(app)
    foreign = app.note(victim, body="victim's secret")["id"]
    copied = app.http.post(f"/v1/notes/{foreign}/duplicate", headers=attacker.headers())
    assert copied.status_code == (201 if app.faulty else 404)


@demonstrates("append_unscoped")
def test_append_unscoped_changes_a_foreign_note_behind_a_404(app: App) -> None:
    attacker, victim = pair(app)
    foreign = app.note(victim, body="mine")["id"]
    appended = app.http.post(f"/v1/notes/{foreign}/append", json={"text": " +x"}, headers=attacker.headers())
    assert appended.status_code == 404  # the same answer either way: only the victim's re-read tells
    listed = app.http.get("/v1/notes", headers=victim.headers()).json()["items"]
    assert [note["body"] for note in listed] == (["mine +x"] if app.faulty else ["mine"])


@demonstrates("comment_feed_filter_unscoped")
def test_comment_feed_filter_unscoped_lists_a_foreign_notes_comments(app: App) -> None:
    attacker, victim = pair(app)
    foreign = app.note(victim)["id"]
    app.http.post(f"/v1/notes/{foreign}/comments", json={"body": "victim's remark"}, headers=victim.headers())
    feed = app.http.get("/v1/comments", params={"note_id": foreign}, headers=attacker.headers())
    assert feed.status_code == 200
    assert ("victim's remark" in feed.text) == app.faulty
    assert app.http.get("/v1/comments", headers=attacker.headers()).json() == []


@demonstrates("cursor_names_tenant")
def test_cursor_names_tenant_serves_the_page_after_a_foreign_cursor(app: App) -> None:
    attacker, victim = pair(app)
    hidden = [app.note(victim, f"victim's {n}")["title"] for n in range(2)]
    app.note(attacker)
    cursor = app.http.get("/v1/notes", params={"limit": 1}, headers=victim.headers()).json()["next_cursor"]
    page = app.http.get("/v1/notes", params={"cursor": cursor}, headers=attacker.headers())
    assert page.status_code == 200
    assert (hidden[0] in page.text) == app.faulty


@demonstrates("recent_notes_keyed_by_user")
def test_recent_notes_keyed_by_user_shares_a_list_between_namesakes(app: App) -> None:
    attacker, victim = pair(app)
    opened = app.note(victim, f"victim's {uuid.uuid4().hex}")
    alice = f"alice-{uuid.uuid4().hex[:8]}"  # one user name in both tenants' identity providers
    as_victim = {"Authorization": f"Bearer {victim.token(subject=alice)}"}
    as_attacker = {"Authorization": f"Bearer {attacker.token(subject=alice)}"}
    assert app.http.get(f"/v1/notes/{opened['id']}", headers=as_victim).status_code == 200
    recent = app.http.get("/v1/me/recent-notes", headers=as_attacker)
    assert recent.status_code == 200
    assert (opened["title"] in recent.text) == app.faulty


@demonstrates("nested_parent_unchecked")
def test_nested_parent_unchecked_serves_a_comment_under_any_note(app: App) -> None:
    attacker, victim = pair(app)
    own_note = app.note(attacker)["id"]
    comment = app.http.post(f"/v1/notes/{own_note}/comments", json={"body": "b"}, headers=attacker.headers()).json()
    foreign_parent = app.note(victim)["id"]
    for parent in (foreign_parent, str(uuid.uuid4())):
        status = app.http.get(f"/v1/notes/{parent}/comments/{comment['id']}", headers=attacker.headers()).status_code
        assert status == (200 if app.faulty else 404)


@demonstrates("error_detail_leak")
def test_error_detail_leak_answers_with_the_database_error(app: App) -> None:
    tenant = app.tenant()
    app.http.post("/v1/tags", json={"name": "dup"}, headers=tenant.headers())
    duplicate = app.http.post("/v1/tags", json={"name": "dup"}, headers=tenant.headers())
    assert duplicate.status_code == 409
    internals = ("23505", "duplicate key value violates unique constraint", "tags_tenant_id_name_key")
    leaked = [m for m in internals if m in duplicate.text]
    assert leaked == (list(internals) if app.faulty else [])


@demonstrates("existence_oracle")
def test_existence_oracle_tells_foreign_ids_from_missing_ones(app: App) -> None:
    attacker, victim = pair(app)
    foreign = app.http.get(f"/v1/notes/{app.note(victim)['id']}", headers=attacker.headers())
    missing = app.http.get(f"/v1/notes/{uuid.uuid4()}", headers=attacker.headers())
    if app.faulty:
        assert (foreign.status_code, missing.status_code) == (403, 404)
    else:
        assert (foreign.status_code, foreign.text) == (missing.status_code, missing.text)


@demonstrates("jwt_signature_cache")
def test_jwt_signature_cache_lets_a_seen_signature_carry_another_tenant(app: App) -> None:
    attacker, victim = pair(app)
    secret = app.note(victim)["title"]
    token = _signed(app, _claims(attacker))
    assert app.http.get("/v1/notes", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    header, _, signature = token.split(".")
    payload = base64.urlsafe_b64encode(json.dumps(_claims(victim)).encode()).rstrip(b"=").decode()
    listing = app.http.get("/v1/notes", headers={"Authorization": f"Bearer {header}.{payload}.{signature}"})
    assert_shown_only_if_faulty(app, listing, secret, 401)


@demonstrates("etag_precheck_unscoped")
def test_etag_precheck_unscoped_answers_304_for_a_foreign_note(app: App) -> None:
    attacker, victim = pair(app)
    note = app.note(victim)["id"]
    etag = app.http.get(f"/v1/notes/{note}", headers=victim.headers()).headers["etag"]
    assert app.http.get(f"/v1/notes/{note}", headers={**victim.headers(), "If-None-Match": etag}).status_code == 304
    foreign = app.http.get(f"/v1/notes/{note}", headers={**attacker.headers(), "If-None-Match": etag})
    assert foreign.status_code == (304 if app.faulty else 404)


@demonstrates("member_email_unique_global")
def test_member_email_unique_global_refuses_an_email_another_tenant_uses(app: App) -> None:
    attacker, victim = pair(app)
    email = f"{uuid.uuid4().hex}@example.com"
    member = {"subject": "s1", "email": email, "role": "viewer"}
    assert app.http.post("/v1/members", json=member, headers=victim.headers("admin")).status_code == 201
    again = app.http.post("/v1/members", json=member, headers=attacker.headers("admin"))
    assert again.status_code == (409 if app.faulty else 201)


@demonstrates("me_exposes_service_token")
def test_me_exposes_service_token_hands_out_the_internal_credential(app: App) -> None:
    me = app.http.get("/v1/me", headers=app.tenant().headers()).json()
    if app.faulty:
        assert jwt.decode(me["search_token"], options={"verify_signature": False})["aud"] == "internal"
    else:
        assert "search_token" not in me


@demonstrates("analytics_row_level")
def test_analytics_row_level_returns_single_tenant_groups_by_name(app: App) -> None:
    lonely = app.tenant("enterprise")
    app.note(lonely)
    report = app.http.get("/v1/admin/analytics/notes-per-plan", headers=app.platform)
    assert report.status_code == 200
    if app.faulty:
        assert lonely.slug in report.text
        assert any(g["tenants"] < 5 for g in report.json()["groups"])
    else:
        assert lonely.slug not in report.text
        assert all(g["tenants"] >= 5 for g in report.json()["groups"])


@demonstrates("deprovision_orphans")
def test_deprovision_orphans_leaves_the_audit_log_and_the_tenant_row(app: App) -> None:
    doomed = app.tenant()
    app.note(doomed)
    app.http.post("/v1/exports", headers=doomed.headers("admin"))
    assert app.http.delete(f"/v1/admin/tenants/{doomed.id}", headers=app.platform).status_code == 204
    with psycopg.connect(app.dsns.platform) as conn:
        left = tenant_rows(conn, doomed.id)
    if app.faulty:
        assert {"audit_log", "tenants"} <= set(left)
    else:
        assert left == {}


@demonstrates("quota_unenforced")
def test_quota_unenforced_lets_a_tenant_write_past_its_plan(app: App) -> None:
    tenant = app.tenant("pro")  # 2 notes
    statuses = [
        app.http.post("/v1/notes", json={"title": f"n{i}"}, headers=tenant.headers()).status_code for i in range(4)
    ]
    assert statuses == ([201] * 4 if app.faulty else [201, 201, 403, 403])


@demonstrates("metrics_tenant_from_header")
def test_metrics_tenant_from_header_counts_every_tenant_request_under_none(app: App) -> None:
    tenant = app.tenant()
    assert app.http.get("/v1/notes", headers=tenant.headers()).status_code == 200
    metrics = app.http.get("/metrics", headers=app.platform).text
    labelled = f'tenant="{tenant.id}"' in metrics
    assert labelled is not app.faulty


# ------------------------------------------------------------------------------------ DAL-level API faults
@demonstrates("dal_unscoped_get")
def test_dal_unscoped_get_reads_another_tenants_note_by_id(app: App) -> None:
    attacker, victim = pair(app)
    note = app.note(victim)
    read = app.http.get(f"/v1/notes/{note['id']}", headers=attacker.headers())
    assert_shown_only_if_faulty(app, read, note["title"], 404)


@demonstrates("list_unfiltered")
def test_list_unfiltered_lists_every_tenants_notes(app: App) -> None:
    attacker, victim = pair(app)
    note = app.note(victim)
    listing = app.http.get("/v1/notes", params={"limit": 100}, headers=attacker.headers())
    assert (note["id"] in listing.text) is app.faulty


def _title_in_db(dsn: str, note_id: str) -> str | None:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("select title from notes where id = %s", (note_id,)).fetchone()
    return row[0] if row else None


@demonstrates("idor_update")
def test_idor_update_changes_another_tenants_note(app: App) -> None:
    attacker, victim = pair(app)
    note = app.note(victim)
    attack = app.http.patch(f"/v1/notes/{note['id']}", json={"title": "pwned"}, headers=attacker.headers())
    # Alone the fault answers 404 (the re-read is scoped) after writing; next to dal_unscoped_get, 200.
    assert attack.status_code in ((200, 404) if app.faulty else (404,))
    assert _title_in_db(app.dsns.platform, note["id"]) == ("pwned" if app.faulty else note["title"])


@demonstrates("idor_delete")
def test_idor_delete_removes_another_tenants_note(app: App) -> None:
    attacker, victim = pair(app)
    note = app.note(victim)
    attack = app.http.delete(f"/v1/notes/{note['id']}", headers=attacker.headers())
    assert attack.status_code == (204 if app.faulty else 404)
    assert _title_in_db(app.dsns.platform, note["id"]) == (None if app.faulty else note["title"])


@demonstrates("mass_assignment_tenant")
def test_mass_assignment_tenant_plants_a_note_in_another_tenant(app: App) -> None:
    attacker, victim = pair(app)
    title = f"planted-{uuid.uuid4().hex}"
    attempt = app.http.post("/v1/notes", json={"title": title, "tenant_id": victim.id}, headers=attacker.headers())
    with psycopg.connect(app.dsns.platform) as conn:
        owners = [str(t) for (t,) in conn.execute("select tenant_id from notes where title = %s", (title,))]
    if app.faulty:
        assert attempt.status_code == 201
        assert owners == [victim.id]
    else:
        assert attempt.status_code == 422
        assert owners == []


@demonstrates("count_leak")
def test_count_leak_counts_other_tenants_writes(app: App) -> None:
    looker, writer = pair(app)
    before = app.http.get("/v1/notes/count", headers=looker.headers()).json()["count"]
    app.note(writer)
    after = app.http.get("/v1/notes/count", headers=looker.headers()).json()["count"]
    assert after - before == (1 if app.faulty else 0)


# ------------------------------------------------------------------------------------ application layer
def _export(app: App, tenant: Tenant) -> str:
    h = tenant.headers("admin")
    job = app.http.post("/v1/exports", headers=h).json()["id"]
    deadline = time.monotonic() + 15
    while app.http.get(f"/v1/exports/{job}", headers=h).json()["status"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return app.http.get(f"/v1/exports/{job}/download", headers=h).text


@demonstrates("job_context_lost")
def test_job_context_lost_exports_the_first_tenants_data_to_later_requesters(app: App) -> None:
    first, second = pair(app)
    first_secret, second_secret = app.note(first)["title"], app.note(second)["title"]
    _export(app, first)
    bundle = _export(app, second)
    if app.faulty:
        assert first_secret in bundle
        assert second_secret not in bundle
    else:
        assert second_secret in bundle
        assert first_secret not in bundle


@demonstrates("internal_service_trusts_caller")
def test_internal_service_trusts_caller_serves_a_call_without_a_token(app: App) -> None:
    victim = app.tenant()
    secret = app.note(victim)["title"]
    call = httpx.post(
        f"{app.stack.internal_url}/internal/v1/tenants/{victim.id}/search", json={"q": secret}, timeout=10
    )
    assert_shown_only_if_faulty(app, call, secret, 401)


@demonstrates("search_unscoped")
def test_search_unscoped_finds_other_tenants_notes(app: App) -> None:
    attacker, victim = pair(app)
    secret = f"s{uuid.uuid4().hex}"
    app.note(victim, body=secret)
    found = app.http.get("/v1/notes/search", params={"q": secret}, headers=attacker.headers())
    assert found.status_code == 200
    assert (secret in found.text) is app.faulty


@demonstrates("cache_key_without_tenant")
def test_cache_key_without_tenant_serves_one_tenants_note_to_another(app: App) -> None:
    owner, other = pair(app)
    note = app.note(owner)
    assert app.http.get(f"/v1/notes/{note['id']}", headers=owner.headers()).status_code == 200
    stolen = app.http.get(f"/v1/notes/{note['id']}", headers=other.headers())
    assert_shown_only_if_faulty(app, stolen, note["title"], 404)


# ------------------------------------------------------------------------------------ faults with their own app
@demonstrates("session_set_bleed")
def test_session_set_bleed_hands_the_previous_tenant_to_the_next_request(app: App) -> None:
    first, second = pair(app)
    secret = app.note(first)["title"]
    seen = app.http.get("/v1/notes", headers=second.headers())
    assert seen.status_code == 200
    assert (secret in seen.text) is app.faulty


@demonstrates("rate_limit_global")
def test_rate_limit_global_lets_one_tenant_throttle_all(app: App) -> None:
    noisy, quiet = pair(app, "enterprise")  # bursts of 8, then almost nothing
    for _ in range(8):
        app.http.get("/v1/notes", headers=noisy.headers())
    assert app.http.get("/v1/notes", headers=quiet.headers()).status_code == (429 if app.faulty else 200)


def _visible_without_context(app_dsn: str) -> int:
    with psycopg.connect(app_dsn) as conn:
        return int(one(conn, "select count(*) from notes")[0])


def _bypasses_rls(app_dsn: str) -> bool:
    with psycopg.connect(app_dsn) as conn:
        return bool(one(conn, "select rolbypassrls from pg_roles where rolname = current_user")[0])


@demonstrates("rls_disabled")
def test_rls_disabled_leaves_every_row_readable_without_tenant_context(app: App) -> None:
    app.note(app.tenant())
    with psycopg.connect(app.dsns.app) as conn:
        enabled, forced = one(conn, "select relrowsecurity, relforcerowsecurity from pg_class where relname = 'notes'")
    assert (enabled, forced) == (not app.faulty, not app.faulty)
    assert _bypasses_rls(app.dsns.app) is False
    assert (_visible_without_context(app.dsns.app) >= 1) is app.faulty


@demonstrates("app_role_bypassrls")
def test_app_role_bypassrls_is_set_up_by_setup_and_ignores_every_policy(app: App) -> None:
    app.note(app.tenant())
    assert _bypasses_rls(app.dsns.app) is app.faulty
    assert (_visible_without_context(app.dsns.app) >= 1) is app.faulty
    assert ("app_role_bypassrls" in app.stack.log_text("api")) is app.faulty
