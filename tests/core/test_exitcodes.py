"""One exit-code table for the suites, the load scenarios, the report and the audit (tenantprobe/exitcodes.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tenantprobe.exitcodes import ExitCode

TENANTPROBE = [sys.executable, "-m", "tenantprobe"]
pytest_plugins = ["pytester"]


def test_the_table_keeps_pytests_codes() -> None:
    for ours, theirs in [
        (ExitCode.PASS, pytest.ExitCode.OK),
        (ExitCode.FAIL, pytest.ExitCode.TESTS_FAILED),
        (ExitCode.CRASHED, pytest.ExitCode.INTERRUPTED),
        (ExitCode.COULD_NOT_RUN, pytest.ExitCode.USAGE_ERROR),
        (ExitCode.NOTHING_RAN, pytest.ExitCode.NO_TESTS_COLLECTED),
    ]:
        assert int(ours) == int(theirs)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--no-such-option"], "No such option: --no-such-option"),
        (["report", "--results", "does-not-exist"], "--results does-not-exist: no such directory"),
        (["report", "--no-such-option"], "No such option: --no-such-option"),
    ],
)
def test_a_command_that_could_not_run_exits_4(tmp_path: Path, args: list[str], says: str) -> None:
    done = subprocess.run([*TENANTPROBE, *args], capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False)
    assert done.returncode == ExitCode.COULD_NOT_RUN, done.stdout + done.stderr
    assert says in done.stderr
    assert "Traceback" not in done.stderr


def test_a_suite_with_a_cross_tenant_gap_is_incomplete(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.controls("API-CROSS-TENANT-READ")
        def test_read(results_writer):
            pytest.skip("no object to read")
        """
    )
    assert pytester.runpytest().ret == ExitCode.INCOMPLETE
    assert pytester.runpytest("--accept-not-assessed").ret == ExitCode.PASS
