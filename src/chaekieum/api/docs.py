"""Interactive API docs at /api/docs: Swagger UI from the vendored npm build
(swagger-ui-dist, scripts/vendor_web_assets.sh) under /api/static, no CDN; the page
has no inline script, so it runs under the same Content-Security-Policy as the web UI."""

from __future__ import annotations

from html import escape
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
PREFIX = "/api/static"

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{prefix}/vendor/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="{prefix}/vendor/swagger-ui-bundle.js"></script>
<script src="{prefix}/swagger-init.js"></script>
</body>
</html>
"""


def mount(app: FastAPI, docs_url: str = "/api/docs") -> None:
    app.mount(PREFIX, StaticFiles(directory=STATIC), name="api-static")
    page = PAGE.format(title=escape(f"{app.title} - Swagger UI"), prefix=PREFIX,
                       openapi_url=escape(app.openapi_url or ""))

    @app.get(docs_url, include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})
