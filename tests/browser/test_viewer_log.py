"""The viewer in a real browser as a log viewer: line links, wrap, "show the whole line", the
list of executions, and counts in step with the rows, with correct plurals."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from ..ws.conftest import Server
from .conftest import STEP, open_viewer, state, until

PY = sys.executable
ROW = 18  # px: the height of one row (viewer.css --row)


def script(tmp_path: Path, text: str) -> str:
    path = tmp_path / "child.py"
    path.write_text(text)
    return f"{PY} {path}"


def run(page: Page, command: str) -> str:
    page.fill("#command", command)
    page.click("#run")
    until(page, "window.ccstreamViewer.state.execState === 'ended'", timeout=20, what="the end")
    execution: str = state(page)["execution"]
    return execution


@pytest.fixture(scope="module")
def numbered(browser: Browser, server: Server, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A finished run of 1,000 numbered lines on stdout and 3 on stderr."""
    path = tmp_path_factory.mktemp("child") / "child.py"
    path.write_text(
        "import sys\nfor i in range(1, 1001): print(f'line {i}')\n"
        "for i in range(1, 4): print(f'err {i}', file=sys.stderr)\n"
    )
    context = browser.new_context()
    context.set_default_timeout(STEP)
    page = context.new_page()
    try:
        open_viewer(page, f"{server.http}/")
        return run(page, f"{PY} {path}")
    finally:
        context.close()


def marked(page: Page) -> list[str]:
    value: list[str] = page.evaluate(
        "[...document.querySelectorAll('#rows .line.marked')].map((e) => e.dataset.line)"
    )
    return value


def test_a_line_link_scrolls_to_its_lines_and_marks_them(
    page: Page, server: Server, numbered: str
) -> None:
    open_viewer(page, f"{server.http}/#{numbered}/L500-L502")
    until(page, "document.querySelector('#rows .line.marked')", what="the linked lines")
    assert state(page)["tab"] == "stdout"
    assert marked(page) == ["500", "501", "502"]
    assert page.locator('#rows .line[data-line="500"] .tx').inner_text() == "line 500"
    top = page.evaluate(
        "document.querySelector('#rows .line[data-line=\"500\"]').getBoundingClientRect().top"
        " - document.querySelector('#viewport').getBoundingClientRect().top"
    )
    assert 0 <= top < 10 * ROW  # in sight, near the top
    # Clicking a line number links it; shift-click makes a range.
    page.click('#rows .line[data-line="505"] .ln')
    assert page.url.endswith(f"#{numbered}/L505")
    assert marked(page) == ["505"]
    page.click('#rows .line[data-line="507"] .ln', modifiers=["Shift"])
    assert page.url.endswith(f"#{numbered}/L505-L507")
    until(page, "document.querySelectorAll('#rows .line.marked').length === 3")
    # A link to stderr opens its tab; following a new fragment goes there.
    page.evaluate(f"location.hash = '#{numbered}/stderr/L2'")
    until(page, "window.ccstreamViewer.state.tab === 'stderr'", what="the stderr tab")
    until(page, "document.querySelector('#rows .line.err.marked')", what="stderr line 2")
    assert marked(page) == ["2"]


def test_wrap_shows_a_long_line_whole_within_the_width(
    page: Page, server: Server, tmp_path: Path
) -> None:
    open_viewer(page, f"{server.http}/")
    run(page, script(tmp_path, "print('w' * 1500)\nfor i in range(60): print(f'short {i}')\n"))
    page.click("[data-tab=stdout]")
    page.fill("#goto", "1")
    page.click("#goto-form button")
    long_row = '#rows .line[data-line="1"]'
    until(page, f"document.querySelector('{long_row} .tx')?.textContent.startsWith('www')")
    assert page.locator(long_row).bounding_box()["height"] == pytest.approx(ROW, abs=1)  # type: ignore[index]
    page.click("#wrap")
    assert page.get_attribute("#wrap", "aria-pressed") == "true"
    until(page, f"document.querySelector('{long_row}').getBoundingClientRect().height > {3 * ROW}")
    fits = page.evaluate(
        "(() => { const v = document.querySelector('#viewport');"
        " return v.scrollWidth <= v.clientWidth + 1; })()"
    )
    assert fits, "a wrapped view scrolls sideways"
    # At the end, wrapped, the last line sits at the bottom of the view.
    page.click("#follow")
    until(page, "document.querySelector('#rows .line[data-line=\"61\"]')", what="the last line")
    gap = page.evaluate(
        "document.querySelector('#viewport').getBoundingClientRect().bottom"
        " - document.querySelector('#rows .line[data-line=\"61\"]').getBoundingClientRect().bottom"
    )
    assert -1 <= gap < 2 * ROW, gap
    page.click("#wrap")
    page.fill("#goto", "1")
    page.click("#goto-form button")
    until(page, f"document.querySelector('{long_row}')?.getBoundingClientRect().height < {ROW + 1}")


