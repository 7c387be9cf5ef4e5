"""``webhook``: the hub's events are pushed to the library system as signed HTTP POSTs.

Each event is one ``POST`` of a JSON body ``{"position", "kind", "payload",
"created_at"}`` to the configured ``url`` with these headers:

``X-Chaekieum-Timestamp``   Unix seconds when the request was signed
``X-Chaekieum-Signature``   ``v1=`` + hex HMAC-SHA256(secret, timestamp + "." + body)
``X-Chaekieum-Position``    the event's feed position (also ``Idempotency-Key``)

Any 2xx acknowledges the event. Anything else (a refused connection, a timeout, a 3xx,
4xx or 5xx) raises ``DeliveryFailed``: the core delivers the SAME event again and no later
one before it is acknowledged, so events arrive strictly in order, at least once; a
receiver that already has the position answers 2xx again (the position is the
idempotency key). Retries back off exponentially (``backoff_initial`` doubling up to
``backoff_max`` seconds): the wait is taken at the start of the next ``deliver``, so the
backoff holds however quickly the core calls back.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx

from chaekieum.connector.adapters.base import (
    Adapter,
    Capability,
    ConfigError,
    Delivery,
    DeliveryFailed,
)

log = logging.getLogger("chaekieum.connector.adapters.webhook")

SIGNATURE_HEADER = "X-Chaekieum-Signature"
TIMESTAMP_HEADER = "X-Chaekieum-Timestamp"
POSITION_HEADER = "X-Chaekieum-Position"
SIGNATURE_VERSION = "v1"
MIN_SECRET_LENGTH = 16
OPTIONS = frozenset({"url", "secret", "timeout", "backoff_initial", "backoff_max"})


def sign(secret: str | bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Chaekieum-Signature`` value for ``body`` signed at ``timestamp``."""
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={digest.hexdigest()}"


def verify(secret: str | bytes, timestamp: str, body: bytes, signature: str, *,
           tolerance: float = 300.0, now: float | None = None) -> bool:
    """Receiver side: True when ``signature`` is ours for this body and the timestamp is
    within ``tolerance`` seconds (a captured request cannot be replayed later)."""
    try:
        stamp = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - stamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature or "")


def _number(options: Mapping[str, Any], key: str, default: float, low: float, high: float,
            problems: list[str]) -> float:
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        problems.append(f"webhook: {key} must be a number of seconds from {low} to {high}")
        return default
    return float(value)


class WebhookAdapter(Adapter):
    name: ClassVar[str] = "webhook"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.EVENTS})

    def __init__(self, options: Mapping[str, Any], *,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(options)
        problems = [f"webhook: unknown option {k!r}" for k in sorted(set(self.options) - OPTIONS)]
        url = self.options.get("url")
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append("webhook: url must be an http:// or https:// address of the "
                            "library system's receiver")
        secret = self.options.get("secret")
        if not isinstance(secret, str) or len(secret) < MIN_SECRET_LENGTH:
            problems.append(f"webhook: secret must be at least {MIN_SECRET_LENGTH} characters "
                            f"(shared with the receiver, which checks the signature)")
        self.timeout = _number(self.options, "timeout", 10.0, 0.1, 120.0, problems)
        self.backoff_initial = _number(self.options, "backoff_initial", 1.0, 0.01, 60.0,
                                       problems)
        self.backoff_max = _number(self.options, "backoff_max", 300.0, 0.01, 3600.0, problems)
        if problems:
            raise ConfigError(problems)
        self.url = str(url)
        self._secret = str(secret).encode()
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._backoff = 0.0  # the wait before the next attempt; 0 after a success
        self._retry_at = 0.0  # monotonic time before which no attempt is made
        self.failures = 0  # consecutive failed attempts (for status/metrics)

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self.timeout, transport=self._transport,
                                         follow_redirects=False)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _request(self, event: Delivery) -> tuple[bytes, dict[str, str]]:
        body = json.dumps({"position": event.position, "kind": event.kind,
                           "payload": event.payload, "created_at": event.created_at},
                          ensure_ascii=False, separators=(",", ":")).encode()
        stamp = str(int(time.time()))
        return body, {
            "Content-Type": "application/json; charset=utf-8",
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: sign(self._secret, stamp, body),
            POSITION_HEADER: str(event.position),
            "Idempotency-Key": f"chaekieum-event-{event.position}",
            "User-Agent": "chaekieum-connector",
        }

    async def deliver(self, event: Delivery) -> None:
        if self._client is None:
            raise RuntimeError("webhook: start() was not called")
        wait = self._retry_at - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        body, headers = self._request(event)
        try:
            response = await self._client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            self._failed(event, f"{type(exc).__name__}")
            raise DeliveryFailed(f"webhook: event {event.position} not delivered "
                                 f"({type(exc).__name__})") from exc
        if not response.is_success:
            self._failed(event, f"HTTP {response.status_code}")
            raise DeliveryFailed(f"webhook: event {event.position} refused with HTTP "
                                 f"{response.status_code}")
        if self.failures:
            log.info("webhook: event %s delivered after %d failed attempts", event.position,
                     self.failures)
        self.failures = 0
        self._backoff = 0.0
        self._retry_at = 0.0

    def _failed(self, event: Delivery, why: str) -> None:
        self.failures += 1
        self._backoff = min(self.backoff_max, max(self.backoff_initial, self._backoff * 2))
        self._retry_at = time.monotonic() + self._backoff
        level = logging.WARNING if self.failures in (1, 10) or self.failures % 100 == 0 \
            else logging.DEBUG
        log.log(level, "webhook: event %s to %s failed (%s, attempt %d); retrying in %.1fs",
                event.position, self.url, why, self.failures, self._backoff)
