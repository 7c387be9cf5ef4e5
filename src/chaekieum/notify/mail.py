"""E-mail over SMTP with the standard library: `smtplib` sends, `email.message.
EmailMessage` with the SMTP policy builds the message.

Why the standard library and not aiosmtplib: delivery runs in huey's thread workers and
in the `chaekieum notices run` command, both synchronous, so an asyncio client would
need an event loop per batch for nothing; smtplib is maintained with CPython itself, and
the `email` package does the Korean correctly on its own: a non-ASCII Subject or display
name becomes an RFC 2047 encoded word (`=?utf-8?b?...?=`), the body is UTF-8 text in
base64. One connection serves a whole delivery round.

URL: `smtp://[user:password@]host[:port]` (port 25; `?starttls=1` upgrades with
STARTTLS, the usual for port 587), `smtps://...` (implicit TLS, port 465). User and
password are percent-decoded. `?timeout=` in seconds (default 30).
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr, formatdate, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from ..domain.notices import DeliveryError, Message

DISPLAY_NAME = "책이음 통합센터"


class SmtpSender:
    def __init__(self, url: str, mail_from: str):
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError(f"not an SMTP URL: {parts.scheme}://")
        if not mail_from or "@" not in mail_from:
            raise ValueError("a From address is needed (--mail-from / CHAEKIEUM_MAIL_FROM)")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.tls = parts.scheme == "smtps"
        self.starttls = query.get("starttls", "0").lower() in ("1", "true", "yes")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (465 if self.tls else 25)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = float(query.get("timeout", "30"))
        self.mail_from = mail_from
        self.domain = mail_from.rsplit("@", 1)[1]
        self._smtp: smtplib.SMTP | None = None

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is not None:
            try:
                self._smtp.noop()
                return self._smtp
            except smtplib.SMTPException:
                self._smtp = None
        context = ssl.create_default_context()
        smtp = (smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
                if self.tls else smtplib.SMTP(self.host, self.port, timeout=self.timeout))
        if self.starttls:
            smtp.starttls(context=context)
        if self.user:
            smtp.login(self.user, self.password or "")
        self._smtp = smtp
        return smtp

    def build(self, message: Message) -> EmailMessage:
        mail = EmailMessage(policy=SMTP)
        mail["From"] = formataddr((DISPLAY_NAME, self.mail_from))
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(usegmt=True)
        # one Message-ID per outbox row: a receiving system can see a duplicate as one
        mail["Message-ID"] = make_msgid(f"notice-{message.notice_id}", domain=self.domain)
        mail["X-Chaekieum-Notice"] = f"{message.kind}"
        mail.set_content(message.body, charset="utf-8")
        return mail

    def send(self, message: Message) -> None:
        mail = self.build(message)
        try:
            self._connection().send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryError(f"recipient refused {codes}",
                                permanent=all(c >= 500 for c in codes)) from None
        except smtplib.SMTPNotSupportedError:  # a non-ASCII address without SMTPUTF8
            raise DeliveryError("address needs SMTPUTF8", permanent=True) from None
        except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
            self.close()
            raise DeliveryError(f"refused {exc.smtp_code}",
                                permanent=exc.smtp_code >= 500) from None
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from None

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._smtp = None