def test_show_the_whole_line_fetches_it_in_bounded_pieces(
    page: Page, server: Server, tmp_path: Path
) -> None:
    long = 600_000
    open_viewer(page, f"{server.http}/")
    run(page, script(tmp_path, f"print('ab' * 1500)\nprint('\\x1b[32m' + 'g' * {long})\n"))
    page.click("[data-tab=stdout]")
    page.fill("#goto", "1")
    page.click("#goto-form button")
    # Cut by the row (2,000 characters of 3,000): the whole of it in the panel.
    page.click('#rows .line[data-line="1"] button.whole')
    until(page, "document.querySelector('#whole-text').textContent.length === 3000")
    assert page.inner_text("#whole .meta") == "stdout line 1: 3,001 bytes with its newline"
    assert page.is_hidden("#whole-more")
    # Cut by the page (256 KiB of 600,006 bytes): the rest comes a piece at a time.
    page.click('#rows .line[data-line="2"] button.whole')
    piece = 256 * 1024
    first = piece - len("\x1b[32m")
    until(page, f"document.querySelector('#whole-text').textContent.length === {first}")
    assert page.is_visible("#whole-more")
    page.click("#whole-more")
    until(page, f"document.querySelector('#whole-text').textContent.length === {first + piece}")
    page.click("#whole-more")
    until(page, f"document.querySelector('#whole-text').textContent.length === {long}")
    assert page.is_hidden("#whole-more")
    assert page.inner_text("#whole .meta") == "stdout line 2: 600,006 bytes with its newline"
    colour = page.evaluate("getComputedStyle(document.querySelector('#whole-text span')).color")
    assert colour == "rgb(78, 184, 78)"  # the line's green, all the way
    page.click("#whole-close")
    assert page.is_hidden("#whole")


def test_the_list_shows_running_and_recent_executions(
    page: Page, server: Server, numbered: str, tmp_path: Path
) -> None:
    open_viewer(page, f"{server.http}/")
    page.fill("#command", f"{PY} -c \"import time; print('up'); time.sleep(20)\"")
    page.click("#run")
    running = until(page, "window.ccstreamViewer.state.execution", what="the start")
    page.click("#runs-toggle")
    until(page, f"document.querySelector('#runs tr[data-id=\"{numbered}\"]')", what="the list")
    assert page.get_attribute(f'#runs tr[data-id="{running}"]', "data-state") == "running"
    row = page.inner_text(f'#runs tr[data-id="{numbered}"]')
    assert "1,000 lines" in row
    assert "3 lines" in row
    assert "running execution" in page.inner_text("#runs .summary")
    # A click attaches to it.
    page.click(f'#runs tr[data-id="{numbered}"]')
    until(page, f"window.ccstreamViewer.state.execution === '{numbered}'", what="the attach")
    until(page, "window.ccstreamViewer.state.execState === 'ended'")
    page.click(f'#runs tr[data-id="{running}"]')
    until(page, f"window.ccstreamViewer.state.execution === '{running}'")
    page.click("#cancel")
    until(page, "window.ccstreamViewer.state.execState === 'ended'")


def test_counts_are_in_step_with_the_rows_and_say_1_line(
    page: Page, server: Server, tmp_path: Path
) -> None:
    child = (
        "import sys, time\nprint('one', flush=True)\ntime.sleep(1.5)\n"
        "print('two'); print('three')\n"
    )
    open_viewer(page, f"{server.http}/")
    page.fill("#command", script(tmp_path, child))
    page.click("#run")
    until(page, "document.querySelector('#rows .line.out .tx')?.textContent === 'one'")
    # While the run waits: the one row shown, and "1 line", not "1 lines".
    until(page, "document.querySelector('[data-field=\"stdout-lines\"]').textContent === '1 line'")
    assert page.inner_text('[data-field="stderr-lines"]') == "0 lines"
    assert page.inner_text('[data-field="stdout-bytes"]') == "4 B"
    until(page, "window.ccstreamViewer.state.execState === 'ended'")
    assert page.inner_text('[data-field="stdout-lines"]') == "3 lines"
    assert page.locator("#rows .line.out").count() == 3
