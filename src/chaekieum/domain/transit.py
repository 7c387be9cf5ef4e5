"""타관반납 transit as a state machine: received (반납) -> sent (발송) -> home (복귀)."""

from __future__ import annotations

from enum import StrEnum

from .errors import Code, DomainError


class TransitState(StrEnum):
    RECEIVED = "received"
    SENT = "sent"
    HOME = "home"


# state -> {action: next state}
TRANSITIONS: dict[TransitState, dict[str, TransitState]] = {
    TransitState.RECEIVED: {"send": TransitState.SENT, "arrive": TransitState.HOME},
    TransitState.SENT: {"arrive": TransitState.HOME},
    TransitState.HOME: {},
}

LABELS = {"received": "반납 접수", "sent": "발송", "home": "복귀"}


def next_state(current: str, action: str) -> TransitState:
    try:
        nxt = TRANSITIONS[TransitState(current)].get(action)
    except ValueError:
        nxt = None
    if nxt is None:
        raise DomainError(Code.TRANSIT_BAD_STATE, state=current, action=action)
    return nxt
