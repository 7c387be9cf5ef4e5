"""Browser fixtures: Debian's Chromium driven by Playwright (never a downloaded browser).

Browser tests are marked `browser`; they skip only when /usr/bin/chromium is missing and
the CI variable is not set (in CI they must run).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def _require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests: {CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium fonts-nanum)")


@pytest.fixture(scope="module")  # the sync API runs an event loop: end it with the module
def browser() -> Iterator:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def new_page(browser) -> Iterator[Callable]:  # noqa: ANN001
    """Open a page in a fresh context (its own cookies): new_page(viewport=(w, h))."""
    contexts = []

    def _open(viewport: tuple[int, int] = (1280, 900), **kwargs):  # noqa: ANN202
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]},
                                      locale="ko-KR", **kwargs)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield _open
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot() -> Callable:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def _shot(page, name: str) -> Path:  # noqa: ANN001
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return _shot
