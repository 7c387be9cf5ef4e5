"""Read-only facts the SIP2 replies need and no use case returns as such: a patron's
status flags (what 24/64 show before any transaction) and an item's circulation status
(17/18). The backend computes them (at the hub from its database, at a connector from
the hub's API); writes always go through the backend's circulation calls.
"""

from __future__ import annotations

from ..backend import ItemFacts, PatronFacts
from .common import Context

__all__ = ["ItemFacts", "PatronFacts", "item", "patron"]


def patron(ctx: Context, ref: str) -> PatronFacts:
    """Raises DomainError (MEMBER_UNKNOWN, INVALID_MEMBER_NUMBER) like the services."""
    return ctx.backend.patron_facts(ctx.actor, ctx.library_code, ref)


def item(ctx: Context, scanned: str) -> ItemFacts | None:
    """None when the barcode is unreadable, the copy unknown or outside the kiosk's
    reach (a real copy before pilot: domain/sandbox.py)."""
    return ctx.backend.item_facts(ctx.actor, ctx.library_code, scanned)
