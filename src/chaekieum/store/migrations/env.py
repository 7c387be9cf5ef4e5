"""Alembic environment: the only way the schema is created or changed."""

from __future__ import annotations

from alembic import context

from chaekieum.store.db import Database
from chaekieum.store.tables import metadata

config = context.config


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    db = Database(config.get_main_option("sqlalchemy.url"), pool_size=1)
    try:
        with db.engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        db.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
