"""The viewer's files over HTTP, and the same-origin rule that lets its page connect."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from .conftest import Server, ServerPool

TOKEN = "s3cret-token-for-tests-only"


def _get(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> Any:
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        return urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as exc:
        return exc


def test_page_is_served_with_a_strict_policy(server: Server) -> None:
    response = _get(f"{server.http}/")
    assert response.status == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "connect-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    body = response.read().decode()
    assert '<script type="module" src="static/js/main.js">' in body
    # Nothing comes from elsewhere: every address in the page is relative.
    assert not re.search(r"""(src|href)=["'](https?:)?//""", body)


def test_every_file_the_page_names_is_there(server: Server) -> None:
    page = _get(f"{server.http}/").read().decode()
    pending = [f"static/{name}" for name in re.findall(r"""(?:src|href)="static/([^"]+)\"""", page)]
    seen: set[str] = set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        response = _get(f"{server.http}/{path}")
        assert response.status == 200, path
        kind = response.headers["content-type"]
        if path.endswith(".js"):
            assert kind == "text/javascript; charset=utf-8"
            folder = path.rsplit("/", 1)[0]
            text = response.read().decode()
            assert "http://" not in text
            assert "https://" not in text
            pending += [f"{folder}/{name}" for name in re.findall(r"from '\./([^']+)'", text)]
        elif path.endswith(".css"):
            assert kind == "text/css; charset=utf-8"
    assert {"static/viewer.css", "static/js/main.js", "static/js/rpc.js"} <= seen


def test_static_files_revalidate_with_etags(server: Server) -> None:
    first = _get(f"{server.http}/static/js/main.js")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "no-cache"
    again = _get(f"{server.http}/static/js/main.js", {"If-None-Match": etag})
    assert again.status == 304
    head = _get(f"{server.http}/", method="HEAD")
    assert head.status == 200
    assert head.read() == b""


def test_nothing_outside_the_static_files(server: Server) -> None:
    for path in ("/static/nope.js", "/static/../_app.py", "/static/js/../../_app.py", "/x"):
        assert _get(f"{server.http}{path}").status == 404, path
    assert _get(f"{server.http}/", method="POST").status == 405


async def _greeted(url: str, **kwargs: Any) -> int | None:
    """Connect; ``None`` when the server greeted, else the close code it refused with."""
    async with connect(url, **kwargs) as ws:
        try:
            message = await ws.recv()
        except ConnectionClosed as exc:
            return None if exc.rcvd is None else exc.rcvd.code
        assert '"connected"' in str(message)
        return None


@pytest.mark.anyio
async def test_the_servers_own_pages_may_connect(server: Server) -> None:
    own = f"http://127.0.0.1:{server.port}"
    assert await _greeted(server.url, origin=own) is None
    # Another port on the same host is another origin: a different site.
    assert await _greeted(server.url, origin=f"http://127.0.0.1:{server.port + 1}") == 4403
    assert await _greeted(server.url, origin="http://localhost:3000") == 4403
    assert await _greeted(server.url, origin="null") == 4403


@pytest.mark.anyio
async def test_dns_rebinding_is_not_same_origin_without_a_token(servers: ServerPool) -> None:
    # A hostile name resolving to 127.0.0.1: its page's Origin matches the Host it sends.
    plain = servers.get("uvicorn")
    name = f"rebind.example:{plain.port}"
    rebound: dict[str, Any] = {"host": "127.0.0.1", "port": plain.port}
    url = f"ws://{name}/ws"
    assert await _greeted(url, origin=f"http://{name}", **rebound) == 4403
    # With a token the token is the boundary: the same page, knowing it, may connect.
    guarded = servers.get("uvicorn", {"token": TOKEN})
    name = f"viewer.example:{guarded.port}"
    rebound = {"host": "127.0.0.1", "port": guarded.port}
    url = f"ws://{name}/ws?token={TOKEN}"
    assert await _greeted(url, origin=f"http://{name}", **rebound) is None
    assert await _greeted(f"ws://{name}/ws", origin=f"http://{name}", **rebound) == 4401


@pytest.mark.anyio
async def test_same_origin_can_be_turned_off(servers: ServerPool) -> None:
    server = servers.get("uvicorn", {"allow_same_origin": False})
    assert await _greeted(server.url, origin=f"http://127.0.0.1:{server.port}") == 4403
