"""The corpus runner's command line (``benchmarks/corpus/run.py``), without installing or starting anything."""

from __future__ import annotations

import subprocess
import sys

from tests.benchmarks import ROOT, load

run = load("corpus_run", "benchmarks/corpus/run.py")


def test_one_quoted_string_of_pytest_args_is_split_as_a_shell_would() -> None:
    assert run.pytest_arguments(["--tenants 2 --controls API-AUTHZ-ROLE"]) == [
        "--tenants",
        "2",
        "--controls",
        "API-AUTHZ-ROLE",
    ]
    assert run.pytest_arguments(["--tenants 2 -k 'a and b'"]) == ["--tenants", "2", "-k", "a and b"]


def test_separate_pytest_args_pass_as_given_spaces_included() -> None:
    assert run.pytest_arguments(["--tenants", "2", "-k", "a and b"]) == ["--tenants", "2", "-k", "a and b"]
    assert run.pytest_arguments([]) == []


def test_an_unclosed_quote_in_pytest_args_is_a_usage_error() -> None:
    command = [sys.executable, "benchmarks/corpus/run.py", "--app", "airflow", "--pytest-args", "-k 'a and b"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    assert '--pytest-args "-k \'a and b": No closing quotation' in done.stderr
    assert "Traceback" not in done.stderr
