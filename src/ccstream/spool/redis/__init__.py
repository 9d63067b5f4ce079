"""The Redis store: spools in Redis (or Valkey, or Redis Cluster), shared by every process and
node that uses it, on coredis (anyio: asyncio and trio). Needs ``pip install 'ccstream[redis]'``.

The API::

    async with RedisStore.from_url("redis://HOST:PORT/DB", retention=3600) as store:
        options = Options(spool=SpoolOptions(store=store, key=execution_id))
        async with ccstream.stream(argv, options) as run:   # the run writes through the store
            ...
        spool = await store.aopen(execution_id)   # any process, any node: page, tail, follow
        state = await store.astate(execution_id)
        await store.ping()                        # health: seconds of a PING, or SpoolError
        await store.check_epoch()                 # SpoolLost if Redis lost its data
        await store.fence(execution_id)           # take over: the old writer is refused
        await store.finalize(execution_id, reason="node_lost")  # end it for a lost writer
        await store.remove(execution_id)

:class:`RedisStore` is a :class:`~ccstream.spool.Store`; it passes the conformance suite
(:mod:`ccstream.spool.testing`). What differs from the local store:

- It is an async context manager: on entry it refuses a Redis whose ``maxmemory-policy`` is
  not ``noeviction`` (evicting a spool's key would lose output without a word) and reads the
  store's :attr:`~RedisStore.epoch`. Its sinks' writes, removals and tailers run in its task
  group: close every sink before leaving it.
- :meth:`~RedisStore.open` and :meth:`~RedisStore.state` answer for spools this process writes
  or opened before; :meth:`~RedisStore.aopen` and :meth:`~RedisStore.astate` ask Redis.
- The layout (:mod:`ccstream.spool.redis._layout`): every key of a spool under one hash tag,
  ``<prefix>:{KEY}:…`` (one Cluster slot); a stream per output stream whose entry ids are end
  byte offsets, entries of at most :data:`MAX_ENTRY` bytes; order records, checkpoints and state
  in their own keys.
- Each hand-off of the writer is one script (:mod:`ccstream.spool.redis._scripts`) that checks
  the writer's epoch and the offsets it starts from: a writer fenced off (:meth:`fence
  <RedisStore.fence>`) is refused (:class:`SpoolFenced`), a retried flush is not stored twice.
  The quota trims the middle in that same script and records the gap there.
- No key expires while the run is live; at its end every key gets the retention TTL at once.
- Redis out of memory is a full disk: ``SpoolOptions.on_disk_error`` applies and what Redis
  did not take is a counted ``"disk_error"`` gap.
- A spool Redis lost (a restart without its data: the epoch changed) raises
  :class:`SpoolLost`, a :class:`~ccstream.SpoolNotFound`: never another execution's bytes.
- Followers in one process share one blocking tailer per spool
  (:mod:`ccstream.spool.redis._tailer`), never a blocking connection each.
- A process's memory stays flat: the flush scripts in flight are at most ``flight_bytes``
  for the whole store (:mod:`ccstream.spool.redis._flight`), and coredis' reply buffers are
  compacted (:mod:`ccstream.spool.redis._parser`; importing this package installs it).
"""

try:
    import coredis  # noqa: F401  (the optional dependency: say which extra brings it)
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError("ccstream.spool.redis needs coredis: pip install 'ccstream[redis]'") from exc

from . import _parser
from ._errors import SpoolFenced, SpoolLost
from ._layout import MAX_ENTRY
from ._sink import RedisSink
from ._store import RETENTION, RedisStore

_parser.install()  # every coredis connection's reply buffer bounded (see the module)

__all__ = ["MAX_ENTRY", "RETENTION", "RedisSink", "RedisStore", "SpoolFenced", "SpoolLost"]
