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

import pytest

from tests.harness.conftest import HarnessRun, assert_clean, failed_summaries, run_modes
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


@pytest.fixture(scope="module")
def pipeline_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, HarnessRun]:
    return run_modes(pipelines.Pipelines, pipelines.profile(""), RUNS, tmp_path_factory.mktemp("pipelines"))


def test_secure_build_passes_with_the_search_and_fresh_runs_judged(pipeline_runs: dict[str, HarnessRun]) -> None:
    run = pipeline_runs["secure"].run
    assert_clean(run, {"API-CROSS-TENANT-READ", "API-CROSS-TENANT-WRITE", "API-LIST-FILTER", "API-SECRET-EXPOSURE"})


def test_a_filter_naming_a_bound_kind_is_attacked_with_the_victims_value(pipeline_runs: dict[str, HarnessRun]) -> None:
    run = pipeline_runs["filter_trusts_pipeline"]
    found = failed_summaries(run, "API-LIST-FILTER")
    assert any(s.startswith("GET /runs?pipeline_id=<") for s in found), run.run.output


def test_a_search_by_post_is_judged_as_a_read(pipeline_runs: dict[str, HarnessRun]) -> None:
    run = pipeline_runs["search_trusts_pipeline_ids"]
    found = failed_summaries(run, "API-CROSS-TENANT-READ")
    assert any("POST /runs/search with" in s and "body pipeline_ids[]" in s for s in found), run.run.output


def test_a_search_with_no_filter_is_read_as_a_collection(pipeline_runs: dict[str, HarnessRun]) -> None:
    run = pipeline_runs["search_ignores_team"]
    found = failed_summaries(run, "API-LIST-FILTER")
    assert any(s.startswith("POST /runs/search as") for s in found), run.run.output


def test_objects_unique_per_moment_are_created_afresh(pipeline_runs: dict[str, HarnessRun]) -> None:
    run = pipeline_runs["runs_by_id"]
    found = failed_summaries(run, "API-CROSS-TENANT-WRITE")
    assert any("PATCH" in s or "DELETE" in s for s in found), run.run.output


def test_a_token_the_apis_paths_take_is_no_secret_but_a_secret_beside_it_is(
    pipeline_runs: dict[str, HarnessRun],
) -> None:
    run = pipeline_runs["shows_webhook_secret"]
    found = failed_summaries(run, "API-SECRET-EXPOSURE")
    assert any("webhook_secret (a field named like a secret)" in s for s in found), run.run.output
    assert not any("source_token" in s for s in found), found
