"""Swagger UI at /api/docs in a real browser: it renders every operation from the vendored
files alone (no request leaves the hub) and breaks no rule of the page's
Content-Security-Policy."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_swagger_ui_renders_offline_under_the_csp(live_server, new_page) -> None:  # noqa: ANN001
    page = new_page()
    problems: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{live_server.url}/api/docs")
    page.wait_for_selector(".opblock")
    spec = page.evaluate("fetch('/api/v1/openapi.json').then(r => r.json())")
    operations = sum(len(ops) for ops in spec["paths"].values())
    assert operations >= 50
    # one block per operation and tag (a few operations carry two tags)
    assert page.locator(".opblock").count() >= operations
    assert page.locator(".btn.authorize").count() == 1  # the bearer scheme
    assert [u for u in requests if not u.startswith(live_server.url)] == []
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], \
        problems
    assert not [p for p in problems if "404" not in p], problems
