"""The ``tenantprobe`` command line."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Annotated

import typer

from tenantprobe.load.bench import bench_app
from tenantprobe.pgserver import PostgresServer
from tenantprobe.redact import redact_dsn
from tenantprobe.stack import ReferenceStack

app = typer.Typer(help="Verify that a multi-tenant SaaS keeps its tenants apart.", no_args_is_help=True)
db_app = typer.Typer(help="PostgreSQL helpers: the embedded server and the reference app's migrations.")
app.add_typer(db_app, name="db")
app.add_typer(bench_app, name="bench")  # tenantprobe/load/bench.py; runs locust as a command, never imports it

DatabaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="DATABASE_URL",
        help="superuser DSN of a server to use instead of the embedded PostgreSQL",
        show_default=False,
    ),
]
FaultsOption = Annotated[
    str,
    typer.Option("--faults", envvar="REFERENCE_APP_FAULTS", help="comma-separated seeded faults to inject"),
]


def _show_version(value: bool) -> None:
    if value:
        from tenantprobe import __version__

        typer.echo(f"tenantprobe {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="print the version and exit"),
    ] = False,
) -> None:
    """Verify that a multi-tenant SaaS keeps its tenants apart."""


def _on_interrupt() -> threading.Event:
    """An event that Ctrl-C or SIGTERM sets from now on; install it before saying "Ctrl-C stops it".

    Both handlers are installed here: a shell that starts a job in the background leaves SIGINT
    ignored, and Python keeps it so, so a Ctrl-C sent between the message and the wait would be lost.
    """
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def _wait_until(stop: threading.Event) -> None:
    while not stop.wait(0.5):
        pass


def _faults(value: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in value.split(",") if name.strip())


def _mint(stack: ReferenceStack, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "reference_app", "mint-token", "--key-file", str(stack.key_file), *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="port of the API on 127.0.0.1")] = 8000,
    database_url: DatabaseUrlOption = None,
    faults: FaultsOption = "",
) -> None:
    """Start the reference app with its database, until Ctrl-C."""
    typer.echo("starting PostgreSQL and the reference app ...")
    with ReferenceStack(database_url=database_url, port=port, faults=_faults(faults)) as stack:
        interrupted = _on_interrupt()
        typer.echo(f"reference app: {stack.base_url}  (OpenAPI: {stack.base_url}/docs)")
        typer.echo(f"signing key:   {stack.key_file}")
        typer.echo(
            "mint a token:  python -m reference_app mint-token "
            f"--key-file {stack.key_file} [--tenant UUID --role member]"
        )
        typer.echo("Ctrl-C stops it.")
        _wait_until(interrupted)


@app.command()
def demo(database_url: DatabaseUrlOption = None) -> None:
    """Start the reference app on an embedded database, provision two tenants, show how to call it."""
    import httpx

    started = time.perf_counter()
    with ReferenceStack(database_url=database_url) as stack:
        typer.echo(f"reference app ready at {stack.base_url} in {time.perf_counter() - started:.1f} s")
        admin = {"Authorization": f"Bearer {_mint(stack)}"}
        with httpx.Client(base_url=stack.base_url, timeout=10) as client:
            for slug in ("acme", "globex"):
                tenant = client.post("/v1/admin/tenants", json={"slug": slug, "name": slug.title()}, headers=admin)
                tenant.raise_for_status()
                tenant_id = tenant.json()["id"]
                token = _mint(stack, "--tenant", tenant_id, "--role", "member", "--subject", f"alice@{slug}")
                note = client.post(
                    "/v1/notes",
                    json={"title": f"{slug} roadmap", "body": "secret plans"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                note.raise_for_status()
                typer.echo(f"tenant {slug}: id {tenant_id}, one note {note.json()['id']}")
        typer.echo("\ncall it as a tenant member:")
        typer.echo(
            f"  TOKEN=$(.venv/bin/python -m reference_app mint-token --key-file {stack.key_file} "
            "--tenant <tenant id> --role member)"
        )
        typer.echo(f'  curl -H "Authorization: Bearer $TOKEN" {stack.base_url}/v1/notes')
        typer.echo(f"OpenAPI document: {stack.base_url}/openapi.json")
        typer.echo(f"\nchecking isolation: pytest suites/isolation (results in {DEMO_DIR}/results) ...")
        suite_exit_code = _run_isolation_suite_and_report(stack)
        if os.environ.get("TENANTPROBE_DEMO_NO_WAIT") != "1":
            interrupted = _on_interrupt()
            typer.echo("Ctrl-C stops the demo.")
            _wait_until(interrupted)
    if suite_exit_code:
        raise typer.Exit(suite_exit_code)


DEMO_DIR = Path("build/demo")


def _run_isolation_suite_and_report(stack: ReferenceStack) -> int:
    """The demo's last act: the isolation suite against the app it started (its two tenants there as a
    user's would be), then the report. Returns the suite's exit code, which becomes the demo's."""
    results, out = DEMO_DIR / "results", DEMO_DIR / "report"
    shutil.rmtree(results, ignore_errors=True)
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    target = stack.running_profile(Path("targets/reference.yaml"), DEMO_DIR)
    pytest = [sys.executable, "-m", "pytest", "suites/isolation", "-q", "-p", "no:cacheprovider"]
    suite = subprocess.run([*pytest, "--target", str(target), "--results-dir", str(results)], check=False)
    verdict = "passed" if suite.returncode == 0 else f"FOUND PROBLEMS (exit {suite.returncode})"
    typer.echo(f"isolation suite {verdict}")
    tenantprobe = [sys.executable, "-c", "from tenantprobe.cli import main; main()"]
    docs = ["--docs", "docs"] if Path("docs").is_dir() else []  # the phase's documentation deliverables
    subprocess.run(
        [*tenantprobe, "report", "--results", str(results), "--out", str(out), "--no-fail", *docs], check=False
    )
    typer.echo(f"report: {(out / 'report.html').resolve()}")
    return suite.returncode


