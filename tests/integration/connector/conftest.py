"""Fixtures for the connector's adapters: throw-away MariaDB and PostgreSQL databases."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

MARIADB_URL = os.environ.get("CHAEKIEUM_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306")


def _mariadb_admin() -> sa.Engine:
    return sa.create_engine(MARIADB_URL + "/", isolation_level="AUTOCOMMIT")


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    """A throw-away MariaDB database (CI starts the server; locally a skip if it is down)."""
    admin = _mariadb_admin()
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa.exc.OperationalError as exc:
        admin.dispose()
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the MariaDB tests (server at {MARIADB_URL}): {exc}")
        pytest.skip("MariaDB is not running at " + MARIADB_URL)
    name = f"ck_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield f"{MARIADB_URL}/{name}?charset=utf8mb4"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        admin.dispose()
