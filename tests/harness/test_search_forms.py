"""Kinds no operation creates, searches sent by POST, and objects unique per date, on ``tests/targets/pipelines.py``.

The app has the shape of the Airflow advisory in the corpus (GHSA-32wr-qqw6-5mfp) in another idiom: teams
own pipelines that come from files (the profile binds ``pipeline_id``; nothing creates one), a POST
searches runs with a body of filters, and a pipeline has one run per moment. Each bug is one the
harness missed while it took reference kinds only from creates, judged every POST as a write, filled
every filter of a search, and gave every run the same date-time:

- ``filter_trusts_pipeline``: ``?pipeline_id=`` is a reference only once bound kinds count;
- ``search_trusts_pipeline_ids``: the search with another team's pipeline in ``pipeline_ids`` is a read;
- ``search_ignores_team``: the search with no filter (``{}``) lists every team's runs;
- ``runs_by_id``: a foreign run changed by id needs a fresh run of each team, which needs a moment of its own.

Every pipeline read carries a ``source_token`` that ``GET /sources/{source_token}`` takes, as Airflow's
``file_token`` is taken by ``/dagSources/{file_token}``: an object reference, which the harness flagged as a
secret by its name; ``shows_webhook_secret`` puts a real secret beside it, which must still be flagged.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.harness.conftest import HarnessRun, assert_clean, failed_summaries, mode_runs
from tests.targets import pipelines

pytestmark = pytest.mark.timeout(900)

RUNS = {
    "secure": (),  # the whole suite: nothing may fail on the secure build
    "filter_trusts_pipeline": ("-k", "test_derived_reads_with_every_filter_show_only_own_objects"),
    "search_trusts_pipeline_ids": ("-k", "test_foreign_references_outside_the_path_are_refused"),
    "search_ignores_team": ("-k", "test_collections_show_only_own_objects"),
    "runs_by_id": ("-k", "test_foreign_writes_change_nothing"),
    "shows_webhook_secret": ("-k", "test_collections_show_only_own_objects"),
}


pipeline_runs = mode_runs(pipelines.Pipelines, pipelines.profile(""), RUNS, "pipeline_runs")


def test_secure_build_passes_with_the_search_and_fresh_runs_judged(pipeline_runs: dict[str, HarnessRun]) -> None:
    run = pipeline_runs["secure"].run
    assert_clean(run, {"API-CROSS-TENANT-READ", "API-CROSS-TENANT-WRITE", "API-LIST-FILTER", "API-SECRET-EXPOSURE"})


# Each bug, the control that must fail for it, and what a finding of it says.
FINDINGS = [
    # A filter naming a bound kind is attacked with the victim's value.
    ("filter_trusts_pipeline", "API-LIST-FILTER", lambda s: s.startswith("GET /runs?pipeline_id=<")),
    # A search by POST is judged as a read.
    (
        "search_trusts_pipeline_ids",
        "API-CROSS-TENANT-READ",
        lambda s: "POST /runs/search with" in s and "body pipeline_ids[]" in s,
    ),
    # A search with no filter is read as a collection.
    ("search_ignores_team", "API-LIST-FILTER", lambda s: s.startswith("POST /runs/search as")),
    # Objects unique per moment are created afresh, so a foreign one can be written.
    ("runs_by_id", "API-CROSS-TENANT-WRITE", lambda s: "PATCH" in s or "DELETE" in s),
    # A secret beside a token the API's paths take is still one (the secure build shows the token unflagged).
    ("shows_webhook_secret", "API-SECRET-EXPOSURE", lambda s: "webhook_secret (a field named like a secret)" in s),
]


@pytest.mark.parametrize(("mode", "control", "shows"), FINDINGS, ids=[mode for mode, *_ in FINDINGS])
def test_each_bug_fails_its_control(
    pipeline_runs: dict[str, HarnessRun], mode: str, control: str, shows: Callable[[str], bool]
) -> None:
    run = pipeline_runs[mode]
    assert any(shows(s) for s in failed_summaries(run, control)), run.run.output
