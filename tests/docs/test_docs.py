"""The documentation site builds strictly, and the commands it shows are real.

Every fenced ``sh`` block of ``docs/`` is read line by line. A line that runs ``tenantprobe``,
``python -m reference_app``, ``.venv/bin/pytest``, ``.venv/bin/python <script>`` or ``make``
must name a command, options, paths and make targets that exist, so the docs cannot drift
from the code. The target profile example of the harness guide must pass the harness's own
profile parser.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
import typer.testing
import yaml

from reference_app.__main__ import main as reference_app_main
from tenantprobe.cli import app
from tenantprobe.profiles import parse_profile

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def fenced(language: str) -> list[tuple[str, str]]:
    """(page, line) for every non-empty line of every fenced block in that language."""
    lines = []
    for page in sorted(DOCS.glob("**/*.md")):
        for lang, body in FENCE.findall(page.read_text(encoding="utf-8")):
            if lang == language:
                lines += [(page.name, line) for line in body.splitlines() if line.strip()]
    return lines


def blocks(language: str) -> list[tuple[str, str]]:
    out = []
    for page in sorted(DOCS.glob("**/*.md")):
        out += [(page.name, body) for lang, body in FENCE.findall(page.read_text(encoding="utf-8")) if lang == language]
    return out


def command_words(line: str) -> list[str]:
    words = shlex.split(line, comments=True)
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):  # VAR=value prefixes
        words.pop(0)
    return words


SHELL_LINES = [(page, command_words(line)) for page, line in fenced("sh")]


def lines_starting(*prefix: str) -> list[tuple[str, list[str]]]:
    return [(page, words) for page, words in SHELL_LINES if tuple(words[: len(prefix)]) == prefix]


@pytest.fixture(scope="module")
def slow_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The strict site build and ``pytest --help``, run side by side: together they take most of the time."""
    site = tmp_path_factory.mktemp("docs") / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    build = subprocess.Popen(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    help_ = subprocess.Popen(
        [sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    build_out, build_err = build.communicate(timeout=180)
    help_out, help_err = help_.communicate(timeout=180)
    assert help_.returncode == 0, help_err[-3000:]
    return {"site": site, "build_rc": build.returncode, "build_err": build_out + build_err, "pytest_help": help_out}


def test_the_site_builds_strictly(slow_runs: dict[str, Any]) -> None:
    assert slow_runs["build_rc"] == 0, slow_runs["build_err"][-3000:]
    tmp_path = slow_runs["site"].parent
    api = (tmp_path / "site" / "api" / "index.html").read_text(encoding="utf-8")
    assert "listNotes" in api, "the API page is generated from the app's OpenAPI document"
    controls = (tmp_path / "site" / "controls" / "index.html").read_text(encoding="utf-8")
    assert 'id="data-rls-forced"' in controls, "the catalogue page has one anchor per control"
    security = (tmp_path / "site" / "security" / "index.html").read_text(encoding="utf-8")
    assert "list_unfiltered" in security, "the seeded faults table is generated"
    assert "<!-- generated:" not in api + controls + security


def test_the_docs_show_commands_of_every_kind_checked_here() -> None:
    firsts = {words[0] for _, words in SHELL_LINES if words}
    assert {"tenantprobe", ".venv/bin/pytest", "make"} <= firsts


@pytest.mark.parametrize(
    ("page", "words"), lines_starting("tenantprobe"), ids=lambda v: " ".join(v) if isinstance(v, list) else v
)
def test_tenantprobe_commands_exist(page: str, words: list[str]) -> None:
    command: Any = typer.main.get_command(app)  # typer vendors its own click: walk by duck typing
    path: list[str] = []
    for word in words[1:]:
        sub = getattr(command, "commands", {}).get(word)
        if sub is None:
            break
        command, path = sub, [*path, word]
    assert path, f"{page}: `{' '.join(words)}` names no tenantprobe subcommand"
    result = typer.testing.CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    options = {opt for param in command.params for opt in getattr(param, "opts", [])}
    for word in words[1 + len(path) :]:
        if word.startswith("--"):
            assert word.split("=", 1)[0] in options, f"{page}: tenantprobe {' '.join(path)} has no option {word}"


@pytest.fixture(scope="module")
def pytest_help(slow_runs: dict[str, Any]) -> str:
    return str(slow_runs["pytest_help"])


@pytest.mark.parametrize(
    ("page", "words"), lines_starting(".venv/bin/pytest"), ids=lambda v: " ".join(v) if isinstance(v, list) else v
)
def test_pytest_options_and_paths_exist(page: str, words: list[str], pytest_help: str) -> None:
    for word in words[1:]:
        if word.startswith("-"):
            option = word.split("=", 1)[0]
            assert re.search(rf"(^|[\s,]){re.escape(option)}([\s=,]|$)", pytest_help, re.MULTILINE), (
                f"{page}: pytest has no option {option}"
            )
        elif word.startswith(("suites/", "tests/")):
            assert (ROOT / word.split("::", 1)[0]).exists(), f"{page}: {word} does not exist"


@pytest.mark.parametrize(
    ("page", "words"), lines_starting("make"), ids=lambda v: " ".join(v) if isinstance(v, list) else v
)
def test_make_targets_exist(page: str, words: list[str]) -> None:
    targets = set(re.findall(r"^([\w.-]+):", (ROOT / "Makefile").read_text(encoding="utf-8"), re.MULTILINE))
    for target in words[1:]:
        assert target in targets, f"{page}: the Makefile has no target {target}"


@pytest.mark.parametrize(
    ("page", "words"), lines_starting(".venv/bin/python"), ids=lambda v: " ".join(v) if isinstance(v, list) else v
)
def test_python_scripts_exist(page: str, words: list[str]) -> None:
    assert (ROOT / words[1]).is_file(), f"{page}: {words[1]} does not exist"


@pytest.mark.parametrize(
    ("page", "words"),
    lines_starting("python", "-m", "reference_app"),
    ids=lambda v: " ".join(v) if isinstance(v, list) else v,
)
def test_reference_app_commands_exist(page: str, words: list[str]) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exit_info:
        reference_app_main([words[3], "--help"])
    assert exit_info.value.code == 0, f"{page}: reference_app has no command {words[3]}"
    for word in words[4:]:
        if word.startswith("--"):
            assert word in out.getvalue(), f"{page}: reference_app {words[3]} has no option {word}"


def test_the_target_profile_example_is_a_valid_profile() -> None:
    examples = [(page, yaml.safe_load(body)) for page, body in blocks("yaml")]
    profiles = [(page, raw) for page, raw in examples if isinstance(raw, dict) and "auth" in raw]
    assert profiles, "the harness guide shows a complete target profile"
    for page, raw in profiles:
        profile = parse_profile(raw, f"docs/{page}")
        assert profile.name == raw["name"]
