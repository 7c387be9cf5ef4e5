"""내 서재 > 알림 받기 설정: the member chooses the channels of their notices (e-mail,
SMS, KakaoTalk 알림톡) and sees the latest ones (services/notices.py, docs/notices.md).
Kept apart from portal.py: its own route and template."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ..domain.errors import DomainError
from .common import flash, flash_error, form_data, hub_of, member, member_actor, redirect, render

router = APIRouter(prefix="/my/notices")


@router.get("")
def settings(request: Request, number: str = Depends(member)) -> Response:
    prefs = hub_of(request).notices.preferences(member_actor(number), number)
    return render(request, "portal_notices.html", {"prefs": prefs})


@router.post("")
def save(request: Request, number: str = Depends(member),
         form: Any = Depends(form_data)) -> Response:
    chosen = {c: form.get(c) == "on" for c in ("email", "sms", "kakao")}
    try:
        hub_of(request).notices.set_preferences(member_actor(number), number, **chosen)
    except DomainError as err:
        flash_error(request, err)
    else:
        flash(request, "ok", "notices.saved")
    return redirect("/my/notices")
