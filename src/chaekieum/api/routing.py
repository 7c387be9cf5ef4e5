"""The route class of every /api/v1 operation: a JSON body must be sent as JSON, and a
form (a file upload) as multipart/form-data.

FastAPI reads a body of any other media type, or one without a Content-Type, as raw
bytes and answers a confusing validation error; here it is refused up front with 415
UNSUPPORTED_MEDIA_TYPE in the error shape. (A missing body stays a 422: the body is
required.)
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from email.message import Message
from typing import Any

from fastapi import params
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from ..domain.errors import Code, DomainError


def _media(content_type: str) -> tuple[str, str]:
    message = Message()
    message["content-type"] = content_type
    return message.get_content_maintype(), message.get_content_subtype()


def is_json(content_type: str) -> bool:
    maintype, subtype = _media(content_type)
    return maintype == "application" and (subtype == "json" or subtype.endswith("+json"))


def is_multipart(content_type: str) -> bool:
    return _media(content_type) == ("multipart", "form-data")


class ApiRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler
        form = any(isinstance(p.field_info, params.Form) for p in self.dependant.body_params)
        accepted = is_multipart if form else is_json

        async def media_checked(request: Request) -> Response:
            content_type = request.headers.get("content-type", "")
            if not accepted(content_type) and (content_type or await request.body()):
                raise DomainError(Code.UNSUPPORTED_MEDIA_TYPE, content_type=content_type[:100],
                                  expected="multipart/form-data" if form else "application/json")
            return await handler(request)

        return media_checked
