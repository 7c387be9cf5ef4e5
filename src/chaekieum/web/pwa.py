"""The member portal as an installable app (PWA): the web manifest and the service worker.

Both are served from the portal's scope (/my): the worker at /my/sw.js with
`Service-Worker-Allowed: /my`, so it controls /my itself (a worker's default scope would
be /my/, which leaves out the portal's home page). The worker (pwa/sw.js) keeps the
member's last-seen pages (the mobile card with its Code 128 and QR, and the loan list)
for when the network is off, and forgets them when the member signs out.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse

from .common import HERE

router = APIRouter()
SCOPE = "/my"
THEME = "#0b5cad"

MANIFEST = {
    "name": "책이음 내 서재",
    "short_name": "책이음",
    "description": "전국 도서관 통합 이용증: 모바일 이용증과 대출 현황",
    "lang": "ko",
    "dir": "ltr",
    "id": "/my",
    "start_url": "/my/card",
    "scope": SCOPE,
    "display": "standalone",
    "orientation": "portrait",
    "background_color": "#ffffff",
    "theme_color": THEME,
    "icons": [
        {"src": "/static/icons/icon-192.png", "sizes": "192x192", "type": "image/png",
         "purpose": "any"},
        {"src": "/static/icons/icon-512.png", "sizes": "512x512", "type": "image/png",
         "purpose": "any"},
        {"src": "/static/icons/maskable-512.png", "sizes": "512x512", "type": "image/png",
         "purpose": "maskable"},
    ],
}


@router.get("/my/manifest.webmanifest")
def manifest() -> JSONResponse:
    return JSONResponse(MANIFEST, media_type="application/manifest+json",
                        headers={"Cache-Control": "public, max-age=3600"})


@router.get("/my/sw.js")
def service_worker() -> FileResponse:
    # no-cache: the browser revalidates the worker on every check, so a new version
    # takes over at the next visit
    return FileResponse(HERE / "pwa" / "sw.js", media_type="text/javascript",
                        headers={"Service-Worker-Allowed": SCOPE, "Cache-Control": "no-cache"})
