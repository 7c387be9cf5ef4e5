"""The route class of every /api/v1 operation: a JSON body must be sent as JSON.

FastAPI reads a body of any other media type, or one without a Content-Type, as raw
bytes and answers a confusing validation error; here it is refused up front with 415
UNSUPPORTED_MEDIA_TYPE in the error shape. (A missing body stays a 422: the body is
required.)
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from email.message import Message
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from ..domain.errors import Code, DomainError


def is_json(content_type: str) -> bool:
    message = Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json"))


class ApiRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def json_only(request: Request) -> Response:
            content_type = request.headers.get("content-type", "")
            if not is_json(content_type) and (content_type or await request.body()):
                raise DomainError(Code.UNSUPPORTED_MEDIA_TYPE, content_type=content_type[:100])
            return await handler(request)

        return json_only
