"""The viewer in Chromium behind docs/deployment.md's HAProxy (round robin over two nodes on one
Redis): its connection to the node running the command is cut, the page reconnects through the
balancer to the other node and shows the rest of the output without a gap or a repeat."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Page

from .._redis import RedisServer
from ..ws import _proxies
from ..ws._nodes import Node, nodes
from ..ws.conftest import free_port
from .conftest import open_viewer, state, until

LINES = 4000
WRITER = (
    "import sys, time\n"
    f"for i in range({LINES}):\n"
    "    print(f'row {i:05d} ' + 'z' * 50)\n"
    "    if i % 200 == 0: sys.stdout.flush(); time.sleep(0.1)\n"
)
STDOUT_BYTES = LINES * len("row 00000 " + "z" * 50 + "\n")


class Balancer:
    """docs/deployment.md's HAProxy config over two nodes, with its admin socket."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, admin: Path) -> None:
        self.proc, self.port, self.admin = proc, port, admin

    def command(self, line: str) -> str:
        """One command on HAProxy's admin socket; its answer."""
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(str(self.admin))
            s.sendall(line.encode() + b"\n")
            out = b""
            while chunk := s.recv(4096):
                out += chunk
        return out.decode()


@contextmanager
def balancer(folder: Path, a: Node, b: Node) -> Iterator[Balancer]:
    config = _proxies.snippets("haproxy")[1]
    listen, admin = free_port(), folder / "haproxy.sock"
    for old, new in {
        "/run/haproxy/ccstream.sock": str(admin),
        "bind :80": f"bind 127.0.0.1:{listen}",
        "127.0.0.1:8765": f"127.0.0.1:{a.port}",
        "127.0.0.1:8766": f"127.0.0.1:{b.port}",
    }.items():
        assert old in config
        config = config.replace(old, new)
    proc = _proxies.start(
        _proxies.haproxy(config, folder / "haproxy"), listen, folder / "haproxy.log"
    )
    try:
        yield Balancer(proc, listen, admin)
    finally:
        _proxies.stop(proc)


def test_cut_connection_reconnects_through_the_balancer_to_the_other_node_without_a_gap(
    page: Page, redis_server: RedisServer, tmp_path: Path
) -> None:
    if _proxies.binary("haproxy") is None:
        pytest.skip("haproxy is not installed (make packages installs it as root)")
    with nodes(redis_server.url, tmp_path, "a", "b") as (a, b), balancer(tmp_path, a, b) as lb:
        # The page and its connection go to a: b is out of the rotation until the cut.
        assert lb.command("disable server nodes/b").strip() == ""
        open_viewer(page, f"http://127.0.0.1:{lb.port}/")
        writer = tmp_path / "writer.py"
        writer.write_text(WRITER)
        page.fill("#command", f"{sys.executable} {writer}")
        page.click("#run")
        until(
            page,
            f"window.ccstreamViewer.state.received?.stdout > {STDOUT_BYTES // 4}",
            timeout=20,
            what="a quarter of the output",
        )
        execution = state(page)["execution"]
        # The balancer sends everything to b from now on and cuts a's connections.
        lb.command("enable server nodes/b")
        lb.command("disable server nodes/a")
        lb.command("shutdown sessions server nodes/a")
        until(page, "window.ccstreamViewer.state.connection !== 'open'", what="the drop")
        until(page, "window.ccstreamViewer.state.execState === 'ended'", timeout=30, what="end")
        final = state(page)
        assert final["reconnects"] >= 1
        assert final["holes"] == 0, final
        assert final["repeats"] == 0, final
        assert final["received"] == {"stdout": STDOUT_BYTES, "stderr": 0}
        assert final["liveRows"] + final["liveDropped"] == LINES
        assert page.get_attribute("#exit", "data-status") == "completed"
    # It ran on a, and the page read its rest from b.
    assert f"started {execution}" in a.log.read_text()
    assert f"subscribed to {execution}" in b.log.read_text()
