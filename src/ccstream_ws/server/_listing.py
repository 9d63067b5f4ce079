"""``list`` and ``policy``: what a client may see before it runs or attaches to anything.

``list``: the executions of this server the connection may see, newest first, each as
``status`` describes it plus ``mine`` (this connection started it). Every admitted connection
is the server's one principal (it presented the token or the viewer's cookie, or it is local to a
loopback server without a token: :mod:`ccstream_ws.server._auth`), and may already ``status``,
``page``, ``subscribe`` and cancel any execution whose id it holds; so it sees them all, unless
the server runs with ``ServerConfig(list_executions=False)`` (``--no-list``): then only its own.

``policy``: the command policy (:mod:`ccstream_ws.server._policy`) a client is held to, so a
client can tell a person what will be refused before it sends ``execute``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..protocol._params import _bad, _int
from ._config import ServerConfig
from ._execution import Execution

__all__ = ["LIST_LIMIT", "MAX_LIST_LIMIT", "list_result", "policy_result"]

LIST_LIMIT = 100
"""Executions a ``list`` answer holds unless ``limit`` says otherwise."""
MAX_LIST_LIMIT = 1000
"""The most a ``list`` answer holds."""


def list_result(
    config: ServerConfig,
    executions: Iterable[Execution],
    connection: str,
    params: Mapping[str, Any],
) -> dict[str, Any]:
    """The ``list`` result for connection ``connection`` (its session id); params ``limit``
    (1..:data:`MAX_LIST_LIMIT`) and ``state`` (``"running"``: only those whose run has not
    ended)."""
    limit = _int(params, "limit", LIST_LIMIT, 1, MAX_LIST_LIMIT)
    state = params.get("state", "all")
    if state not in ("all", "running"):
        raise _bad("state", '"all" or "running"', state)
    running_only = state == "running"
    seen = [
        e
        for e in executions
        if (config.list_executions or e.owner == connection)
        and e.state != "starting"
        and (e.running or not running_only)
    ]
    seen.sort(key=lambda e: e.started_at, reverse=True)
    shown = [{**e.describe(), "mine": e.owner == connection} for e in seen[:limit]]
    return {
        "executions": shown,
        "total": len(seen),
        "running": sum(e.running for e in seen),
        "scope": "all" if config.list_executions else "own",
    }


def policy_result(config: ServerConfig) -> dict[str, Any]:
    """The ``policy`` result: what ``execute`` accepts on this server."""
    allowed = config.allowed_executables
    return {
        "shell": config.shell_allowed,
        "shell_path": config.shell if config.shell_allowed else None,
        "allowed_executables": None if allowed is None else sorted(allowed),
        "cwd": config.allow_cwd,
        "env_allow": list(config.env_allow),
        "env_deny": list(config.env_deny),
        "max_executions": config.max_executions,
        "max_executions_per_connection": config.max_executions_per_connection,
        "retention": config.retention,
        "max_retention": config.max_retention,
        "list": "all" if config.list_executions else "own",
    }
