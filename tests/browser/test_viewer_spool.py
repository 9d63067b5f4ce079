"""The viewer in a real browser, reading the server's spool: scrolling back through a whole
run page by page, attaching to a finished run by id, and resuming after a dropped connection.

These use the protocol's ``page`` and ``subscribe`` methods.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from ..ws.conftest import Server
from ._proxy import Relay
from .conftest import ROOT, STEP, open_viewer, state, until

SEED = f"{sys.executable} {ROOT / 'scripts' / 'large_output.py'}"
LINES = 200_000
DOM_BOUND = 300


def seed_line(i: int) -> str:
    """Line ``i`` (0-based) of the seed workload, without its newline."""
    return f"Line {i}: " + "x" * 100


STDOUT_BYTES = sum(len(seed_line(i)) + 1 for i in range(LINES))
STDERR_BYTES = sum(len(f"Progress: {i / 10000}%\n") for i in range(0, LINES, 10000))


@pytest.fixture(scope="module")
def finished(browser: Browser, server: Server) -> str:
    """The id of a finished seed run of LINES lines, started from a viewer (detached, so it is
    kept after that page closed)."""
    context = browser.new_context()
    context.set_default_timeout(STEP)
    page = context.new_page()
    try:
        open_viewer(page, f"{server.http}/")
        page.fill("#command", f"{SEED} --lines {LINES} --no-sleep")
        page.click("#run")
        until(page, "window.ccstreamViewer.state.execState === 'ended'", timeout=30)
        execution: str = state(page)["execution"]
    finally:
        context.close()
    return execution


def to_top(page: Page) -> None:
    """The Home key in the output, as a person would scroll to the start."""
    page.focus("#viewport")
    page.keyboard.press("Home")


def settle(page: Page) -> None:
    """Wait until the view stops scrolling (wheel scrolling animates)."""
    top = -1.0
    for _ in range(100):
        now = float(page.evaluate("document.querySelector('#viewport').scrollTop"))
        if now == top:
            return
        top = now
        time.sleep(0.15)
    raise AssertionError("the view kept scrolling")


def row(page: Page, line: int) -> str:
    """The text of the stream tab's row for 1-based ``line``, once it is drawn."""
    selector = f'#rows .line.out[data-line="{line}"]'
    until(page, f"document.querySelector('{selector}')", what=f"line {line}")
    return page.locator(f"{selector} .tx").inner_text()


def test_scrolling_back_to_line_1_shows_line_1(page: Page, server: Server, finished: str) -> None:
    open_viewer(page, f"{server.http}/#{finished}")
    until(page, "window.ccstreamViewer.state.execState === 'ended'", what="the attach")
    page.click("[data-tab=stdout]")
    assert row(page, LINES) == seed_line(LINES - 1)  # it opens at the end
    to_top(page)
    assert row(page, 1) == seed_line(0)
    assert row(page, 2) == seed_line(1)
    assert state(page)["domRows"] <= DOM_BOUND
    # Scrolling up from the middle by wheel pulls the pages above.
    page.fill("#goto", "123456")
    page.click("#goto-form button")
    assert row(page, 123456) == seed_line(123455)
    page.mouse.move(640, 600)
    for _ in range(5):
        page.mouse.wheel(0, -600)
    until(page, "document.querySelector('#viewport').scrollTop < 123455 * 18 - 2000")
    settle(page)
    first = int(page.locator("#rows .line").first.get_attribute("data-row") or 0) + 1
    assert first < 123456
    assert row(page, first) == seed_line(first - 1)
    assert page.locator("#rows .line").count() <= DOM_BOUND
    # stderr has its own tab and line numbers.
    page.click("[data-tab=stderr]")
    until(page, "document.querySelector('#rows .line.err[data-line=\"1\"]')", what="stderr")
    assert page.locator('#rows .line.err[data-line="1"] .tx').inner_text() == "Progress: 0.0%"


def test_attaching_to_a_finished_run_shows_its_end(
    page: Page, server: Server, finished: str
) -> None:
    open_viewer(page, f"{server.http}/")
    page.fill("#attach-id", finished)
    page.click("#attach")
    until(page, "document.querySelector('#exit').dataset.status", what="the exit status")
    assert page.get_attribute("#exit", "data-status") == "completed"
    assert f"{LINES:,} lines" in page.inner_text("#progress")
    last = "#rows .line.out:last-child .tx"
    until(page, f"document.querySelector('{last}')?.textContent === '{seed_line(LINES - 1)}'")
    # Over 4 MiB: the live view starts near the end, and says so at its top.
    to_top(page)
    until(page, "document.querySelector('#rows .line.note')", what="the note")
    assert "attached near the end" in page.locator("#rows .line.note").inner_text()


@pytest.fixture
def relay(server: Server) -> Iterator[Relay]:
    proxy = Relay(server.port)
    yield proxy
    proxy.close()


def test_dropped_connection_resumes_without_gaps(page: Page, relay: Relay) -> None:
    # The seed with its pauses (0.1 s every 10,000 lines): about 2 s of output to cut into.
    open_viewer(page, f"http://127.0.0.1:{relay.port}/")
    page.fill("#command", f"{SEED} --lines {LINES}")
    page.click("#run")
    for fraction in (0.25, 0.6):
        until(
            page,
            f"window.ccstreamViewer.state.received?.stdout > {int(fraction * LINES * 111)}",
            timeout=20,
            what=f"{fraction:.0%} of the output",
        )
        assert relay.cut() > 0
        until(page, "window.ccstreamViewer.state.connection !== 'open'", what="the drop")
    until(page, "window.ccstreamViewer.state.execState === 'ended'", timeout=30, what="the end")
    final = state(page)
    assert final["reconnects"] >= 2
    assert final["holes"] == 0, final
    assert final["repeats"] == 0, final
    assert final["received"] == {"stdout": STDOUT_BYTES, "stderr": STDERR_BYTES}
    # Every line once, in order: the rows taken in count exactly the lines written.
    assert final["liveRows"] + final["liveDropped"] == LINES + 20
    assert page.get_attribute("#exit", "data-status") == "completed"
    until(page, f"document.querySelector('#rows .line.out[data-line=\"{LINES}\"]')")
    assert page.locator(f'#rows .line.out[data-line="{LINES}"] .tx').inner_text() == seed_line(
        LINES - 1
    )
