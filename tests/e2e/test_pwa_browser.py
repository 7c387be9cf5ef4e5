"""Issue #14, the app: the member portal is installable (manifest, icons, service worker)
and, after one visit with the network on, shows the mobile card (Code 128 + QR) and the
last-seen loan list with the network off, marked as offline; signing out forgets them."""

from __future__ import annotations

import io
import json

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Error as PlaywrightError

from chaekieum.services import demo
from chaekieum.services.circulation import CheckoutRequest
from chaekieum.services.context import Actor, Role

pytestmark = pytest.mark.browser

HOME = "111001"


def sign_in(page, base: str, number: str, password: str) -> None:  # noqa: ANN001
    page.goto(f"{base}/my/login")
    page.fill("[name=number]", number)
    page.fill("[name=password]", password)
    with page.expect_navigation():
        page.click("#main button[type=submit]")
    assert page.url.endswith("/my")


def controlled(page) -> None:  # noqa: ANN001
    """Wait until the service worker is active and controls this page."""
    page.evaluate("navigator.serviceWorker.ready")
    if not page.evaluate("!!navigator.serviceWorker.controller"):
        page.reload()
    page.wait_for_function("!!navigator.serviceWorker.controller")


def kept_urls(page) -> list[str]:  # noqa: ANN001
    """What the app keeps in the browser's Cache Storage (every cache)."""
    return page.evaluate("""async () => {
        const out = [];
        for (const name of await caches.keys()) {
          for (const r of await (await caches.open(name)).keys()) { out.push(r.url); }
        }
        return out; }""")


def loaded(page, selector: str) -> int:  # noqa: ANN001
    return page.evaluate("s => document.querySelector(s).naturalWidth", selector)


def test_card_and_loans_offline_after_one_visit(live_server, new_page, screenshot) -> None:  # noqa: ANN001
    hub, base = live_server.hub, live_server.url
    info = demo.info(hub)
    member = info["members"][0]
    desk = Actor(Role.LIBRARIAN, "staff:lib-111001", "desk", HOME)
    loan = hub.circulation.checkout(desk, CheckoutRequest(member=member["number"],
                                                          item=f"${HOME}EM0000000003")).loan
    page = new_page(viewport=(375, 812), is_mobile=True, has_touch=True)
    sign_in(page, base, member["number"], member["password"])
    controlled(page)
    page.goto(f"{base}/my")  # one online visit of each page, through the worker
    assert page.locator("#offline-banner").is_hidden()
    page.goto(f"{base}/my/card")
    assert loaded(page, "#card-barcode") > 0 and loaded(page, "#card-qr") > 0

    page.context.set_offline(True)
    page.goto(f"{base}/my/card")
    banner = page.locator("#offline-banner")
    assert banner.is_visible()
    text = banner.inner_text()
    assert text.startswith("오프라인 — 마지막 확인 시각 20"), text  # "... 2026-12-06 11:23"
    assert member["number"] in page.locator(".card-number").inner_text()
    assert loaded(page, "#card-barcode") > 0 and loaded(page, "#card-qr") > 0
    screenshot(page, "pwa-card-offline")
    page.goto(f"{base}/my")
    assert page.locator("#offline-banner").is_visible()
    assert loan["title"] in page.locator("#portal-loans").inner_text()
    with pytest.raises(PlaywrightError, match="ERR_INTERNET_DISCONNECTED"):
        page.goto(f"{base}/my/password")  # never kept: only the card and the loan list are

    # signing out (online) forgets the kept pages: nothing of this member stays
    page.context.set_offline(False)
    page.goto(f"{base}/my")
    assert {f"{base}/my", f"{base}/my/card", f"{base}/my/card/qr.svg"} <= set(kept_urls(page))
    with page.expect_navigation():
        page.click("header form[action='/logout'] button")
    assert page.url.endswith("/my/login")
    kept = kept_urls(page)
    assert not [u for u in kept if "/my" in u], kept
    page.context.set_offline(True)
    # offline with nothing kept: no page at all (the browser's own offline error, or the
    # worker's failed fetch when the sign-in page has registered it again)
    with pytest.raises(PlaywrightError, match=r"net::ERR_(INTERNET_DISCONNECTED|FAILED)"):
        page.goto(f"{base}/my/card")


def test_manifest_icons_and_worker_headers(live_server) -> None:  # noqa: ANN001
    base = live_server.url
    manifest = httpx.get(f"{base}/my/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    doc = json.loads(manifest.text)
    assert doc["name"] == "책이음 내 서재" and doc["lang"] == "ko"
    assert doc["scope"] == "/my" and doc["start_url"].startswith("/my")
    assert doc["display"] == "standalone"
    for icon in doc["icons"]:
        png = httpx.get(base + icon["src"])
        assert png.headers["content-type"] == "image/png"
        image = Image.open(io.BytesIO(png.content))
        assert image.format == "PNG"
        assert f"{image.width}x{image.height}" == icon["sizes"]
    assert {i["sizes"] for i in doc["icons"]} >= {"192x192", "512x512"}
    worker = httpx.get(f"{base}/my/sw.js")
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["service-worker-allowed"] == "/my"
    assert "script-src 'self'" in worker.headers["content-security-policy"]
    login = httpx.get(f"{base}/my/login").text
    assert '<link rel="manifest" href="/my/manifest.webmanifest">' in login
    assert '<script src="/static/pwa.js"></script>' in login
    assert "<script>" not in login  # no inline script (the CSP forbids them)
