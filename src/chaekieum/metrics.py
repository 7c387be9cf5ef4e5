"""Prometheus metrics of the hub (prometheus-client), for every adapter and every worker.

Several worker processes (`chaekieum.workers`, `serve --workers N`) each write their
samples to files under `PROMETHEUS_MULTIPROC_DIR`, and `/metrics` merges them
(prometheus-client's multiprocess mode); `workers.run` sets the directory up before the
processes start. In a single process the default registry is served directly.

Labels hold route templates, SIP2 message codes and refusal codes, never a member number,
barcode or other personal value, so the label sets stay small and nothing personal leaves.
"""

from __future__ import annotations

import ipaddress
import os
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_LATENCY = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

HTTP_REQUESTS = Counter("chaekieum_http_requests_total", "HTTP requests answered",
                        ["method", "route", "status"])
HTTP_SECONDS = Histogram("chaekieum_http_request_seconds", "HTTP request latency",
                         ["method", "route"], buckets=_LATENCY)
REFUSALS = Counter("chaekieum_refusals_total", "Refusals by stable code and channel",
                   ["code", "channel"])
SIP2_SESSIONS = Gauge("chaekieum_sip2_sessions", "Open SIP2 sessions",
                      multiprocess_mode="livesum")
SIP2_SECONDS = Histogram("chaekieum_sip2_message_seconds",
                         "SIP2 request handling time by message code", ["message"],
                         buckets=_LATENCY)
DB_POOL_IN_USE = Gauge("chaekieum_db_pool_connections_in_use",
                       "Database connections checked out of the pool",
                       multiprocess_mode="livesum")
FEED_LAG = Histogram("chaekieum_feed_delivery_lag_seconds",
                     "Age of the oldest event in each change-feed page delivered",
                     buckets=(0.1, 0.5, 1, 5, 15, 30, 60, 300, 900, 3600, 86400))

Asgi = Callable[[MutableMapping[str, Any], Callable, Callable], Awaitable[None]]


def refused(code: str, channel: str) -> None:
    REFUSALS.labels(str(code), channel).inc()


def feed_delivered(oldest_created_at: float | None) -> None:
    """A feed page went out; `oldest_created_at`: Unix time of its first event."""
    if oldest_created_at is not None:
        FEED_LAG.observe(max(0.0, time.time() - oldest_created_at))


def route_template(scope: MutableMapping[str, Any]) -> str:
    """The matched route as a template (`/api/v1/members/{ref}/loans`): the request path
    with each path parameter's value put back as its name; `unmatched` for a 404."""
    if scope.get("route") is None:
        return "unmatched"
    path = scope.get("path", "")
    for name, value in (scope.get("path_params") or {}).items():
        text = str(value)
        if text:
            path = path.replace("/" + text, "/{" + name + "}", 1)
    return path


class HttpMetrics:
    """ASGI middleware: count and time every HTTP request by route template."""

    def __init__(self, app: Asgi) -> None:
        self.app = app
        # (method, route template, status) -> its counter and histogram; bounded like
        # the label sets themselves (route templates, never raw paths)
        self.series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: MutableMapping[str, Any], receive: Callable,
                       send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def sending(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            key = (scope.get("method", ""), route_template(scope), status)
            series = self.series.get(key)
            if series is None:  # the labelled children, looked up once per label set
                series = self.series[key] = (HTTP_REQUESTS.labels(key[0], key[1], str(status)),
                                             HTTP_SECONDS.labels(key[0], key[1]))
            series[0].inc()
            series[1].observe(time.perf_counter() - start)


def exposition() -> tuple[bytes, str]:
    """The text format of every metric (merged over worker processes if several)."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


def allowed(client: str | None, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]
            ) -> bool:
    if client is None:
        return False
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return False
    return any(address in net for net in networks)


def parse_networks(spec: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """`--metrics-allow-ips`: comma-separated addresses or networks."""
    return [ipaddress.ip_network(part.strip(), strict=False)
            for part in spec.split(",") if part.strip()]
