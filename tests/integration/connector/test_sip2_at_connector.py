"""A kiosk pointed at the connector's SIP2 port: the project's own SIP2 server and
handlers, with the connector backend, against a real hub over HTTP.

``HubOverHttp`` plays the connector's write path (``LocalWrites``) and hub reads
(``HubReads``) as the simplest core would: forward to the hub's /api/v1 with the library's
API key, and say "unreachable" when the hub does not answer.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

import httpx
import pytest

from chaekieum.connector.sip2 import ConnectorBackend, StaticDevices
from chaekieum.services import demo
from chaekieum.sip2.client import Sip2Client
from chaekieum.sip2.codec import verify_checksum
from chaekieum.sip2.server import BackgroundServer

from ...conftest import T0, free_port
from ..apiclient import library_key

PATHS = {"checkout": "/circulation/checkout", "checkin": "/circulation/checkin",
         "renew": "/circulation/renew", "member_register": "/members"}
TOKEN = "kiosk-local-token-0123456789"


class HubOverHttp:
    def __init__(self, url: str, library: str) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {library_key(library)}"}
        self.writes: list[tuple[str, dict, str, str]] = []

    async def write(self, kind: str, body: dict[str, Any], *, origin: str, key: str,
                    lang: str = "ko", channel: str | None = None,
                    ) -> tuple[int, bytes | dict[str, Any]]:
        self.writes.append((kind, body, origin, key))
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                r = await client.post(f"{self.url}/api/v1{PATHS[kind]}", json=body,
                                      headers={**self.headers, "Idempotency-Key": key})
        except httpx.HTTPError:
            return 503, {"code": "SERVICE_UNAVAILABLE", "message": "", "details": {},
                         "reasons": []}
        return r.status_code, r.content

    async def get(self, path: str) -> tuple[int, Any] | None:
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                r = await client.get(f"{self.url}/api/v1{path}", headers=self.headers)
        except httpx.HTTPError:
            return None
        return r.status_code, r.json()


@pytest.fixture
def kiosk_port(live_server):  # noqa: ANN001, ANN201
    hub = HubOverHttp(live_server.url, "111001")
    backend = ConnectorBackend(hub, hub, "111001", StaticDevices({"kiosk-1": TOKEN}), None,
                               library_name="서울도서관",
                               clock=lambda: T0.replace(tzinfo=UTC))
    server = BackgroundServer(backend)
    backend.loop = server.loop  # the connector's loop runs the server and its writes
    with server:
        live_server.connector = hub  # type: ignore[attr-defined]
        yield server.port


def test_a_kiosk_session_through_the_connector(live_server, kiosk_port) -> None:  # noqa: ANN001
    hub = live_server.hub
    number = demo.info(hub)["members"][0]["number"]
    item = "$111001EM0000000001"
    with Sip2Client(port=kiosk_port, timeout=15) as kiosk:
        assert not kiosk.login("kiosk-1", "wrong-token-0000000000")
    with Sip2Client(port=kiosk_port, timeout=15) as kiosk:
        assert not kiosk.login("kiosk-111001", "kiosk-pass-111001")  # hub accounts: no
    with Sip2Client(port=kiosk_port, timeout=15) as kiosk:
        assert kiosk.login("kiosk-1", TOKEN, "1층 무인대출반납기")
        status = kiosk.status()
        assert status.fixed["online_status"] == "Y" and status.fixed["checkout_ok"] == "Y"
        assert status.get("AM") == "서울도서관"

        patron = kiosk.patron_info(number)
        assert patron.get("BL") == "Y" and patron.get("AE") == "김하늘"
        assert patron.fixed["patron_status"][0] == " "  # charge not denied

        frame = kiosk.checkout_frame(number, item)
        lent = kiosk.request(frame)
        assert lent.fixed["ok"] == "1" and verify_checksum(lent.raw)
        assert lent.get("AH") == "20260318    235959"
        again = kiosk.request(frame)  # the kiosk resends (no reply seen): same answer
        assert again.raw == lent.raw

        info = kiosk.item_info(item)
        assert info.fixed["circulation_status"] == "04"  # charged
        assert kiosk.patron_info(number).fixed["charged_items_count"] == "0001"

        back = kiosk.checkin(item)
        assert back.fixed["ok"] == "1"

        refused = kiosk.checkout(number, "$111001EM9999999999")  # unknown copy: refused
        assert refused.fixed["ok"] == "0" and refused.get("AF")

    loans = hub.members.loans(demo.SYSTEM, number, include_returned=True)
    assert [(loan["item"], loan["state"]) for loan in loans] == [(item, "returned")]
    kinds = [w[0] for w in live_server.connector.writes]
    assert kinds == ["checkout", "checkin", "checkout"]
    assert all(w[2] == "sip2:kiosk-1" and w[3].startswith("sip2:kiosk-1:")
               for w in live_server.connector.writes)


def test_the_kiosk_keeps_answering_when_the_hub_does_not(live_server, kiosk_port) -> None:  # noqa: ANN001
    number = demo.info(live_server.hub)["members"][0]["number"]
    live_server.connector.url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with Sip2Client(port=kiosk_port, timeout=15) as kiosk:
        assert kiosk.login("kiosk-1", TOKEN)
        patron = kiosk.patron_info(number)  # from what the connector knows: no hub call
        assert patron.get("BL") == "Y" and patron.get("AF")
        # This write path cannot queue, so the kiosk gets a proper refusal, not a hang.
        refused = kiosk.checkout(number, "$111001EM0000000001")
        assert refused.fixed["ok"] == "0" and refused.get("AF")
        assert kiosk.status().fixed["online_status"] == "Y"  # the connector itself is up


def test_item_information_before_pilot_at_the_connector(live_server) -> None:  # noqa: ANN001
    """A connector of a library still building forwards 17 with the library's key: the hub
    answers a real copy as out of that key's reach, so the kiosk sees an unknown item, as
    at the hub's own kiosk port (tests/integration/test_sandbox_reach.py); the library's
    sandbox copy answers normally."""
    from chaekieum.domain.errors import Code, message
    from chaekieum.services.context import Actor, Role

    code = "141099"  # 경기 새내기작은도서관, at `building`
    hub = HubOverHttp(live_server.url, code)
    backend = ConnectorBackend(hub, hub, code, StaticDevices({"kiosk-1": TOKEN}), None,
                               library_name="경기 새내기작은도서관",
                               clock=lambda: T0.replace(tzinfo=UTC))
    made = live_server.hub.sandbox.create(Actor(Role.LIBRARY_SYSTEM, f"key:{code}", "api",
                                                library_code=code), 1, 1)
    server = BackgroundServer(backend)
    backend.loop = server.loop
    with server, Sip2Client(port=server.port, timeout=15) as kiosk:
        assert kiosk.login("kiosk-1", TOKEN)
        real = kiosk.item_info("$111001EM0000000001")
        assert real.fixed["circulation_status"] == "01" and real.get("AJ") == ""
        assert not real.all("AQ") and real.all("AF") == [message(Code.COPY_UNKNOWN, "ko")]
        own = kiosk.item_info(made["copies"][0]["item"])
        assert own.fixed["circulation_status"] == "03"
        assert own.get("AJ") == made["copies"][0]["title"] and own.get("AQ") == code
