"""Property test: any JSON body (or none), any path value, on every write endpoint of
/api/v1 gets a JSON answer in the error shape or a success — never a 500."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaekieum.server import create_app

from .apiclient import library_key

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=5),
    max_leaves=12,
)
FIELDS = ["member", "item", "loan_id", "name", "birth_year", "copies", "settings", "days",
          "stage", "login", "password", "card_uid", "offline", "occurred_at", "copy"]
BODIES = JSON | st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=6)
# any text, percent-encoded as a client would send it
PATH_VALUES = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1,
                      max_size=30).map(lambda t: quote(t, safe=""))
HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E),
                      max_size=40)


@pytest.fixture
def api(hub):  # noqa: ANN001, ANN201
    from chaekieum.services.context import SYSTEM

    with TestClient(create_app(hub, with_web=False), raise_server_exceptions=False) as c:
        c.keys = [library_key("111001"),  # a library, and a national admin
                  hub.credentials.create_api_key(SYSTEM, "national", "")["api_key"]]
        yield c


def routes_of(client: TestClient) -> list[tuple[str, str]]:
    """Every documented operation (the OpenAPI document is the contract)."""
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    return sorted((method.upper(), path) for path, ops in paths.items() for method in ops)


def test_every_route_is_covered(api):  # noqa: ANN001
    assert len(routes_of(api)) >= 35


@settings(max_examples=600, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_no_input_makes_a_500(api, data):  # noqa: ANN001
    method, path = data.draw(st.sampled_from(routes_of(api)))
    filled = re.sub(r"\{[^}]+\}", lambda _: data.draw(PATH_VALUES), path)
    headers = {"Authorization": f"Bearer {data.draw(st.sampled_from(api.keys))}"}
    if data.draw(st.booleans()):
        headers["Idempotency-Key"] = data.draw(HEADER_TEXT)
    kwargs = {}
    if method in ("POST", "PUT", "PATCH"):
        if data.draw(st.integers(0, 4)) == 0:  # not JSON at all
            kwargs["content"] = data.draw(st.binary(max_size=200))
            headers["Content-Type"] = "application/json"
        else:
            kwargs["json"] = data.draw(BODIES)
    response = api.request(method, filled, headers=headers, **kwargs)
    assert response.status_code < 500, (method, filled, kwargs, response.text[:300])
    payload = response.json()
    if response.status_code >= 400:
        assert {"code", "message", "details", "reasons"} <= set(payload)
