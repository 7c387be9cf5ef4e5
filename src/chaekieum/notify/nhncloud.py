"""SMS and KakaoTalk 알림톡 through NHN Cloud (one adapter per provider; another provider
is another class with the same `send`).

Written against NHN Cloud's published REST APIs: SMS v3.0
(`POST /sms/v3.0/appKeys/{appKey}/sender/sms`) and KakaoTalk Bizmessage 알림톡 v2.3
(`POST /alimtalk/v2.3/appkeys/{appKey}/messages`), authenticated with the
`X-Secret-Key` header; both answer `{"header": {"isSuccessful", "resultCode",
"resultMessage"}}`. The tests run them against a local HTTP server that checks these
requests; the real service cannot be reached from here.

An 알림톡 must match a template approved by Kakao: the template code is
`<template_prefix><KIND>` (e.g. `CK_DUE_SOON`), the variables are the notice's params.
"""

from __future__ import annotations

import httpx

from ..domain.notices import DeliveryError, Message


def _digits(phone: str) -> str:
    return "".join(c for c in phone if c.isdigit())


class _NhnSender:
    def __init__(self, base: str, app_key: str, secret: str):
        if not app_key or not secret:
            raise ValueError("NHN Cloud needs an app key and a secret key")
        self.base = base.rstrip("/")
        self.app_key = app_key
        self.client = httpx.Client(timeout=15.0, headers={
            "X-Secret-Key": secret, "Content-Type": "application/json;charset=UTF-8"})

    def _post(self, path: str, body: dict) -> None:
        try:
            r = self.client.post(self.base + path, json=body)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}") from None
        if r.status_code >= 500:
            raise DeliveryError(f"HTTP {r.status_code}")
        try:
            header = r.json().get("header", {})
        except ValueError:
            raise DeliveryError(f"HTTP {r.status_code}: not JSON") from None
        if r.status_code >= 400 or not header.get("isSuccessful"):
            raise DeliveryError(f"HTTP {r.status_code} {header.get('resultCode')} "
                                f"{header.get('resultMessage', '')}"[:200], permanent=True)

    def close(self) -> None:
        self.client.close()


class NhnSmsSender(_NhnSender):
    """NHN Cloud SMS: short text (SMS) or, over 90 bytes, long text (LMS)."""

    def __init__(self, base: str, app_key: str, secret: str, send_no: str):
        super().__init__(base, app_key, secret)
        if not send_no:
            raise ValueError("an SMS sender number is needed (?from=)")
        self.send_no = _digits(send_no)

    def send(self, message: Message) -> None:
        text = message.body
        long = len(text.encode("euc-kr", "replace")) > 90
        body = {"body": text, "sendNo": self.send_no,
                "recipientList": [{"recipientNo": _digits(message.to)}]}
        if long:
            body["title"] = message.subject[:40]
        self._post(f"/sms/v3.0/appKeys/{self.app_key}/sender/{'mms' if long else 'sms'}", body)


class NhnAlimtalkSender(_NhnSender):
    """NHN Cloud KakaoTalk Bizmessage: 알림톡 with an approved template."""

    def __init__(self, base: str, app_key: str, secret: str, sender_key: str,
                 template_prefix: str = "CK_"):
        super().__init__(base, app_key, secret)
        if not sender_key:
            raise ValueError("a KakaoTalk sender key is needed (?sender_key=)")
        self.sender_key = sender_key
        self.prefix = template_prefix

    def send(self, message: Message) -> None:
        params = {k: str(v) for k, v in message.params.items()}
        self._post(f"/alimtalk/v2.3/appkeys/{self.app_key}/messages", {
            "senderKey": self.sender_key,
            "templateCode": f"{self.prefix}{str(message.kind).upper()}",
            "recipientList": [{"recipientNo": _digits(message.to),
                               "templateParameter": params}]})
