"""The viewer's "terminal" toggle (a run on a PTY the size of the output view, resized with it)
and its "times" toggle (each row's arrival time), in a real Chromium against a real server."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

from playwright.sync_api import Page

from ..ws.conftest import Server
from .conftest import ARTIFACTS, open_viewer, state, until

SIZE = (
    "import os, signal, sys, time\n"
    "def show(*_):\n"
    "    s = os.get_terminal_size()\n"
    "    sys.stdout.write(f'size {os.isatty(1)} {s.lines} {s.columns}\\n')\n"
    "signal.signal(signal.SIGWINCH, show)\n"
    "show()\n"
    "deadline = time.monotonic() + 20\n"
    "while time.monotonic() < deadline: time.sleep(0.02)\n"
)


def sizes(page: Page) -> list[tuple[str, int, int]]:
    rows = page.locator("#rows .line.out .tx").all_inner_texts()
    found = []
    for text in rows:
        match = re.fullmatch(r"size (True|False) (\d+) (\d+)", text)
        if match:
            found.append((match[1], int(match[2]), int(match[3])))
    return found


def test_terminal_toggle_runs_on_a_pty_sized_to_the_view_and_follows_it(
    page: Page, server: Server, tmp_path: Path
) -> None:
    open_viewer(page, f"{server.http}/")
    script = tmp_path / "size.py"  # the command box holds one line
    script.write_text(SIZE)
    page.fill("#command", f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}")
    page.check("#pty-mode")
    page.click("#run")
    until(page, "window.ccstreamViewer.state.execution", what="the start")
    until(page, "document.querySelectorAll('#rows .line.out').length >= 1", what="the size")
    found = sizes(page)
    assert len(found) == 1, page.locator("#rows .line").all_inner_texts()
    first = found[0]
    tty, rows, cols = first
    assert tty == "True"
    # The view is 1280 px wide and most of 800 px high: a terminal of its size in characters.
    assert 60 <= cols <= 200, first
    assert 10 <= rows <= 45, first
    page.set_viewport_size({"width": 900, "height": 600})
    until(page, "document.querySelectorAll('#rows .line.out').length >= 2", what="the resize")
    second = sizes(page)[-1]
    assert second[0] == "True"
    assert second[2] < cols, (first, second)
    assert second[1] < rows, (first, second)
    page.click("#cancel")
    until(page, "window.ccstreamViewer.state.execState === 'ended'", what="the end")


def test_without_the_toggle_the_command_sees_a_pipe(page: Page, server: Server) -> None:
    open_viewer(page, f"{server.http}/")
    page.fill("#command", f"{sys.executable} -c 'import os; print(\"tty\", os.isatty(1))'")
    page.click("#run")
    until(page, "window.ccstreamViewer.state.execState === 'ended'", what="the end")
    until(page, "document.querySelectorAll('#rows .line.out').length >= 1")
    assert page.locator("#rows .line.out .tx").first.inner_text() == "tty False"


TIME = re.compile(r"\d\d:\d\d:\d\d\.\d\d\d")


def test_times_toggle_shows_each_rows_arrival_live_and_paged(page: Page, server: Server) -> None:
    open_viewer(page, f"{server.http}/")
    page.fill("#command", "for i in 1 2 3; do echo line $i; sleep 0.2; done")
    page.click("#run")
    until(page, "window.ccstreamViewer.state.execState === 'ended'", what="the end")
    until(page, "document.querySelectorAll('#rows .line.out').length === 3")
    assert page.get_attribute("#times", "aria-pressed") == "false"
    before = page.evaluate(
        "getComputedStyle(document.querySelector('#rows .line.out'), '::before').content"
    )
    assert before in ("none", "normal", "")
    page.click("#times")
    assert page.get_attribute("#times", "aria-pressed") == "true"
    live = page.locator("#rows .line.out").evaluate_all("(rows) => rows.map((r) => r.dataset.time)")
    assert all(TIME.fullmatch(t or "") for t in live), live
    shown = page.evaluate(
        "getComputedStyle(document.querySelector('#rows .line.out'), '::before').content"
    )
    assert TIME.search(shown), shown
    # The stdout tab pages from the server's spool, with the times it recorded.
    page.click('#tabs [data-tab="stdout"]')
    until(
        page,
        "[...document.querySelectorAll('#rows .line.out')]"
        ".filter((r) => r.dataset.time).length === 3",
        what="paged rows with times",
    )
    paged = page.locator("#rows .line.out").evaluate_all(
        "(rows) => rows.map((r) => r.dataset.time)"
    )
    assert paged == sorted(paged)
    assert paged[0] != paged[2]  # 0.4 s apart
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "viewer-times.png"))
    page.click("#times")
    assert page.evaluate("document.body.classList.contains('show-times')") is False
    assert state(page)["tab"] == "stdout"
