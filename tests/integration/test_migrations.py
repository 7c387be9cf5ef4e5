"""The Alembic migrations build exactly the schema that store/tables.py describes, on
SQLite and on PostgreSQL (the services query through tables.py; the schema exists only
through migrations)."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from chaekieum.store.migrate import alembic_config, upgrade
from chaekieum.store.tables import metadata


def test_migrated_schema_matches_the_table_definitions(any_hub) -> None:
    with any_hub.db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_latest_migration_downgrades_and_upgrades_again(any_hub) -> None:
    any_hub.db.dispose()
    command.downgrade(alembic_config(any_hub.db.url), "-1")
    upgrade(any_hub.db.url)
    with any_hub.db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
