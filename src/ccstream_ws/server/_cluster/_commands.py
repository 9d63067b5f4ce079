"""The command channel: ``cancel``, ``control`` and ``stdin`` for an execution reach its node.

Each node takes commands from a list of its own (``BLPOP``) and answers each on a list of the
command's own, which the sender waits on (``BLPOP`` with the timeout): an answer, the owner's
refusal, or ``OWNER_UNREACHABLE`` (the node's heartbeat is gone: ``node_down``; no answer in
time: ``timeout``) — never a silent no-op. A command whose sender stopped waiting is dropped
unread by its node, so a late one never acts after its sender was told it timed out.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from typing import Any

import anyio
import coredis

from ...exceptions import RPCError
from ...protocol._codes import ErrorCode
from .._peers import CommandHandler
from ._keys import commands_key, node_key, reply_key

__all__ = ["REDIS_ERRORS", "send_command", "serve_commands"]

log = logging.getLogger("ccstream_ws")

REDIS_ERRORS = (coredis.exceptions.RedisError, OSError, TimeoutError)
"""What a Redis call raises when Redis is unreachable or refuses."""

_POLL = 1.0
"""Seconds a node's wait for a command lasts before it waits again."""
_REPLY_KEPT = 10_000
"""Milliseconds an answer nobody took stays in Redis."""


async def send_command(
    client: coredis.Redis[str],
    node: str,
    kind: str,
    execution_id: str,
    params: dict[str, Any],
    timeout: float,  # noqa: ASYNC109 - the answer's own bound, a documented setting
) -> dict[str, Any]:
    """Send ``kind`` for ``execution_id`` to ``node`` and return its answer (see the module
    docstring for the errors)."""
    try:
        if not await client.exists([node_key(node)]):
            raise _unreachable(node, "node_down", f"node {node!r} that runs it is down")
        request = secrets.token_hex(8)
        message = {
            "id": request,
            "kind": kind,
            "execution_id": execution_id,
            "params": params,
            "expires": time.time() + timeout,
        }
        queue = commands_key(node)
        await client.rpush(queue, [json.dumps(message)])
        await client.pexpire(queue, int(timeout * 1000) + _REPLY_KEPT)
        reply = await client.blpop([reply_key(request)], timeout=timeout)
    except REDIS_ERRORS as exc:
        raise _unreachable(node, "redis", f"Redis is unreachable: {exc}") from None
    if reply is None:
        raise _unreachable(node, "timeout", f"node {node!r} did not answer within {timeout} s")
    answer = json.loads(reply[1])
    if "error" in answer:
        error = answer["error"]
        raise RPCError(int(error["code"]), str(error["message"]), error.get("data"))
    result = answer["result"]
    assert isinstance(result, dict)
    return result


def _unreachable(node: str, reason: str, message: str) -> RPCError:
    return RPCError(
        ErrorCode.OWNER_UNREACHABLE,
        f"{message}; whether it acted is not known",
        {"reason": reason, "node": node},
    )


async def serve_commands(client: coredis.Redis[str], node: str, handler: CommandHandler) -> None:
    """Take ``node``'s commands and answer each, until cancelled; Redis failures are waited
    out (logged once each time Redis goes away)."""
    queue = commands_key(node)
    failing = False
    while True:
        try:
            item = await client.blpop([queue], timeout=_POLL)
            failing = False
        except REDIS_ERRORS as exc:
            if not failing:
                log.warning("node %s: cannot take commands from Redis: %s", node, exc)
            failing = True
            await anyio.sleep(_POLL)
            continue
        if item is None:
            continue
        try:
            message = json.loads(item[1])
            request = str(message["id"])
        except (ValueError, KeyError, TypeError):
            log.error("node %s: dropped a malformed command: %.200r", node, item[1])
            continue
        if time.time() > float(message.get("expires", 0)):
            log.warning(
                "node %s: dropped command %s for %s: its sender stopped waiting",
                node,
                message.get("kind"),
                message.get("execution_id"),
            )
            continue
        answer = await _answer(handler, message)
        try:
            await client.rpush(reply_key(request), [json.dumps(answer)])
            await client.pexpire(reply_key(request), _REPLY_KEPT)
        except REDIS_ERRORS as exc:
            log.warning("node %s: could not answer command %s: %s", node, request, exc)


async def _answer(handler: CommandHandler, message: dict[str, Any]) -> dict[str, Any]:
    try:
        params = message.get("params")
        result = await handler(
            str(message["kind"]),
            str(message["execution_id"]),
            params if isinstance(params, dict) else {},
        )
    except RPCError as exc:
        return {"error": {"code": int(exc.code), "message": exc.message, "data": exc.data}}
    except Exception as exc:
        log.exception("command %s failed", message.get("kind"))
        return {
            "error": {
                "code": int(ErrorCode.INTERNAL_ERROR),
                "message": "Internal error",
                "data": type(exc).__name__,
            }
        }
    return {"result": result}
