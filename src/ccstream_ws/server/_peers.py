"""Where executions are found beyond this node: one small interface, two implementations.

:class:`Alone` is a single node (the default): every execution is in this process's registry
and nothing here does anything. :class:`ccstream_ws.server._cluster.RedisPeers` shares the
registry through Redis with every node on it (``ServerConfig.redis``). The registry tells its
peers what happens to its own executions (:meth:`Peers.started`, :meth:`Peers.ended`, a control
notice, :meth:`Peers.released`) and asks them for the executions it does not have
(:meth:`Peers.find`), whose ``cancel``, ``control`` and ``stdin`` go to their node
(:meth:`Peers.command`).
"""

from __future__ import annotations

import abc
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

from ..exceptions import RPCError
from ..protocol._codes import ErrorCode

if TYPE_CHECKING:
    from ._cluster import RemoteExecution
    from ._execution import Execution

__all__ = ["Alone", "CommandHandler", "Peers"]

CommandHandler = Callable[[str, str, dict[str, Any]], Awaitable[dict[str, Any]]]
"""How a node runs a command sent to it: ``(kind, execution_id, params)`` to the answer, or an
:class:`~ccstream_ws.exceptions.RPCError` for the caller."""


class Peers(abc.ABC):
    """The other nodes serving the same executions (see the module docstring)."""

    node: str | None
    """This node's name among them (``None`` alone)."""

    @abc.abstractmethod
    def new_id(self) -> str:
        """A new execution id (128 bits of which at least 96 are random)."""

    @abc.abstractmethod
    def hosting(self, handler: CommandHandler) -> AbstractAsyncContextManager[None]:
        """Connect for the app's lifespan, doing what the node does in the background meanwhile
        and running the commands sent to it through ``handler``."""

    @abc.abstractmethod
    async def started(self, execution: Execution) -> None:
        """This node started ``execution``'s run."""

    @abc.abstractmethod
    async def noticed(self, execution: Execution, message: str, paused: bool) -> None:
        """A control notice of this node's ``execution`` for its readers on other nodes, told
        before the control acts, so they hear it before the end it may cause; ``paused``: the
        execution is stopped after it."""

    @abc.abstractmethod
    async def ended(self, execution: Execution) -> None:
        """``execution``'s run ended here (its result is set)."""

    @abc.abstractmethod
    async def released(self, execution: Execution) -> None:
        """This node dropped ``execution`` (its spool is removed)."""

    @abc.abstractmethod
    def check(self, execution_id: str) -> None:
        """Raise ``STORE_LOST`` for an id made in a Redis that lost its data since."""

    @abc.abstractmethod
    async def find(self, execution_id: str) -> RemoteExecution | None:
        """Another node's execution, or ``None``."""

    @abc.abstractmethod
    async def command(
        self, execution: RemoteExecution, kind: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        """Run ``kind`` (``"control"``, ``"stdin"``) on the execution's node and return its
        answer; its refusal as an :class:`RPCError`, and ``OWNER_UNREACHABLE`` when the node is
        down or does not answer within ``command_timeout``."""

    @abc.abstractmethod
    def health(self) -> dict[str, Any] | None:
        """The ``cluster`` member of ``/healthz`` (``None`` alone)."""

    @abc.abstractmethod
    def problem(self) -> str | None:
        """Why this node cannot take work now (Redis unreachable), for ``/readyz``."""


class Alone(Peers):
    """A single node: no peers."""

    node = None

    def new_id(self) -> str:
        """128 random bits, so knowing an id is as good as having been told it."""
        return secrets.token_hex(16)

    @asynccontextmanager
    async def hosting(self, handler: CommandHandler) -> AsyncIterator[None]:
        yield

    async def started(self, execution: Execution) -> None:
        return None

    async def noticed(self, execution: Execution, message: str, paused: bool) -> None:
        return None

    async def ended(self, execution: Execution) -> None:
        return None

    async def released(self, execution: Execution) -> None:
        return None

    def check(self, execution_id: str) -> None:
        return None

    async def find(self, execution_id: str) -> RemoteExecution | None:
        return None

    async def command(
        self, execution: RemoteExecution, kind: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        raise RPCError(ErrorCode.EXECUTION_NOT_FOUND, f"no execution {execution.id!r}")

    def health(self) -> dict[str, Any] | None:
        return None

    def problem(self) -> str | None:
        return None
