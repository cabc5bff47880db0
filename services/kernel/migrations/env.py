"""Alembic environment shared by every service: kernel branch + the service's own branch."""
from alembic import context
from sqlalchemy import create_engine, text

config = context.config
MIGRATION_LOCK = 7_206_111  # pg advisory lock id: concurrent starters wait, then find nothing to do


def run_migrations_online():
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        with connection.begin():
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
            context.configure(connection=connection, target_metadata=None, transaction_per_migration=False)
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
