"""The OpenAPI document tells the truth: the bearer security scheme, each operation's
real success body (outputs.py) and every error status it can answer, each with the one
error body `{code, message, details, reasons}` (errors.py).

Routes declare their success body with `ok(Model)` (and an error status peculiar to
them with `errors(...)`). The error statuses every operation of a kind can answer are
added here, from what the route is, so a new route cannot forget them:

- with an API key: 401 (no key, a wrong or revoked one), 403 and 404 (an
  `X-Acting-Library` outside the key's scope, or unknown), 422 (a malformed
  `X-Acting-Library`, a bad parameter), 503 (the database is unreachable or switching
  over: retry);
- with a JSON body: 400 (not JSON), 413 (over 1 MiB), 415 (not `application/json`),
  422 (fails the body's schema);
- every write: 409 (a business rule refused it, or a concurrent write won the race: retry).

FastAPI's own 422 schema (HTTPValidationError) describes a body this API never sends:
it is replaced by the error schema and dropped from the components.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.security import HTTPBearer
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .outputs import ErrorOut
from .schemas import DB_ID_MAX

SCHEME = "ApiKey"
bearer = HTTPBearer(
    scheme_name=SCHEME, bearerFormat="ck_<key id>_<secret>", auto_error=False,
    description="A library's API key (acts for that library), or a national or regional "
                "admin key (send `X-Acting-Library: <도서관부호>` to act at one library of "
                "its scope). Issued with `POST /api/v1/libraries/{code}/api-keys`, "
                "`POST /api/v1/admin-keys` or `chaekieum credentials api-key`.")

ERROR_STATUSES: dict[int, str] = {
    400: "MALFORMED_JSON: the body is not valid JSON",
    401: "AUTH_REQUIRED, AUTH_INVALID: no API key, or a wrong, unknown or revoked one",
    403: "FORBIDDEN, MEMBER_NOT_JOINED_HERE, MEMBER_OUT_OF_REGION: outside the caller's "
         "scope (docs/api.md, who may do what)",
    404: "NOT_FOUND, MEMBER_UNKNOWN, LIBRARY_UNKNOWN, COPY_UNKNOWN, ...: no such thing "
         "(also an unknown X-Acting-Library)",
    409: "A business rule refused the request (the code says which, `reasons` lists "
         "every rule broken); CONFLICT: a concurrent write won, retry",
    413: "PAYLOAD_TOO_LARGE: the body is over 1 MiB",
    415: "UNSUPPORTED_MEDIA_TYPE: the body is not application/json",
    422: "VALIDATION_ERROR (details.problems names each field), INVALID_BARCODE, "
         "INVALID_MEMBER_NUMBER, INVALID_LIBRARY_CODE, POLICY_INVALID, ...",
    503: "SERVICE_UNAVAILABLE: the database is unreachable or switching over; nothing was "
         "applied (or a retry with the same Idempotency-Key returns what was): retry after "
         "Retry-After seconds",
}
KEYED = (401, 403, 404, 422, 503)
WITH_BODY = (400, 413, 415, 422)
WRITE = (409,)


def ok(model: type[BaseModel], status: int = 200, description: str = "Success"
       ) -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route: its success body, documented without filtering it."""
    return {status: {"model": model, "description": description}}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for error statuses peculiar to one route."""
    return {s: {"model": ErrorOut, "description": ERROR_STATUSES[s]} for s in statuses}


def _error_response(status: int) -> dict[str, Any]:
    return {"description": ERROR_STATUSES[status],
            "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/ErrorOut"}}}}


def _exact_bounds(node: Any) -> None:
    """The document's models store bounds as floats, which turns 2**63-1 into 2**63:
    put the exact integer back."""
    if isinstance(node, dict):
        for key in ("maximum", "minimum"):
            if node.get(key) == float(DB_ID_MAX) and node.get("type") == "integer":
                node[key] = DB_ID_MAX
            elif isinstance(node.get(key), float) and node[key].is_integer() and \
                    node.get("type") == "integer":
                node[key] = int(node[key])
        for value in node.values():
            _exact_bounds(value)
    elif isinstance(node, list):
        for value in node:
            _exact_bounds(value)


def build(app: FastAPI) -> dict[str, Any]:
    doc = get_openapi(title=app.title, version=app.version, description=app.description,
                      routes=app.routes)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for ops in doc.get("paths", {}).values():
        for method, op in ops.items():
            statuses: set[int] = set()
            if op.get("security"):
                statuses.update(KEYED)
            if "requestBody" in op:
                statuses.update(WITH_BODY)
            if op.get("parameters"):
                statuses.add(422)
            if method != "get":
                statuses.update(WRITE)
            responses = op.setdefault("responses", {})
            for status in sorted(statuses):
                if status == 422 or str(status) not in responses:
                    responses[str(status)] = _error_response(status)
    # the error schema (and the schemas it uses), whether or not a route named it
    _, defs = models_json_schema([(ErrorOut, "serialization")],
                                 ref_template="#/components/schemas/{model}")
    for name, schema in defs.get("$defs", {}).items():
        schemas.setdefault(name, schema)
    _exact_bounds(doc)
    return doc


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
