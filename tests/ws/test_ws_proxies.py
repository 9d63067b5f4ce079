"""docs/deployment.md's nginx and haproxy configs in front of a real ``ccstream-ws serve``.

Each config is read from the guide itself (so the guide holds the tested config), given this
test's ports and a throw-away certificate, and run by Debian's binary on loopback. Through each:
a WebSocket session from the viewer's origin (``execute``, output byte-exact), a byte-range
download, and the client's address from ``X-Forwarded-For`` in the server's log; through nginx
also the viewer, its login, its WebSocket and a download under a sub-path (``--root-path``).
"""

from __future__ import annotations

import base64
import http.client
import json
import shutil
import ssl
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest

from . import _proxies
from ._cli_server import serve_cli, stop
from ._raw import Raw, raw
from .conftest import free_port

pytestmark = pytest.mark.anyio

TOKEN = "proxy-test-token-0123456789"
CLIENT = "127.0.0.2"  # Linux routes all of 127.0.0.0/8 to loopback
PY = sys.executable
# Every byte value, then lines: what comes back must be these bytes exactly.
PRODUCE = (
    "import sys\n"
    "out = sys.stdout.buffer\n"
    "out.write(bytes(range(256)) * 64)\n"
    "for i in range(3000): out.write(b'line %d of the proxied run\\n' % i)\n"
)


def expected_output() -> bytes:
    lines = b"".join(b"line %d of the proxied run\n" % i for i in range(3000))
    return bytes(range(256)) * 64 + lines


def needs(*names: str) -> None:
    for name in names:
        if _proxies.binary(name) is None:
            pytest.skip(f"{name} is not installed (make test installs it as root with apt-get)")


@dataclass
class Proxied:
    """A server behind a proxy: the proxy's port, the TLS context that trusts its
    certificate, the server's log and the path prefix."""

    port: int
    tls: ssl.SSLContext
    log: Path
    prefix: str = ""

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: no certificate for the proxies' TLS")
    return _proxies.certificate(tmp_path_factory.mktemp("tls"))


def _context(cert: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert))


@pytest.fixture
def proxied(
    request: pytest.FixtureRequest, tmp_path: Path, certificate: tuple[Path, Path]
) -> Iterator[Proxied]:
    """``ccstream-ws serve`` (with a token) behind the proxy ``request.param`` names (and
    the server's further flags after it)."""
    kind, *flags = str(request.param).split()
    needs(kind)
    if sys.platform != "linux":
        pytest.skip("the client connects from 127.0.0.2, which only Linux has without set-up")
    cert, key = certificate
    backend, listen = free_port(), free_port()
    log = tmp_path / "server.log"
    server = serve_cli(backend, log, "--token", TOKEN, *flags)
    try:
        if kind == "nginx":
            site = _proxies.snippets("nginx")[0]
            filled = _proxies.fill(site, listen=listen, backend=backend, cert=cert, key=key)
            command = _proxies.nginx(filled, tmp_path / "nginx")
        else:
            config = _proxies.snippets("haproxy")[0]
            filled = _proxies.fill(config, listen=listen, backend=backend, cert=cert, key=key)
            command = _proxies.haproxy(filled, tmp_path / "haproxy")
        proxy = _proxies.start(command, listen, tmp_path / f"{kind}.log")
        try:
            yield Proxied(listen, _context(cert), log)
        finally:
            _proxies.stop(proxy)
    finally:
        stop(server, 15)


async def _session(ws: Raw) -> tuple[str, bytes]:
    """Run PRODUCE; its execution id and its stdout as received."""
    assert (await ws.recv())["method"] == "connected"
    answer = await ws.call(
        "execute", {"argv": [PY, "-c", PRODUCE], "output_options": {"encoding": "base64"}}
    )
    execution_id = answer["result"]["execution_id"]
    out = bytearray()
    while True:
        message = await ws.recv()
        params = message.get("params", {})
        if message.get("method") == "process.output" and params["type"] == "stdout":
            assert params["offset"] == len(out)
            out += base64.b64decode(params["data"])
        elif message.get("method") == "process.completed":
            assert params["exit_code"] == 0, params
            return execution_id, bytes(out)


def _get(proxied: Proxied, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPSConnection("127.0.0.1", proxied.port, context=proxied.tls)
    try:
        connection.request("GET", path, headers=headers)
        answer = connection.getresponse()
        found = {k.lower(): v for k, v in answer.getheaders()}
        return answer.status, found, answer.read()
    finally:
        connection.close()


def _post(proxied: Proxied, path: str, body: dict[str, Any]) -> tuple[int, dict[str, str]]:
    connection = http.client.HTTPSConnection("127.0.0.1", proxied.port, context=proxied.tls)
    try:
        headers = {"Content-Type": "application/json", "Origin": proxied.origin}
        connection.request("POST", path, body=json.dumps(body), headers=headers)
        answer = connection.getresponse()
        answer.read()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}
    finally:
        connection.close()


