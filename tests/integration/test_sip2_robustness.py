"""Garbage on the SIP2 port: TLS handshakes, HTTP, binary, oversized frames and
property-based fuzzing through the socket.  Whatever arrives, no exception escapes,
the server stays up and another connection is still answered."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaekieum.sip2.client import Sip2Client
from chaekieum.sip2.client import raw_frame as sip
from chaekieum.sip2.hub_backend import HubBackend
from chaekieum.sip2.server import BackgroundServer

TLS_HELLO = bytes.fromhex("16030100a5010000a10303") + bytes(range(32)) + b"\x00\x00\x02\x13\x01"


@pytest.fixture
def server(hub) -> Iterator[BackgroundServer]:  # noqa: ANN001
    with BackgroundServer(HubBackend(hub)) as s:
        yield s


def still_serving(server: BackgroundServer) -> None:
    with Sip2Client(port=server.port, timeout=10) as c:
        c.send_raw(sip("9300CNkiosk-111001|COkiosk-pass-111001|"))
        assert c.read_line().startswith(b"941")
        c.send_raw(sip("9900302.00", 1))
        assert c.read_line().startswith(b"98Y")


def drain(sock: socket.socket, timeout: float = 0.3) -> bytes:
    sock.settimeout(timeout)
    out = b""
    try:
        while chunk := sock.recv(65536):
            out += chunk
    except (TimeoutError, ConnectionError, OSError):
        pass
    return out


@pytest.mark.parametrize("payload, expect", [
    (TLS_HELLO, b""),
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"HTTP/1.0 400"),
    (b"\x00\x01\x02\xff\xfe binary", b""),
])
def test_garbage_first_bytes_close_only_that_connection(server, caplog, payload, expect):  # noqa: ANN001
    caplog.set_level(logging.INFO, logger="chaekieum.sip2")
    with Sip2Client(port=server.port, timeout=10) as other:  # a kiosk already working
        other.send_raw(sip("9300CNkiosk-111001|COkiosk-pass-111001|"))
        assert other.read_line().startswith(b"941")
        with socket.create_connection(("127.0.0.1", server.port)) as bad:
            bad.sendall(payload)
            got = drain(bad, 2)
        assert got.startswith(expect)
        other.send_raw(sip("9900302.00", 1))
        assert other.read_line().startswith(b"98Y")
    assert any("plain SIP2 port; closing" in r.getMessage() for r in caplog.records)


def test_oversized_frame_drops_the_connection_with_a_log_line(server, caplog):  # noqa: ANN001
    caplog.set_level(logging.INFO, logger="chaekieum.sip2")
    with socket.create_connection(("127.0.0.1", server.port)) as bad:
        bad.sendall(b"63" + b"x" * 200_000)
        drain(bad, 1)
    assert any("dropped" in r.getMessage() for r in caplog.records)
    still_serving(server)


def test_garbage_after_login_is_ignored_then_dropped(server):  # noqa: ANN001
    with Sip2Client(port=server.port, timeout=10) as c:
        c.send_raw(sip("9300CNkiosk-111001|COkiosk-pass-111001|"))
        assert c.read_line().startswith(b"941")
        c.send_raw(b"\x16\x03\x01garbage\r")
        c.send_raw(sip("9900302.00", 1))
        assert c.read_line().startswith(b"98")
        c.send_raw(b"zz\rqq\r\x00\x01\r")
        assert c.read_line() == b""
    still_serving(server)


def test_truncated_fixed_part_asks_for_resend(server):  # noqa: ANN001
    with Sip2Client(port=server.port, timeout=10) as c:
        c.send_raw(sip("9300CNkiosk-111001|COkiosk-pass-111001|"))
        c.read_line()
        c.send_raw(sip("11YN2026", 2))
        assert c.read_line() == b"96AZFEF6"


def test_many_idle_and_half_open_connections_do_not_block_others(server):  # noqa: ANN001
    idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(50)]
    for n, s in enumerate(idle):
        s.sendall(b"9300CNkiosk-111001|CO"[: n % 20])  # half a frame, then nothing
    try:
        still_serving(server)
    finally:
        for s in idle:
            s.close()


_frames = st.one_of(
    st.binary(max_size=600),
    st.lists(st.sampled_from([b"93", b"99", b"23", b"63", b"11", b"09", b"29", b"65", b"17",
                              b"35", b"37", b"01", b"97", b"96", b"15", b"AY", b"AZ", b"|",
                              b"\r", b"\n", b"\r\n", b"AA", b"AB", b"AO", b"CN", b"CO", b"0",
                              b"Y", b"N", b" " * 18, b"20260304    100000", b"FFFF",
                              "김".encode(), "김".encode("euc-kr"), b"\xff", b"\x00"]),
             max_size=40).map(b"".join),
)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=_frames, login_first=st.booleans())
def test_fuzz_frames_through_the_socket(server, caplog, payload, login_first):  # noqa: ANN001
    caplog.set_level(logging.WARNING, logger="chaekieum.sip2")
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        if login_first:
            s.sendall(sip("9300CNkiosk-111001|COkiosk-pass-111001|"))
            s.settimeout(10)
            assert s.recv(100).startswith(b"941")
        s.sendall(payload + b"\r")
        drain(s, 0.1)
    # another connection is still answered, and nothing escaped as an error
    with Sip2Client(port=server.port, timeout=10) as c:
        c.send_raw(sip("9900302.00", 1))
        assert c.read_line().startswith(b"98")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [
        r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
