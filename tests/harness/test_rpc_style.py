"""RPC-style creates, known by the OpenAPI links of their answers, on ``tests/targets/journal.py``.

The app has the shape of the MLflow advisory in the corpus (GHSA-g6pg-52vf-843h) in another idiom:
``POST /api/entries.create`` answers ``{"entry": {"ref": ...}}`` and later calls carry the ref in
``?entry=`` or a body field ``entry``. No path holds an id and no field is named like one, so the
harness knows the creates and their ids' kinds only from the links; without them it seeded nothing.

- ``entry_read_not_checked``: ``GET /api/entries.info`` with another user's ref in its query is a read
  of one object by reference, attacked with the victim's ref;
- ``entry_update_not_checked``: ``POST /api/entries.update`` with another user's ref in its body is a
  write, judged on a fresh entry of each user, the victim re-reading its entry through the linked read.
"""

from __future__ import annotations

import pytest

from tests.harness.conftest import HarnessRun, assert_clean, failed_summaries, mode_runs
from tests.targets import journal

pytestmark = pytest.mark.timeout(900)

REFERENCES = ("-k", "test_foreign_references_outside_the_path_are_refused")
RUNS = {
    "secure": (),  # the whole suite: nothing may fail on the secure build
    "entry_read_not_checked": REFERENCES,
    "entry_update_not_checked": REFERENCES,
}


journal_runs = mode_runs(journal.Journal, journal.profile(""), RUNS, "journal_runs")


def test_secure_build_passes_with_the_linked_references_judged(journal_runs: dict[str, HarnessRun]) -> None:
    run = journal_runs["secure"].run
    assert_clean(run, {"API-CROSS-TENANT-READ", "API-CROSS-TENANT-WRITE"})


def test_a_foreign_ref_in_a_query_is_read_as_the_victims_object(journal_runs: dict[str, HarnessRun]) -> None:
    run = journal_runs["entry_read_not_checked"]
    found = failed_summaries(run, "API-CROSS-TENANT-READ")
    assert any(s.startswith("GET /api/entries.info with") and "query entry" in s for s in found), run.run.output


def test_a_foreign_ref_in_a_body_field_is_a_foreign_write(journal_runs: dict[str, HarnessRun]) -> None:
    run = journal_runs["entry_update_not_checked"]
    found = failed_summaries(run, "API-CROSS-TENANT-WRITE")
    assert any("POST /api/entries.update with" in s and "body entry" in s for s in found), run.run.output
