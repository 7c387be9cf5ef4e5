"""What the conformance kit (docs/conformance.md) needs from a running connector, beyond
the local API: a way to take the uplink down for a moment, and a way to ask an adapter
whether an event reached the library system.

- ``Uplink``: the HTTP transport of the connector's hub client. Switched down, every
  request to the hub fails as a refused connection would, so the whole connector (local
  API, kiosks, replay, snapshot, feed) behaves exactly as in a real outage.
- ``POST /connector/acceptance/uplink`` ``{"state": "down", "seconds": 60}`` switches
  it (``{"state": "up"}`` back). It needs a device token, the config setting
  ``acceptance_switches = true`` (off by default) and a conformance run in progress:
  the library's sandbox at the hub must hold test members. It ends by itself after
  ``seconds`` (at most 300). Before going down the connector refreshes its snapshot, so
  the members the run just created are known offline.
- ``GET /connector/adapters`` lists the adapters with their feed cursor, and
  ``GET /connector/adapters/{name}/events/{position}`` says whether the adapter's feed
  cursor passed that event and what the library system holds for it
  (``Adapter.stored_event``), read back from the library system itself.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..client import Call, TransportError
from ..domain.errors import Code
from .adapters import Capability

if TYPE_CHECKING:
    from .daemon import Connector

log = logging.getLogger("chaekieum.connector")

MAX_DOWN = 300  # seconds a switched-off uplink stays down at most


class Uplink(httpx.AsyncBaseTransport):
    """The hub client's transport, with a switch that makes the hub unreachable."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.inner = inner or httpx.AsyncHTTPTransport()
        self.down_until = 0.0

    @property
    def down(self) -> bool:
        return time.monotonic() < self.down_until

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("uplink switched off for a conformance run",
                                     request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def routes(connector: Connector) -> list[Route]:
    from .daemon import _json, _lang, error_body

    def refuse(request: Request, status: int, code: Code, **details: Any) -> Response:
        return _json(error_body(code, _lang(request), **details), status)

    async def uplink(request: Request) -> Response:
        device = connector.authenticate(request)
        if isinstance(device, Response):
            return device
        if not connector.config.acceptance_switches:
            return refuse(request, 403, Code.FORBIDDEN,
                          problem="acceptance_switches = true is not set in connector.toml")
        try:
            body = await request.json()
            state = body["state"]
            seconds = body.get("seconds", 60)
            if state not in ("up", "down") or isinstance(seconds, bool) or not (
                    isinstance(seconds, int | float) and 1 <= seconds <= MAX_DOWN):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            return refuse(request, 422, Code.VALIDATION_ERROR,
                          problem=f'{{"state": "down"|"up", "seconds": 1..{MAX_DOWN}}}')
        if state == "up":
            connector.uplink.down_until = 0.0
            connector.uplink_restored()
            log.warning("uplink switched on again by %s", device)
            return _json({"uplink": "up"})
        sandbox = await connector._send(Call("GET", "/sandbox"))
        if isinstance(sandbox, TransportError) or sandbox.status >= 500:
            return refuse(request, 503, Code.HUB_UNREACHABLE)
        if sandbox.status != 200 or not (sandbox.json() or {}).get("members"):
            return refuse(request, 409, Code.FORBIDDEN,
                          problem="only during a conformance run (the sandbox holds no "
                                  "test members)")
        try:  # go down knowing what the hub knows now (the run's new test members)
            await connector.refresh_snapshot(None)
        except Exception as exc:  # noqa: BLE001 - the switch works without it
            log.info("snapshot refresh before the switch failed: %s", exc)
        connector.uplink.down_until = time.monotonic() + float(seconds)
        log.warning("uplink switched off for %gs by %s (conformance run)", seconds, device)
        return _json({"uplink": "down", "seconds": seconds})

    async def adapters(request: Request) -> Response:
        device = connector.authenticate(request)
        if isinstance(device, Response):
            return device
        return _json({"adapters": [
            {"name": name, "type": adapter.name,
             "capabilities": sorted(str(c) for c in adapter.capabilities),
             "events_cursor": connector.store.cursor(f"adapter:{name}")
             if Capability.EVENTS in adapter.capabilities else None}
            for name, adapter in connector.config.adapters]})

    async def adapter_event(request: Request) -> Response:
        device = connector.authenticate(request)
        if isinstance(device, Response):
            return device
        name = request.path_params["name"]
        adapter = dict(connector.config.adapters).get(name)
        if adapter is None or Capability.EVENTS not in adapter.capabilities:
            return refuse(request, 404, Code.NOT_FOUND, adapter=name[:40])
        position = request.path_params["position"]
        cursor = connector.store.cursor(f"adapter:{name}")
        answer: dict[str, Any] = {"adapter": name, "position": position, "cursor": cursor,
                                  "passed": cursor >= position, "checkable": True,
                                  "stored": None}
        try:
            answer["stored"] = await adapter.stored_event(position)
        except NotImplementedError:
            answer["checkable"] = False
        except Exception as exc:  # noqa: BLE001 - the library system may be down
            log.info("adapter %s: stored_event(%d) failed: %s", name, position, exc)
            return refuse(request, 503, Code.SERVICE_UNAVAILABLE,
                          problem=f"adapter {name}: {type(exc).__name__}")
        return _json(answer)

    return [
        Route("/connector/acceptance/uplink", uplink, methods=["POST"]),
        Route("/connector/adapters", adapters),
        Route("/connector/adapters/{name}/events/{position:int}", adapter_event),
    ]