@pytest.mark.parametrize("proxied", ["nginx", "haproxy"], indirect=True)
async def test_a_websocket_session_and_a_range_download_through_the_documented_proxy(
    proxied: Proxied,
) -> None:
    url = f"wss://127.0.0.1:{proxied.port}/ws"
    # The viewer's own origin, port included: refused (4403) unless the proxy keeps the port in
    # Host. From 127.0.0.2, so the server's log tells the proxy's X-Forwarded-For (127.0.0.2)
    # from the proxy's own address (127.0.0.1).
    async with raw(
        url,
        ssl=proxied.tls,
        origin=proxied.origin,
        additional_headers={"Authorization": f"Bearer {TOKEN}"},
        local_addr=(CLIENT, 0),
    ) as ws:
        execution_id, out = await _session(ws)
        want = expected_output()
        assert out == want
        # The execution lives while its connection does.
        auth = {"Authorization": f"Bearer {TOKEN}"}
        path = f"/executions/{execution_id}/stdout"
        status, headers, body = await anyio.to_thread.run_sync(
            _get, proxied, path, {**auth, "Range": "bytes=16000-20999"}
        )
        assert status == 206, body[:200]
        assert body == want[16000:21000]
        assert headers["content-range"] == f"bytes 16000-20999/{len(want)}"
        status, _, body = await anyio.to_thread.run_sync(_get, proxied, path, auth)
        assert (status, body) == (200, want)
    assert f"connected from {CLIENT}:" in proxied.log.read_text()


@pytest.mark.parametrize("proxied", ["nginx --forwarded-allow-ips 192.0.2.1"], indirect=True)
async def test_forwarded_for_from_an_address_not_allowed_is_not_believed(
    proxied: Proxied,
) -> None:
    async with raw(
        f"wss://127.0.0.1:{proxied.port}/ws",
        ssl=proxied.tls,
        additional_headers={"Authorization": f"Bearer {TOKEN}"},
        local_addr=(CLIENT, 0),
    ) as ws:
        assert (await ws.recv())["method"] == "connected"
    log = proxied.log.read_text()
    assert "connected from 127.0.0.1:" in log  # the proxy's own address
    assert CLIENT not in log


@pytest.fixture
def under_sub_path(tmp_path: Path, certificate: tuple[Path, Path]) -> Iterator[Proxied]:
    """The server with ``--root-path /ccstream`` behind the documented nginx site, its
    ``location /`` replaced by the guide's sub-path location."""
    needs("nginx")
    cert, key = certificate
    site = _proxies.sub_path_site()
    backend, listen = free_port(), free_port()
    log = tmp_path / "server.log"
    server = serve_cli(backend, log, "--token", TOKEN, "--root-path", "/ccstream")
    try:
        filled = _proxies.fill(site, listen=listen, backend=backend, cert=cert, key=key)
        proxy = _proxies.start(
            _proxies.nginx(filled, tmp_path / "nginx"), listen, tmp_path / "nginx.log"
        )
        try:
            yield Proxied(listen, _context(cert), log, "/ccstream")
        finally:
            _proxies.stop(proxy)
    finally:
        stop(server, 15)


async def test_the_viewer_its_login_websocket_and_downloads_work_under_a_sub_path(
    under_sub_path: Proxied,
) -> None:
    proxied = under_sub_path
    # The page and its files; its scripts build every address relative to the page.
    status, headers, _ = await anyio.to_thread.run_sync(_get, proxied, "/ccstream", {})
    assert status in (301, 308)
    assert headers["location"].endswith("/ccstream/")
    status, headers, page = await anyio.to_thread.run_sync(_get, proxied, "/ccstream/", {})
    assert status == 200
    assert b'src="static/js/main.js"' in page
    status, _, script = await anyio.to_thread.run_sync(
        _get, proxied, "/ccstream/static/js/main.js", {}
    )
    assert status == 200
    assert b"new URL('./', location.href)" in script
    # The login's cookie is scoped to the sub-path and Secure (X-Forwarded-Proto: https).
    status, headers = await anyio.to_thread.run_sync(
        _post, proxied, "/ccstream/login", {"token": TOKEN}
    )
    assert status == 200
    cookie = headers["set-cookie"]
    assert "Path=/ccstream/" in cookie
    assert "Secure" in cookie
    session = {"Cookie": cookie.split(";")[0]}
    async with raw(
        f"wss://127.0.0.1:{proxied.port}/ccstream/ws",
        ssl=proxied.tls,
        origin=proxied.origin,
        additional_headers=session,
    ) as ws:
        execution_id, out = await _session(ws)
        want = expected_output()
        assert out == want
        status, _, body = await anyio.to_thread.run_sync(
            _get,
            proxied,
            f"/ccstream/executions/{execution_id}/stdout",
            {**session, "Range": "bytes=-100"},
        )
        assert (status, body) == (206, want[-100:])
