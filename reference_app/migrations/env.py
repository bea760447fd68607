"""Alembic environment: migrations run as the owner role, with plain SQL (no ORM models)."""

from alembic import context
from sqlalchemy import create_engine, pool

from reference_app.database import sqlalchemy_url

dsn = context.config.attributes.get("dsn") or context.get_x_argument(as_dictionary=True).get("dsn")
if not dsn:
    raise SystemExit("no database: pass -x dsn=postgresql://owner@host/db or use `tenantprobe db migrate`")

engine = create_engine(sqlalchemy_url(dsn), poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