@app.command()
def audit(
    target: Annotated[Path, typer.Option(help="target profile")] = Path("targets/reference.yaml"),
    results: Annotated[Path, typer.Option(help="where the run's records go (emptied first)")] = Path("results/audit"),
    out: Annotated[Path, typer.Option(help="where report.html, report.json and junit.xml go")] = Path("build/audit"),
    skip: Annotated[str, typer.Option(help="steps to leave out: isolation,fuzz,kubernetes,network,load")] = "",
    faults: FaultsOption = "",
    load_seconds: Annotated[int, typer.Option(help="length of the steady load run")] = 30,
    load_tenants: Annotated[int, typer.Option(help="tenants of the steady load run (100+ to judge scalability)")] = 100,
    load_rps: Annotated[float, typer.Option(help="offered requests/s of each tenant in the load run")] = 1.0,
) -> None:
    """Run every suite that can run against the target here as one run, then write the report."""
    from tenantprobe import audit as audit_steps
    from tenantprobe.profiles import load_profile

    skipped = audit_steps.parse_skip(skip)
    load_profile(target)  # a broken profile stops here, once, with its message
    shutil.rmtree(results, ignore_errors=True)
    results.mkdir(parents=True)
    load = audit_steps.LoadSettings(seconds=load_seconds, tenants=load_tenants, tenant_rps=load_rps)
    steps = audit_steps.plan(target.resolve(), results.resolve(), faults, load)
    started = time.monotonic()
    typer.echo(f"audit of {target}: {len(steps)} steps, records in {results}")
    audit_steps.run_steps(steps, skipped, results, typer.echo)
    typer.echo(f"audit: suites done in {time.monotonic() - started:.0f} s; writing the report ...")
    docs = ["--docs", "docs"] if Path("docs").is_dir() else []
    command = [sys.executable, "-m", "tenantprobe", "report", "--results", str(results), "--out", str(out), *docs]
    report = subprocess.run(command, check=False)
    typer.echo(f"audit: report {(out / 'report.html').resolve()} in {time.monotonic() - started:.0f} s in all")
    raise typer.Exit(report.returncode)


@db_app.command("start")
def db_start() -> None:
    """Start a throwaway PostgreSQL on a free loopback port and print its DSN, until Ctrl-C."""
    with PostgresServer() as server:
        interrupted = _on_interrupt()
        typer.echo(f"PostgreSQL listening: {server.address.dsn()}")
        typer.echo("the password above is for this throwaway server only; Ctrl-C stops and deletes it.")
        _wait_until(interrupted)


