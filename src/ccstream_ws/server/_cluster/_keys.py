"""The registry's keys in Redis, and what an execution id says about the Redis it was made in.

Every key of one execution carries its id as the hash tag (``ccs:{ID}:…``), the layout the spool
store uses too, so in Redis Cluster all of an execution lives on one slot and one script may touch
all of it; every key of one node carries the node's name (``ccs:node:{NODE}…``). Only
:data:`RUNNING` and :data:`EPOCH` are shared, and no script touches them together with others.

An execution id is 32 hex digits: the first :data:`EPOCH_DIGITS` are those of the epoch of the
Redis it was made in (the spool store's, :data:`EPOCH`), the other 96 bits random, so knowing an
id is still as good as having been told it, and any node, even one started after Redis lost its
data, tells such an id from an unknown one.
"""

from __future__ import annotations

import secrets
import string
import uuid

__all__ = [
    "EPOCH",
    "EPOCH_DIGITS",
    "RUNNING",
    "commands_key",
    "epoch_of",
    "events_key",
    "exec_key",
    "lease_key",
    "new_epoch",
    "new_id",
    "node_key",
    "reply_key",
    "tag",
]

EPOCH = "ccs:epoch"
"""The epoch, shared with the spool store (:attr:`ccstream.spool.redis.RedisStore.epoch`): 32
random hex digits set once (``SET NX``) by the first to find it missing, so a Redis that lost its
data has another one."""
RUNNING = "ccs:running"
"""The set of the ids of running executions: what the nodes look at for lapsed leases."""
EPOCH_DIGITS = 8
_ID_DIGITS = 32
_HEX = frozenset(string.hexdigits.lower())


def new_epoch() -> str:
    """A fresh epoch: 128 random bits in hex, as the spool store makes one."""
    return uuid.uuid4().hex


def tag(epoch: str) -> str:
    """The part of ``epoch`` an execution id begins with."""
    return epoch[:EPOCH_DIGITS]


def new_id(epoch: str) -> str:
    """An execution id of ``epoch``: its :func:`tag`, then 96 random bits, in hex."""
    return tag(epoch) + secrets.token_hex((_ID_DIGITS - EPOCH_DIGITS) // 2)


def epoch_of(execution_id: str) -> str | None:
    """The :func:`tag` of the epoch an id was made in, or ``None`` for an id that cannot be one
    of ours."""
    if len(execution_id) != _ID_DIGITS or not _HEX.issuperset(execution_id):
        return None
    return execution_id[:EPOCH_DIGITS]


def exec_key(execution_id: str) -> str:
    """The execution's record: a hash (owner node, pid, argv, state, result, progress)."""
    return f"ccs:{{{execution_id}}}:exec"


def lease_key(execution_id: str) -> str:
    """The owner's lease on a running execution: its node's name, expiring unless renewed."""
    return f"ccs:{{{execution_id}}}:lease"


def events_key(execution_id: str) -> str:
    """The execution's events (control notices, its end), a capped stream every node follows."""
    return f"ccs:{{{execution_id}}}:events"


def node_key(node: str) -> str:
    """A node's heartbeat: present while the node is alive (it expires unless renewed)."""
    return f"ccs:node:{{{node}}}"


def commands_key(node: str) -> str:
    """A node's command queue: ``cancel``, ``control`` and ``stdin`` for its executions."""
    return f"ccs:node:{{{node}}}:commands"


def reply_key(request: str) -> str:
    """Where the answer to one command goes."""
    return f"ccs:reply:{{{request}}}"
