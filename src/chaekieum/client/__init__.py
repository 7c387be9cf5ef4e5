"""Chaekieum client SDK: a typed client for the hub's REST API v1 (docs/client.md).

Imports only httpx and the standard library (an import-linter contract keeps it so), so
a library-system vendor can use it without installing the server's dependencies.
"""

from . import errors
from .api import (
    AsyncHubClient,
    Call,
    CirculationResult,
    Event,
    EventPage,
    HubClient,
    Loan,
    Raw,
    RetryPolicy,
    new_key,
)
from .errors import (
    ERRORS,
    ClientError,
    ConnectionFailed,
    HubError,
    HubTimeout,
    TransportError,
    error_from,
)

__all__ = ["ERRORS", "AsyncHubClient", "Call", "CirculationResult", "ClientError", "Event",
           "EventPage", "HubClient", "HubError", "HubTimeout", "ConnectionFailed", "Loan", "Raw",
           "RetryPolicy", "TransportError", "error_from", "errors", "new_key"]
