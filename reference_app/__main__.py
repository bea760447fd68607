"""The reference app's command line.

    python -m reference_app setup --admin-url-env DATABASE_URL --database pake   # roles, database, migrations
    python -m reference_app serve --port 8000                                      # the API (REFERENCE_APP_API_WORKERS)
    python -m reference_app internal --port 8001                                   # the internal search service
    python -m reference_app worker                                                 # the background worker
    python -m reference_app migrate -1                                             # one migration down
    python -m reference_app mint-token --tenant UUID --role member                 # the dev issuer

``setup`` prints the three role DSNs as JSON on standard output (they hold passwords: the
caller keeps them, never logs them). The admin DSN is read from an environment variable so
it never appears in a process listing.

Every command reads ``REFERENCE_APP_FAULTS`` (seeded faults, see ``FAULTS.md``): an unknown
name stops it with the list of valid names, and any fault on is logged loudly.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reference_app import faults
from reference_app.config import PREFIX, ConfigError, Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per internal call is noise


def _settings(command: str) -> Settings:
    try:
        faults.active_names()
        return Settings.from_env()
    except (ConfigError, faults.FaultConfigError) as exc:
        raise SystemExit(f"reference_app {command}: {exc}") from None


def api_app(settings: Settings | None = None) -> FastAPI:
    """One API process's app (``REFERENCE_APP_API_WORKERS`` > 1: uvicorn calls this in each worker)."""
    from reference_app.main import create_app

    _logging()
    return create_app(settings or _settings("serve"))


# An idle keep-alive connection outlives its clients' own expiry (httpx drops one after 5 s, uvicorn's
# default is 5 s too): with equal timeouts a client may reuse a connection just as the server closes
# it, and its request fails with "Server disconnected without sending a response" (never retried
# for a POST).
SERVER_OPTIONS: dict[str, Any] = {"log_level": "warning", "access_log": False, "timeout_keep_alive": 75}


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    from reference_app.metrics import multiprocess_directory

    _logging()
    settings = _settings("serve")
    options: dict[str, Any] = {"host": args.host, "port": args.port, **SERVER_OPTIONS}
    if settings.api_workers == 1:  # in this process: no start-up of a second interpreter
        uvicorn.run(api_app(settings), **options)
        return
    # The workers share the listening socket; per-tenant state is in PostgreSQL (rate buckets) or in
    # the run's metrics directory, never in one process.
    with multiprocess_directory():
        uvicorn.run("reference_app.__main__:api_app", factory=True, workers=settings.api_workers, **options)


def _internal(args: argparse.Namespace) -> None:
    import uvicorn

    from reference_app.internal.service import create_internal_app

    _logging()
    app = create_internal_app(_settings("internal"))
    uvicorn.run(app, host=args.host, port=args.port, **SERVER_OPTIONS)


def _worker(args: argparse.Namespace) -> None:
    import asyncio

    from reference_app import worker
    from reference_app.dal import Database

    _logging()
    settings = _settings("worker")
    faults.install("worker", logging.getLogger("reference_app.worker"))
    database = Database(
        settings.database_url,
        settings.platform_database_url,
        max_size=4,
        acquire_timeout=settings.db_acquire_timeout_seconds,
    )
    poll = args.poll_seconds or settings.worker_poll_seconds
    asyncio.run(worker.serve(database, settings.platform_database_url, poll, settings.job_lease_seconds))


def _setup(args: argparse.Namespace) -> None:
    from reference_app import database

    admin_url = os.environ.get(args.admin_url_env, "")
    if not admin_url:
        raise SystemExit(f"reference_app setup: set {args.admin_url_env} to a superuser DSN of the server")
    try:
        schema_faults = [fault for fault in faults.active() if fault.at_setup]
        if schema_faults:
            logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
            faults.install("setup", logging.getLogger("reference_app.setup"))
    except faults.FaultConfigError as exc:
        raise SystemExit(f"reference_app setup: {exc}") from None
    passwords = database.bootstrap_roles(admin_url)
    if args.recreate:
        database.drop_database(admin_url, args.database)
    urls = database.create_database(admin_url, args.database, passwords)
    database.upgrade(urls.owner)
    json.dump(asdict(urls), sys.stdout)


def _migrate(args: argparse.Namespace) -> None:
    from reference_app import database

    owner_url = os.environ.get(PREFIX + "OWNER_DATABASE_URL", "")
    if not owner_url:
        raise SystemExit(f"reference_app migrate: set {PREFIX}OWNER_DATABASE_URL to the schema owner's DSN")
    downward = args.revision == "base" or args.revision.startswith("-")
    (database.downgrade if downward else database.upgrade)(owner_url, args.revision)


def _mint(args: argparse.Namespace) -> None:
    from reference_app.auth import SigningKey, TokenSettings, mint_token

    key_file = Path(os.environ.get(PREFIX + "JWT_PRIVATE_KEY_FILE", args.key_file or ""))
    if not key_file.is_file():
        raise SystemExit(f"reference_app mint-token: no key file; pass --key-file or set {PREFIX}JWT_PRIVATE_KEY_FILE")
    defaults = Settings.model_fields
    settings = TokenSettings(
        issuer=os.environ.get(PREFIX + "JWT_ISSUER", str(defaults["jwt_issuer"].default)),
        audience=os.environ.get(PREFIX + "JWT_AUDIENCE", str(defaults["jwt_audience"].default)),
    )
    token = mint_token(
        SigningKey.from_pem(key_file.read_bytes()),
        settings,
        subject=args.subject,
        tenant_id=args.tenant,
        roles=args.role,
        ttl_seconds=args.ttl,
    )
    print(token)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m reference_app")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(run=_serve)
    internal = commands.add_parser("internal", help="serve the internal search service (called by the API)")
    internal.add_argument("--host", default="127.0.0.1")
    internal.add_argument("--port", type=int, default=8001)
    internal.set_defaults(run=_internal)
    work = commands.add_parser("worker", help="run background jobs (exports, imports) until SIGTERM")
    work.add_argument("--poll-seconds", type=float, default=None, help=f"default {PREFIX}WORKER_POLL_SECONDS or 1")
    work.set_defaults(run=_worker)
    setup = commands.add_parser("setup", help="create roles and database, run migrations; print role DSNs")
    setup.add_argument("--admin-url-env", default="DATABASE_URL", help="variable holding a superuser DSN")
    setup.add_argument("--database", default="pake")
    setup.add_argument("--recreate", action="store_true", help="drop the database first")
    setup.set_defaults(run=_setup)
    migrate = commands.add_parser("migrate", help=f"migrate up or down as the owner ({PREFIX}OWNER_DATABASE_URL)")
    migrate.add_argument("revision", nargs="?", default="head", help="head, base, +1, -1 or a revision id")
    migrate.set_defaults(run=_migrate)
    mint = commands.add_parser("mint-token", help="mint a development token (the app is its own dev issuer)")
    mint.add_argument("--tenant", help="tenant UUID; omit for a platform_admin token")
    mint.add_argument("--role", action="append", default=None, help="repeatable; default member")
    mint.add_argument("--subject", default="dev-user")
    mint.add_argument("--ttl", type=int, default=900)
    mint.add_argument("--key-file")
    mint.set_defaults(run=_mint)
    args = parser.parse_args(argv)
    if args.command == "mint-token" and args.role is None:
        args.role = ["member"] if args.tenant else ["platform_admin"]
    args.run(args)


if __name__ == "__main__":
    main()
