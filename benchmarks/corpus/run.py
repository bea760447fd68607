"""Run the isolation suite against real applications with published cross-tenant advisories.

For each corpus entry (``entries.py``) and release, install it into its own cached virtualenv,
start it on a free loopback port with an empty data dir, write its target profile
(``profiles/<app>.yaml``) with ``base_url`` filled, run

    pytest suites/isolation --target <profile> --results-dir <dir> --accept-not-assessed -q

and read the result records. The table says, per app and release, which controls failed (one
evidence line each: the attacker's request and status), which failed on the fixed release
(false positives, unless verified by hand as a separate weakness), which were not assessed,
and how long the run took.

    .venv/bin/python benchmarks/corpus/run.py [--app praisonai] [--release vulnerable|fixed|both]
        [--markdown corpus.md] [--cache-dir ~/.cache/tenantprobe/corpus] [--keep]
        [--pytest-args --controls API-AUTHZ-ROLE -x | --pytest-args "--controls API-AUTHZ-ROLE -x"]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from tenantprobe.errors import TenantProbeError
from tenantprobe.profiles import load_profile

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from entries import ENTRIES, Entry  # noqa: E402
from results_table import Row, markdown, summarize, text  # noqa: E402
from servers import DEFAULT_CACHE, CorpusError, install, running  # noqa: E402

PYTEST_TIMEOUT = 1800.0


def progress(message: str) -> None:
    print(f"[corpus {time.strftime('%H:%M:%S')}] {message}", flush=True)


def write_profile(entry: Entry, base_url: str, directory: Path) -> Path:
    """The entry's profile with ``base_url`` filled, beside copies of the files it names."""
    source = HERE / "profiles" / entry.profile
    raw: dict[str, Any] = yaml.safe_load(source.read_text(encoding="utf-8"))
    raw["base_url"] = base_url
    openapi = str(raw.get("openapi", ""))
    if openapi and not openapi.startswith("/") and "://" not in openapi:  # a file beside the profile
        shutil.copy(source.parent / openapi, directory / openapi)
    target = directory / entry.profile
    target.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return target