@db_app.command("migrate")
def db_migrate(
    revision: Annotated[str, typer.Argument(help="head, base, up (one step), down (one step), or an id")] = "head",
    owner_url: Annotated[
        str,
        typer.Option("--owner-url", envvar="REFERENCE_APP_OWNER_DATABASE_URL", help="DSN of the schema owner role"),
    ] = "",
) -> None:
    """Run the reference app's migrations up or down to REVISION (as the owner role)."""
    if not owner_url:
        raise typer.BadParameter("pass --owner-url or set REFERENCE_APP_OWNER_DATABASE_URL", param_hint="--owner-url")
    revision = {"up": "+1", "down": "-1"}.get(revision, revision)
    result = subprocess.run(
        [sys.executable, "-m", "reference_app", "migrate", revision],
        env={**os.environ, "REFERENCE_APP_OWNER_DATABASE_URL": owner_url},
        check=False,
    )
    if result.returncode != 0:
        typer.echo(f"migration to {revision} failed on {redact_dsn(owner_url)}", err=True)
        raise typer.Exit(result.returncode)


KubeconfigOption = Annotated[
    str | None,
    typer.Option(
        "--kubeconfig", help="the cluster (default: the profile's kubernetes.kubeconfig, KUBECONFIG, ~/.kube/config)"
    ),
]
TemplateOption = Annotated[Path, typer.Option("--template", help="the tenant template directory")]
ProfileOption = Annotated[Path, typer.Option("--target", help="target profile: namespace pattern, app tenant API")]
AppUrlOption = Annotated[
    str | None, typer.Option("--with-app-url", help="also create/delete the tenant in the app at this URL")
]
AppKeyOption = Annotated[
    Path | None,
    typer.Option("--app-key-file", envvar="REFERENCE_APP_JWT_PRIVATE_KEY_FILE", help="mint the app admin token"),
]
AppTokenOption = Annotated[
    str | None, typer.Option("--app-token", envvar="TENANTPROBE_APP_TOKEN", help="the app's platform admin token")
]


@app.command()
def provision(
    tenant: Annotated[str, typer.Argument(help="tenant name (a DNS label)")],
    kubeconfig: KubeconfigOption = None,
    template: TemplateOption = Path("k8s/tenant-template"),
    target: ProfileOption = Path("targets/reference.yaml"),
    with_app_url: AppUrlOption = None,
    app_key_file: AppKeyOption = None,
    app_token: AppTokenOption = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait until the namespace is usable")] = 60.0,
) -> None:
    """Create one tenant on all layers: its namespace from the template (server-side apply) and its app tenant."""
    from tenantprobe.kube.client import commands

    options = commands.Options(kubeconfig, template, target, with_app_url, app_key_file, app_token)
    commands.provision(tenant, options, timeout)


@app.command()
def deprovision(
    tenant: Annotated[str, typer.Argument(help="tenant name")],
    kubeconfig: KubeconfigOption = None,
    template: TemplateOption = Path("k8s/tenant-template"),
    target: ProfileOption = Path("targets/reference.yaml"),
    with_app_url: AppUrlOption = None,
    app_key_file: AppKeyOption = None,
    app_token: AppTokenOption = None,
    wait: Annotated[bool, typer.Option(help="wait until the namespace is gone")] = False,
) -> None:
    """Remove one tenant from all layers: its app tenant, cluster-scoped objects and its namespace."""
    from tenantprobe.kube.client import commands

    options = commands.Options(kubeconfig, template, target, with_app_url, app_key_file, app_token)
    commands.deprovision(tenant, options, wait)


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def report(ctx: typer.Context) -> None:
    """Score result records and write report.html, report.json and junit.xml (options: report --help)."""
    # The one exception to the dependency rule (reports depends on tenantprobe, never the reverse):
    # the report package is imported only when this command runs, never at import time, and its
    # options are declared there, so `tenantprobe report --help` is answered by reports/cli.py.
    from reports.cli import run

    run(ctx.args)


def main() -> None:
    """The ``tenantprobe`` command; exit codes as in :mod:`tenantprobe.exitcodes`."""
    from tenantprobe.exitcodes import run_command

    run_command(typer.main.get_command(app), prog_name="tenantprobe")
