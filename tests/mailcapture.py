"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, decoded: the
notices' e-mails go through the same smtplib path as in production."""

from __future__ import annotations

import email
import threading
from dataclasses import dataclass
from email.policy import default

from aiosmtpd.controller import Controller

from .conftest import free_port


@dataclass
class Received:
    sender: str
    recipients: list[str]
    raw: bytes
    subject: str  # decoded (RFC 2047)
    body: str  # decoded (charset, transfer encoding)
    headers: dict[str, str]


class _Handler:
    def __init__(self, box: MailBox):
        self.box = box

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, ANN201, N802
        if address.startswith("refused@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        if self.box.fail_next > 0:
            self.box.fail_next -= 1
            return "451 4.3.0 try again later"
        msg = email.message_from_bytes(envelope.original_content, policy=default)
        with self.box.lock:
            self.box.messages.append(Received(
                envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content,
                str(msg["Subject"]), msg.get_body(("plain",)).get_content(),
                {k: str(v) for k, v in msg.items()}))
        return "250 Message accepted"


class MailBox:
    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.lock = threading.Lock()
        self.fail_next = 0  # answer DATA with 451 this many times
        self.port = free_port()
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.recipients]

    def start(self) -> MailBox:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