def read_records(results: Path) -> list[dict[str, Any]]:
    records = []
    for path in sorted(results.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    progress(f"skipped a malformed record line in {path}")
    return records


def run_suite(profile: Path, results: Path, env: dict[str, str], log: Path, extra: list[str]) -> int:
    """The isolation suite as a subprocess; its output is streamed (indented) and kept in ``log``."""
    command = [
        sys.executable, "-m", "pytest", "suites/isolation", "--target", str(profile),
        "--results-dir", str(results), "--accept-not-assessed", "-q", "-p", "no:cacheprovider", *extra,
    ]  # fmt: skip
    progress("$ " + " ".join(command))
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert process.stdout is not None
        deadline = time.monotonic() + PYTEST_TIMEOUT
        for line in process.stdout:
            out.write(line)
            print("    " + line.rstrip(), flush=True)
            if time.monotonic() > deadline:
                process.kill()
                progress(f"pytest killed after {PYTEST_TIMEOUT:.0f} s")
        return process.wait()


def run_release(entry: Entry, which: str, args: argparse.Namespace, workdir: Path) -> Row:
    release = entry.release(which)
    label = f"{which} {release.version}"
    row = Row(entry.name, label, "; ".join(advisory.ids for advisory in entry.advisories))
    started = time.monotonic()
    check_dir = workdir / f"check-{entry.name}-{release.version}"
    check_dir.mkdir()
    try:
        # A profile the harness cannot read makes installing and starting the app pointless.
        load_profile(write_profile(entry, "http://127.0.0.1:1", check_dir))
    except TenantProbeError as exc:
        row.note = f"profile not accepted by the harness: {str(exc).splitlines()[0]}"
        progress(f"{entry.name} {release.version}: {exc}")
        return row
    try:
        progress(f"{entry.name} {release.version}: installing into {args.cache_dir} (cached after the first run)")
        venv = install(entry, release, args.cache_dir, args.uv)
        progress(f"{entry.name} {release.version}: starting")
        with running(entry, release, venv, workdir) as server:
            progress(
                f"{entry.name} {release.version}: ready at {server.base_url} after {time.monotonic() - started:.0f} s"
            )
            run_dir = workdir / f"run-{entry.name}-{release.version}"
            run_dir.mkdir()
            profile = write_profile(entry, server.base_url, run_dir)
            env = {
                **os.environ,
                "CORPUS_ADMIN_USER": server.variables["admin_user"],
                "CORPUS_ADMIN_PASSWORD": server.variables["admin_password"],
            }
            results = run_dir / "results"
            suite_started = time.monotonic()
            code = run_suite(profile, results, env, run_dir / "pytest.log", [*entry.pytest_args, *args.pytest_args])
            row.seconds = time.monotonic() - suite_started
            records = read_records(results)
            row.found, row.not_assessed = summarize(records)
            progress(
                f"{entry.name} {release.version}: pytest exited {code}, {len(records)} records, "
                f"{len(row.found)} failed controls, {len(row.not_assessed)} not assessed ({run_dir})"
            )
            errored = [r for r in records if r.get("status") == "error"]
            if errored:
                row.note = f"{len(errored)} checks errored; first error: {errored[0].get('reason') or '?'}"
            if not records:
                row.note = f"pytest exited {code} without records; see {run_dir / 'pytest.log'}"
            elif code not in (0, 1):
                row.note = f"pytest exited {code}; see {run_dir / 'pytest.log'}"
    except CorpusError as exc:
        row.note = str(exc).splitlines()[0]
        progress(str(exc))
    return row


def pytest_arguments(given: list[str]) -> list[str]:
    """What ``--pytest-args`` passes on: one quoted string (``"--tenants 2 -k 'a and b'"``) is split as a shell
    splits a line, or pytest would get it as one argument (a file it cannot find); several words pass as given,
    so one of them may hold spaces (``-k "a and b"``)."""
    return shlex.split(given[0]) if len(given) == 1 else given


def run_releases(plan: list[tuple[Entry, str]], args: argparse.Namespace, workdir: Path) -> Iterator[Row]:
    """Each (entry, release) of ``plan``, ``args.jobs`` at a time, rows in plan order."""
    if args.jobs == 1:  # in this thread: Ctrl-C stops the running server at once
        yield from (run_release(entry, which, args, workdir) for entry, which in plan)
        return
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        yield from pool.map(lambda job: run_release(job[0], job[1], args, workdir), plan)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--app", action="append", choices=sorted(ENTRIES), help="an entry (repeatable; default all)")
    parser.add_argument("--release", choices=("vulnerable", "fixed", "both"), default="both")
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown to this file")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help=f"virtualenvs (default {DEFAULT_CACHE})")
    parser.add_argument("--uv", type=Path, default=Path(sys.executable).parent / "uv", help="the uv executable")
    parser.add_argument("--workdir", type=Path, help="data dirs, profiles, results (default: a temporary dir)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary work dir")
    parser.add_argument(
        "--jobs", type=int, default=1, help="releases run at once; their timings are comparable only at 1 (default)"
    )
    parser.add_argument(
        "--pytest-args",
        nargs=argparse.REMAINDER,
        default=[],
        help="the rest of the line, passed on to pytest; one quoted string is split as a shell would split it",
    )
    args = parser.parse_args(argv)
    try:
        args.pytest_args = pytest_arguments(args.pytest_args)
    except ValueError as exc:  # shlex: an unclosed quote
        parser.error(f"--pytest-args {args.pytest_args[0]!r}: {exc}")
    if not args.uv.exists():
        parser.error(f"--uv={args.uv}: no such file; run `make venv` (it installs uv into .venv)")
    releases = ("vulnerable", "fixed") if args.release == "both" else (args.release,)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="tenantprobe-corpus-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    try:
        names = args.app or sorted(ENTRIES, key=list(ENTRIES).index)
        plan = [(ENTRIES[name], which) for name in names for which in releases]
        for row in run_releases(plan, args, workdir):
            rows.append(row)
    except KeyboardInterrupt:
        progress("interrupted: servers stopped; the table has the rows finished so far")
    finally:
        if args.workdir is None and not args.keep and not any(row.note for row in rows):
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            progress(f"work dir kept: {workdir}")
    print()
    print(text(rows), end="")
    if args.markdown:
        args.markdown.write_text(markdown(rows), encoding="utf-8")
        progress(f"Markdown table written to {args.markdown}")
    return 0 if all(not row.note for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
