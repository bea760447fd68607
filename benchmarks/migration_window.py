"""How long the reference app's schema migrations take on a populated database (OPS-MAINTENANCE-WINDOW).

    .venv/bin/python benchmarks/migration_window.py [--tenants 100] [--notes 1000] [--rounds 3]
                                                   [--results-dir results]

Starts an embedded PostgreSQL (``DATABASE_URL=<superuser DSN>`` uses yours), creates the app's
roles and a database, migrates it to head and seeds ``--tenants`` tenants with ``--notes``
notes each (tags, note tags, comments). Then, per round, it rolls back to ``0002`` (the last
revision that creates tenant tables; what comes after, row-level security and the jobs table,
can be undone without losing tenant data) and migrates forward to head again, timing both and
checking that every tenant table still holds the same rows. It also times base -> head on an
empty database, the schema's creation.

Medians are printed. With ``--results-dir`` an OPS-MAINTENANCE-WINDOW result record is written
for the report: ``migration_seconds`` is the median upgrade over the populated data, judged
against the catalogue's threshold. No assertions: figures for benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from _seed import seed

from reference_app import database
from tenantprobe.controls import load_catalogue
from tenantprobe.pgserver import PostgresServer
from tenantprobe.records import ResultRecord, ResultWriter, Status

CONTROL = "OPS-MAINTENANCE-WINDOW"
DATA_REVISION = "0002"
TENANT_TABLES = ("tenants", "notes", "tags", "note_tags", "comments")


@contextmanager
def superuser_dsn() -> Iterator[str]:
    if dsn := os.environ.get("DATABASE_URL"):
        yield dsn
        return
    with PostgresServer() as server:
        yield server.address.dsn()


def timed(step: Callable[[], None]) -> float:
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def row_counts(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        return {table: int(conn.execute(f"select count(*) from {table}").fetchall()[0][0]) for table in TENANT_TABLES}


def populate(platform_dsn: str, tenants: int, notes: int) -> None:
    with psycopg.connect(platform_dsn) as conn:
        ids = [
            str(
                conn.execute("insert into tenants (slug, name) values (%s, %s) returning id", (slug, slug)).fetchall()[
                    0
                ][0]
            )
            for slug in (f"m-{uuid.uuid4().hex[:12]}" for _ in range(tenants))
        ]
    for tenant_id in ids:
        seed(platform_dsn, tenant_id, notes)


def record(results_dir: Path, upgrade_s: float, downgrade_s: float, rounds: int, rows: dict[str, int]) -> None:
    control = load_catalogue().get(CONTROL)
    writer = ResultWriter(results_dir, "migration-window")
    writer.write(
        ResultRecord(
            control_id=CONTROL,
            check_id="benchmarks/migration_window.py",
            status=Status.PASS if control.measure.satisfied_by(upgrade_s) else Status.FAIL,
            severity=control.severity,
            summary=f"{DATA_REVISION} -> head over {rows['notes']:,} notes of {rows['tenants']:,} tenants: "
            f"median {upgrade_s:.3f} s ({rounds} rounds); rollback {downgrade_s:.3f} s",
            measured={
                "migration_seconds": upgrade_s,
                "rollback_seconds": downgrade_s,
                "rounds": rounds,
                "rows": rows,
            },
        )
    )
    print(f"result record written to {writer.path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--notes", type=int, default=1000, help="notes per tenant")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--results-dir", type=Path, help="write an OPS-MAINTENANCE-WINDOW record here")
    args = parser.parse_args()

    with superuser_dsn() as admin:
        passwords = database.bootstrap_roles(admin)
        names = [f"mw_empty_{uuid.uuid4().hex[:8]}", f"mw_{uuid.uuid4().hex[:8]}"]
        empty = database.create_database(admin, names[0], passwords)
        create_s = timed(lambda: database.upgrade(empty.owner))
        urls = database.create_database(admin, names[1], passwords)
        database.upgrade(urls.owner)
        started = time.perf_counter()
        populate(urls.platform, args.tenants, args.notes)
        rows = row_counts(urls.platform)
        print(f"seeded {rows} in {time.perf_counter() - started:.1f} s")

        downgrades, upgrades = [], []
        for round_number in range(1, args.rounds + 1):
            downgrades.append(timed(lambda: database.downgrade(urls.owner, DATA_REVISION)))
            upgrades.append(timed(lambda: database.upgrade(urls.owner)))
            if (after := row_counts(urls.platform)) != rows:
                raise SystemExit(f"round {round_number}: rows changed across rollback and upgrade: {rows} -> {after}")
        upgrade_s, downgrade_s = statistics.median(upgrades), statistics.median(downgrades)
        print(f"base -> head, empty database: {create_s:.3f} s")
        for label, median, runs in (
            (f"head -> {DATA_REVISION} (rollback), populated:", downgrade_s, downgrades),
            (f"{DATA_REVISION} -> head, populated:", upgrade_s, upgrades),
        ):
            print(f"{label:<36} median {median:.3f} s  all {[round(x, 3) for x in runs]}")
        print("row counts unchanged after every round")
        for name in names:
            database.drop_database(admin, name)
    if args.results_dir is not None:
        record(args.results_dir, upgrade_s, downgrade_s, args.rounds, rows)


if __name__ == "__main__":
    main()
