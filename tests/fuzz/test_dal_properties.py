"""Property tests of the reference app's data access layer on a real PostgreSQL.

A Hypothesis state machine interleaves the writes and reads of several tenants through the DAL
(the layer every request goes through) and keeps a model of what each tenant wrote. After every
step it checks the invariants of tenant isolation:

- every row a tenant reads is one it wrote (lists, searches, gets, comments, tags);
- each tenant's counts and lists match exactly what that tenant wrote;
- a tenant's writes never change another tenant's data (updates, deletes and comments aimed at
  another tenant's note touch nothing and say so).

This is reference-app specific (it imports the DAL), so it lives here rather than in
``suites/fuzz``, which must work against any target. ``--fuzz-profile deep`` runs it longer.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID

import hypothesis
import pytest
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from reference_app import faults
from reference_app.dal import Database
from reference_app.dal import comments as comment_rows
from reference_app.dal import notes as note_rows
from reference_app.dal import tags as tag_rows
from reference_app.database import DatabaseUrls
from tenantprobe.plugin import OPTION_FUZZ_PROFILE

T = TypeVar("T")
TENANTS = 3
# (scenarios, steps per scenario) per --fuzz-profile
BUDGET = {"ci": (20, 10), "deep": (400, 40)}

# What the API lets through to the DAL: no NUL (PostgreSQL text cannot hold it), no lone surrogates.
text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=40)
titles = text.filter(bool)
words = st.from_regex(r"[a-z]{3,8}", fullmatch=True)
tag_names = st.from_regex(r"[a-z0-9-]{1,12}", fullmatch=True)


@dataclass
class Note:
    owner: int
    id: UUID
    title: str
    body: str
    comments: list[UUID] = field(default_factory=list)


@dataclass
class Model:
    """What each tenant wrote, and therefore all it may ever read."""

    notes: dict[UUID, Note] = field(default_factory=dict)
    tags: list[set[str]] = field(default_factory=lambda: [set() for _ in range(TENANTS)])

    def of(self, tenant: int) -> dict[UUID, Note]:
        return {key: note for key, note in self.notes.items() if note.owner == tenant}


@dataclass
class Harness:
    """One event loop and one open DAL for all scenarios of a test."""

    loop: asyncio.AbstractEventLoop
    database: Database

    def run(self, work: Callable[[], Awaitable[T]]) -> T:
        return self.loop.run_until_complete(work())


class TenantsThroughTheDal(RuleBasedStateMachine):
    harness: Harness  # set on the subclass a test builds
    violations: list[str]  # every broken invariant seen, whatever Hypothesis later makes of it

    notes = Bundle("notes")

    def __init__(self) -> None:
        super().__init__()
        self.model = Model()
        self.tenants = [self._provision() for _ in range(TENANTS)]  # fresh per scenario: replays start clean

    def expect(self, holds: bool, what: str) -> None:
        if not holds:
            self.violations.append(what)
            raise AssertionError(what)

    def _provision(self) -> UUID:
        async def work() -> UUID:
            async with self.harness.database.platform("the DAL property test provisions a tenant") as session:
                slug = f"dal-{uuid.uuid4().hex[:12]}"
                row = await session.fetch_one(
                    "insert into tenants (slug, name) values (%(slug)s, %(slug)s) returning id", {"slug": slug}
                )
            assert row is not None
            tenant_id: UUID = row["id"]
            return tenant_id

        return self.harness.run(work)

    def as_tenant(self, tenant: int, work: Callable[[Any], Awaitable[T]]) -> T:
        async def unit() -> T:
            async with self.harness.database.tenant(self.tenants[tenant]) as session:
                return await work(session)

        return self.harness.run(unit)

    # ------------------------------------------------------------------ writes
    @rule(
        target=notes,
        tenant=st.integers(0, TENANTS - 1),
        title=titles,
        body=text,
        tags=st.lists(tag_names, max_size=3),
    )
    def create_note(self, tenant: int, title: str, body: str, tags: list[str]) -> Note:
        note_id = self.as_tenant(
            tenant, lambda s: note_rows.create(s, title=title, body=body, author=f"t{tenant}", tags=tags)
        )
        note = Note(tenant, note_id, title, body)
        self.model.notes[note_id] = note
        self.model.tags[tenant] |= set(tags)
        return note

    @rule(note=notes, actor=st.integers(0, TENANTS - 1), title=st.none() | titles, body=st.none() | text)
    def update_note(self, note: Note, actor: int, title: str | None, body: str | None) -> None:
        changed = self.as_tenant(actor, lambda s: note_rows.update(s, note.id, title=title, body=body))
        allowed = actor == note.owner and note.id in self.model.notes
        self.expect(changed == allowed, f"tenant {actor} updating tenant {note.owner}'s note: {changed=}")
        if changed:
            note.title = title if title is not None else note.title
            note.body = body if body is not None else note.body

    @rule(note=notes, actor=st.integers(0, TENANTS - 1))
    def delete_note(self, note: Note, actor: int) -> None:
        deleted = self.as_tenant(actor, lambda s: note_rows.delete(s, note.id))
        allowed = actor == note.owner and note.id in self.model.notes
        self.expect(deleted == allowed, f"tenant {actor} deleting tenant {note.owner}'s note: {deleted=}")
        if deleted:
            del self.model.notes[note.id]

    @rule(note=notes, actor=st.integers(0, TENANTS - 1), body=titles)
    def comment(self, note: Note, actor: int, body: str) -> None:
        """As the API does it: the note must exist for the caller, then the comment hangs under it."""

        async def work(session: Any) -> UUID | None:
            if not await note_rows.exists(session, note.id):
                return None
            row = await comment_rows.create(session, note.id, body=body, author=f"t{actor}")
            comment_id: UUID = row["id"]
            return comment_id

        created = self.as_tenant(actor, work)
        allowed = actor == note.owner and note.id in self.model.notes
        self.expect((created is not None) == allowed, f"tenant {actor} commenting tenant {note.owner}'s note")
        if created is not None:
            note.comments.append(created)

    @rule(tenants=st.lists(st.integers(0, TENANTS - 1), min_size=2, max_size=4), title=titles)
    def concurrent_creates(self, tenants: list[int], title: str) -> None:
        """Several tenants' units of work at once on a small pool: context must not bleed between them."""

        async def one(tenant: int) -> tuple[int, UUID]:
            async with self.harness.database.tenant(self.tenants[tenant]) as session:
                return tenant, await note_rows.create(session, title=title, body="", author=f"t{tenant}", tags=[])

        async def work() -> list[tuple[int, UUID]]:
            return list(await asyncio.gather(*(one(t) for t in tenants)))

        for tenant, note_id in self.harness.run(work):
            self.model.notes[note_id] = Note(tenant, note_id, title, "")

    # ------------------------------------------------------------------ reads
    @rule(note=notes, actor=st.integers(0, TENANTS - 1))
    def read_note(self, note: Note, actor: int) -> None:
        row = self.as_tenant(actor, lambda s: note_rows.get(s, note.id))
        visible = actor == note.owner and note.id in self.model.notes
        self.expect((row is not None) == visible, f"tenant {actor} reading tenant {note.owner}'s note: {row=}")
        if row is not None:
            self.expect((row["title"], row["body"]) == (note.title, note.body), f"tenant {actor}'s note {note.id}")

    @rule(actor=st.integers(0, TENANTS - 1), word=words | st.sampled_from(["a", "the"]))
    def search(self, actor: int, word: str) -> None:
        rows = self.as_tenant(actor, lambda s: note_rows.search(s, word, 100))
        foreign = [row["id"] for row in rows if row["id"] not in self.model.of(actor)]
        self.expect(not foreign, f"tenant {actor}'s search for {word!r} found notes it did not write: {foreign}")

    @invariant()
    def each_tenant_sees_exactly_what_it_wrote(self) -> None:
        for tenant in range(TENANTS):
            mine = self.model.of(tenant)
            rows, count, tags, comments = self.as_tenant(tenant, functools.partial(_everything, notes=list(mine)))
            listed = {row["id"]: (row["title"], row["body"]) for row in rows}
            self.expect(listed == {key: (n.title, n.body) for key, n in mine.items()}, f"tenant {tenant}'s list")
            self.expect(count == len(mine), f"tenant {tenant} counts {count}, wrote {len(mine)}")
            self.expect(tags == self.model.tags[tenant], f"tenant {tenant}'s tags")
            self.expect(comments == {key: n.comments for key, n in mine.items()}, f"tenant {tenant}'s comments")


