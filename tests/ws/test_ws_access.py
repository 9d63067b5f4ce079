"""No secret in the server's log; the viewer's login cookie; the Host allowlist for HTTP."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from ccstream_ws import Client, ServerConfig
from ccstream_ws.server._auth import cookie_name, session_cookie

from ._cli_server import serve_cli, stop
from ._raw import raw
from .conftest import ServerPool, free_port

pytestmark = pytest.mark.anyio
TOKEN = "s3cret-token-for-tests-only"


def _request(
    port: int, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body or None, headers=headers or {})
        answer = conn.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        conn.close()


def _login(port: int, token: str) -> tuple[int, str | None]:
    status, headers, _ = _request(
        port,
        "POST",
        "/login",
        {"Content-Type": "application/json"},
        json.dumps({"token": token}).encode(),
    )
    return status, headers.get("set-cookie")


async def _close_code(url: str, **kwargs: Any) -> int | None:
    async with connect(url, **kwargs) as ws:
        try:
            while True:
                await ws.recv()
        except ConnectionClosed as exc:
            return None if exc.rcvd is None else exc.rcvd.code


async def _one_execution(url: str, **client: Any) -> str:
    async with Client(url, **client) as c:
        execution = await c.execute(["echo", "guarded"], detach=True)
        await execution.collect()
        return execution.id


# -- the login cookie ---------------------------------------------------------------------------


async def test_login_trades_the_token_for_a_cookie_the_websocket_and_downloads_take(
    servers: ServerPool,
) -> None:
    server = servers.get("uvicorn", {"token": TOKEN})
    assert _login(server.port, "wrong-token-wrong-token")[0] == 401
    assert _request(server.port, "POST", "/login", body=b"not json")[0] == 400
    assert _request(server.port, "POST", "/login", body=b"x" * 5000)[0] == 413
    assert _request(server.port, "GET", "/login")[0] == 405
    status, cookie = _login(server.port, TOKEN)
    assert status == 200
    assert cookie is not None
    attributes = [part.strip() for part in cookie.split(";")]
    assert {"HttpOnly", "SameSite=Strict", "Path=/"} <= set(attributes)
    assert TOKEN not in cookie
    pair = attributes[0]
    async with raw(server.url, additional_headers={"Cookie": pair}) as c:
        assert (await c.recv())["method"] == "connected"
    execution = await _one_execution(server.url, token=TOKEN)
    status, _, body = _request(
        server.port, "GET", f"/executions/{execution}/stdout", {"Cookie": pair}
    )
    assert (status, body) == (200, b"guarded\n")
    # A forged, an altered or an expired cookie is no token.
    name, _, value = pair.partition("=")
    expires, _, mac = value.partition(".")
    scope = {"headers": [(b"host", f"127.0.0.1:{server.port}".encode())]}
    stale = session_cookie(scope, ServerConfig(token=TOKEN), now=time.time() - 13 * 3600)
    for bad in (
        f"{name}={expires}.{'0' * len(mac)}",
        f"{name}={int(expires) + 1}.{mac}",
        stale.decode().split(";")[0],
        f"{name}={value}; {name}={value}",
    ):
        assert await _close_code(server.url, additional_headers={"Cookie": bad}) == 4401, bad
        status, _, _ = _request(
            server.port, "GET", f"/executions/{execution}/stdout", {"Cookie": bad}
        )
        assert status == 401, bad
    # The cookie is named for this server's port: one under another port's name is not read.
    assert name == cookie_name(scope) == f"ccstream_ws_{server.port}"
    other = f"ccstream_ws_{server.port + 1}={value}"
    assert await _close_code(server.url, additional_headers={"Cookie": other}) == 4401
    # Logging in from a foreign page is refused like its WebSocket would be.
    status, _, _ = _request(
        server.port,
        "POST",
        "/login",
        {"Origin": "http://evil.example"},
        json.dumps({"token": TOKEN}).encode(),
    )
    assert status == 403


# -- the log ------------------------------------------------------------------------------------


async def test_the_access_log_never_holds_the_token(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "server.log"
    proc = serve_cli(port, log, "--token", TOKEN)
    try:
        url = f"ws://127.0.0.1:{port}/ws"
        # Every way a client may present it: query (a browser without the viewer), header, cookie.
        async with raw(f"{url}?token={TOKEN}") as c:
            assert (await c.recv())["method"] == "connected"
        execution = await _one_execution(url, token=TOKEN)
        assert _request(port, "GET", f"/?token={TOKEN}")[0] == 200
        assert _request(port, "GET", f"/executions/{execution}/stdout?token={TOKEN}")[0] == 200
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        assert _request(port, "GET", f"/executions/{execution}/merged", bearer)[0] == 200
        status, cookie = _login(port, TOKEN)
        assert status == 200
        assert cookie is not None
        assert _login(port, TOKEN + "x")[0] == 401
    finally:
        stop(proc, signal.SIGTERM)
    text = log.read_text()
    assert TOKEN not in text
    # The access log was on and printed those paths, with the value cut out.
    assert f"GET /executions/{execution}/stdout?token=[redacted]" in text
    assert "/ws?token=[redacted]" in text
    assert "POST /login" in text


# -- Host ---------------------------------------------------------------------------------------


def test_http_answers_only_for_the_servers_own_host_names(servers: ServerPool) -> None:
    server = servers.get("uvicorn")
    port = server.port
    for host in (f"evil.example:{port}", "evil.example", f"127.0.0.1.evil.example:{port}", ""):
        for path in ("/", "/static/js/main.js", "/executions/" + "0" * 32 + "/stdout", "/login"):
            method = "POST" if path == "/login" else "GET"
            status, _, body = _request(port, method, path, {"Host": host})
            assert status == 421, (host, path, status)
            assert b"not served here" in body
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "127.0.0.1"):
        assert _request(port, "GET", "/", {"Host": host})[0] == 200, host
    # /healthz shows counts only, for load balancers that know the server by any name.
    assert _request(port, "GET", "/healthz", {"Host": "evil.example"})[0] == 200


async def test_a_download_after_dns_rebinding_is_refused(servers: ServerPool) -> None:
    server = servers.get("uvicorn")
    execution = await _one_execution(server.url)
    path = f"/executions/{execution}/stdout"
    assert _request(server.port, "GET", path)[0] == 200
    # The same request from a page of a name that resolves to 127.0.0.1: refused, though it
    # knows the id.
    assert _request(server.port, "GET", path, {"Host": f"rebound.example:{server.port}"})[0] == 421


def test_allow_host_names_a_proxy(servers: ServerPool) -> None:
    server = servers.get("uvicorn", {"allowed_hosts": ["proxy.example"]})
    assert _request(server.port, "GET", "/", {"Host": "proxy.example"})[0] == 200
    assert _request(server.port, "GET", "/", {"Host": "proxy.example:443"})[0] == 200
    assert _request(server.port, "GET", "/", {"Host": "evil.example"})[0] == 421
    # With a token, any name, unless the allowlist is given: then it holds there too.
    open_server = servers.get("uvicorn", {"token": TOKEN})
    assert _request(open_server.port, "GET", "/", {"Host": "evil.example"})[0] == 200
    strict = servers.get("uvicorn", {"token": TOKEN, "allowed_hosts": ["proxy.example"]})
    assert _request(strict.port, "GET", "/", {"Host": "evil.example"})[0] == 421
    assert _request(strict.port, "GET", "/", {"Host": "proxy.example"})[0] == 200


async def test_a_proxy_name_counts_as_the_servers_own_origin(servers: ServerPool) -> None:
    server = servers.get("uvicorn", {"allowed_hosts": ["proxy.example"]})

    def sock() -> socket.socket:
        return socket.create_connection(("127.0.0.1", server.port), timeout=5)

    # The viewer's page as the proxy serves it: its origin is the proxy's name.
    async with raw("ws://proxy.example/ws", sock=sock(), origin="http://proxy.example") as c:
        assert (await c.recv())["method"] == "connected"
    code = await _close_code("ws://evil.example/ws", sock=sock(), origin="http://evil.example")
    assert code == 4403


def test_allowed_hosts_are_validated() -> None:
    with pytest.raises(Exception, match="lower-case"):
        ServerConfig(allowed_hosts=("Proxy.Example",))
