"""The viewer in a real browser, on live output: the seed workload, the DOM bound, controls,
stdout and stderr told apart, the token. These need no spool reads."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

from playwright.sync_api import Page

from ..ws._cli_server import serve_cli, stop
from ..ws.conftest import Server, ServerPool, free_port
from .conftest import ARTIFACTS, ROOT, open_viewer, state, until

SEED = f"{sys.executable} {ROOT / 'scripts' / 'large_output.py'}"
DOM_BOUND = 300  # rows; the live view keeps 5,000 in memory and draws only those in sight
TOKEN = "s3cret-token-for-tests-only"


def run(page: Page, command: str, timeout: str = "") -> str:
    page.fill("#command", command)
    if timeout:
        page.fill("#timeout", timeout)
    page.click("#run")
    execution: str = until(page, "window.ccstreamViewer.state.execution", what="the start")
    return execution


def test_seed_workload_shows_its_last_line_and_exit_status(page: Page, server: Server) -> None:
    open_viewer(page, f"{server.http}/")
    lines = 200_000
    run(page, f"{SEED} --lines {lines} --no-sleep")
    most_rows = 0
    slowest = 0.0
    deadline = time.monotonic() + 30
    while True:
        asked = time.monotonic()
        now = state(page)
        # The page answers while it takes in ~20 MiB of output: it stays responsive.
        slowest = max(slowest, time.monotonic() - asked)
        most_rows = max(most_rows, now["domRows"], page.locator("#rows .line").count())
        if now["execState"] == "ended":
            break
        assert time.monotonic() < deadline, f"the run did not end: {now}"
        time.sleep(0.02)
    assert most_rows <= DOM_BOUND, most_rows
    assert slowest < 2.0, slowest

    last = page.locator(f'#rows .line[data-line="{lines}"]')
    assert last.inner_text().endswith(f"Line {lines - 1}: " + "x" * 100)
    assert page.locator("#rows .line").last.get_attribute("data-line") == str(lines)
    assert page.get_attribute("#exit", "data-status") == "completed"
    assert "exit code 0" in page.inner_text("#exit")
    progress = page.inner_text("#progress")
    assert f"{lines:,} lines" in progress
    assert "20 lines" in progress  # stderr: the seed's progress lines
    assert "MiB/s" in progress
    final = state(page)
    assert final["holes"] == 0
    assert final["repeats"] == 0
    assert final["liveRows"] + final["liveDropped"] == lines + 20
    assert final["liveRows"] <= 6250
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "viewer.png"))


def test_stdout_and_stderr_are_told_apart(page: Page, server: Server) -> None:
    open_viewer(page, f"{server.http}/")
    run(page, "for i in 1 2 3; do echo out $i; echo err $i >&2; done")
    until(page, "window.ccstreamViewer.state.execState === 'ended'")
    until(page, "document.querySelectorAll('#rows .line').length === 6", what="six rows")
    out = page.locator("#rows .line.out")
    err = page.locator("#rows .line.err")
    assert out.all_inner_texts() == ["1out 1", "2out 2", "3out 3"]
    assert err.all_inner_texts() == ["1err 1", "2err 2", "3err 3"]
    color = "getComputedStyle(document.querySelector('#rows .line.{}')).color"
    assert page.evaluate(color.format("out")) != page.evaluate(color.format("err"))


def test_output_is_shown_as_text_never_as_markup(page: Page, server: Server) -> None:
    open_viewer(page, f"{server.http}/")
    run(page, "echo '<img src=x onerror=alert(1)><b>bold</b>'")
    until(page, "window.ccstreamViewer.state.execState === 'ended'")
    row = page.locator("#rows .line.out .tx").first
    assert row.inner_text() == "<img src=x onerror=alert(1)><b>bold</b>"
    assert page.locator("#rows img").count() == 0


def test_pause_resume_cancel_and_the_exit_status(page: Page, server: Server) -> None:
    open_viewer(page, f"{server.http}/")
    run(page, "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.05; done")
    until(page, "window.ccstreamViewer.state.received?.stdout > 20", what="output")
    page.click("#pause")
    until(page, "window.ccstreamViewer.state.execState === 'paused'", what="paused")
    assert page.inner_text("#state") == "paused"
    assert page.is_enabled("#resume")
    assert not page.is_enabled("#pause")
    time.sleep(0.3)  # output in flight when it stopped
    held = state(page)["received"]["stdout"]
    time.sleep(0.5)
    assert state(page)["received"]["stdout"] == held, "output went on while paused"
    page.click("#resume")
    until(page, f"window.ccstreamViewer.state.received.stdout > {held}", what="output again")
    assert page.inner_text("#state") == "running"
    page.click("#cancel")
    until(page, "window.ccstreamViewer.state.execState === 'ended'", what="the end")
    assert page.get_attribute("#exit", "data-status") == "canceled"
    text = page.inner_text("#exit")
    assert "cancelled" in text
    assert "SIGTERM" in text or "SIGKILL" in text
    assert not page.is_enabled("#cancel")


def test_timeout_is_reported_as_such(page: Page, server: Server) -> None:
    open_viewer(page, f"{server.http}/")
    run(page, "echo start; sleep 30", timeout="0.5")
    until(page, "window.ccstreamViewer.state.execState === 'ended'", what="the timeout")
    assert page.get_attribute("#exit", "data-status") == "timeout"
    assert "timed out (total time limit)" in page.inner_text("#exit")


def test_the_servers_policy_shows_before_run_fails(page: Page, pool: ServerPool) -> None:
    server = pool.get("uvicorn", {"allow_shell": False, "allowed_executables": ["echo"]})
    open_viewer(page, f"{server.http}/")
    # Before anything is run the page says what this server takes, and sends argv only.
    until(page, "document.querySelector('#policy').textContent", what="the policy")
    note = page.inner_text("#policy")
    assert "no shell strings" in note
    assert "allowed: echo" in note
    assert page.is_checked("#argv-mode")
    assert page.is_disabled("#argv-mode")
    page.fill("#command", "ls /")
    page.click("#run")
    until(page, "document.querySelector('#message').dataset.kind === 'error'")
    assert page.inner_text("#message") == "not run: ls is not allowed here (allowed: echo)"
    assert state(page)["execution"] is None  # refused here, not by the server
    run(page, "echo 'hello there'")
    until(page, "window.ccstreamViewer.state.execState === 'ended'")
    assert page.locator("#rows .line.out .tx").first.inner_text() == "hello there"


def test_refused_commands_say_why(page: Page, pool: ServerPool) -> None:
    # A server too old to answer `policy` still refuses, and the page says why.
    server = pool.get("uvicorn", {"allow_shell": False, "allowed_executables": ["echo"]})
    open_viewer(page, f"{server.http}/")
    until(page, "document.querySelector('#policy').textContent", what="the policy")
    page.evaluate("document.querySelector('#argv-mode').disabled = false")
    page.uncheck("#argv-mode")
    page.evaluate("window.ccstreamViewer.forgetPolicy()")
    page.fill("#command", "echo hi; rm -rf /")
    page.click("#run")
    until(page, "document.querySelector('#message').dataset.kind === 'error'")
    assert "code -32001" in page.inner_text("#message")


def test_token_from_the_address_becomes_a_cookie_and_no_address_carries_it(
    page: Page, tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "server.log"
    proc = serve_cli(port, log, "--token", TOKEN)
    try:
        http = f"http://127.0.0.1:{port}"
        open_viewer(page, f"{http}/?token={TOKEN}")
        # The token leaves the address bar (and so the history) at once.
        assert "token" not in page.url
        execution = run(page, "echo guarded")
        until(page, "window.ccstreamViewer.state.execState === 'ended'")
        link = page.get_attribute("#dl-stdout", "href") or ""
        assert link == f"{http}/executions/{execution}/stdout"
        # The browser downloads with its cookie alone, which no script of the page can read.
        assert page.evaluate(f"fetch({link!r}).then((r) => r.text())") == "guarded\n"
        assert page.evaluate("document.cookie") == ""
        (cookie,) = page.context.cookies()
        assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Strict")
        assert TOKEN not in cookie["value"]
        # Without the cookie the page is refused, asks for the token, and signs in with it.
        page.context.clear_cookies()
        page.goto(f"{http}/")
        until(page, "window.ccstreamViewer?.state.connection === 'refused'", what="the refusal")
        assert "token" in page.inner_text("#message")
        assert page.is_visible("#login-form")
        page.fill("#token", "not-the-token-at-all")
        page.click("#login")
        until(page, "document.querySelector('#message').textContent.includes('sign-in failed')")
        page.fill("#token", TOKEN)
        page.click("#login")
        until(page, "window.ccstreamViewer.state.connection === 'open'", what="the sign-in")
        assert not page.is_visible("#login-form")
    finally:
        stop(proc, signal.SIGTERM)
    # A whole viewer session and a download, and the server's log (access log included) never
    # printed the token.
    text = log.read_text()
    assert TOKEN not in text
    assert "POST /login" in text
    assert f"GET /executions/{execution}/stdout" in text
