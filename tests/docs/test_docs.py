"""The documentation site builds strictly, and every command it shows is real.

Every command of every fenced ``sh``/``bash``/``console`` block of ``docs/`` is

1. **checked** against the real thing: the ``tenantprobe`` typer app (and ``reports.cli``
   for ``report``), ``pytest --help``, ``locust -f scenarios --help`` and the scenario
   classes, ``python -m reference_app``'s argparse, a script's ``--help``, the Makefile's
   targets, ``build.sh``'s options; paths under ``suites/``, ``tests/`` and ``benchmarks/``
   must exist; and
2. **run**: here (``RUN`` names the test of this module that runs it), or by another test of
   the project (``RUN`` names it, and ``test_every_named_test_exists`` checks it exists),
   or, for a very few commands, by nobody, with the reason in ``NOT_RUN``.

A command that no entry covers fails ``test_every_command_is_run_somewhere``, so a new
command in the docs needs a test before it can ship. The examples the guides build on
(the Ledgerly profile, the example suite, the report's records and output, the waivers
file) are run or loaded here as written.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import psycopg
import pytest
import typer
import typer.testing
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from reference_app.__main__ import main as reference_app_main
from reports.cli import app as report_app
from tenantprobe.cli import app
from tenantprobe.credentials import TenantRef, TokenSource
from tenantprobe.errors import ProfileError
from tenantprobe.kube.client.template import TenantTemplate
from tenantprobe.profiles import load_profile, parse_profile

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
FENCE = re.compile(r"^```(\w*)([^\n]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
SHELLS = ("sh", "bash", "console", "shell")
PYTEST, LOCUST, PYTHON = ".venv/bin/pytest", ".venv/bin/locust", ".venv/bin/python"
PLAIN_SHELL = {"rm", "mkdir", "[", "export"}  # plumbing of the CI example: nothing of ours to check or run


@dataclass(frozen=True)
class Block:
    page: str
    language: str
    title: str
    body: str


def blocks(*languages: str) -> list[Block]:
    found = []
    for page in sorted(DOCS.rglob("*.md")):
        for language, info, body in FENCE.findall(page.read_text(encoding="utf-8")):
            if language in languages:
                title = re.search(r'title="([^"]*)"', info)
                found.append(Block(page.relative_to(DOCS).as_posix(), language, title[1] if title else "", body))
    return found


def titled(page: str, title: str) -> str:
    matches = [b.body for b in blocks("json", "text", "yaml", "python") if b.page == page and b.title == title]
    assert len(matches) == 1, f"{page} has {len(matches)} blocks titled {title!r}"
    return matches[0]


def split_commands(line: str) -> list[list[str]]:
    """The simple commands of one shell line (split at ``;``, ``&&``, ``||``, ``|``), without VAR= prefixes."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    commands: list[list[str]] = [[]]
    for word in lexer:
        if set(word) <= set(";&|"):
            commands.append([])
        else:
            commands[-1].append(word)
    for words in commands:
        while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
            words.pop(0)
    return [words for words in commands if words]


def shell_commands() -> list[tuple[str, list[str]]]:
    """(page, words) for every command of every shell block; console blocks keep only ``$`` lines."""
    found = []
    for block in blocks(*SHELLS):
        lines = block.body.splitlines()
        if block.language == "console":
            lines = [line[2:] for line in lines if line.startswith("$ ")]
        joined = "\n".join(lines).replace("\\\n", " ")
        for line in joined.splitlines():
            found += [(block.page, words) for words in split_commands(line)]
    return found


COMMANDS = shell_commands()


def ids(value: Any) -> str:
    return " ".join(value) if isinstance(value, list) else str(value)


def of(program: str) -> list[tuple[str, list[str]]]:
    return [(page, words) for page, words in COMMANDS if words[0] == program]


