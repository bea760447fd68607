"""Every seeded fault really breaks isolation: the app started with it leaks or lets the attack
through on a direct request, and the same request against the secure app is refused.

Faults whose demonstrations cannot disturb each other share one app start (a group);
the module's own ``api`` is the secure app, started with the same small limits.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import psycopg
import pytest

from reference_app import database, faults
from reference_app.auth import SigningKey, mint_token
from reference_app.database import DatabaseUrls
from tenantprobe.stack import ReferenceStack, RoleDsns
from tests.conftest import new_database, one
from tests.reference_app.conftest import SETTINGS, Tenant

# Small limits, the same for the faulty and the secure app: pro for storage, enterprise for rate.
# Every tenant the module creates gets its own metrics label (the default bound is 50).
LIMITS = {
    "REFERENCE_APP_PLAN_PRO": "notes=2",
    "REFERENCE_APP_PLAN_ENTERPRISE": "rate=0.01,burst=8",
    "REFERENCE_APP_METRICS_MAX_TENANTS": "10000",
}


@dataclass
class App:
    """One running reference app with helpers to act on it."""

    stack: ReferenceStack
    dsns: RoleDsns
    http: httpx.Client
    key: SigningKey
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
def running(dsns: RoleDsns | None, faults: tuple[str, ...], env: dict[str, str] | None = None) -> Iterator[App]:
    with (
        ReferenceStack(dsns=dsns, faults=faults, extra_env={**LIMITS, **(env or {})}) as stack,
        httpx.Client(base_url=stack.base_url, timeout=15) as http,
    ):
        assert stack.dsns is not None
        yield App(stack, stack.dsns, http, SigningKey.from_pem(stack.key_file.read_bytes()))


def fresh(admin_dsn: str, passwords: dict[str, str], template: str) -> RoleDsns:
    urls = new_database(admin_dsn, passwords, template=template)
    return RoleDsns(owner=urls.owner, app=urls.app, platform=urls.platform)


@pytest.fixture(scope="module")
def api(db: DatabaseUrls) -> Iterator[ReferenceStack]:
    with ReferenceStack(dsns=RoleDsns(owner=db.owner, app=db.app, platform=db.platform), extra_env=LIMITS) as stack:
        yield stack


@pytest.fixture(scope="module")
def secure(api: ReferenceStack, db: DatabaseUrls, client: httpx.Client) -> App:
    return App(
        api,
        RoleDsns(owner=db.owner, app=db.app, platform=db.platform),
        client,
        SigningKey.from_pem(api.key_file.read_bytes()),
    )


Factory = Callable[[tuple[str, ...], dict[str, str] | None], App]


@pytest.fixture(scope="module")
def group_api(admin_dsn: str, role_passwords: dict[str, str], migrated_template: str) -> Iterator[App]:
    faults = (
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
    )
    with running(fresh(admin_dsn, role_passwords, migrated_template), faults) as app:
        yield app


@pytest.fixture(scope="module")
def group_dal(admin_dsn: str, role_passwords: dict[str, str], migrated_template: str) -> Iterator[App]:
    faults = (
        "dal_unscoped_get",
        "list_unfiltered",
        "idor_update",
        "idor_delete",
        "mass_assignment_tenant",
        "count_leak",
    )
    with running(fresh(admin_dsn, role_passwords, migrated_template), faults) as app:
        yield app


@pytest.fixture(scope="module")
def group_app(admin_dsn: str, role_passwords: dict[str, str], migrated_template: str) -> Iterator[App]:
    faults = ("job_context_lost", "internal_service_trusts_caller", "search_unscoped", "cache_key_without_tenant")
    with running(fresh(admin_dsn, role_passwords, migrated_template), faults) as app:
        yield app


def pair(app: App, plan: str = "free") -> tuple[Tenant, Tenant]:
    return app.tenant(plan), app.tenant(plan)


# ------------------------------------------------------------------------------------ the group start
def test_any_active_fault_is_announced_loudly_at_start(group_api: App, api: ReferenceStack) -> None:
    for process in ("api", "internal", "worker"):
        log = group_api.stack.log_text(process)
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


@pytest.mark.parametrize("app_name", ["faulty", "secure"])
def test_jwt_alg_none_lets_an_unsigned_token_read_any_tenant(group_api: App, secure: App, app_name: str) -> None:
    app = group_api if app_name == "faulty" else secure
    victim = app.tenant()
    secret = app.note(victim)["title"]
    listing = app.http.get("/v1/notes", headers={"Authorization": f"Bearer {_unsigned(_claims(victim))}"})
    if app_name == "faulty":
        assert listing.status_code == 200
        assert secret in listing.text
    else:
        assert listing.status_code == 401


def _signed(app: App, claims: dict[str, Any]) -> str:
    return jwt.encode(claims, app.key.private_key, algorithm="RS256", headers={"kid": app.key.kid})


@pytest.mark.parametrize("app_name", ["faulty", "secure"])
def test_jwt_skip_audience_accepts_a_token_minted_for_another_service(
    group_api: App, secure: App, app_name: str
) -> None:
    app = group_api if app_name == "faulty" else secure
    tenant = app.tenant()
    token = _signed(app, _claims(tenant, aud="billing-service"))
    status = app.http.get("/v1/notes", headers={"Authorization": f"Bearer {token}"}).status_code
    assert status == (200 if app_name == "faulty" else 401)


@pytest.mark.parametrize("app_name", ["faulty", "secure"])
def test_jwt_expired_accepted_lets_a_day_old_token_in(group_api: App, secure: App, app_name: str) -> None:
    app = group_api if app_name == "faulty" else secure
    tenant = app.tenant()
    day_ago = int((datetime.now(UTC) - timedelta(days=1)).timestamp())
    token = _signed(app, _claims(tenant, iat=day_ago, nbf=day_ago, exp=day_ago + 600))
    status = app.http.get("/v1/notes", headers={"Authorization": f"Bearer {token}"}).status_code
    assert status == (200 if app_name == "faulty" else 401)


@pytest.mark.parametrize("app_name", ["faulty", "secure"])
def test_trust_tenant_header_switches_tenant_with_a_valid_token(group_api: App, secure: App, app_name: str) -> None:
    app = group_api if app_name == "faulty" else secure
    attacker, victim = pair(app)
    secret = app.note(victim)["title"]
    listing = app.http.get("/v1/notes", headers={**attacker.headers(), "X-Tenant-ID": victim.id})
    if app_name == "faulty":
        assert listing.status_code == 200
        assert secret in listing.text
    else:
        assert listing.status_code == 403
        assert secret not in listing.text


@pytest.mark.parametrize("app_name", ["faulty", "secure"])
def test_role_escalation_lets_a_member_make_an_admin(group_api: App, secure: App, app_name: str) -> None:
    app = group_api if app_name == "faulty" else secure
    tenant = app.tenant()
    viewer = app.http.post("/v1/members", json={"subject": "v", "role": "viewer"}, headers=tenant.headers("admin"))
    promoted = app.http.patch(
        f"/v1/members/{viewer.json()['id']}", json={"role": "admin"}, headers=tenant.headers("member")
    )
    assert promoted.status_code == (200 if app_name == "faulty" else 403)


@pytest.mark.parametrize("app_name", ["faulty", "secure"])
def test_merge_sources_unscoped_folds_a_foreign_note_into_ones_own(group_api: App, secure: App, app_name: str) -> None:
    app = group_api if app_name == "faulty" else secure
    attacker, victim = pair(app)
    foreign = app.note(victim, body="victim's secret")["id"]
    merged = app.http.post("/v1/notes/merge", json={"title": "m", "note_ids": [foreign]}, headers=attacker.headers())
    assert merged.status_code == (201 if app_name == "faulty" else 404)
    assert ("victim's secret" in merged.text) == (app_name == "faulty")


@pytest.mark.parametrize("app_name", ["faulty", "secure"])
def test_duplicate_unscoped_copies_a_foreign_note(group_api: App, secure: App, app_name: str) -> None:
    app = group_api if app_name == "faulty" else secure
    attacker, victim = pair(app)
    foreign = app.note(victim, body="victim's secret")["id"]
    copied = app.http.post(f"/v1/notes/{foreign}/duplicate", headers=attacker.headers())
    assert copied.status_code == (201 if app_name == "faulty" else 404)


@pytest.mark.parametrize("app_name", ["faulty", "secure"])
def test_append_unscoped_changes_a_foreign_note_behind_a_404(group_api: App, secure: App, app_name: str) -> None:
    app = group_api if app_name == "faulty" else secure
    attacker, victim = pair(app)
    foreign = app.note(victim, body="mine")["id"]
    appended = app.http.post(f"/v1/notes/{foreign}/append", json={"text": " +x"}, headers=attacker.headers())
    assert appended.status_code == 404  # the same answer either way: only the victim's re-read tells
    listed = app.http.get("/v1/notes", headers=victim.headers()).json()["items"]
    assert [note["body"] for note in listed] == (["mine +x"] if app_name == "faulty" else ["mine"])


@pytest.mark.parametrize("app_name", ["faulty", "secure"])
def test_comment_feed_filter_unscoped_lists_a_foreign_notes_comments(
    group_api: App, secure: App, app_name: str
) -> None:
    app = group_api if app_name == "faulty" else secure
    attacker, victim = pair(app)
    foreign = app.note(victim)["id"]
    app.http.post(f"/v1/notes/{foreign}/comments", json={"body": "victim's remark"}, headers=victim.headers())
    feed = app.http.get("/v1/comments", params={"note_id": foreign}, headers=attacker.headers())
    assert feed.status_code == 200
    assert ("victim's remark" in feed.text) == (app_name == "faulty")
    assert app.http.get("/v1/comments", headers=attacker.headers()).json() == []


@pytest.mark.parametrize("app_name", ["faulty", "secure"])
def test_cursor_names_tenant_serves_the_page_after_a_foreign_cursor(group_api: App, secure: App, app_name: str) -> None:
    app = group_api if app_name == "faulty" else secure
    attacker, victim = pair(app)
    hidden = [app.note(victim, f"victim's {n}")["title"] for n in range(2)]
    app.note(attacker)
    cursor = app.http.get("/v1/notes", params={"limit": 1}, headers=victim.headers()).json()["next_cursor"]
    page = app.http.get("/v1/notes", params={"cursor": cursor}, headers=attacker.headers())
    assert page.status_code == 200
    assert (hidden[0] in page.text) == (app_name == "faulty")


@pytest.mark.parametrize("app_name", ["faulty", "secure"])
def test_recent_notes_keyed_by_user_shares_a_list_between_namesakes(group_api: App, secure: App, app_name: str) -> None:
    app = group_api if app_name == "faulty" else secure
    attacker, victim = pair(app)
    opened = app.note(victim, f"victim's {uuid.uuid4().hex}")
    alice = f"alice-{uuid.uuid4().hex[:8]}"  # one user name in both tenants' identity providers
    as_victim = {"Authorization": f"Bearer {victim.token(subject=alice)}"}
    as_attacker = {"Authorization": f"Bearer {attacker.token(subject=alice)}"}
    assert app.http.get(f"/v1/notes/{opened['id']}", headers=as_victim).status_code == 200
    recent = app.http.get("/v1/me/recent-notes", headers=as_attacker)
    assert recent.status_code == 200
    assert (opened["title"] in recent.text) == (app_name == "faulty")


@pytest.mark.parametrize("app_name", ["faulty", "secure"])
def test_nested_parent_unchecked_serves_a_comment_under_any_note(group_api: App, secure: App, app_name: str) -> None:
    app = group_api if app_name == "faulty" else secure
    attacker, victim = pair(app)
    own_note = app.note(attacker)["id"]
    comment = app.http.post(f"/v1/notes/{own_note}/comments", json={"body": "b"}, headers=attacker.headers()).json()
    foreign_parent = app.note(victim)["id"]
    for parent in (foreign_parent, str(uuid.uuid4())):
        status = app.http.get(f"/v1/notes/{parent}/comments/{comment['id']}", headers=attacker.headers()).status_code
        assert status == (200 if app_name == "faulty" else 404)


@pytest.mark.parametrize("app_name", ["faulty", "secure"])
def test_error_detail_leak_answers_with_the_database_error(group_api: App, secure: App, app_name: str) -> None:
    app = group_api if app_name == "faulty" else secure
    tenant = app.tenant()
    app.http.post("/v1/tags", json={"name": "dup"}, headers=tenant.headers())
    duplicate = app.http.post("/v1/tags", json={"name": "dup"}, headers=tenant.headers())
    assert duplicate.status_code == 409
    internals = ("23505", "duplicate key value violates unique constraint", "tags_tenant_id_name_key")
    leaked = [m for m in internals if m in duplicate.text]
    assert leaked == (list(internals) if app_name == "faulty" else [])


@pytest.mark.parametrize("app_name", ["faulty", "secure"])
def test_existence_oracle_tells_foreign_ids_from_missing_ones(group_api: App, secure: App, app_name: str) -> None:
    app = group_api if app_name == "faulty" else secure
    attacker, victim = pair(app)
    foreign = app.http.get(f"/v1/notes/{app.note(victim)['id']}", headers=attacker.headers())
    missing = app.http.get(f"/v1/notes/{uuid.uuid4()}", headers=attacker.headers())
    if app_name == "faulty":
        assert (foreign.status_code, missing.status_code) == (403, 404)
    else:
        assert (foreign.status_code, foreign.text) == (missing.status_code, missing.text)


@pytest.mark.parametrize("app_name", ["faulty", "secure"])
def test_jwt_signature_cache_lets_a_seen_signature_carry_another_tenant(
    group_api: App, secure: App, app_name: str
) -> None:
    app = group_api if app_name == "faulty" else secure
    attacker, victim = pair(app)
    secret = app.note(victim)["title"]
    token = _signed(app, _claims(attacker))
    assert app.http.get("/v1/notes", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    header, _, signature = token.split(".")
    payload = base64.urlsafe_b64encode(json.dumps(_claims(victim)).encode()).rstrip(b"=").decode()
    listing = app.http.get("/v1/notes", headers={"Authorization": f"Bearer {header}.{payload}.{signature}"})
    if app_name == "faulty":
        assert listing.status_code == 200
        assert secret in listing.text
    else:
        assert listing.status_code == 401


@pytest.mark.parametrize("app_name", ["faulty", "secure"])
def test_etag_precheck_unscoped_answers_304_for_a_foreign_note(group_api: App, secure: App, app_name: str) -> None:
    app = group_api if app_name == "faulty" else secure
    attacker, victim = pair(app)
    note = app.note(victim)["id"]
    etag = app.http.get(f"/v1/notes/{note}", headers=victim.headers()).headers["etag"]
    assert app.http.get(f"/v1/notes/{note}", headers={**victim.headers(), "If-None-Match": etag}).status_code == 304
    foreign = app.http.get(f"/v1/notes/{note}", headers={**attacker.headers(), "If-None-Match": etag})
    assert foreign.status_code == (304 if app_name == "faulty" else 404)


@pytest.mark.parametrize("app_name", ["faulty", "secure"])
def test_member_email_unique_global_refuses_an_email_another_tenant_uses(
    group_api: App, secure: App, app_name: str
) -> None:
    app = group_api if app_name == "faulty" else secure
    attacker, victim = pair(app)
    email = f"{uuid.uuid4().hex}@example.com"
    member = {"subject": "s1", "email": email, "role": "viewer"}
    assert app.http.post("/v1/members", json=member, headers=victim.headers("admin")).status_code == 201
    again = app.http.post("/v1/members", json=member, headers=attacker.headers("admin"))
    assert again.status_code == (409 if app_name == "faulty" else 201)


@pytest.mark.parametrize("app_name", ["faulty", "secure"])
def test_me_exposes_service_token_hands_out_the_internal_credential(group_api: App, secure: App, app_name: str) -> None:
    app = group_api if app_name == "faulty" else secure
    me = app.http.get("/v1/me", headers=app.tenant().headers()).json()
    if app_name == "faulty":
        assert jwt.decode(me["search_token"], options={"verify_signature": False})["aud"] == "internal"
    else:
        assert "search_token" not in me


@pytest.mark.parametrize("app_name", ["faulty", "secure"])
def test_analytics_row_level_returns_single_tenant_groups_by_name(group_api: App, secure: App, app_name: str) -> None:
    app = group_api if app_name == "faulty" else secure
    lonely = app.tenant("enterprise")
    app.note(lonely)
    report = app.http.get("/v1/admin/analytics/notes-per-plan", headers=app.platform)
    assert report.status_code == 200
    if app_name == "faulty":
        assert lonely.slug in report.text
        assert any(g["tenants"] < 5 for g in report.json()["groups"])
    else:
        assert lonely.slug not in report.text
        assert all(g["tenants"] >= 5 for g in report.json()["groups"])


def _rows_left(dsn: str, tenant_id: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        tables = [
            t
            for (t,) in conn.execute(
                "select table_name from information_schema.columns where table_schema = 'public' "
                "and column_name = 'tenant_id'"
            )
        ]
        left = {t: one(conn, f"select count(*) from {t} where tenant_id = %s", (tenant_id,))[0] for t in tables}
        left["tenants"] = one(conn, "select count(*) from tenants where id = %s", (tenant_id,))[0]
    return {t: n for t, n in left.items() if n}


@pytest.mark.parametrize("app_name", ["faulty", "secure"])
def test_deprovision_orphans_leaves_the_audit_log_and_the_tenant_row(
    group_api: App, secure: App, app_name: str
) -> None:
    app = group_api if app_name == "faulty" else secure
    doomed = app.tenant()
    app.note(doomed)
    app.http.post("/v1/exports", headers=doomed.headers("admin"))
    assert app.http.delete(f"/v1/admin/tenants/{doomed.id}", headers=app.platform).status_code == 204
    left = _rows_left(app.dsns.platform, doomed.id)
    if app_name == "faulty":
        assert {"audit_log", "tenants"} <= set(left)
    else:
        assert left == {}


@pytest.mark.parametrize("app_name", ["faulty", "secure"])
def test_quota_unenforced_lets_a_tenant_write_past_its_plan(group_api: App, secure: App, app_name: str) -> None:
    app = group_api if app_name == "faulty" else secure
    tenant = app.tenant("pro")  # 2 notes
    statuses = [
        app.http.post("/v1/notes", json={"title": f"n{i}"}, headers=tenant.headers()).status_code for i in range(4)
    ]
    assert statuses == ([201] * 4 if app_name == "faulty" else [201, 201, 403, 403])


@pytest.mark.parametrize("app_name", ["faulty", "secure"])
def test_metrics_tenant_from_header_counts_every_tenant_request_under_none(
    group_api: App, secure: App, app_name: str
) -> None:
    app = group_api if app_name == "faulty" else secure
    tenant = app.tenant()
    assert app.http.get("/v1/notes", headers=tenant.headers()).status_code == 200
    metrics = app.http.get("/metrics", headers=app.platform).text
    labelled = f'tenant="{tenant.id}"' in metrics
    assert labelled is (app_name == "secure")


# ------------------------------------------------------------------------------------ DAL-level API faults
@pytest.mark.parametrize("app_name", ["faulty", "secure"])
def test_dal_unscoped_get_reads_another_tenants_note_by_id(group_dal: App, secure: App, app_name: str) -> None:
    app = group_dal if app_name == "faulty" else secure
    attacker, victim = pair(app)
    note = app.note(victim)
    read = app.http.get(f"/v1/notes/{note['id']}", headers=attacker.headers())
    if app_name == "faulty":
        assert read.status_code == 200
        assert read.json()["title"] == note["title"]
    else:
        assert read.status_code == 404


@pytest.mark.parametrize("app_name", ["faulty", "secure"])
def test_list_unfiltered_lists_every_tenants_notes(group_dal: App, secure: App, app_name: str) -> None:
    app = group_dal if app_name == "faulty" else secure
    attacker, victim = pair(app)
    note = app.note(victim)
    listing = app.http.get("/v1/notes", params={"limit": 100}, headers=attacker.headers())
    assert (note["id"] in listing.text) is (app_name == "faulty")


def _title_in_db(dsn: str, note_id: str) -> str | None:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("select title from notes where id = %s", (note_id,)).fetchone()
    return row[0] if row else None


@pytest.mark.parametrize("app_name", ["faulty", "secure"])
def test_idor_update_changes_another_tenants_note(group_dal: App, secure: App, app_name: str) -> None:
    app = group_dal if app_name == "faulty" else secure
    attacker, victim = pair(app)
    note = app.note(victim)
    attack = app.http.patch(f"/v1/notes/{note['id']}", json={"title": "pwned"}, headers=attacker.headers())
    # Alone the fault answers 404 (the re-read is scoped) after writing; next to dal_unscoped_get, 200.
    assert attack.status_code in ((200, 404) if app_name == "faulty" else (404,))
    assert _title_in_db(app.dsns.platform, note["id"]) == ("pwned" if app_name == "faulty" else note["title"])


@pytest.mark.parametrize("app_name", ["faulty", "secure"])
def test_idor_delete_removes_another_tenants_note(group_dal: App, secure: App, app_name: str) -> None:
    app = group_dal if app_name == "faulty" else secure
    attacker, victim = pair(app)
    note = app.note(victim)
    attack = app.http.delete(f"/v1/notes/{note['id']}", headers=attacker.headers())
    assert attack.status_code == (204 if app_name == "faulty" else 404)
    assert _title_in_db(app.dsns.platform, note["id"]) == (None if app_name == "faulty" else note["title"])


@pytest.mark.parametrize("app_name", ["faulty", "secure"])
def test_mass_assignment_tenant_plants_a_note_in_another_tenant(group_dal: App, secure: App, app_name: str) -> None:
    app = group_dal if app_name == "faulty" else secure
    attacker, victim = pair(app)
    title = f"planted-{uuid.uuid4().hex}"
    attempt = app.http.post("/v1/notes", json={"title": title, "tenant_id": victim.id}, headers=attacker.headers())
    with psycopg.connect(app.dsns.platform) as conn:
        owners = [str(t) for (t,) in conn.execute("select tenant_id from notes where title = %s", (title,))]
    if app_name == "faulty":
        assert attempt.status_code == 201
        assert owners == [victim.id]
    else:
        assert attempt.status_code == 422
        assert owners == []


@pytest.mark.parametrize("app_name", ["faulty", "secure"])
def test_count_leak_counts_other_tenants_writes(group_dal: App, secure: App, app_name: str) -> None:
    app = group_dal if app_name == "faulty" else secure
    looker, writer = pair(app)
    before = app.http.get("/v1/notes/count", headers=looker.headers()).json()["count"]
    app.note(writer)
    after = app.http.get("/v1/notes/count", headers=looker.headers()).json()["count"]
    assert after - before == (1 if app_name == "faulty" else 0)


# ------------------------------------------------------------------------------------ application layer
def _export(app: App, tenant: Tenant) -> str:
    h = tenant.headers("admin")
    job = app.http.post("/v1/exports", headers=h).json()["id"]
    deadline = time.monotonic() + 15
    while app.http.get(f"/v1/exports/{job}", headers=h).json()["status"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return app.http.get(f"/v1/exports/{job}/download", headers=h).text


@pytest.mark.parametrize("app_name", ["faulty", "secure"])
def test_job_context_lost_exports_the_first_tenants_data_to_later_requesters(
    group_app: App, secure: App, app_name: str
) -> None:
    app = group_app if app_name == "faulty" else secure
    first, second = pair(app)
    first_secret, second_secret = app.note(first)["title"], app.note(second)["title"]
    _export(app, first)
    bundle = _export(app, second)
    if app_name == "faulty":
        assert first_secret in bundle
        assert second_secret not in bundle
    else:
        assert second_secret in bundle
        assert first_secret not in bundle


@pytest.mark.parametrize("app_name", ["faulty", "secure"])
def test_internal_service_trusts_caller_serves_a_call_without_a_token(
    group_app: App, secure: App, app_name: str
) -> None:
    app = group_app if app_name == "faulty" else secure
    victim = app.tenant()
    secret = app.note(victim)["title"]
    call = httpx.post(
        f"{app.stack.internal_url}/internal/v1/tenants/{victim.id}/search", json={"q": secret}, timeout=10
    )
    if app_name == "faulty":
        assert call.status_code == 200
        assert secret in call.text
    else:
        assert call.status_code == 401
        assert secret not in call.text


@pytest.mark.parametrize("app_name", ["faulty", "secure"])
def test_search_unscoped_finds_other_tenants_notes(group_app: App, secure: App, app_name: str) -> None:
    app = group_app if app_name == "faulty" else secure
    attacker, victim = pair(app)
    secret = f"s{uuid.uuid4().hex}"
    app.note(victim, body=secret)
    found = app.http.get("/v1/notes/search", params={"q": secret}, headers=attacker.headers())
    assert found.status_code == 200
    assert (secret in found.text) is (app_name == "faulty")


@pytest.mark.parametrize("app_name", ["faulty", "secure"])
def test_cache_key_without_tenant_serves_one_tenants_note_to_another(
    group_app: App, secure: App, app_name: str
) -> None:
    app = group_app if app_name == "faulty" else secure
    owner, other = pair(app)
    note = app.note(owner)
    assert app.http.get(f"/v1/notes/{note['id']}", headers=owner.headers()).status_code == 200
    stolen = app.http.get(f"/v1/notes/{note['id']}", headers=other.headers())
    if app_name == "faulty":
        assert stolen.status_code == 200
        assert stolen.json()["title"] == note["title"]
    else:
        assert stolen.status_code == 404


# ------------------------------------------------------------------------------------ faults with their own app
def test_session_set_bleed_hands_the_previous_tenant_to_the_next_request(
    admin_dsn: str, role_passwords: dict[str, str], migrated_template: str, secure: App
) -> None:
    env = {"REFERENCE_APP_DB_POOL_SIZE": "1"}
    with running(fresh(admin_dsn, role_passwords, migrated_template), ("session_set_bleed",), env) as app:
        first, second = pair(app)
        secret = app.note(first)["title"]
        seen = app.http.get("/v1/notes", headers=second.headers())
        assert seen.status_code == 200
        assert secret in seen.text
    first, second = pair(secure)
    secret = secure.note(first)["title"]
    assert secret not in secure.http.get("/v1/notes", headers=second.headers()).text


def test_rate_limit_global_lets_one_tenant_throttle_all(
    admin_dsn: str, role_passwords: dict[str, str], migrated_template: str, secure: App
) -> None:
    def quiet_after_noise(app: App) -> int:
        noisy, quiet = pair(app, "enterprise")  # bursts of 8, then almost nothing
        for _ in range(8):
            app.http.get("/v1/notes", headers=noisy.headers())
        return app.http.get("/v1/notes", headers=quiet.headers()).status_code

    with running(fresh(admin_dsn, role_passwords, migrated_template), ("rate_limit_global",)) as app:
        assert quiet_after_noise(app) == 429
    assert quiet_after_noise(secure) == 200


def _visible_without_context(app_dsn: str) -> int:
    with psycopg.connect(app_dsn) as conn:
        return int(one(conn, "select count(*) from notes")[0])


def test_rls_disabled_leaves_every_row_readable_without_tenant_context(
    admin_dsn: str, role_passwords: dict[str, str], secure: App
) -> None:
    urls = new_database(admin_dsn, role_passwords)
    with faults.installed("rls_disabled"):
        database.upgrade(urls.owner)
    dsns = RoleDsns(owner=urls.owner, app=urls.app, platform=urls.platform)
    with running(dsns, ("rls_disabled",)) as app:
        app.note(app.tenant())
        with psycopg.connect(urls.app) as conn:
            enabled, forced = one(
                conn, "select relrowsecurity, relforcerowsecurity from pg_class where relname = 'notes'"
            )
            bypass = one(conn, "select rolbypassrls from pg_roles where rolname = current_user")[0]
        assert (enabled, forced, bypass) == (False, False, False)
        assert _visible_without_context(urls.app) >= 1
    secure.note(secure.tenant())
    assert _visible_without_context(secure.dsns.app) == 0


def test_app_role_bypassrls_is_set_up_by_setup_and_ignores_every_policy(secure: App) -> None:
    with running(None, ("app_role_bypassrls",)) as app:  # its own PostgreSQL: role attributes are cluster-wide
        app.note(app.tenant())
        with psycopg.connect(app.dsns.app) as conn:
            bypass = one(conn, "select rolbypassrls from pg_roles where rolname = current_user")[0]
        assert bypass is True
        assert _visible_without_context(app.dsns.app) >= 1
        assert "app_role_bypassrls" in app.stack.log_text("api")
    with psycopg.connect(secure.dsns.app) as conn:
        assert one(conn, "select rolbypassrls from pg_roles where rolname = current_user")[0] is False
