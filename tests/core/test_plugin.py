"""The pytest plugin, driven through pytester as a user would run it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.targets import helpdesk
from tests.targets.serve import serving

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
    result.stderr.fnmatch_lines(["*--tenants (--tenantprobe-tenants, *, env TENANTPROBE_TENANTS) must be at least 2*"])


def test_settings_come_from_the_environment_and_the_ini_file_and_name_their_source(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini("[pytest]\ntenantprobe_fuzz_profile = deeep\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ini tenantprobe_fuzz_profile='deeep': expected one of ci, deep*"])
    pytester.makeini("[pytest]\ntenantprobe_tenants = 5\n")
    monkeypatch.setenv("TENANTPROBE_TENANTS", "1")  # the environment beats the ini file
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*must be at least 2*"])
    monkeypatch.setenv("TENANTPROBE_TENANTS", "7")
    pytester.makepyfile("def test_ok(pytestconfig):\n    assert pytestconfig.getoption('--tenantprobe-tenants') == 7\n")
    assert pytester.runpytest().ret == pytest.ExitCode.OK
    assert pytester.runpytest("--tenants", "4").ret == pytest.ExitCode.TESTS_FAILED  # the command line wins


def test_another_plugins_short_option_keeps_its_meaning(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        def pytest_addoption(parser):
            parser.addoption("--target", default="theirs", help="a deployment target of another plugin")
        """
    )
    pytester.makepyfile(
        """
        def test_both(pytestconfig):
            assert pytestconfig.getoption("--target") == "staging"
            assert pytestconfig.getoption("--tenantprobe-tenants") == 4
        """
    )
    result = pytester.runpytest("--target", "staging", "--tenants", "4")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str() + result.stderr.str()


def test_junit_xml_names_the_control_of_each_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.controls("DATA-RLS-FORCED")
        def test_forced():
            pass
        """
    )
    pytester.runpytest("--junitxml", "junit.xml", "--accept-not-assessed")
    xml = (pytester.path / "junit.xml").read_text()
    assert '<property name="control_id" value="DATA-RLS-FORCED"' in xml, xml


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


def test_records_carry_the_attack_class_of_their_check(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from tenantprobe.records import ResultRecord, Status

        @pytest.fixture
        def early(results_writer):
            results_writer.write(ResultRecord("API-LIST-FILTER", "setup", Status.PASS))

        @pytest.mark.attack("lists")
        @pytest.mark.controls("API-LIST-FILTER")
        def test_attack(early, results_writer):
            results_writer.write(ResultRecord("API-LIST-FILTER", "check", Status.PASS))
            raise ConnectionError("reset")

        def test_plain(results_writer):
            results_writer.write(ResultRecord("API-LIST-FILTER", "plain", Status.PASS))
        """
    )
    results = pytester.path / "results"
    pytester.runpytest("--results-dir", str(results), "-p", "no:cacheprovider")
    assert sorted((str(r["check_id"]).split("::")[-1], r["status"], r["attack"]) for r in records(results)) == [
        ("check", "pass", "lists"),
        ("plain", "pass", None),
        ("setup", "pass", None),  # fixtures (seeding) are no attack
        ("test_attack", "error", "lists"),
    ]


def test_unknown_attack_class_stops_the_run_naming_the_classes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("import pytest\n\n@pytest.mark.attack('idor')\ndef test_x():\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown attack class 'idor'; one of path-ids, references*"])


def test_report_header_names_the_target(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = pytester.runpytest("--tenants", "4", "--faults", "list_unfiltered")
    result.stdout.fnmatch_lines(
        ["tenantprobe: target *reference.yaml, 4 tenants, pairs auto, faults list_unfiltered, db embedded"]
    )


def test_controls_option_runs_only_the_checks_of_those_controls(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.controls("API-CROSS-TENANT-READ")
        def test_read():
            pass

        @pytest.mark.controls("API-LIST-FILTER", "API-CROSS-TENANT-WRITE")
        def test_list_and_write():
            pass

        @pytest.mark.controls("API-COUNT-LEAK")
        def test_count():
            pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--controls", "API-CROSS-TENANT-WRITE, API-COUNT-LEAK")
    result.assert_outcomes(passed=2, deselected=1)
    # No check declares the canary oracle: every check's response scan measures it, so all of them run.
    result = pytester.runpytest("-p", "no:cacheprovider", "--controls", "API-CANARY-ORACLE")
    result.assert_outcomes(passed=3)


def test_unknown_control_in_the_controls_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("import pytest\n\n@pytest.mark.controls('API-LIST-FILTER')\ndef test_x():\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--controls", "API-LIST-FILTR")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--controls*API-LIST-FILTR*API-LIST-FILTER*"])


def test_the_plugin_finishes_each_checks_probe_when_it_returns(pytester: pytest.Pytester) -> None:
    app = helpdesk.Helpdesk("secure")
    with serving(app.app) as base_url:
        profile = pytester.makefile(".yaml", helpdesk=yaml.safe_dump(helpdesk.profile(base_url)))
        results = pytester.path / "results"
        pytester.makepyfile(
            """
            import pytest

            @pytest.mark.controls("API-LIST-FILTER")
            def test_finding(probe):
                probe.check("API-LIST-FILTER", False, "a foreign note in the list")

            @pytest.mark.controls("API-COUNT-LEAK")
            def test_blocked(probe):
                probe.check("API-COUNT-LEAK", True, "the count is the tenant's own")

            @pytest.mark.controls("API-TENANT-CONTEXT-TAMPER")
            def test_nothing_judged(probe):
                pass

            @pytest.mark.controls("API-SECRET-EXPOSURE")
            def test_finished_by_hand(probe):
                probe.check("API-SECRET-EXPOSURE", True, "no secret in the answer")
                probe.finish()
            """
        )
        result = pytester.runpytest("--target", str(profile), "--results-dir", str(results), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1, skipped=1)
    result.stdout.fnmatch_lines(["*a foreign note in the list*"])
    assert sorted((r["control_id"], r["status"]) for r in records(results)) == [
        ("API-COUNT-LEAK", "pass"),
        ("API-LIST-FILTER", "fail"),
        ("API-SECRET-EXPOSURE", "pass"),  # once: the plugin does not finish a finished probe again
        ("API-TENANT-CONTEXT-TAMPER", "not_assessed"),  # judged nothing: never a silent pass
    ]
