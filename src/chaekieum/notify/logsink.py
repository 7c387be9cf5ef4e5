"""FOR DEVELOPMENT ONLY: a sender that delivers nothing and writes a log line instead.

Use `log:` as a channel's URL on a developer's machine or a demo; a production hub
configures a real provider. The line carries the kind, the masked recipient and the
text with the member's name masked (logsafe masks member numbers as well).
"""

from __future__ import annotations

import logging

from ..domain.members import mask_email, mask_name, mask_phone
from ..domain.notices import Channel, Message

log = logging.getLogger("chaekieum.notify.devlog")


class LogSink:
    """DEVELOPMENT LOG SINK: nothing leaves the machine."""

    def __init__(self, channel: str):
        self.channel = channel

    def send(self, message: Message) -> None:
        to = (mask_email(message.to) if message.channel == Channel.EMAIL
              else mask_phone(message.to))
        body = message.body
        name = str(message.params.get("name") or "")
        if name:
            body = body.replace(name, mask_name(name))
        log.warning("DEV LOG SINK, NOT DELIVERED: %s %s to %s: %s", message.channel,
                    message.kind, to, body.replace("\n", " "))
