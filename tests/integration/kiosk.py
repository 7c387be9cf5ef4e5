"""A SIP2 kiosk signed in to one demo library of a hub, for tests that check a refusal there."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from chaekieum.services.hub import Hub
from chaekieum.sip2.client import Sip2Client
from chaekieum.sip2.client import raw_frame as sip
from chaekieum.sip2.codec import decode_response
from chaekieum.sip2.hub_backend import HubBackend
from chaekieum.sip2.server import BackgroundServer


@contextmanager
def kiosk_at(hub: Hub, library: str) -> Iterator[Callable[[str], object]]:
    """Log in as the library's demo kiosk; yield a function that sends one frame and decodes
    the reply. Every frame gets a new sequence number, so none is taken for a resend."""
    with BackgroundServer(HubBackend(hub)) as server, Sip2Client(port=server.port, timeout=10) as c:
        c.send_raw(sip(f"9300CNkiosk-{library}|COkiosk-pass-{library}|CPentrance|"))
        assert decode_response(c.read_line(), "utf-8").fixed["ok"] == "1"
        seq = itertools.count(1)

        def send(frame: str) -> object:
            c.send_raw(sip(frame, next(seq) % 10))
            return decode_response(c.read_line(), "utf-8")

        yield send
