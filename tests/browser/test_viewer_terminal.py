"""The viewer in a real browser on terminal output: colours (a screenshot: red is red), a ``\\r``
progress bar showing its last state, and colours right on a page from the middle of a run."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from playwright.sync_api import Page

from ..ws.conftest import Server
from ._png import pixels
from .conftest import open_viewer, until

SHOTS = Path("/work/wt/i13-viewer-shots")
PY = sys.executable
COLOURS = (
    "print('\\x1b[31mred\\x1b[0m \\x1b[1;32mbold green\\x1b[0m \\x1b[38;5;208morange\\x1b[0m "
    "\\x1b[38;2;0;128;255mblue\\x1b[0m \\x1b[7minverse\\x1b[0m \\x1b[4;3munderlined italic\\x1b[0m "
    "\\x1b[?25l\\x1b]0;title\\x07plain')\n"
    "print(' '.join(f'\\x1b[{30 + i}mfg{i}' for i in range(8)) + ' ' "
    "+ ' '.join(f'\\x1b[{90 + i}mfg{i + 8}' for i in range(8)) + '\\x1b[0m')\n"
    "print(' '.join(f'\\x1b[{40 + i}m bg{i} \\x1b[0m' for i in range(8)) + ' ' "
    "+ ' '.join(f'\\x1b[{100 + i}m bg{i + 8} \\x1b[0m' for i in range(8)))\n"
    "print(''.join(f'\\x1b[48;5;{16 + i}m ' for i in range(0, 216, 3)) + '\\x1b[0m 256 colours')\n"
    "print(''.join(f'\\x1b[48;2;{i * 4};0;{255 - i * 4}m ' for i in range(64))"
    " + '\\x1b[0m 24-bit')\n"
    "print('\\x1b[2mdim\\x1b[22m normal \\x1b[1mbold\\x1b[0m')\n"
    "import sys\n"
    "sys.stderr.write('\\x1b[1;31merror:\\x1b[0m on stderr\\n')\n"
)


def run(page: Page, command: str) -> None:
    page.fill("#command", command)
    page.click("#run")
    until(page, "window.ccstreamViewer.state.execState === 'ended'", timeout=20, what="the end")


def script(tmp_path: Path, text: str) -> str:
    """A command that runs the Python program ``text`` (from a file: no shell quoting)."""
    path = tmp_path / "child.py"
    path.write_text(text)
    return f"{PY} {path}"


def span_style(page: Page, row: str, text: str) -> dict[str, str]:
    """The computed colour, background and weight of the span holding ``text`` in ``row``."""
    found: dict[str, str] = page.evaluate(
        """([row, text]) => {
          const span = [...document.querySelectorAll(row + ' .tx span')]
            .find((s) => s.textContent === text);
          if (!span) return null;
          const cs = getComputedStyle(span);
          return { color: cs.color, background: cs.backgroundColor, weight: cs.fontWeight,
                   decoration: cs.textDecorationLine, style: cs.fontStyle };
        }""",
        [row, text],
    )
    assert found is not None, f"no span {text!r} in {row}"
    return found


def test_colours_show_as_a_terminal_shows_them(page: Page, server: Server, tmp_path: Path) -> None:
    open_viewer(page, f"{server.http}/")
    run(page, script(tmp_path, COLOURS))
    row = '#rows .line.out[data-line="1"]'
    until(page, f"document.querySelector('{row} .tx span')", what="the coloured row")
    # The escapes are gone; the text is what a terminal would show.
    assert page.locator(f"{row} .tx").inner_text() == (
        "red bold green orange blue inverse underlined italic plain"
    )
    assert span_style(page, row, "red")["color"] == "rgb(224, 82, 82)"  # --ansi-1
    green = span_style(page, row, "bold green")
    assert green["color"] == "rgb(78, 184, 78)"
    assert int(green["weight"]) >= 700
    assert span_style(page, row, "orange")["color"] == "rgb(255, 135, 0)"  # 256-colour 208
    assert span_style(page, row, "blue")["color"] == "rgb(0, 128, 255)"  # 24-bit
    inverse = span_style(page, row, "inverse")
    assert inverse["background"] == "rgb(215, 221, 227)"  # the text colour, as its background
    styled = span_style(page, row, "underlined italic")
    assert (styled["decoration"], styled["style"]) == ("underline", "italic")
    # The screenshot, for a person to look at; and the pixels of the red word are red.
    shot = tmp_path / "colors.png"
    page.locator("#viewport").screenshot(path=str(shot))
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, SHOTS / "colors.png")
    box = page.evaluate(
        f"""(() => {{
          const span = [...document.querySelectorAll('{row} .tx span')]
            .find((s) => s.textContent === 'red');
          const r = span.getBoundingClientRect();
          const v = document.querySelector('#viewport').getBoundingClientRect();
          return [r.left - v.left, r.top - v.top, r.width, r.height];
        }})()"""
    )
    red = page.locator("#viewport").screenshot()
    _, _, rows = pixels(red)
    x0, y0, w, h = (int(v) for v in box)
    inside = [rows[y][x] for y in range(y0, y0 + h) for x in range(x0, x0 + w)]
    reds = [p for p in inside if p[0] > 170 and p[1] < 130 and p[2] < 130]
    assert len(reds) >= 10, f"{len(reds)} red pixels of {len(inside)}"
    others = [p for p in inside if p[1] > 150 and p[0] < 120]  # nothing green in the red word
    assert not others


def test_a_carriage_return_progress_bar_shows_its_last_state(
    page: Page, server: Server, tmp_path: Path
) -> None:
    bar = (
        "import sys, time\n"
        "for i in range(0, 101, 5):\n"
        "    sys.stdout.write(f'\\rprogress {i:3d}%'); sys.stdout.flush(); time.sleep(0.01)\n"
        "print(); print('after')\n"
    )
    open_viewer(page, f"{server.http}/")
    run(page, script(tmp_path, bar))
    first = '#rows .line.out[data-line="1"] .tx'
    until(page, f"document.querySelector('{first}')?.textContent === 'progress 100%'")
    assert page.locator('#rows .line.out[data-line="2"] .tx').inner_text() == "after"
    page.click("[data-tab=stdout]")
    until(page, f"document.querySelector('{first}')?.textContent === 'progress 100%'")


def test_a_page_from_the_middle_has_the_colour_set_before_it(
    page: Page, server: Server, tmp_path: Path
) -> None:
    child = (
        "import sys\nw = sys.stdout.write\nw('\\x1b[31mred from here\\n')\n"
        "for i in range(2, 20001): w(f'line {i}\\n')\n"
    )
    open_viewer(page, f"{server.http}/")
    run(page, script(tmp_path, child))
    page.click("[data-tab=stdout]")
    page.fill("#goto", "15000")
    page.click("#goto-form button")
    row = '#rows .line.out[data-line="15000"]'
    until(page, f"document.querySelector('{row} .tx span')", what="line 15000 in colour")
    assert span_style(page, row, "line 15000")["color"] == "rgb(224, 82, 82)"
