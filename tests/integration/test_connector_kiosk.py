"""A kiosk at the library talks SIP2 to the connector process (config ``sip2_listen``):
online its loans reach the hub at once; while the hub is unreachable they are accepted
locally, queued and replayed, each exactly once."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaekieum.connector.sip2 import OFFLINE_ACCEPTED
from chaekieum.sip2.client import Sip2Client

from ..conftest import free_port
from .connector_procs import (
    DESK_TOKEN,
    LIBRARY,
    ConnectorProcess,
    demo_hub_db,
    hub_rows,
    start_hub,
    write_config,
)
from .netproxy import FaultProxy


@pytest.fixture
def setup(tmp_path: Path, hub):  # noqa: ANN001, ANN201
    url, numbers = demo_hub_db(hub)
    hub = start_hub(url)
    proxy = FaultProxy(hub.port).start()
    port, sip2_port = free_port(), free_port()
    config = write_config(tmp_path / "connector.toml", proxy.url, tmp_path / "data", port,
                          forward_timeout=1.0, snapshot_interval=1, poll_interval=0.2,
                          sip2_listen=f"127.0.0.1:{sip2_port}")
    connector = ConnectorProcess(config, port).start()
    connector.wait_snapshot()
    yield proxy, connector, sip2_port, numbers, url
    connector.stop()
    proxy.stop()
    hub.stop()


def test_a_kiosk_lends_through_the_connector_online_and_offline(setup) -> None:  # noqa: ANN001
    proxy, connector, sip2_port, numbers, url = setup
    member = numbers[0]
    with Sip2Client(port=sip2_port, timeout=20) as kiosk:
        assert not kiosk.login("desk-1", "not-the-token-000000")
    with Sip2Client(port=sip2_port, timeout=20) as kiosk:
        assert kiosk.login("desk-1", DESK_TOKEN, "1층 무인대출반납기")
        online = kiosk.checkout(member, "$111001EM0000000001")
        assert online.fixed["ok"] == "1" and online.get("AH"), online.all("AF")
        assert OFFLINE_ACCEPTED not in online.all("AF")

        proxy.set_mode(FaultProxy.REFUSE)  # the hub is unreachable
        frame = kiosk.checkout_frame(member, "$111001EM0000000002")
        offline = kiosk.request(frame)
        assert offline.fixed["ok"] == "1", offline.raw
        assert offline.get("AH") and OFFLINE_ACCEPTED in offline.all("AF")
        assert kiosk.request(frame).raw == offline.raw  # a resend: same answer, queued once
        back = kiosk.checkin("$111001EM0000000001")
        assert back.fixed["ok"] == "1" and OFFLINE_ACCEPTED in back.all("AF")
        assert kiosk.patron_info(member).get("BL") == "Y"  # answered without the hub
        assert connector.status()["queue_depth"] == 2

        proxy.set_mode(FaultProxy.FORWARD)
        assert connector.wait_drained(60)["open_exceptions"] == []
    rows = hub_rows(url, "SELECT c.reg_no, l.state, l.offline FROM loans l "
                         "JOIN copies c ON c.id = l.copy_id WHERE l.library_code = :lib "
                         "ORDER BY l.id", lib=LIBRARY)
    assert [(r[0], r[1], bool(r[2])) for r in rows] == [
        ("EM0000000001", "returned", False), ("EM0000000002", "active", True)]


def test_sip2_listen_is_checked_with_the_rest_of_the_config(tmp_path: Path) -> None:
    from chaekieum.connector.config import ConfigProblems, parse

    raw = {"hub_url": "http://hub", "library": LIBRARY, "api_key": "ck_a_b",
           "listen": "127.0.0.1:8700", "data_dir": str(tmp_path)}
    assert parse(raw | {"sip2_listen": "0.0.0.0:6001"}).sip2_port == 6001
    assert parse(raw).sip2_port == 0  # no kiosks unless asked
    for bad in ("6001", "127.0.0.1:8700", 6001):
        with pytest.raises(ConfigProblems) as caught:
            parse(raw | {"sip2_listen": bad})
        assert [p for p in caught.value.problems if p.startswith("sip2_listen:")]
