"""Control notices reach every connection that follows the execution, not only the sender."""

from __future__ import annotations

import pytest

from ._raw import Raw, raw
from .conftest import Server

pytestmark = pytest.mark.anyio


async def _method_order(c: Raw, execution_id: str, until: str) -> list[str]:
    """The notification methods of ``execution_id`` seen so far and up to ``until``."""
    methods = [
        m["method"] for m in c.seen if m.get("params", {}).get("execution_id") == execution_id
    ]
    while until not in methods:
        message = await c.recv()
        if message.get("params", {}).get("execution_id") == execution_id:
            methods.append(message["method"])
    return [m for m in methods if m != "process.output"]


async def test_a_subscriber_hears_paused_resumed_and_canceled(server: Server) -> None:
    async with raw(server.url) as owner, raw(server.url) as follower, raw(server.url) as remote:
        for c in (owner, follower, remote):
            assert (await c.recv())["method"] == "connected"
        started = await owner.call("execute", {"argv": ["sleep", "30"]})
        eid = started["result"]["execution_id"]
        answer = await follower.call("subscribe", {"execution_id": eid})
        assert answer["result"]["status"] == "subscribed"
        # A third connection controls by id and reads nothing: it hears its own notices.
        for kind, heard in (("PAUSE", "process.paused"), ("RESUME", "process.resumed")):
            answer = await remote.call("control", {"type": kind, "execution_id": eid})
            assert "result" in answer, answer
            assert (await remote.until(heard))["params"]["execution_id"] == eid
        answer = await remote.call("control", {"type": "CANCEL", "execution_id": eid})
        assert (await remote.until("process.canceled"))["params"]["status"] == "canceled"
        notices = ["process.paused", "process.resumed", "process.canceled", "process.completed"]
        assert await _method_order(owner, eid, "process.completed") == [
            "process.started",
            *notices,
        ]
        assert await _method_order(follower, eid, "process.completed") == notices
        # Once each, with the execution's identity, and the completion says canceled.
        completed = [m for m in follower.seen if m.get("method") == "process.completed"]
        assert completed[-1]["params"]["status"] == "canceled"
        # The connection that only controlled hears nothing more (no completion: it reads none).
        answer = await remote.call("ping")
        assert not [m for m in remote.seen if m.get("method") == "process.completed"]


async def test_cancel_method_is_heard_by_readers_and_control_by_its_sender_once(
    server: Server,
) -> None:
    async with raw(server.url) as owner:
        assert (await owner.recv())["method"] == "connected"
        eid = (await owner.call("execute", {"argv": ["sleep", "30"]}))["result"]["execution_id"]
        await owner.call("control", {"type": "PAUSE", "execution_id": eid})
        await owner.call("cancel", {"execution_id": eid})
        order = await _method_order(owner, eid, "process.completed")
        assert order == [
            "process.started",
            "process.paused",
            "process.canceled",
            "process.completed",
        ]
