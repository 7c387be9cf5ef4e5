"""One error shape for every 4xx/5xx: {"code", "message" (Korean), "details", "reasons"}."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import metrics
from ..domain.errors import Code, DomainError, Reason, message
from .responses import JSON

log = logging.getLogger("chaekieum.api")

_STATUS = {
    Code.AUTH_REQUIRED: 401, Code.AUTH_INVALID: 401, Code.FORBIDDEN: 403,
    Code.SCOPE_NOT_GRANTED: 403,
    Code.MEMBER_NOT_JOINED_HERE: 403, Code.MEMBER_OUT_OF_REGION: 403,
    Code.MEMBER_NOT_ISSUED_HERE: 403, Code.SANDBOX_ONLY: 403,
    Code.NOT_FOUND: 404, Code.MEMBER_UNKNOWN: 404,
    Code.LIBRARY_UNKNOWN: 404, Code.COPY_UNKNOWN: 404, Code.REGION_UNKNOWN: 404,
    Code.NOT_ON_LOAN: 409, Code.RESERVATION_UNKNOWN: 404,
    Code.RESERVATION_BAD_STATE: 409, Code.VALIDATION_ERROR: 422, Code.INVALID_BARCODE: 422,
    Code.INVALID_MEMBER_NUMBER: 422, Code.INVALID_LIBRARY_CODE: 422,
    Code.POLICY_INVALID: 422, Code.POLICY_NATIONAL_ONLY: 422,
    Code.GUARDIAN_REQUIRED: 422, Code.MALFORMED_JSON: 400,
    Code.PAYLOAD_TOO_LARGE: 413, Code.METHOD_NOT_ALLOWED: 405,
    Code.UNSUPPORTED_MEDIA_TYPE: 415, Code.IDEMPOTENCY_KEY_REUSED: 422,
    Code.RATE_LIMITED: 429, Code.SERVICE_UNAVAILABLE: 503, Code.INTERNAL_ERROR: 500,
    Code.HUB_UNREACHABLE: 503, Code.ONBOARDING_UNKNOWN_ITEM: 404,
    Code.ONBOARDING_REPORT_INVALID: 422, Code.ONBOARDING_REASON_REQUIRED: 422,
    Code.IDENTITY_VERIFICATION_REQUIRED: 422,
    Code.GUARDIAN_VERIFICATION_REQUIRED: 422,
    Code.GUARDIAN_NOT_ADULT: 422,
    Code.IDENTITY_VERIFICATION_FAILED: 422,
    Code.IDENTITY_MISMATCH: 422,
    Code.IDENTITY_PROVIDER_UNKNOWN: 422,
    Code.CONSENT_REQUIRED: 422,
    Code.FORM_TOO_FAST: 422,
    Code.ONBOARDING_DOCUMENT_TOO_LARGE: 413, Code.ONBOARDING_DOCUMENT_TYPE: 422,
    Code.VENDOR_BRN_INVALID: 422, Code.VENDOR_UNKNOWN: 404,
}


_HTTP_CODES = {404: Code.NOT_FOUND, 405: Code.METHOD_NOT_ALLOWED, 413: Code.PAYLOAD_TOO_LARGE,
               415: Code.UNSUPPORTED_MEDIA_TYPE, 401: Code.AUTH_REQUIRED, 403: Code.FORBIDDEN}


def status_for(code: Code) -> int:
    return _STATUS.get(code, 409)  # any other code is a business-rule refusal


def error_body(reasons: tuple[Reason, ...] | list[Reason], lang: str = "ko") -> dict[str, Any]:
    first = reasons[0]
    return {
        "code": str(first.code),
        "message": message(first.code, lang),
        "details": first.details,
        "reasons": [r.as_dict(lang) for r in reasons],
    }


def refusal(exc: DomainError, lang: str = "ko") -> tuple[int, dict[str, Any]]:
    return status_for(exc.code), error_body(exc.reasons, lang)


def _lang(request: Request) -> str:
    return "en" if request.headers.get("accept-language", "").lower().startswith("en") else "ko"


def error_response(code: Code, status: int | None = None, lang: str = "ko",
                   **details: Any) -> JSON:
    return JSON(error_body([Reason(code, details)], lang),
                status_code=status or status_for(code))


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSON:
        metrics.refused(exc.code, "api")
        status, body = refusal(exc, _lang(request))
        return JSON(body, status_code=status)

    @app.exception_handler(OperationalError)
    async def database_unavailable(request: Request, exc: OperationalError) -> JSON:
        # the database is unreachable, restarting or switching over to its standby (or a
        # lock kept failing): nothing was applied, or a retry with the same
        # Idempotency-Key returns what was - so the answer is "retry", not a 500
        log.warning("database unavailable for %s %s: %s", request.method, request.url.path,
                    type(exc.orig).__name__)
        response = error_response(Code.SERVICE_UNAVAILABLE, lang=_lang(request))
        response.headers["Retry-After"] = "1"
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSON:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(Code.MALFORMED_JSON, lang=_lang(request))
        problems = [
            {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"),
             "problem": e.get("type"), "message": str(e.get("msg", ""))[:200]}
            for e in errors[:20]
        ]
        return error_response(Code.VALIDATION_ERROR, lang=_lang(request), problems=problems)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSON:
        code = _HTTP_CODES.get(exc.status_code, Code.VALIDATION_ERROR)
        return error_response(code, exc.status_code, _lang(request))

    @app.exception_handler(IntegrityError)
    async def integrity_error(request: Request, exc: IntegrityError) -> JSON:
        # a constraint caught a race the locks did not: nothing was written; retry is safe
        log.warning("constraint violation on %s: %s", request.url.path, exc.orig)
        return error_response(Code.CONFLICT, 409, _lang(request))

    @app.exception_handler(DataError)
    async def data_error(request: Request, exc: DataError) -> JSON:
        # the database refused a value the schemas let through (PostgreSQL: a NUL
        # character in a text, a number beyond its column): bad input, nothing written
        log.info("value refused by the database on %s: %s", request.url.path,
                 type(exc.orig).__name__)
        return error_response(Code.VALIDATION_ERROR, 422, _lang(request),
                              problem="a value the database cannot store (e.g. a NUL "
                                      "character)")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSON:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(Code.INTERNAL_ERROR, 500, _lang(request))