async def _everything(session: Any, notes: list[UUID]) -> tuple[list[Any], int, set[str], dict[UUID, list[UUID]]]:
    """A tenant's whole view in one unit of work: its notes, their count, its tags, the comments of its notes."""
    rows = await note_rows.list_page(session, limit=10_000, cursor=None, tag=None)
    count = await note_rows.count(session)
    tags = {row["name"] for row in await tag_rows.list_all(session)}
    comments = {note_id: [row["id"] for row in await comment_rows.list_for_note(session, note_id)] for note_id in notes}
    return rows, count, tags, comments


@contextmanager
def open_harness(app_dsn: str, platform_dsn: str) -> Iterator[Harness]:
    loop = asyncio.new_event_loop()
    # Two connections: concurrent units of work share and reuse them, as a busy app's pool does. Each
    # tenant may use both (no fair share): these properties are about context, not about refusals.
    database = Database(app_dsn, platform_dsn, max_size=2, per_tenant=2)
    loop.run_until_complete(database.open())
    try:
        yield Harness(loop, database)
    finally:
        loop.run_until_complete(database.close())
        loop.close()


@pytest.fixture(scope="module")
def harness(db: DatabaseUrls) -> Iterator[Harness]:
    with open_harness(db.app, db.platform) as opened:
        yield opened