# ---------------------------------------------------------------------- where each command runs
# (words that must all appear in the command, where it runs). First match wins. "here:" names a
# test of this module; a path names a test of the project (checked to exist); "nobody:" says why not.
DETECTION = "tests/detection/test_isolation_detection.py::test_"
FUZZ = "tests/detection/test_fuzz_detection.py::test_"
K8S_SUITES = "tests/k8s/test_suites_detection.py::test_secure_template_passes_the_quota_and_rbac_suites"
K8S_CLI = "tests/k8s/test_all_layers.py::test_cli_provisions_and_deprovisions_one_tenant_on_all_layers"
K8S_CLUSTER = "tests/k8s/test_cluster.py::test_identity_is_seen_by_the_apiserver_as_that_user_in_that_group"
K8S_BUILD = "tests/k8s/test_cluster.py::test_local_control_plane_binaries_are_current_when_they_are_used"
SCENARIOS = "tests/load/test_scenarios.py::test_"
NOISY = "tests/load/test_noisy_neighbour.py::test_flooder_is_throttled_and_refused_while_quiet_tenants_are_not"
DEMO = "tests/core/test_cli.py::test_demo_starts_the_app_provisions_tenants_and_prints_how_to_call_it"
DB_START = "here:test_db_start_prints_its_dsn_and_stops_on_ctrl_c"
RUN: list[tuple[tuple[str, ...], str]] = [
    ((PYTEST, "--collect-only"), "here:test_the_worked_profile_loads_mints_tokens_and_is_accepted_by_pytest"),
    ((PYTEST, "suites/search"), "here:test_the_example_suite_passes_on_the_secure_app_and_fails_on_the_fault"),
    ((PYTEST, "suites/isolation", "--faults"), DETECTION + "each_seeded_fault_fails_the_suite_naming_its_control"),
    ((PYTEST, "suites/isolation"), DETECTION + "secure_reference_app_passes_every_isolation_check"),
    ((PYTEST, "suites/fuzz", "--faults"), FUZZ + "each_seeded_fault_fails_the_fuzz_suite_naming_its_control"),
    ((PYTEST, "suites/fuzz", "deep"), "nobody: the nightly profile takes minutes; the ci profile is the same code"),
    ((PYTEST, "suites/fuzz"), FUZZ + "secure_reference_app_passes_the_fuzz_suite"),
    (
        (PYTEST, "suites/network"),
        "tests/k8s/test_network_detection.py::test_secure_template_observed_equals_expected_and_no_tenant_reaches_another",
    ),
    ((PYTEST, "suites/quota"), K8S_SUITES),
    ((PYTEST, "suites/rbac"), K8S_SUITES),
    ((LOCUST, "SteadyTenant"), SCENARIOS + "steady_tenants_each_drive_their_own_tenant"),
    ((LOCUST, "BurstTenant"), SCENARIOS + "burst_tenant_unpaced_reports_its_rate"),
    ((LOCUST, "QuietTenant"), NOISY),
    ((LOCUST, "LoadedTenant"), SCENARIOS + "provisioning_under_load_times_each_new_tenant"),
    ((LOCUST, "--worker"), SCENARIOS + "distributed_master_merges_every_workers_tenants"),
    (
        ("tenantprobe", "bench", "scale"),
        "tests/load/test_bench.py::test_bench_scale_records_one_point_per_tenant_count",
    ),
    (("tenantprobe", "provision"), K8S_CLI),
    (("tenantprobe", "deprovision"), K8S_CLI),
    (("tenantprobe", "db", "migrate"), "tests/core/test_cli.py::test_migrate_moves_the_schema"),
    (("tenantprobe", "db", "start"), DB_START),
    (("tenantprobe", "serve"), DEMO),  # demo is serve's ReferenceStack plus two tenants; a third stack here costs ~10 s
    (("tenantprobe", "demo"), DEMO),
    (("make", "demo"), DEMO),
    (("python", "-m", "reference_app", "mint-token"), DEMO),  # `tenantprobe demo` mints its tokens with it
    (("tenantprobe", "report", "--waivers"), "here:test_the_waivers_example_is_read_without_a_problem"),
    (("tenantprobe", "report"), "here:test_the_report_example_prints_what_the_page_shows"),
    (("k8s/local/build.sh", "--check"), "here:test_build_script_options_exist_and_check_runs"),
    (("k8s/local/build.sh",), K8S_BUILD),  # the kube plugin runs build.sh before the first cluster test
    ((PYTHON, "-m", "tenantprobe.kube.local.controlplane"), K8S_CLUSTER),  # LocalControlPlane, which the module wraps
    (("make", "test"), ".ci/run"),
    (("make", "docs"), "nobody: serves until Ctrl-C; the same strict build runs here"),
    ((PYTHON, "benchmarks/"), "nobody: benchmarks run by hand, never in tests (minutes each)"),
    ((PYTHON, "k8s/measure.py"), "nobody: a benchmark, run by hand (minutes)"),
]


