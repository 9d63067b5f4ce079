"""Several nodes on one Redis: the shared registry (``._node.RedisPeers``, imported only when
``--redis`` is given, as it needs the ``[redis]`` extra), leases, the command channel and the
executions of other nodes (:class:`RemoteExecution`). See docs/deployment.md."""

from __future__ import annotations

from ._remote import RemoteExecution

__all__ = ["RemoteExecution"]
