from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from chaekieum.server import create_app
from chaekieum.services import demo
from chaekieum.services.hub import Hub

from .apiclient import LibraryClient


@pytest.fixture
def client(any_hub: Hub) -> Iterator[TestClient]:
    """The REST API over the demo hub, on SQLite and on PostgreSQL."""
    with TestClient(create_app(any_hub, with_web=False), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def libs(client: TestClient) -> dict[str, LibraryClient]:
    return {code: LibraryClient(client, code) for code, *_ in demo.LIBRARIES}


@pytest.fixture
def members(any_hub: Hub) -> list[str]:
    return [m["number"] for m in demo.info(any_hub)["members"]]


@pytest.fixture
def admin(client: TestClient, any_hub: Hub) -> LibraryClient:
    """A national-admin API client (a key issued for the test)."""
    from chaekieum.services.context import SYSTEM

    key = any_hub.credentials.create_api_key(SYSTEM, "national", "", "test admin")["api_key"]
    admin = LibraryClient(client, "")
    admin.headers = {"Authorization": f"Bearer {key}"}
    return admin