def where_it_runs(words: list[str]) -> str | None:
    if words[0] in PLAIN_SHELL:
        return "nobody: plain shell"
    for needed, where in RUN:
        if all(any(word == n or (n.endswith("/") and word.startswith(n)) for word in words) for n in needed):
            return where
    return None


@pytest.mark.parametrize(("page", "words"), COMMANDS, ids=ids)
def test_every_command_is_run_somewhere(page: str, words: list[str]) -> None:
    assert where_it_runs(words), f"{page}: `{' '.join(words)}` is run by no test: run it, or name the test in RUN"


def test_every_named_test_exists() -> None:
    for _, where in RUN:
        if where.startswith("nobody:"):
            continue
        if where.startswith("here:"):
            assert where[5:] in globals(), where
            continue
        path, _, name = where.partition("::")
        assert (ROOT / path).is_file(), where
        assert not name or re.search(rf"^def {name}\(", (ROOT / path).read_text(), re.MULTILINE), where


def test_not_run_stays_small() -> None:
    not_run = [where for _, where in RUN if where.startswith("nobody:")]
    assert len(not_run) <= 5, not_run


def test_the_docs_show_commands_of_every_kind_checked_here() -> None:
    kinds = {"tenantprobe", PYTEST, LOCUST, PYTHON, "python", "make", "k8s/local/build.sh"}
    assert kinds <= {words[0] for _, words in COMMANDS}


# ---------------------------------------------------------------------- slow runs, started together
LOCUST_HELP = """
from tenantprobe.load import listeners  # registers the scenarios' options
from locust import argument_parser
print(argument_parser.get_parser().format_help())
"""


