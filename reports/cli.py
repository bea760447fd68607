"""``tenantprobe report``: score one run of a results directory; write report.html, report.json and junit.xml.

Exit codes (:mod:`tenantprobe.exitcodes`): 0 PASS (or any verdict with ``--no-fail``), 1 FAIL,
3 INCOMPLETE, 4 when no report could be written (a missing directory, a bad option, an unknown
``--run``, a run whose records name two targets), 2 on an internal error. A defect in the inputs
never produces a traceback: it is a problem listed in the report, which then cannot pass.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from reports._build import Report, ReportOptions, build_report
from reports._model import Verdict
from reports._write import write_report
from tenantprobe.errors import TenantProbeError
from tenantprobe.exitcodes import ExitCode, run_command

EXIT_CODES = {Verdict.PASS: ExitCode.PASS, Verdict.FAIL: ExitCode.FAIL, Verdict.INCOMPLETE: ExitCode.INCOMPLETE}
EXIT_USAGE = ExitCode.COULD_NOT_RUN
PROG = "tenantprobe report"

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command(
    help="Score result records against the control catalogue and write report.html, report.json and junit.xml.",
    epilog="Exit codes: 0 PASS, 1 FAIL, 3 INCOMPLETE (evidence missing), 4 no report written, 2 internal error. "
    "--no-fail exits 0 whatever the verdict once the report is written.",
)
def report(
    results: Annotated[
        Path, typer.Option("--results", help="directory of result records (*.jsonl, load-*.json)")
    ] = Path("results"),
    run: Annotated[
        str | None,
        typer.Option(
            "--run",
            help="the run id to score (default: the newest run in --results; 'legacy' for records without a run id)",
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="directory to write report.html, report.json, junit.xml")] = Path(
        "build/report"
    ),
    waivers: Annotated[
        Path | None, typer.Option("--waivers", help="YAML file of waivers and not-applicable declarations")
    ] = None,
    previous: Annotated[
        Path | None, typer.Option("--previous", help="report.json of an earlier run, for the trend")
    ] = None,
    docs: Annotated[
        Path | None, typer.Option("--docs", help="documentation directory: count the phase's deliverables")
    ] = None,
    with_sarif: Annotated[bool, typer.Option("--sarif", help="also write report.sarif (SARIF 2.1.0)")] = False,
    no_fail: Annotated[bool, typer.Option("--no-fail", help="exit 0 whatever the verdict")] = False,
) -> None:
    options = ReportOptions(results_dir=results, run=run, waivers=waivers, previous=previous, docs=docs)
    try:
        built = build_report(options)
        paths = write_report(built, out, with_sarif=with_sarif)
    except TenantProbeError as exc:
        typer.echo(f"{PROG}: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    except OSError as exc:
        typer.echo(f"{PROG}: cannot read or write {exc.filename or ''}: {exc.strerror or exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    except Exception as exc:
        # A report that cannot be made must still say why in one line; TENANTPROBE_DEBUG=1 shows the traceback.
        if os.environ.get("TENANTPROBE_DEBUG") == "1":
            raise
        typer.echo(
            f"{PROG}: internal error ({type(exc).__name__}: {exc}); no report was written. This is a bug in "
            "tenantprobe: please report it with the results directory (TENANTPROBE_DEBUG=1 shows the traceback).",
            err=True,
        )
        raise typer.Exit(ExitCode.CRASHED) from None
    decision = built.decision
    for line in summary_lines(built, paths):
        typer.echo(line)
    raise typer.Exit(0 if no_fail else EXIT_CODES[decision.verdict])


def summary_lines(built: Report, paths: dict[str, Path]) -> list[str]:
    """What the command prints: the verdict, why, the headline figures and where the files are."""
    decision, score = built.decision, built.score
    lines = [f"verdict: {decision.verdict}"]
    lines += [f"  - {reason}" for reason in decision.reasons]
    run = built.run
    if run.run_id is not None:
        ignored = f"; ignored: {run.ignored_records} records of {len(run.ignored_runs)} other run(s)"
        lines.append(f"run {run.run_id} ({'named' if run.named else 'newest'}){ignored if run.ignored_runs else ''}")
    blocking = sum(1 for p in built.problems if p.blocking)
    lines.append(
        f"Security Audit Score {score.security_audit_score:.1f}/100, coverage {score.coverage:.0f}%, "
        f"{score.by_status['fail']} failed, {score.by_status['error']} in error, "
        f"{score.by_status['not_assessed']} not assessed, {blocking} input problem(s)"
    )
    for problem in built.problems[:10]:
        lines.append(f"  {'problem' if problem.blocking else 'warning'}: {problem.source}: {problem.message}")
    if len(built.problems) > 10:
        lines.append(f"  ... and {len(built.problems) - 10} more (listed in the report)")
    lines.append(f"report: {paths['html']}")
    lines.append("also: " + ", ".join(str(p) for key, p in paths.items() if key != "html"))
    return lines


def run(args: Sequence[str]) -> None:
    """Run the command with ``args`` (exits with the verdict's code)."""
    run_command(typer.main.get_command(app), list(args), PROG)


if __name__ == "__main__":
    run(sys.argv[1:])
