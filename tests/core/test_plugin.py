"""The pytest plugin, driven through pytester as a user would run it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]


def records(results: Path) -> list[dict[str, object]]:
    return [json.loads(line) for path in results.glob("*.jsonl") for line in path.read_text().splitlines()]


def test_unknown_control_id_stops_the_run_with_a_suggestion(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.controls("API-CROSS-TENANT-REED")
        def test_x():
            pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown control id 'API-CROSS-TENANT-REED'*Did you mean 'API-CROSS-TENANT-READ'*"])


def test_fewer_than_two_tenants_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--tenants", "1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--tenants must be at least 2*"])


def test_bad_profile_is_reported_without_a_traceback(pytester: pytest.Pytester) -> None:
    profile = pytester.makefile(".yaml", shop="name: shop\nauth: {kind: mnt}\nprovisioning: {kind: fixed}\n")
    result = pytester.runpytest("--target", str(profile))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*auth.kind: 'mnt' is not one of mint, token_endpoint, static, steps. Did you mean 'mint'?*"]
    )
    assert "Traceback" not in result.stderr.str()


def test_crashed_and_skipped_checks_still_write_records(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.controls("DATA-RLS-FORCED")
        def test_crashes(results_writer):
            raise ConnectionError("database went away")

        @pytest.mark.controls("DATA-RLS-PROBE")
        def test_skipped(results_writer):
            pytest.skip("no database.dsn in the profile")
        """
    )
    results = pytester.path / "results"
    pytester.runpytest("--results-dir", str(results), "-p", "no:cacheprovider")
    by_control = {r["control_id"]: r for r in records(results)}
    assert by_control["DATA-RLS-FORCED"]["status"] == "error"
    assert "database went away" in str(by_control["DATA-RLS-FORCED"]["reason"])
    assert by_control["DATA-RLS-PROBE"]["status"] == "not_assessed"
    assert by_control["DATA-RLS-PROBE"]["reason"] == "no database.dsn in the profile"


def test_report_header_names_the_target(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = pytester.runpytest("--tenants", "4", "--faults", "list_unfiltered")
    result.stdout.fnmatch_lines(
        ["tenantprobe: target *reference.yaml, 4 tenants, pairs auto, faults list_unfiltered, db embedded"]
    )