def _worked_profile_on_disk(directory: Path) -> tuple[Path, rsa.RSAPrivateKey]:
    """The Ledgerly profile as written on its page, with a throw-away key where it points."""
    (directory / "targets" / "keys").mkdir(parents=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (directory / "targets" / "keys" / "ledgerly-staging-signer.pem").write_bytes(pem)
    profile_file = directory / "targets" / "ledgerly.yaml"
    profile_file.write_text(titled("harness/profiles.md", "targets/ledgerly.yaml"))
    return profile_file, key


def _example_suite_commands(directory: Path) -> dict[str, tuple[list[str], Path, Path]]:
    """The new-suite page's example, written out and run as shown: secure, and with the fault."""
    suite = directory / "suites" / "search"
    suite.mkdir(parents=True)
    (suite / "test_search.py").write_text(titled("harness/new-suite.md", "suites/search/test_search.py"))
    commands = {}
    for name, extra in (("suite-secure", []), ("suite-fault", ["--faults", "search_unscoped"])):
        results = directory / f"results-{name}"
        command = [sys.executable, "-m", "pytest", "suites/search", "--tenants", "2", *extra, "-q"]
        command += ["--target", str(ROOT / "targets" / "reference.yaml"), "--results-dir", str(results)]
        commands[name] = ([*command, "-p", "no:cacheprovider"], directory, results)
    return commands


UNTIL_CTRL_C = {"db start": "Ctrl-C stops and deletes it"}


def _finish(name: str, process: subprocess.Popen[str]) -> str:
    """The output of a finished run; a command that serves until Ctrl-C gets one once it says so."""
    if name not in UNTIL_CTRL_C:
        return process.communicate(timeout=300)[0]
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if UNTIL_CTRL_C[name] in line:
            break
    process.send_signal(signal.SIGINT)
    try:
        return "".join(seen) + process.communicate(timeout=60)[0]
    except subprocess.TimeoutExpired:
        process.kill()  # and read to the end, so no pipe is left for the garbage collector to warn about
        rest = process.communicate()[0]
        raise AssertionError(f"`{name}` still ran 60 s after Ctrl-C; its output:\n{''.join(seen)}{rest}") from None


@pytest.fixture(scope="module")
def slow_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every subprocess of this module that takes seconds, started together: the strict site build,
    ``pytest --help``, locust's options, the example suite (twice), the worked profile's collection,
    and ``tenantprobe db start``, stopped with Ctrl-C once it says where it listens."""
    work = tmp_path_factory.mktemp("docs")
    site = work / "site"
    profile_file, key = _worked_profile_on_disk(work / "profile")
    shown = next(w for _, w in COMMANDS if PYTEST in w and "--collect-only" in w)
    collect = [str(profile_file) if word == "targets/ledgerly.yaml" else word for word in shown[1:]]
    commands: dict[str, tuple[list[str], Path]] = {
        "build": ([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)], ROOT),
        "pytest": ([sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"], ROOT),
        # `locust -f scenarios --help` answers before it loads the scenarios: build its parser as it does.
        "locust": ([sys.executable, "-c", LOCUST_HELP], ROOT),
        "collect": ([sys.executable, "-m", "pytest", *collect, "-p", "no:cacheprovider"], ROOT),
    }
    suite_runs = _example_suite_commands(work / "example")
    commands.update({name: (command, cwd) for name, (command, cwd, _) in suite_runs.items()})
    tenantprobe = [sys.executable, "-c", "from tenantprobe.cli import main; main()"]
    commands["db start"] = ([*tenantprobe, "db", "start"], ROOT)
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    running = {
        name: subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        for name, (command, cwd) in commands.items()
    }
    with ThreadPoolExecutor(max_workers=len(running)) as pool:  # every run is read from its start
        waits = {name: pool.submit(_finish, name, process) for name, process in running.items()}
        outputs = {name: wait.result() for name, wait in waits.items()}
    records = {
        name: [json.loads(line) for f in results.glob("*.jsonl") for line in f.read_text().splitlines()]
        for name, (_, _, results) in suite_runs.items()
    }
    return {
        "site": site,
        "codes": {name: process.returncode for name, process in running.items()},
        "out": outputs,
        "records": records,
        "profile": (profile_file, key),
    }


def test_the_site_builds_strictly(slow_runs: dict[str, Any]) -> None:
    assert slow_runs["codes"]["build"] == 0, slow_runs["out"]["build"][-3000:]
    site = slow_runs["site"]
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    assert "listNotes" in api, "the API page is generated from the app's OpenAPI document"
    controls = (site / "controls" / "index.html").read_text(encoding="utf-8")
    assert 'id="data-rls-forced"' in controls, "the catalogue page has one anchor per control"
    security = (site / "security" / "index.html").read_text(encoding="utf-8")
    assert "list_unfiltered" in security, "the seeded faults table is generated"
    assert "<!-- generated:" not in api + controls + security


def test_the_docs_cover_every_deliverable_the_report_counts(tmp_path: Path) -> None:
    from reports._docs import documentation_record

    record = documentation_record(DOCS, 100.0)
    assert record.status == "pass", record.summary


# ---------------------------------------------------------------------- checked against the real CLIs
def _typer_options(command: Any) -> set[str]:
    return {opt for param in command.params for opt in getattr(param, "opts", [])}


@pytest.mark.parametrize(("page", "words"), of("tenantprobe"), ids=ids)
def test_tenantprobe_commands_exist(page: str, words: list[str]) -> None:
    command: Any = typer.main.get_command(app)  # typer vendors its own click: walk by duck typing
    path: list[str] = []
    for word in words[1:]:
        sub = getattr(command, "commands", {}).get(word)
        if sub is None:
            break
        command, path = sub, [*path, word]
    assert path, f"{page}: `{' '.join(words)}` names no tenantprobe subcommand"
    if path == ["report"]:  # its options are declared by reports/cli.py
        command = typer.main.get_command(report_app)
    else:
        result = typer.testing.CliRunner().invoke(app, [*path, "--help"])
        assert result.exit_code == 0, result.output
    options = _typer_options(command)
    for word in words[1 + len(path) :]:
        if word.startswith("--"):
            assert word.split("=", 1)[0] in options, f"{page}: tenantprobe {' '.join(path)} has no option {word}"


def _check_options(page: str, words: list[str], help_text: str, what: str) -> None:
    for word in words:
        if word.startswith("-") and word not in ("-", "-f"):
            option = word.split("=", 1)[0]
            pattern = rf"(^|[\s,\[]){re.escape(option)}([\s=,\]]|$)"
            assert re.search(pattern, help_text, re.MULTILINE), f"{page}: {what} has no option {option}"


@pytest.mark.parametrize(("page", "words"), of(PYTEST), ids=ids)
def test_pytest_options_and_paths_exist(page: str, words: list[str], slow_runs: dict[str, Any]) -> None:
    _check_options(page, words[1:], slow_runs["out"]["pytest"], "pytest")
    for word in words[1:]:
        if word.startswith(("suites/", "tests/")) and not word.startswith("suites/search"):  # the example suite
            assert (ROOT / word.split("::", 1)[0]).exists(), f"{page}: {word} does not exist"


@pytest.mark.parametrize(("page", "words"), of(LOCUST), ids=ids)
def test_locust_options_and_user_classes_exist(page: str, words: list[str], slow_runs: dict[str, Any]) -> None:
    assert slow_runs["codes"]["locust"] == 0, slow_runs["out"]["locust"][-2000:]
    assert words[1:3] == ["-f", "scenarios"], f"{page}: scenarios are loaded with -f scenarios"
    _check_options(page, words[3:], slow_runs["out"]["locust"], "locust -f scenarios")
    sources = "".join(path.read_text() for path in (ROOT / "scenarios").glob("*.py"))
    classes = set(re.findall(r"^class (\w+)\(", sources, re.MULTILINE))
    for word in words[3:]:
        if re.fullmatch(r"[A-Z]\w+", word):
            assert word in classes, f"{page}: scenarios have no user class {word}"


@pytest.mark.parametrize(("page", "words"), of("make"), ids=ids)
def test_make_targets_exist(page: str, words: list[str]) -> None:
    targets = set(re.findall(r"^([\w.-]+):", (ROOT / "Makefile").read_text(encoding="utf-8"), re.MULTILINE))
    for target in words[1:]:
        assert target in targets, f"{page}: the Makefile has no target {target}"


@pytest.mark.parametrize(("page", "words"), of(PYTHON), ids=ids)
def test_python_scripts_and_modules_exist(page: str, words: list[str]) -> None:
    if words[1] == "-m":
        import importlib.util

        assert importlib.util.find_spec(words[2]) is not None, f"{page}: no module {words[2]}"
        return
    script = ROOT / words[1]
    assert script.is_file(), f"{page}: {words[1]} does not exist"
    if len(words) > 2:
        shown = subprocess.run(
            [sys.executable, str(script), "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
        )
        assert shown.returncode == 0, shown.stderr[-2000:]
        _check_options(page, words[2:], shown.stdout, words[1])


@pytest.mark.parametrize(("page", "words"), of("python"), ids=ids)
def test_reference_app_commands_exist(page: str, words: list[str]) -> None:
    assert words[1:3] == ["-m", "reference_app"], f"{page}: `python` is shown only for python -m reference_app"
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exit_info:
        reference_app_main([words[3], "--help"])
    assert exit_info.value.code == 0, f"{page}: reference_app has no command {words[3]}"
    _check_options(page, [w for w in words[4:] if w.startswith("--")], out.getvalue(), f"reference_app {words[3]}")


@pytest.mark.parametrize(("page", "words"), of("k8s/local/build.sh"), ids=ids)
def test_build_script_options_exist_and_check_runs(page: str, words: list[str]) -> None:
    script = (ROOT / "tenantprobe" / "kube" / "local" / "build.sh").read_text()
    for word in words[1:]:
        assert re.search(rf"^\s*{re.escape(word)}\)", script, re.MULTILINE), f"{page}: build.sh has no option {word}"
    if words[1:] in (["--check"], ["--bin-dir"]):  # neither builds: cheap and safe to run as shown
        done = subprocess.run(["bash", str(ROOT / words[0]), *words[1:]], capture_output=True, timeout=60, check=False)
        assert done.returncode in (0, 1), done.stderr


def test_db_start_prints_its_dsn_and_stops_on_ctrl_c(slow_runs: dict[str, Any]) -> None:
    # 130: the interrupt landed before the wait began; the with-block still stopped the server.
    assert slow_runs["codes"]["db start"] in (0, 130), slow_runs["out"]["db start"][-3000:]
    dsn = re.search(r"PostgreSQL listening: (postgresql://\S+)", slow_runs["out"]["db start"])
    assert dsn, slow_runs["out"]["db start"]
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(dsn[1], connect_timeout=5).close()


# ---------------------------------------------------------------------- the worked profile
MISTAKES: list[tuple[str, Any]] = [
    ("auth.kind: mnt", lambda p: p["auth"].update(kind="mnt")),
    ("auth.algoritm: RS256", lambda p: p["auth"].update(algoritm=p["auth"].pop("algorithm"))),
    ("no `key_file` or `key_env` with `kind: mint`", lambda p: p["auth"].pop("key_file")),
    ("min_role: bookkeeper", lambda p: p["expectations"][0].update(min_role="bookkeeper")),
    ("base_url: api.staging.ledgerly.example", lambda p: p.update(base_url="api.staging.ledgerly.example")),
    ("auth.kind: steps without provisioning steps", lambda p: p["auth"].update(kind="steps")),
    ("tenant_prefix: /orgs/acme", lambda p: p.update(tenant_prefix="/orgs/acme")),
    (
        "tenant_host: https://{tenant_id}.ledgerly.example",
        lambda p: p.update(tenant_host="https://{tenant_id}.ledgerly.example"),
    ),
]


def test_the_identity_steps_example_parses() -> None:
    raw = yaml.safe_load(titled("harness/profiles.md", "targets/examples/notebook.yaml"))
    profile = parse_profile(raw, "notebook.yaml")
    assert profile.auth.kind == profile.provisioning.kind == "steps"
    assert [step.request for step in profile.provisioning.steps] == ["POST /auth/register", "POST /auth/token"]


def test_every_example_profile_is_on_the_page_and_each_block_titled_with_one_is_that_file() -> None:
    """The examples are the profiles the harness tests run: a block showing one must not drift from it."""
    page = (DOCS / "harness" / "profiles.md").read_text(encoding="utf-8")
    examples = sorted((ROOT / "targets" / "examples").glob("*.yaml"))
    assert examples
    for path in examples:
        name = f"targets/examples/{path.name}"
        assert f"`{name}`" in page, f"harness/profiles.md does not mention {name}"
        shown = [b.body for b in blocks("yaml") if b.page == "harness/profiles.md" and b.title == name]
        assert all(yaml.safe_load(body) == yaml.safe_load(path.read_text()) for body in shown), name
    shown_key = yaml.safe_load(titled("harness/profiles.md", "tenant_host"))
    assert shown_key.items() <= yaml.safe_load((ROOT / "targets/examples/shelf-subdomain.yaml").read_text()).items()


def worked_profile() -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(titled("harness/profiles.md", "targets/ledgerly.yaml"))
    return raw


def documented_message(mistake: str) -> str:
    page = (DOCS / "harness" / "profiles.md").read_text(encoding="utf-8")
    row = re.search(rf"^\| `?{re.escape(mistake.strip('`'))}`? \| `(.+)`(?: \([^|]*\))? \|$", page, re.MULTILINE)
    assert row, f"harness/profiles.md lists no message for {mistake}"
    return row[1]


@pytest.mark.parametrize(("mistake", "change"), MISTAKES, ids=[m for m, _ in MISTAKES])
def test_the_profile_page_quotes_the_harness_messages(mistake: str, change: Any) -> None:
    raw = worked_profile()
    change(raw)
    with pytest.raises(ProfileError) as error:
        parse_profile(raw, "targets/ledgerly.yaml")
    expected = re.escape(documented_message(mistake)).replace(re.escape("..."), ".*")
    assert re.fullmatch(expected, str(error.value)), str(error.value)


def test_the_profile_page_quotes_the_namespace_pattern_message() -> None:
    with pytest.raises(ProfileError) as error:
        TenantTemplate.load(ROOT / "k8s" / "tenant-template", "orgs")
    assert str(error.value) == documented_message("namespace_pattern: orgs")


def test_the_worked_profile_loads_mints_tokens_and_is_accepted_by_pytest(slow_runs: dict[str, Any]) -> None:
    profile_file, key = slow_runs["profile"]
    profile = load_profile(profile_file)
    assert profile.auth.key_file == str(profile_file.parent / "keys" / "ledgerly-staging-signer.pem")
    assert profile.database is not None
    assert profile.database.tenant_column == "org_id"
    token = TokenSource(profile.auth, str(profile.base_url)).token(TenantRef("0c4e-org", "acme"), "clerk")
    claims = jwt.decode(token, key.public_key(), algorithms=["RS256"], audience="ledgerly-api")
    assert (claims["org_id"], claims["roles"], claims["sub"]) == ("0c4e-org", ["clerk"], "clerk@acme.tenantprobe.test")
    # pytest suites/isolation --target targets/ledgerly.yaml --collect-only -q, as the page shows it
    assert slow_runs["codes"]["collect"] == 0, slow_runs["out"]["collect"][-3000:]
    assert re.search(r"\d+ tests? collected", slow_runs["out"]["collect"]), slow_runs["out"]["collect"][-1000:]


# ---------------------------------------------------------------------- the example suite
def test_the_example_suite_passes_on_the_secure_app_and_fails_on_the_fault(slow_runs: dict[str, Any]) -> None:
    code, output = slow_runs["codes"]["suite-secure"], slow_runs["out"]["suite-secure"]
    mine = [r for r in slow_runs["records"]["suite-secure"] if r["control_id"] == "API-LIST-FILTER"]
    assert code == 0, output[-3000:]
    assert mine, output[-3000:]
    assert {r["status"] for r in mine} == {"pass"}, output[-3000:]
    assert mine[0]["measured"]["attempts"] >= 1
    code, output = slow_runs["codes"]["suite-fault"], slow_runs["out"]["suite-fault"]
    records = slow_runs["records"]["suite-fault"]
    failed = [r for r in records if r["control_id"] == "API-LIST-FILTER" and r["status"] == "fail"]
    assert code == 1, output[-3000:]
    assert failed, output[-3000:]
    assert failed[0]["evidence"][0]["curl"].startswith("curl "), output[-3000:]
    assert "API-LIST-FILTER" in output


# ---------------------------------------------------------------------- the report and waivers pages
def _report(monkeypatch: pytest.MonkeyPatch, cwd: Path, *args: str) -> typer.testing.Result:
    monkeypatch.chdir(cwd)  # the page shows relative paths in the output
    return typer.testing.CliRunner().invoke(report_app, list(args))


def _example_results(tmp_path: Path, keep: Any = lambda line: True) -> None:
    (tmp_path / "results").mkdir(exist_ok=True)
    lines = titled("harness/report.md", "results/example.jsonl").splitlines()
    (tmp_path / "results" / "example.jsonl").write_text("".join(line + "\n" for line in lines if keep(line)))


def test_the_report_example_prints_what_the_page_shows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _example_results(tmp_path)
    result = _report(monkeypatch, tmp_path, "--results", "results", "--out", "report")
    assert (result.exit_code, result.output) == (1, titled("harness/report.md", "output"))
    _example_results(tmp_path, lambda line: '"status": "fail"' not in line)
    result = _report(monkeypatch, tmp_path, "--results", "results", "--out", "report")
    assert (result.exit_code, result.output) == (3, titled("harness/report.md", "output without the failing record"))


def test_the_waivers_example_is_read_without_a_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _example_results(tmp_path)
    (tmp_path / "waivers.yaml").write_text(titled("harness/waivers.md", "waivers.yaml"))
    result = _report(monkeypatch, tmp_path, "--results", "results", "--out", "report", "--waivers", "waivers.yaml")
    assert "0 input problem(s)" in result.output, result.output
    assert "warning:" not in result.output, result.output
    controls = {c["id"]: c["status"] for c in json.loads((tmp_path / "report" / "report.json").read_text())["controls"]}
    assert (controls["API-EXISTENCE-ORACLE"], controls["NET-DEFAULT-DENY"]) == ("waived", "not_applicable")


def test_the_waivers_page_quotes_the_report_messages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _example_results(tmp_path)
    broken = {
        "waivers": [
            {"control": "API-EXISTENCE-ORACLE", "reason": "legacy", "expires": None},
            {"control": "API-COUNT-LEAK", "reason": "legacy", "owner": "alice", "expires": "next spring"},
        ],
        "not_applicable": [{"control": "NET-DEFAULT-DENY"}],
    }
    (tmp_path / "waivers.yaml").write_text(yaml.safe_dump(broken))
    result = _report(monkeypatch, tmp_path, "--results", "results", "--out", "report", "--waivers", "waivers.yaml")
    page = (DOCS / "harness" / "waivers.md").read_text(encoding="utf-8")
    quoted = re.findall(r"^- `(waivers\.yaml: .+)`$", page, re.MULTILINE)
    assert len(quoted) == 3
    for message in quoted:
        assert f"problem: {message}" in result.output, result.output
