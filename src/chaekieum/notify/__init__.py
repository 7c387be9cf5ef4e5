"""Senders of notices (the adapters behind services/notices.Sender): e-mail over SMTP,
SMS and KakaoTalk 알림톡 through one adapter per provider, and a log sink for development.

Configured by URL (`chaekieum notices run --smtp-url ...` or the environment, see
`senders`); a channel without a sender is not delivered: its notices wait, never dropped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from .logsink import LogSink
from .mail import SmtpSender
from .nhncloud import NhnAlimtalkSender, NhnSmsSender

ENV = {"smtp_url": "CHAEKIEUM_SMTP_URL", "mail_from": "CHAEKIEUM_MAIL_FROM",
       "sms_url": "CHAEKIEUM_SMS_URL", "kakao_url": "CHAEKIEUM_KAKAO_URL"}


@dataclass(frozen=True)
class Settings:
    smtp_url: str = ""  # smtp://[user:pass@]host[:port][?starttls=1] | smtps://... | log:
    mail_from: str = ""  # the From address of every e-mail
    sms_url: str = ""  # nhncloud://APPKEY:SECRET@host?from=NUMBER | log:
    kakao_url: str = ""  # nhncloud://APPKEY:SECRET@host?sender_key=KEY | log:

    @classmethod
    def from_env(cls, **given: str | None) -> Settings:
        """Options given on the command line win over the environment."""
        return cls(**{k: (given.get(k) or os.environ.get(env, "")).strip()
                      for k, env in ENV.items()})

    def export(self) -> dict[str, str]:
        """As environment variables (for a worker process started by `serve`)."""
        return {env: getattr(self, k) for k, env in ENV.items() if getattr(self, k)}


def senders(settings: Settings) -> dict[str, object]:
    """The configured senders by channel (email, sms, kakao)."""
    out: dict[str, object] = {}
    if settings.smtp_url:
        out["email"] = (LogSink("email") if settings.smtp_url == "log:" else
                        SmtpSender(settings.smtp_url, settings.mail_from))
    for channel, url in (("sms", settings.sms_url), ("kakao", settings.kakao_url)):
        if not url:
            continue
        if url == "log:":
            out[channel] = LogSink(channel)
            continue
        parts = urlsplit(url)
        if parts.scheme not in ("nhncloud", "nhncloud+http"):
            raise ValueError(f"unknown {channel} provider {parts.scheme!r}")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        base = ("http" if parts.scheme.endswith("+http") else "https") + "://" + (
            parts.hostname or "") + (f":{parts.port}" if parts.port else "")
        if channel == "sms":
            out[channel] = NhnSmsSender(base, parts.username or "", parts.password or "",
                                        query.get("from", ""))
        else:
            out[channel] = NhnAlimtalkSender(base, parts.username or "", parts.password or "",
                                             query.get("sender_key", ""),
                                             query.get("template_prefix", "CK_"))
    return out


def close(all_senders: dict[str, object]) -> None:
    for sender in all_senders.values():
        closer = getattr(sender, "close", None)
        if closer is not None:
            closer()
