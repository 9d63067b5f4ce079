"""The viewer in a real browser on a line longer than a page's byte bound: its row says how many
bytes the page left out and links to them, instead of pretending the line ends there."""

from __future__ import annotations

import sys
import urllib.request

from playwright.sync_api import Page

from ..ws.conftest import Server
from .conftest import open_viewer, until

LONG = 600_000
PAGE_BYTES = 256 * 1024  # the viewer's page bound (static/js/pages.js)
MAX_CHARS = 2000  # what a row shows of a line (static/js/lines.js)


def test_a_cut_line_shows_the_bytes_left_out_and_links_to_them(page: Page, server: Server) -> None:
    open_viewer(page, f"{server.http}/")
    page.fill("#command", f"{sys.executable} -c \"print('a' * {LONG}); print('end')\"")
    page.click("#run")
    until(page, "window.ccstreamViewer.state.execState === 'ended'", timeout=20, what="the end")
    page.click("[data-tab=stdout]")
    row = '#rows .line.out[data-line="1"]'
    until(page, f"document.querySelector('{row} a.rest')", what="the cut row's link")
    text = page.locator(f"{row} .tx").inner_text()
    omitted = LONG + 1 - PAGE_BYTES
    assert text == "a" * MAX_CHARS + (
        f" … ({PAGE_BYTES - MAX_CHARS:,} more characters, then {omitted:,} more bytes not fetched)"
    )
    link = page.locator(f"{row} a.rest")
    assert link.inner_text() == f"the rest from byte {PAGE_BYTES:,}"
    href = link.get_attribute("href")
    assert href is not None
    assert href.endswith(f"/stdout?range=bytes%3D{PAGE_BYTES}-{LONG}"), href
    with urllib.request.urlopen(href, timeout=10) as response:
        assert response.status == 206
        assert response.read() == b"a" * (omitted - 1) + b"\n"
    # The line after it is whole, and has no link.
    after = '#rows .line.out[data-line="2"]'
    until(page, f"document.querySelector('{after}')", what="line 2")
    assert page.locator(f"{after} .tx").inner_text() == "end"
    assert page.locator(f"{after} a.rest").count() == 0
