"""A tiny test client that speaks for one demo library at a time."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from chaekieum.services import demo


def library_key(code: str) -> str:
    key_id, secret = demo.api_key_secret(code)
    return f"ck_{key_id}_{secret}"


class LibraryClient:
    def __init__(self, client: TestClient, code: str):
        self.client = client
        self.code = code
        self.headers = {"Authorization": f"Bearer {library_key(code)}"}

    def item(self, n: int, owner: str | None = None) -> str:
        return f"${owner or self.code}EM{n:010d}"

    def post(self, path: str, body: Any = None, **headers: str):  # noqa: ANN201
        return self.client.post(f"/api/v1{path}", json=body, headers={**self.headers, **headers})

    def get(self, path: str, **params: Any):  # noqa: ANN201
        return self.client.get(f"/api/v1{path}", params=params, headers=self.headers)

    def checkout(self, member: str, item: str, **extra: Any):  # noqa: ANN201
        return self.post("/circulation/checkout", {"member": member, "item": item, **extra})

    def checkin(self, item: str, **extra: Any):  # noqa: ANN201
        return self.post("/circulation/checkin", {"item": item, **extra})
