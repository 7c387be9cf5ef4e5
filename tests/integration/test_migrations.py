"""The Alembic migrations build exactly the schema that store/tables.py describes, on
SQLite and on PostgreSQL (the services query through tables.py; the schema exists only
through migrations)."""

from __future__ import annotations

import json
from datetime import datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert, select

from chaekieum.store.migrate import alembic_config, upgrade
from chaekieum.store.tables import metadata, onboarding_reports


def test_migrated_schema_matches_the_table_definitions(any_hub) -> None:
    with any_hub.db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_latest_migration_downgrades_and_upgrades_again(any_hub) -> None:
    any_hub.db.dispose()
    command.downgrade(alembic_config(any_hub.db.url), "-1")
    upgrade(any_hub.db.url)
    with any_hub.db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_report_not_applicable_is_taken_from_reports_uploaded_before(any_hub) -> None:
    """Migration report_not_applicable_1 fills the new count from each stored report's JSON."""
    at = datetime(2026, 12, 1, 9, 0)
    summary = {"passed": 29, "failed": 0, "skipped": 0, "not_applicable": 2, "result": "pass"}
    with any_hub.db.write() as conn:
        conn.execute(insert(onboarding_reports).values(
            library_code="141099", schema="chaekieum-conformance/2", result="pass",
            finished_at=at, passed=29, failed=0, skipped=0, not_applicable=2,
            report=json.dumps({"summary": summary}), uploaded_at=at, actor="test"))
    any_hub.db.dispose()
    command.downgrade(alembic_config(any_hub.db.url), "vendors_1")
    upgrade(any_hub.db.url)
    with any_hub.db.engine.connect() as conn:
        assert conn.execute(select(onboarding_reports.c.not_applicable)).scalars().all() == [2]
