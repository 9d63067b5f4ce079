"""Headless Chromium (Debian's ``chromium`` package) driving the viewer against a real server.

Skipped, with the reason, when ``/usr/bin/chromium`` or the ``playwright`` package is missing.
Playwright only drives the system's browser here: ``playwright install`` is never run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..ws.conftest import Server, ServerPool

CHROMIUM = os.environ.get("CCSTREAM_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STEP = 10_000  # ms: the longest any single browser action may take

if not os.access(CHROMIUM, os.X_OK):
    pytest.skip(
        f"no Chromium at {CHROMIUM}: install Debian's 'chromium' package (apt-get install -y "
        "chromium) to run the browser tests",
        allow_module_level=True,
    )
try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    pytest.skip(
        "the 'playwright' package is missing: pip install -e '.[ws,dev]'", allow_module_level=True
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One browser per test module (the sync driver must not outlive the module: later
    modules run their own asyncio loops in this thread)."""
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS, timeout=30_000)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def pool() -> Iterator[ServerPool]:
    servers = ServerPool()
    yield servers
    servers.close()


@pytest.fixture(scope="module")
def server(pool: ServerPool) -> Server:
    """A server with the default configuration (loopback, no token, shell strings on)."""
    return pool.get("uvicorn")


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page; a script error in it fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(STEP)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield tab
    finally:
        context.close()
    assert not errors, f"script errors in the page: {errors}"


def until(page: Page, expression: str, timeout: float = 10.0, what: str = "") -> Any:
    """Poll ``expression`` in the page until it is truthy; its value.

    Polls from Python: the page's Content-Security-Policy forbids the string evaluation that
    Playwright's own wait_for_function uses.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            state = page.evaluate("window.ccstreamViewer ? window.ccstreamViewer.state : null")
            view = page.evaluate(
                "[document.querySelector('#message')?.textContent,"
                " document.querySelector('#viewport')?.scrollTop,"
                " [...document.querySelectorAll('#rows .line')].slice(0, 3).map(e => e.className"
                " + ' ' + e.dataset.row + ' ' + e.textContent.slice(0, 30))]"
            )
            raise AssertionError(
                f"timed out after {timeout} s waiting for {what or expression}; "
                f"viewer state {state}; message, scroll position, first rows {view!r}"
            )
        time.sleep(0.05)


def state(page: Page) -> dict[str, Any]:
    """The viewer's own account of what it holds (``window.ccstreamViewer.state``)."""
    value: dict[str, Any] = page.evaluate("window.ccstreamViewer.state")
    return value


def open_viewer(page: Page, url: str) -> None:
    page.goto(url)
    until(page, "window.ccstreamViewer?.state.connection === 'open'", what="the connection")
