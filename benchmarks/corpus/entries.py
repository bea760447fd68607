"""The corpus: real applications pinned at a release with a published cross-tenant advisory and
at the release that fixed it.

Each entry says how to install a release (``pins``, installed with ``uv pip install``), how to
start it (``command``, split into words, and ``env`` are templates over ``{python}``, ``{venv}``, ``{port}``,
``{data}`` and ``{secret}``; ``files`` are written into the fresh data dir first), when it is
ready (``ready_path`` answers 2xx), and the target profile a user would write for it
(``profiles/<profile>``). Nothing here tells the harness where the bug is: ``advisories`` only
feeds the table.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Advisory:
    ids: str  # "GHSA-… / CVE-…"
    about: str  # one line: what another tenant can do


@dataclass(frozen=True)
class Release:
    version: str
    pins: tuple[str, ...]  # `uv pip install` arguments, the app itself included; {corpus} is this folder


@dataclass(frozen=True)
class Entry:
    name: str
    vulnerable: Release
    fixed: Release
    advisories: tuple[Advisory, ...]
    command: str  # split like a shell would, then each word filled
    ready_path: str
    profile: str
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # data-dir file name -> template
    setup: tuple[str, ...] = ()  # commands run in the data dir, with env, before the server starts
    start_timeout: float = 90.0
    python: str = "3.11"
    pytest_args: tuple[str, ...] = ()  # what the entry's tenants need (e.g. --tenants 2)

    def release(self, which: str) -> Release:
        if which not in ("vulnerable", "fixed"):
            raise ValueError(f"release={which!r}: expected 'vulnerable' or 'fixed'")
        return self.vulnerable if which == "vulnerable" else self.fixed


PRAISONAI_EXTRA = ("email-validator", "greenlet", "bcrypt==4.0.1", "aiosqlite")

PRAISONAI = Entry(
    name="praisonai",
    vulnerable=Release("0.1.1", ("praisonai-platform==0.1.1", *PRAISONAI_EXTRA)),
    fixed=Release("0.1.4", ("praisonai-platform==0.1.4", *PRAISONAI_EXTRA)),
    advisories=(
        Advisory(
            "GHSA-gv23-xrm3-8c62 / CVE-2026-48169",
            "issues and projects of another workspace read, changed and deleted through one's own workspace path",
        ),
        Advisory("GHSA-h37g-4h4p-9x97", "a plain member makes themselves owner"),
        Advisory("CVE-2026-47413", "a plain member adds members (any role)"),
        Advisory("GHSA-rcmc-q9rj-4wmq", "a plain member renames the workspace or replaces its settings"),
    ),
    command="{python} -m praisonai_platform --host 127.0.0.1 --port {port}",
    # 0.1.1 reads PLATFORM_DATABASE_URL (default: ./platform.db, kept between runs), 0.1.4
    # DATABASE_URL (default: in memory): set both so that each run starts from an empty file.
    env={
        "DATABASE_URL": "sqlite+aiosqlite:///{data}/db.sqlite",
        "PLATFORM_DATABASE_URL": "sqlite+aiosqlite:///{data}/db.sqlite",
        "PLATFORM_JWT_SECRET": "{secret}",
    },
    ready_path="/openapi.json",
    profile="praisonai.yaml",
    start_timeout=60.0,
)

MLFLOW_AUTH_INI = """\
[mlflow]
default_permission = NO_PERMISSIONS
database_uri = sqlite:///{data}/basic_auth.db
admin_username = {admin_user}
admin_password = {admin_password}
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
"""

MLFLOW = Entry(
    name="mlflow",
    vulnerable=Release("3.8.1", ("mlflow[auth]==3.8.1", "sqlalchemy<2.1")),
    fixed=Release("3.13.0", ("mlflow[auth]==3.13.0",)),
    advisories=(
        Advisory(
            "GHSA-g6pg-52vf-843h / CVE-2025-15381",
            "traces and assessments of another user's private experiment read, tagged and changed",
        ),
    ),
    # `mlflow server` starts uvicorn as a child: the runner stops the whole process group.
    command=(
        "{venv}/bin/mlflow server --app-name basic-auth --host 127.0.0.1 --port {port} --workers 1"
        " --backend-store-uri sqlite:///{data}/mlflow.db --artifacts-destination {data}/artifacts"
    ),
    env={"MLFLOW_AUTH_CONFIG_PATH": "{data}/basic_auth.ini", "MLFLOW_FLASK_SERVER_SECRET_KEY": "{secret}"},
    files={"basic_auth.ini": MLFLOW_AUTH_INI},
    ready_path="/health",
    profile="mlflow.yaml",
    start_timeout=300.0,  # 112 s and over 180 s on the shared 2-core VM at load 16
)

# Airflow 2.7's dependencies as resolved when 2.7.1 was installed by hand: newer releases of
# werkzeug, connexion, pendulum, pydantic and flask-session break it.
AIRFLOW_CONSTRAINTS = ("--constraint", "{corpus}/airflow-constraints.txt")
AIRFLOW_ENV = {
    "AIRFLOW_HOME": "{data}",
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__DAGS_FOLDER": "{corpus}/airflow_dags",
    "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "sqlite:///{data}/airflow.db",
    "AIRFLOW__API__AUTH_BACKENDS": "airflow.api.auth.backend.basic_auth",
    "AIRFLOW__WEBSERVER__SECRET_KEY": "{secret}",
    "AIRFLOW__WEBSERVER__WORKERS": "1",
    # On a busy 2-CPU machine a worker can take minutes to boot or answer: with the defaults (120 s) the
    # webserver's monitor shut the whole webserver down in the middle of a run ("No response from gunicorn
    # master within 120 seconds").
    "AIRFLOW__WEBSERVER__WEB_SERVER_MASTER_TIMEOUT": "1800",
    "AIRFLOW__WEBSERVER__WEB_SERVER_WORKER_TIMEOUT": "1800",
}

AIRFLOW = Entry(
    name="airflow",
    vulnerable=Release("2.7.1", ("apache-airflow==2.7.1", *AIRFLOW_CONSTRAINTS)),
    fixed=Release("2.7.2", ("apache-airflow==2.7.2", *AIRFLOW_CONSTRAINTS)),
    advisories=(
        Advisory(
            "GHSA-32wr-qqw6-5mfp / CVE-2023-42663",
            "task instances of DAGs the user may not read listed through the batch endpoint",
        ),
    ),
    # The tenants are teams: each DAG file grants its team's role access (access_control), so the
    # roles and the DAGs' permissions must exist before the webserver starts. The admin user is
    # created here too: the profile's steps create the teams' users through the REST API. No
    # scheduler: a run triggered through the REST API has its task instances at once (state
    # none, made by DAG.create_dagrun), which is all the advisory needs to leak.
    setup=(
        "{venv}/bin/airflow db migrate",
        "{venv}/bin/airflow roles create team_a team_b",
        "{venv}/bin/airflow dags reserialize",
        "{venv}/bin/airflow sync-perm --include-dags",
        "{venv}/bin/airflow users create --username {admin_user} --password {admin_password} --role Admin"
        " --email admin@example.test --firstname Corpus --lastname Admin",
    ),
    command="{venv}/bin/airflow webserver --hostname 127.0.0.1 --port {port} --workers 1",
    env=AIRFLOW_ENV,
    ready_path="/health",
    profile="airflow.yaml",
    pytest_args=("--tenants", "2"),  # two teams, two DAGs
    start_timeout=300.0,
)

ENTRIES = {entry.name: entry for entry in (PRAISONAI, MLFLOW, AIRFLOW)}
