"""The API does what its OpenAPI document says.

Schemathesis generates requests for every operation of /api/v1/openapi.json (valid and
invalid ones, a few per operation) and sends each with a library's API key and with a
national admin key, in-process (ASGI), against one demo hub that keeps what the earlier
requests wrote. Every answer must be a documented status with a documented content type
and body, and never a 5xx.

A plain walk over the document keeps it from losing its truth silently: a success schema,
the error schema for every error status, and the bearer scheme on every keyed operation.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from chaekieum.api.openapi import KEYED, SCHEME, WITH_BODY, WRITE
from chaekieum.api.routes.me import MEMBER_SCHEME
from chaekieum.services import demo
from chaekieum.services.context import SYSTEM, FixedClock
from chaekieum.services.hub import Hub
from chaekieum.services.oidc import ProtocolRequest

from ..conftest import T0, demo_hub_copy
from .apiclient import library_key

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
ERROR_REF = "#/components/schemas/ErrorOut"


def create_app(hub: Hub) -> FastAPI:
    from chaekieum.server import create_app as create

    return create(hub, with_web=False)


def document() -> dict[str, Any]:
    """The document as the app serves it (it depends on the routes, not on any data)."""
    with tempfile.TemporaryDirectory() as tmp:
        hub = Hub(f"sqlite:///{tmp}/doc.db", secret=b"openapi")
        try:
            with TestClient(create_app(hub)) as client:
                return client.get("/api/v1/openapi.json").json()
        finally:
            hub.close()


DOCUMENT = document()
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
OPERATIONS = [(method.upper(), path) for path, ops in DOCUMENT["paths"].items()
              for method in ops]


@pytest.fixture(scope="module")
def shared_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """One demo hub for the whole run: later operations see what earlier ones wrote."""
    hub = demo_hub_copy(tmp_path_factory.mktemp("conformance"), FixedClock(T0))
    yield hub
    hub.close()


@pytest.fixture(scope="module")
def app(shared_hub: Hub) -> FastAPI:
    return create_app(shared_hub)


def member_token(hub: Hub) -> str:
    """A member's access token for /api/v1/me, through the provider's own code + PKCE
    exchange (the web sign-in pages are not part of this app)."""
    from urllib.parse import parse_qs, urlsplit

    from authlib.oauth2.rfc7636 import create_s256_code_challenge

    uri, base = "https://conformance.example.kr/cb", "http://127.0.0.1"
    made = hub.oidc.register_client(SYSTEM, "conformance", "111001", [uri])
    verifier = "v" * 64
    query = [("response_type", "code"), ("client_id", made["client_id"]),
             ("redirect_uri", uri), ("scope", "openid profile card loans:read loans:renew "
                                              "reservations"),
             ("code_challenge", create_s256_code_challenge(verifier)),
             ("code_challenge_method", "S256")]
    number = demo.info(hub)["members"][0]["number"]
    _, _, headers = hub.oidc.authorize(
        ProtocolRequest("GET", f"{base}/oauth/authorize", {}, query, [], base), number)
    code = parse_qs(urlsplit(dict(headers)["Location"]).query)["code"][0]
    form = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", uri),
            ("code_verifier", verifier), ("client_id", made["client_id"]),
            ("client_secret", made["client_secret"])]
    _, token, _ = hub.oidc.token(
        ProtocolRequest("POST", f"{base}/oauth/token", {}, [], form, base))
    return token["access_token"]


@pytest.fixture(scope="module")
def keys(shared_hub: Hub) -> dict[str, str]:
    national = shared_hub.credentials.create_api_key(SYSTEM, "national", "", "conformance")
    shared_hub.oidc.clock = FixedClock(shared_hub.oidc.clock.now())  # no expiry mid-run
    return {"library": library_key("111001"), "national": national["api_key"],
            "member": member_token(shared_hub)}


# One pytest test per operation, each drawing schemathesis's cases (its fuzzing phase:
# valid and invalid data) through Hypothesis, at most 6 per operation. (Schemathesis's
# own @schema.parametrize() gives every operation the same pytest node id under pytest 9,
# so pytest-xdist would run one of them only.)
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_operation_conforms_to_the_document(method: str, path: str, app: FastAPI,
                                                  keys: dict[str, str]) -> None:
    operation = SCHEMA[path][method]
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                      operation.as_strategy(GenerationMode.NEGATIVE))

    @given(case=cases)
    @settings(max_examples=6, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case) -> None:  # noqa: ANN001
        for key in keys.values():
            case.call_and_validate(app=app, headers={"Authorization": f"Bearer {key}"},
                                   checks=CHECKS)

    run()


# -- the document itself ----------------------------------------------------------------
def operations() -> list[tuple[str, str, dict[str, Any]]]:  # with each operation's entry
    return [(method.upper(), path, op) for path, ops in DOCUMENT["paths"].items()
            for method, op in ops.items()]


def test_the_document_covers_the_api() -> None:
    assert len(operations()) >= 50
    assert all(path.startswith("/api/v1/") for _, path, _ in operations())
    health = {path: op for method, path, op in operations() if "/health" in path}
    assert set(health) == {"/api/v1/health", "/api/v1/health/ready", "/api/v1/health/live"}
    assert all("security" not in op for op in health.values())  # for load balancers
    assert "503" in health["/api/v1/health/ready"]["responses"]


@pytest.mark.parametrize(("method", "path", "op"), operations(),
                         ids=[f"{m} {p}" for m, p, _ in operations()])
def test_every_operation_documents_its_answers(method: str, path: str,
                                               op: dict[str, Any]) -> None:
    responses = op["responses"]
    success = [s for s in responses if s.startswith("2")]
    assert len(success) == 1, responses
    content = responses[success[0]]["content"]
    if "application/json" in content:
        schema_of = content["application/json"]["schema"]
        assert schema_of.get("$ref", "").startswith("#/components/schemas/"), schema_of
        target = DOCUMENT["components"]["schemas"][schema_of["$ref"].rsplit("/", 1)[1]]
        assert target.get("properties"), f"{method} {path}: empty success schema"
    else:  # a download (or the connector package, built by a POST): bytes
        assert content and (method == "GET" or path.endswith("/connector-package")), (
            method, path, content)
        assert all(c["schema"] == {"type": "string", "format": "binary"}
                   for c in content.values()), content
    expected: set[int] = set()
    if not path.startswith("/api/v1/health"):
        scheme = MEMBER_SCHEME if (path + "/").startswith("/api/v1/me/") else SCHEME
        assert op.get("security") == [{scheme: []}], f"{method} {path} needs {scheme}"
        expected.update(KEYED)
    if "requestBody" in op:
        expected.update(WITH_BODY)
        body = op["requestBody"]["content"]
        if list(body) == ["multipart/form-data"]:  # a file upload: the file is bytes
            form = DOCUMENT["components"]["schemas"][
                body["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[1]]
            assert form["properties"]["file"]["contentMediaType"] == "application/octet-stream"
        else:
            assert list(body) == ["application/json"]
    if method != "GET":
        expected.update(WRITE)
    errors = {int(s) for s in responses if s[0] in "45"}
    assert expected <= errors, f"{method} {path} misses {expected - errors}"
    for status in errors:
        body = responses[str(status)]["content"]["application/json"]["schema"]
        assert body == {"$ref": ERROR_REF}, (method, path, status, body)


def test_one_error_schema_and_the_bearer_scheme() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    error = schemas["ErrorOut"]
    assert set(error["required"]) == {"code", "message", "details", "reasons"}
    schemes = DOCUMENT["components"]["securitySchemes"]
    assert schemes == {SCHEME: {
        "type": "http", "scheme": "bearer", "bearerFormat": "ck_<key id>_<secret>",
        "description": schemes[SCHEME]["description"]}, MEMBER_SCHEME: {
        "type": "http", "scheme": "bearer", "bearerFormat": "OAuth 2.0 access token",
        "description": schemes[MEMBER_SCHEME]["description"]}}


def test_the_error_schema_is_the_real_error_body(app: FastAPI) -> None:
    """Real error answers (401, 404, 415, 422) validate against the documented schema."""
    import jsonschema_rs  # schemathesis's validator

    validator = jsonschema_rs.Draft202012Validator(
        {"$ref": ERROR_REF, "components": DOCUMENT["components"]})
    with TestClient(app) as client:
        answers = [
            client.get("/api/v1/regions"),
            client.get("/api/v1/members/00000000000000",
                       headers={"Authorization": f"Bearer {library_key('111001')}"}),
            client.post("/api/v1/circulation/checkout", content=b"member=1",
                        headers={"Authorization": f"Bearer {library_key('111001')}",
                                 "Content-Type": "application/x-www-form-urlencoded"}),
            client.post("/api/v1/circulation/undo-checkout", json={"loan_id": 2**63},
                        headers={"Authorization": f"Bearer {library_key('111001')}"}),
        ]
    assert [a.status_code for a in answers] == [401, 404, 415, 422]
    for answer in answers:
        validator.validate(answer.json())


# -- integer bounds: a 422 in the error shape, never a 500 --------------------------------
TOO_BIG = [2**63, 2**64, 10**30]


@pytest.fixture
def lib_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {library_key('111001')}"}


@pytest.mark.parametrize("value", [*TOO_BIG, 0, -1])
@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/api/v1/transits/{}/send"), ("POST", "/api/v1/transits/{}/arrive"),
    ("POST", "/api/v1/exceptions/{}/resolve"), ("GET", "/api/v1/reservations/{}"),
    ("POST", "/api/v1/reservations/{}/cancel"), ("DELETE", "/api/v1/reservations/{}"),
])
def test_path_ids_out_of_range_are_422(app: FastAPI, lib_headers: dict[str, str], method: str,
                                       path: str, value: int) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.request(method, path.format(value), headers=lib_headers)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("value", [*TOO_BIG, 0, -1])
@pytest.mark.parametrize(("path", "body"), [
    ("/api/v1/circulation/undo-checkout", lambda v: {"loan_id": v}),
    ("/api/v1/circulation/undo-checkin", lambda v: {"loan_id": v}),
    ("/api/v1/members/11100126000016/history/hide", lambda v: {"loan_ids": [1, v]}),
])
def test_body_ids_out_of_range_are_422(app: FastAPI, lib_headers: dict[str, str], path: str,
                                       body: Any, value: int) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.post(path, json=body(value), headers=lib_headers)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "VALIDATION_ERROR"
    assert r.json()["details"]["problems"][0]["problem"] in ("less_than_equal",
                                                             "greater_than_equal")


@pytest.mark.parametrize(("path", "params"), [
    ("/api/v1/events", {"after": 2**63}), ("/api/v1/events", {"after": -1}),
    ("/api/v1/events", {"limit": 1001}), ("/api/v1/connector/snapshot", {"after": 2**63}),
    ("/api/v1/connector/snapshot", {"limit": 0}), ("/api/v1/audit", {"limit": 2**63}),
    ("/api/v1/members", {"q": "김에", "limit": 101}), ("/api/v1/reservations", {"limit": 501}),
])
def test_query_integers_out_of_range_are_422(app: FastAPI, lib_headers: dict[str, str],
                                             path: str, params: dict[str, int]) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get(path, params=params, headers=lib_headers)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "VALIDATION_ERROR"


def test_admin_integers_and_policy_values_are_bounded(app: FastAPI, keys: dict[str, str]
                                                      ) -> None:
    admin = {"Authorization": f"Bearer {keys['national']}"}
    with TestClient(app, raise_server_exceptions=False) as client:
        for body in ({"code": "111098", "name": "x", "region_code": "seoul",
                      "center_id": 2**63},
                     {"code": "111098", "name": "x", "region_code": "seoul",
                      "closed_weekdays": [7]},
                     {"code": "111098", "name": "x", "region_code": "seoul",
                      "status": "no-such-stage"}):
            r = client.post("/api/v1/libraries", json=body, headers=admin)
            assert r.status_code == 422 and r.json()["code"] == "VALIDATION_ERROR", r.text
        r = client.patch("/api/v1/libraries/111001", json={"center_id": 2**64}, headers=admin)
        assert r.status_code == 422, r.text
        for value in (2**63, 3651, 10**6):
            r = client.put("/api/v1/policies/library", params={"scope": "111001"},
                           json={"settings": {"loan_period_days": value}}, headers=admin)
            assert r.status_code == 422, r.text
            assert r.json()["code"] == "POLICY_INVALID"
            assert r.json()["details"] == {"key": "loan_period_days", "expected": "<= 3650"}
        r = client.put("/api/v1/policies/library", params={"scope": "111001"},
                       json={"settings": {"loan_period_days": 3650}}, headers=admin)
        assert r.status_code == 200, r.text


@pytest.mark.parametrize(("method", "path", "field"), [
    ("POST", "/api/v1/circulation/checkout", "occurred_at"),
    ("POST", "/api/v1/circulation/checkin", "occurred_at"),
    ("GET", "/api/v1/connector/snapshot", "since"),
    ("GET", "/api/v1/audit", "until"),
])
@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00",
                                    "0001-01-01T00:00:00Z", "1899-12-31T23:00:00Z"])
def test_moments_near_the_ends_of_the_calendar_are_422(app: FastAPI, lib_headers: dict[str, str],
                                                       method: str, path: str, field: str,
                                                       moment: str) -> None:
    """Turning such a moment into UTC (or stepping back from it) overflowed: a 500."""
    with TestClient(app, raise_server_exceptions=False) as client:
        if method == "GET":
            r = client.get(path, params={field: moment}, headers=lib_headers)
        else:
            r = client.post(path, headers=lib_headers, json={
                "member": "11100126000016", "item": "$111001EM0000000001", "offline": True,
                field: moment, "client_txn_id": f"edge-{moment}"}
                if path.endswith("checkout") else {"item": "$111001EM0000000001", field: moment})
    assert r.status_code == 422, r.text
    assert r.json()["details"]["problems"][0]["field"] in (field, f"query.{field}")


def test_values_the_database_cannot_store_are_422(client: TestClient, any_hub: Hub) -> None:
    """PostgreSQL refuses a NUL character in a text: a 422, not a 500 (SQLite stores it)."""
    headers = {"Authorization": f"Bearer {library_key('111001')}"}
    answers = [
        client.post("/api/v1/members", json={"name": "김\x00영", "birth_year": 1990},
                    headers=headers),
        client.post("/api/v1/circulation/checkout", headers=headers,
                    json={"member": "1110012600001\x00", "item": "$111001EM0000000001"}),
        client.get("/api/v1/members/1110012600%00016", headers=headers),
        client.get("/api/v1/members", params={"q": "김\x00"}, headers=headers),
    ]
    for r in answers:
        assert r.status_code < 500, r.text
        if not any_hub.db.is_sqlite:
            assert r.status_code == 422 and r.json()["code"] == "VALIDATION_ERROR", r.text


# -- bodies that are not JSON: 415 ------------------------------------------------------------
@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/xml"])
def test_a_body_that_is_not_json_is_415(app: FastAPI, lib_headers: dict[str, str],
                                        content_type: str | None) -> None:
    headers = {**lib_headers, **({"Content-Type": content_type} if content_type else {})}
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.post("/api/v1/circulation/checkin", content=b'{"item": "x"}',
                        headers=headers)
    assert r.status_code == 415, r.text
    assert r.json()["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert set(r.json()) == {"code", "message", "details", "reasons"}


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "application/merge-patch+json"])
def test_json_media_types_are_read(app: FastAPI, lib_headers: dict[str, str],
                                   content_type: str) -> None:
    headers = {**lib_headers, "Content-Type": content_type}
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.post("/api/v1/circulation/checkin", content=b'{"item": "$111001EM0000009999"}',
                        headers=headers)
    assert r.status_code in (404, 409), r.text  # read as JSON: refused by the hub's rules
    with TestClient(app, raise_server_exceptions=False) as client:  # no body at all: 422
        r = client.post("/api/v1/circulation/checkin", headers=lib_headers)
    assert r.status_code == 422 and r.json()["code"] == "VALIDATION_ERROR", r.text


# -- the docs page and the headers -----------------------------------------------------------
def test_swagger_ui_is_served_from_vendored_files(app: FastAPI) -> None:
    from chaekieum.headers import HEADERS

    with TestClient(app) as client:
        page = client.get("/api/docs")
        assert page.status_code == 200
        html = page.text
        assert "http://" not in html and "https://" not in html  # no CDN
        assert "<script>" not in html and "onload" not in html  # no inline script
        for name, value in HEADERS.items():
            assert page.headers[name] == value
        for asset in ("/api/static/vendor/swagger-ui-bundle.js",
                      "/api/static/vendor/swagger-ui.css", "/api/static/swagger-init.js"):
            assert asset in html
            r = client.get(asset)
            assert r.status_code == 200 and len(r.content) > 200, asset
            assert r.headers["Content-Security-Policy"] == HEADERS["Content-Security-Policy"]
        assert "//# sourceMappingURL" not in client.get(
            "/api/static/vendor/swagger-ui.css").text
        assert client.get("/api/redoc").status_code == 404
        for r in (client.get("/api/v1/openapi.json"), client.get("/api/v1/health"),
                  client.get("/api/v1/regions")):
            for name, value in HEADERS.items():
                assert r.headers[name] == value, (r.url, name)
    vendor = Path(__file__).parents[2] / "src/chaekieum/api/static/vendor"
    assert (vendor / "LICENSE").is_file() and "swagger-ui-dist" in (
        vendor / "README.txt").read_text()
