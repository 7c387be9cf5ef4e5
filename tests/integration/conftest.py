from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from chaekieum.server import create_app
from chaekieum.services import demo
from chaekieum.services.hub import Hub

from .apiclient import LibraryClient


@pytest.fixture
def client(hub: Hub) -> Iterator[TestClient]:
    with TestClient(create_app(hub, with_web=False), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def libs(client: TestClient) -> dict[str, LibraryClient]:
    return {code: LibraryClient(client, code) for code, *_ in demo.LIBRARIES}


@pytest.fixture
def members(hub: Hub) -> list[str]:
    return [m["number"] for m in demo.info(hub)["members"]]


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {}
