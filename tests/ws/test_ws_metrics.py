"""``GET /metrics`` of ``ccstream-ws serve`` after real runs, read with Prometheus' parser."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from ccstream_ws import App, ServerConfig

from ._cli_server import serve_cli, stop
from ._http import get, metrics, sample
from ._raw import raw
from .conftest import free_port

pytestmark = pytest.mark.anyio

TOKEN = "metrics-test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    proc = serve_cli(port, tmp_path / "server.log", "--token", TOKEN)
    try:
        yield port
    finally:
        stop(proc, signal.SIGTERM)


async def test_metrics_count_a_run_by_status_and_reason_with_its_bytes_and_lines(
    server: int,
) -> None:
    before = metrics(server, TOKEN)
    url = f"ws://127.0.0.1:{server}/ws"
    async with raw(url, additional_headers=AUTH) as client:
        await client.recv()
        # 1000 lines of 6 bytes on stdout, 4 bytes on stderr, exit status 3.
        started = await client.call(
            "execute", {"command": "seq 100001 101000; echo err >&2; exit 3"}
        )
        assert "result" in started, started
        completed = (await client.until("process.completed"))["params"]
        assert (completed["status"], completed["reason"]) == ("failed", "exited")
        refused = await client.call("no_such_method")
        assert refused["error"]["code"] == -32601
        unstarted = await client.call("execute", {"argv": ["/nonexistent/ccstream-test"]})
        assert unstarted["error"]["code"] == -32005
        during = metrics(server, TOKEN)
        assert sample(during, "ccstream_ws_connections") == 1
    after = metrics(server, TOKEN)

    def grew(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert grew("ccstream_ws_executions_ended_total", status="failed", reason="exited") == 1
    assert grew("ccstream_ws_output_bytes_total", stream="stdout") == 7000
    assert grew("ccstream_ws_output_lines_total", stream="stdout") == 1000
    assert grew("ccstream_ws_output_bytes_total", stream="stderr") == 4
    assert grew("ccstream_ws_output_lines_total", stream="stderr") == 1
    assert grew("ccstream_ws_refusals_total", kind="rpc", code="-32601") == 1
    # A command that never started is a refusal, not an ended execution.
    assert grew("ccstream_ws_refusals_total", kind="rpc", code="-32005") == 1
    ended = [k for k in after if k[0] == "ccstream_ws_executions_ended_total"]
    assert sum(after[k] - before.get(k, 0.0) for k in ended) == 1
    assert grew("ccstream_ws_connections_accepted_total") == 1
    # The greeting, the answers, started, output, completed: each counted as it went out.
    assert grew("ccstream_ws_messages_sent_total", type="text") >= 5
    assert grew("ccstream_ws_sent_bytes_total", type="text") > 7000
    assert sample(after, "ccstream_ws_executions_running") == 0
    assert sample(after, "ccstream_ws_connections") == 0


async def test_metrics_count_a_cancelled_run_while_it_runs_and_after(server: int) -> None:
    url = f"ws://127.0.0.1:{server}/ws"
    async with raw(url, additional_headers=AUTH) as client:
        await client.recv()
        answer = await client.call("execute", {"command": "printf 12345; sleep 30"})
        eid = answer["result"]["execution_id"]
        deadline = time.monotonic() + 10
        while True:  # the 5 bytes read: seen live, before the end
            live = metrics(server, TOKEN)
            if (
                sample(live, "ccstream_ws_output_bytes_total", stream="stdout") == 5
                and sample(live, "ccstream_ws_spool_bytes") == 5
            ):
                break
            assert time.monotonic() < deadline, live
            await anyio.sleep(0.05)
        assert sample(live, "ccstream_ws_executions_running") == 1
        assert sample(live, "ccstream_ws_spools") == 1
        await client.call("cancel", {"execution_id": eid})
        await client.until("process.completed")
    after = metrics(server, TOKEN)
    assert (
        sample(after, "ccstream_ws_executions_ended_total", status="canceled", reason="cancelled")
        == 1
    )
    # Counted once: the live figure became the ended one.
    assert sample(after, "ccstream_ws_output_bytes_total", stream="stdout") == 5


def test_metrics_refuse_without_the_token_and_count_the_refusal(server: int) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}):
        status, head, body = get(server, "/metrics", headers)
        assert status == 401, body
        assert head["www-authenticate"] == "Bearer"
        assert b"ccstream_ws" not in body
    status, _, _ = get(server, f"/metrics?token={TOKEN}")
    assert status == 200
    # A download without the token is refused and counted the same way.
    assert get(server, f"/executions/{'0' * 32}/stdout")[0] == 401
    samples = metrics(server, TOKEN)
    assert sample(samples, "ccstream_ws_refusals_total", kind="http", code="401") == 3


def test_metrics_refuse_a_host_not_served(tmp_path: Path) -> None:
    port = free_port()
    proc = serve_cli(port, tmp_path / "server.log")
    try:
        status, _, _ = get(port, "/metrics", {"Host": "rebound.example"})
        assert status == 421
        assert sample(metrics(port), "ccstream_ws_refusals_total", kind="http", code="421") == 1
    finally:
        stop(proc, signal.SIGTERM)


async def test_metrics_port_serves_only_metrics_and_the_main_port_none(tmp_path: Path) -> None:
    port, mport = free_port(), free_port()
    proc = serve_cli(port, tmp_path / "server.log", "--token", TOKEN, "--metrics-port", str(mport))
    try:
        async with raw(f"ws://127.0.0.1:{port}/ws", additional_headers=AUTH) as client:
            await client.recv()
            await client.call("execute", {"argv": ["printf", "abc"]})
            await client.until("process.completed")
        samples = metrics(mport, TOKEN)
        assert sample(samples, "ccstream_ws_output_bytes_total", stream="stdout") == 3
        assert get(mport, "/metrics")[0] == 401  # the token rules hold there too
        assert get(mport, "/healthz")[0] == 404
        assert get(mport, "/")[0] == 404
        assert get(port, "/metrics", AUTH)[0] == 404
        assert get(port, "/healthz")[0] == 200
    finally:
        stop(proc, signal.SIGTERM)


def test_metrics_port_in_use_is_an_error_before_listening(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys

    with socket.create_server(("127.0.0.1", 0)) as taken:
        mport = taken.getsockname()[1]
        port = free_port()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "ccstream_ws.cli",
                "serve",
                "--port",
                str(port),
                "--metrics-port",
                str(mport),
            ],
            capture_output=True,
            timeout=30,
        )
    assert result.returncode == 2
    assert f"cannot listen for /metrics on 127.0.0.1:{mport}" in result.stderr.decode()


async def test_readers_lagging_counts_a_client_that_stopped_reading(tmp_path: Path) -> None:
    port = free_port()
    proc = serve_cli(port, tmp_path / "server.log")
    try:
        async with raw(f"ws://127.0.0.1:{port}/ws", max_queue=1) as client:
            await client.recv()
            await client.call(
                "execute",
                {"command": "head -c 67108864 /dev/zero", "output_options": {"encoding": "binary"}},
            )
            # The client reads nothing more: the server's sends stop at the socket, and the
            # reader falls behind the spool, which takes the whole output anyway.
            deadline = time.monotonic() + 20
            while True:
                samples = metrics(port)
                if sample(samples, "ccstream_ws_readers_lagging") == 1:
                    break
                assert time.monotonic() < deadline, samples
                await anyio.sleep(0.1)
            assert sample(samples, "ccstream_ws_readers") == 1
            assert sample(samples, "ccstream_ws_reader_lag_max_bytes") > 1024 * 1024
    finally:
        stop(proc, signal.SIGTERM)


def test_two_apps_in_one_process_count_apart() -> None:
    first, second = App(ServerConfig()), App(ServerConfig(max_executions=7))
    first.metrics.refused("rpc", -32601)
    assert b'ccstream_ws_refusals_total{code="-32601",kind="rpc"} 1.0' in first.metrics.render()
    other = second.metrics.render()
    assert b"-32601" not in other
    assert b"ccstream_ws_executions_limit 7.0" in other


async def test_metrics_count_quota_gaps_and_what_the_spool_keeps(tmp_path: Path) -> None:
    port = free_port()
    proc = serve_cli(port, tmp_path / "server.log", "--spool-quota", "1M")
    try:
        async with raw(f"ws://127.0.0.1:{port}/ws") as client:
            await client.recv()
            # Detached, and its owner leaves at once: nobody reads, so the quota drops the middle.
            command = "head -c 8000000 /dev/zero | tr '\\0' x"
            answer = await client.call("execute", {"command": command, "detach": True})
            assert "result" in answer, answer
        deadline = time.monotonic() + 20
        while True:
            samples = metrics(port)
            if sample(
                samples, "ccstream_ws_executions_ended_total", status="completed", reason="exited"
            ):
                break
            assert time.monotonic() < deadline, samples
            await anyio.sleep(0.1)
        dropped = sample(samples, "ccstream_ws_spool_gap_bytes_total", reason="quota")
        kept = sample(samples, "ccstream_ws_spool_bytes")
        assert sample(samples, "ccstream_ws_spool_gaps_total", reason="quota") >= 1
        assert dropped > 0
        assert 0 < kept <= 1024 * 1024
        assert dropped + kept == 8_000_000  # every byte is kept or counted in a gap
        assert sample(samples, "ccstream_ws_output_bytes_total", stream="stdout") == 8_000_000
        assert sample(samples, "ccstream_ws_spools") == 1
        assert sample(samples, "ccstream_ws_executions_retained") == 1
    finally:
        stop(proc, signal.SIGTERM)