def run_machine(harness: Harness, profile: str, violations: list[str], *, shrink: bool = True) -> None:
    """Runs the machine with the budget of ``profile``, adding every broken invariant it sees to ``violations``.

    It raises too then; the list keeps what was seen whatever Hypothesis makes of it (a replay that passes).
    """
    scenarios, steps = BUDGET[profile]
    machine = type("TenantsThroughTheDalRun", (TenantsThroughTheDal,), {"harness": harness, "violations": violations})
    settings = hypothesis.settings(
        max_examples=scenarios,
        stateful_step_count=steps,
        derandomize=profile == "ci",
        database=None,
        deadline=None,
        phases=[hypothesis.Phase.generate, *([hypothesis.Phase.shrink] if shrink else [])],
        suppress_health_check=[hypothesis.HealthCheck.too_slow],
    )
    hypothesis.stateful.run_state_machine_as_test(machine, settings=settings)


def test_tenants_interleaved_through_the_dal_see_only_their_own_rows(
    harness: Harness, request: pytest.FixtureRequest
) -> None:
    violations: list[str] = []
    run_machine(harness, request.config.getoption(OPTION_FUZZ_PROFILE), violations)
    assert violations == []


# Seeded faults of the data access layer: the same machine must find each (so it is not vacuous).
DAL_FAULTS = ("dal_unscoped_get", "list_unfiltered", "idor_update", "idor_delete", "session_set_bleed")


@pytest.fixture
def seeded_fault(request: pytest.FixtureRequest) -> Iterator[faults.Fault]:
    """Puts one fault's code in place in this process, as ``REFERENCE_APP_FAULTS`` does in the app's."""
    with faults.installed(request.param) as (fault,):
        yield fault


@pytest.mark.parametrize("seeded_fault", DAL_FAULTS, indirect=True)
def test_dal_property_machine_finds_seeded_fault(seeded_fault: faults.Fault, db: DatabaseUrls) -> None:
    # The fault's own realisation: some connect the app with the platform role, so RLS cannot hide them.
    app_dsn = db.platform if seeded_fault.platform_dsn else db.app
    with open_harness(app_dsn, db.platform) as faulty:
        # Finding it is the point, so no shrinking. A leak through pooled connections need not
        # replay, so Hypothesis may call it flaky: the violations the machine saw are the evidence.
        violations: list[str] = []
        with pytest.raises((AssertionError, hypothesis.errors.Flaky)):
            run_machine(faulty, "ci", violations, shrink=False)
    assert violations, f"{seeded_fault.name} broke no invariant"
