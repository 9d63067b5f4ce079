"""The viewer in a real browser behind the guide's nginx, under a sub-path (``--root-path``):
its page, scripts, login, WebSocket and downloads all live below ``/ccstream/``."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from ..ws import _proxies
from ..ws._cli_server import serve_cli, stop
from ..ws.conftest import free_port
from .conftest import STEP, until

TOKEN = "s3cret-token-for-tests-only"


def test_the_viewer_runs_a_command_under_a_sub_path_behind_nginx(
    browser: Browser, tmp_path: Path
) -> None:
    if _proxies.binary("nginx") is None or shutil.which("openssl") is None:
        pytest.skip("nginx or openssl is not installed (make test installs nginx as root)")
    cert, key = _proxies.certificate(tmp_path)
    backend, listen = free_port(), free_port()
    log = tmp_path / "server.log"
    server = serve_cli(backend, log, "--token", TOKEN, "--root-path", "/ccstream")
    try:
        site = _proxies.fill(
            _proxies.sub_path_site(), listen=listen, backend=backend, cert=cert, key=key
        )
        proxy = _proxies.start(
            _proxies.nginx(site, tmp_path / "nginx"), listen, tmp_path / "nginx.log"
        )
        context = browser.new_context(ignore_https_errors=True)
        try:
            context.set_default_timeout(STEP)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            base = f"https://127.0.0.1:{listen}/ccstream/"
            page.goto(f"{base}?token={TOKEN}")
            until(page, "window.ccstreamViewer?.state.connection === 'open'", what="connection")
            page.fill("#command", "echo under a sub-path")
            page.click("#run")
            execution = until(page, "window.ccstreamViewer.state.execution", what="the start")
            until(page, "window.ccstreamViewer.state.execState === 'ended'", what="the end")
            assert "under a sub-path" in page.inner_text("#rows")
            link = page.get_attribute("#dl-stdout", "href")
            assert link == f"{base}executions/{execution}/stdout"
            fetched = page.evaluate(f"fetch({link!r}).then((r) => r.text())")
            assert fetched == "under a sub-path\n"
            (cookie,) = context.cookies()
            assert (cookie["path"], cookie["secure"]) == ("/ccstream/", True)
            assert not errors, errors
        finally:
            context.close()
            _proxies.stop(proxy)
    finally:
        stop(server, signal.SIGTERM)
    # uvicorn's access log shows the path with its root path, as the browser asked for it.
    text = log.read_text()
    assert "POST /ccstream/login" in text
    assert f"GET /ccstream/executions/{execution}/stdout" in text
    assert TOKEN not in text
