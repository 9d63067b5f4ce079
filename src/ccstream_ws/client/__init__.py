"""The Python client of the protocol (:class:`Client`) and what iterating an execution yields.

Needs the ``[ws]`` extra (websockets)."""

from ._client import (
    Client,
    Completion,
    Loss,
    Notice,
    RemoteEvent,
    RemoteExecution,
    RemoteOutput,
)
from ._results import ExecutionStatus, LineCut, RemotePage, StreamCount

__all__ = [
    "Client",
    "Completion",
    "ExecutionStatus",
    "LineCut",
    "Loss",
    "Notice",
    "RemoteEvent",
    "RemoteExecution",
    "RemoteOutput",
    "RemotePage",
    "StreamCount",
]
