"""The viewer's find box in a real browser: it searches the whole output on the server, not the
rows in the DOM — across a 200,000-line run, a match on line 150,000 is found, counted and shown,
its row marked and its text highlighted; next wraps around; a pattern that matches nothing says
so."""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import Page

from ..ws.conftest import Server
from .conftest import ARTIFACTS, open_viewer, state, until

LINES = 200_000
CHILD = (
    "import sys\n"
    f"for i in range(1, {LINES + 1}):\n"
    "    sys.stdout.write(f'row {i} ' + ('the NEEDLE is here' if i in (150000, 199990) else 'hay')"
    " + '\\n')\n"
)


def test_find_reaches_a_match_on_line_150000_of_200000_and_shows_it(
    page: Page, server: Server, tmp_path: Path
) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    open_viewer(page, f"{server.http}/")
    page.fill("#command", f"{sys.executable} {script}")
    page.click("#run")
    until(page, "window.ccstreamViewer.state.execState === 'ended'", timeout=60)
    page.fill("#find", "needle")
    page.press("#find", "Enter")
    until(page, "window.ccstreamSearch.state.index === 0", what="the first match")
    found = page.evaluate("window.ccstreamSearch.state")
    assert found["hit"] == {"stream": "stdout", "line": 149_999}
    assert state(page)["tab"] == "stdout"
    # The row of line 150,000 is in the DOM (about 35 rows are), marked, with its text.
    row = "#rows .line[data-row='149999']"
    until(page, f"document.querySelector(\"{row}\")?.classList.contains('find-hit')")
    assert "row 150000 the NEEDLE is here" in (page.text_content(row) or "")
    assert page.evaluate("CSS.highlights.get('find').size") >= 1
    assert state(page)["domRows"] < 300
    until(page, "document.querySelector('#find-count').textContent.startsWith('1 of 2')")
    assert "stdout line 150,000" in (page.text_content("#find-count") or "")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "viewer-search.png"))
    # Next goes to the second match, then wraps around to the first.
    page.press("#find", "Enter")
    until(page, "window.ccstreamSearch.state.index === 1")
    assert page.evaluate("window.ccstreamSearch.state.hit.line") == 199_989
    until(page, "document.querySelector(\"#rows .line[data-row='199989']\") !== null")
    page.click("#find-next")
    until(page, "window.ccstreamSearch.state.index === 0")
    page.press("#find", "Shift+Enter")
    until(page, "window.ccstreamSearch.state.index === 1")
    # Case matters when asked; no match is said.
    page.check("#find-case")
    page.press("#find", "Enter")
    until(page, "document.querySelector('#find-count').textContent === 'no match'")
