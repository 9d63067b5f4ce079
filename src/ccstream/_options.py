"""Options for a run, validated once when they are made."""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ._check import check_int, check_number
from ._chunker import MIN_CHUNK_SIZE, ChunkMode
from .exceptions import InvalidOption
from .spool._quota import QuotaPolicy

if TYPE_CHECKING:
    from .spool._base import Store

__all__ = [
    "ChunkMode",
    "DiskErrorPolicy",
    "Options",
    "QuotaPolicy",
    "ResourceLimits",
    "SpoolOptions",
    "Stdin",
]

Stdin = bytes | AsyncIterable[bytes] | None
"""The child's standard input: ``None`` (``/dev/null``), bytes written then closed, or an async
iterable of byte strings; the child sees end-of-input when the iterable is exhausted."""

KiB = 1024
MiB = 1024 * KiB


def _positive(name: str, value: float | None, *, allow_none: bool = True) -> None:
    check_number(name, value, positive=True, optional=allow_none)


def _positive_int(name: str, value: int | None, *, minimum: int = 1) -> None:
    check_int(name, value, minimum=minimum, optional=True)


@dataclass(frozen=True, slots=True)
class ResourceLimits:
    """Hard limits for the child (``setrlimit``), in force before the child's own code runs.

    ``address_space`` and ``file_size`` are in bytes, ``cpu_time`` in CPU seconds, ``open_files`` a
    count. ``None`` leaves a limit as inherited. The limits apply to the child and everything it
    starts; they are set between ``fork`` and ``exec``, so there is no window in which it runs
    unlimited.
    """

    address_space: int | None = None
    cpu_time: int | None = None
    file_size: int | None = None
    open_files: int | None = None

    def __post_init__(self) -> None:
        for name in ("address_space", "cpu_time", "file_size", "open_files"):
            _positive_int(f"ResourceLimits.{name}", getattr(self, name))

    @property
    def any(self) -> bool:
        """True when at least one limit is set."""
        return any(
            v is not None
            for v in (self.address_space, self.cpu_time, self.file_size, self.open_files)
        )


DiskErrorPolicy = Literal["continue", "stop"]
"""What a run does when its spool cannot be written: go on unspooled, or be stopped."""


@dataclass(frozen=True, slots=True)
class SpoolOptions:
    """Spool every byte of a run's output to disk (sizes in bytes).

    ``directory``: where the spool lives; ``None`` makes a fresh temporary directory. A given
    directory is created if missing and must be empty. ``keep``: leave the files after the run
    closes (otherwise they are removed then). ``quota``: disk budget of the run's output; over it,
    whole middle segments are dropped (the first segment of each stream and the newest are kept)
    and each drop is reported as a :class:`~ccstream.Gap`. It must be at least four segments.
    ``segment_size``: bytes per segment file. ``index_every`` and ``index_bytes``: a line
    checkpoint is recorded at the first frame after this many lines or bytes since the last one,
    so finding a line reads at most about ``index_bytes`` plus one frame. ``on_disk_error``:
    ``"stop"`` kills the run when the spool cannot be written (reason ``spool_error``);
    ``"continue"`` lets it go on unspooled. Either way the result says what was not spooled.
    ``memory``: bytes of output the spool may hold in memory (recent frames for consumers that
    keep up, and batches on their way to the disk thread); a server running many spooled runs at
    once lowers it. ``page_cache``: bytes at the end of each stream left in the page cache once
    written; older bytes are dropped from it (they stay on disk, and a reader that far behind
    reads them from there), so a big spool does not push other files out of the cache, and on
    VMs that return freed memory to the host new writes reuse warm pages instead of faulting in
    fresh ones (``docs/large-outputs.md``, The page cache). ``None`` leaves the cache to the
    kernel.

    ``store`` and ``key``: write the spool through a :class:`~ccstream.spool.Store` instead (the
    run's sink is ``store.create(key, options)``), so every reader the store opens by ``key``
    reads it, live during the run and after it; ``directory`` must then be ``None`` (the store
    decides where the spool lives: a :class:`~ccstream.spool.LocalStore` puts it under its
    root, :class:`~ccstream.spool.redis.RedisStore` in Redis). Without a store the spool is a
    directory of this machine, as if written through ``LocalStore()``.

    ``on_quota``: what the quota does to bytes that a live reader has not read yet. A live reader
    is a :meth:`~ccstream.Spool.follow` of the run's own handle (``run.spool``) while it is
    iterated, and the run's own events while they are iterated (not :meth:`~ccstream.Run.wait`).
    ``"pause"`` (the default): such bytes are never dropped; when the quota is spent on them,
    the pumps stop reading the child's pipes (the pipe fills and the child blocks on its next
    write, as under ``ssh``) until the slowest reader has taken the oldest middle segment, which
    is then dropped, counted, as usual: those bytes were delivered. While it waits the spool may
    hold up to one read batch (``Options.read_size``) per stream over the quota. With no live
    reader, or for a stream no reader wants, nothing is held and the quota drops as under
    ``"drop"``; a run that is being killed (timeout, cancel, memory limit) stops waiting and
    drops too. The wait does not count as idle (``idle_timeout``); the total ``timeout`` does
    run on. ``"drop"``: the head and newest tail are kept and the middle dropped whoever has not
    read it; every gap is counted. The default is ``"pause"`` because whoever iterates a run's
    events asked for its output: a slow consumer then slows the child instead of losing bytes,
    and a run nobody reads keeps its disk bound either way.
    """

    directory: str | os.PathLike[str] | None = None
    keep: bool = False
    quota: int | None = None
    segment_size: int = 64 * MiB
    index_every: int = 1000
    index_bytes: int = 1 * MiB
    on_disk_error: DiskErrorPolicy = "stop"
    memory: int = 16 * MiB
    page_cache: int | None = 32 * MiB
    on_quota: QuotaPolicy = "pause"
    store: Store | None = None
    key: str | None = None

    def __post_init__(self) -> None:
        if self.directory is not None and not isinstance(self.directory, (str, os.PathLike)):
            raise InvalidOption(f"spool directory must be a path, got {self.directory!r}")
        if self.store is not None:
            from .spool._base import Store

            if not isinstance(self.store, Store):
                raise InvalidOption(f"spool store must be a Store, got {self.store!r}")
            if not isinstance(self.key, str) or not self.key:
                raise InvalidOption(f"a spool store needs a key (a string), got {self.key!r}")
            if self.directory is not None:
                raise InvalidOption("a spool written through a store takes no directory")
        elif self.key is not None:
            raise InvalidOption("a spool key needs a store (SpoolOptions(store=..., key=...))")
        _positive_int("SpoolOptions.segment_size", self.segment_size, minimum=16)
        _positive_int("SpoolOptions.index_every", self.index_every)
        _positive_int("SpoolOptions.index_bytes", self.index_bytes)
        _positive_int("SpoolOptions.memory", self.memory, minimum=256 * 1024)
        _positive_int("SpoolOptions.page_cache", self.page_cache, minimum=0)
        # A head and a tail segment per stream must always fit, or nothing could be kept.
        _positive_int("SpoolOptions.quota", self.quota, minimum=4 * self.segment_size)
        if self.on_disk_error not in ("continue", "stop"):
            raise InvalidOption(
                f"on_disk_error must be 'continue' or 'stop', got {self.on_disk_error!r}"
            )
        if self.on_quota not in ("pause", "drop"):
            raise InvalidOption(f"on_quota must be 'pause' or 'drop', got {self.on_quota!r}")


@dataclass(frozen=True, slots=True)
class Options:
    """How to run a command and stream its output. Times in seconds, sizes in bytes.

    Command: ``shell`` runs a string command (default ``/bin/sh``); ``cwd``; ``env`` is merged over
    this process's environment (or used alone with ``inherit_env=False``); ``unbuffered`` sets
    ``PYTHONUNBUFFERED=1`` unless ``env`` sets it, so Python children flush every ``print``.

    Output: frames of at most ``chunk_size`` bytes in ``mode`` ``"binary"``, ``"text"`` (never
    splits a UTF-8 code point) or ``"lines"`` (text, cut after a newline when one is in reach; a
    partial line waits at most ``line_linger`` seconds for its end before it is sent as is).
    ``buffer_limit`` bounds the bytes read but not yet consumed, per stream (the seed's 8 MB):
    when a consumer is that far behind, reading that pipe pauses and the child sees a full pipe.
    ``coalesce`` is how long a read shorter than a frame (and than 64 KiB) waits for more output
    to join it (0 sends every read at once): a child printing line by line then yields full
    frames, not a frame per line, for at most ``coalesce`` seconds of added latency.
    ``read_size`` is the most read from a pipe before the batch is handed over. ``count_lines``
    counts newlines for the statistics; it is the read path's largest cost after the copies
    themselves (one ``bytes.count`` over every byte, holding the GIL; figures in
    ``benchmarks/README.md``), so bulk binary transfers that need no line counts can turn it off.

    Lifecycle: ``timeout`` (total) and ``idle_timeout`` (no output; paused time does not count)
    kill the process group: SIGTERM, then SIGKILL after ``kill_grace``. When the child has exited
    but descendants keep its pipes open, the group is killed after ``linger``. ``limits`` are
    rlimits for the child; ``memory_limit`` is a ceiling on the RSS of the child's process tree,
    checked every ``monitor_interval`` by the monitor.

    Spool: with ``spool`` set, every byte also goes to an on-disk log that can be paged and
    followed (see :class:`SpoolOptions`); the child then never waits for the consumer of events,
    who reads behind it, unless a quota is set and the consumer is a whole quota behind
    (``SpoolOptions.on_quota``), and ``buffer_limit`` only applies if the spool fails. Spooling
    counts lines whatever ``count_lines`` says (its index needs them).
    """

    shell: str = "/bin/sh"
    cwd: str | os.PathLike[str] | None = None
    env: Mapping[str, str] | None = None
    inherit_env: bool = True
    unbuffered: bool = True
    stdin: Stdin = None

    chunk_size: int = 64 * KiB
    mode: ChunkMode = "binary"
    line_linger: float = 0.05
    buffer_limit: int = 8 * MiB
    read_size: int = 1 * MiB
    count_lines: bool = True
    coalesce: float = 0.002

    timeout: float | None = None
    idle_timeout: float | None = None
    kill_grace: float = 2.0
    linger: float = 1.0

    limits: ResourceLimits = field(default_factory=ResourceLimits)
    memory_limit: int | None = None
    monitor_interval: float = 0.25

    spool: SpoolOptions | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.shell, str) or not self.shell:
            raise InvalidOption(f"shell must be a non-empty string, got {self.shell!r}")
        if self.env is not None:
            if not isinstance(self.env, Mapping):
                raise InvalidOption(f"env must be a mapping of str to str, got {self.env!r}")
            for key, value in self.env.items():
                if not isinstance(key, str) or not isinstance(value, str) or not key:
                    raise InvalidOption(f"env entries must be str to str, got {key!r}={value!r}")
                if "=" in key or "\0" in key or "\0" in value:
                    raise InvalidOption(f"env entry {key!r} has '=' or NUL in its name or value")
        if self.stdin is not None and not isinstance(self.stdin, (bytes, AsyncIterable)):
            raise InvalidOption(
                f"stdin must be None, bytes or an async iterable, got {self.stdin!r}"
            )
        if self.mode not in ("binary", "text", "lines"):
            raise InvalidOption(f"mode must be 'binary', 'text' or 'lines', got {self.mode!r}")
        _positive_int("chunk_size", self.chunk_size, minimum=MIN_CHUNK_SIZE)
        _positive_int("buffer_limit", self.buffer_limit, minimum=self.chunk_size)
        _positive_int("read_size", self.read_size, minimum=4096)
        _positive_int("memory_limit", self.memory_limit)
        for name in ("timeout", "idle_timeout"):
            _positive(name, getattr(self, name))
        check_number("coalesce", self.coalesce, maximum=1.0)
        for name in ("line_linger", "kill_grace", "linger", "monitor_interval"):
            _positive(name, getattr(self, name), allow_none=False)
        if not isinstance(self.limits, ResourceLimits):
            raise InvalidOption(f"limits must be a ResourceLimits, got {self.limits!r}")
        if self.spool is not None and not isinstance(self.spool, SpoolOptions):
            raise InvalidOption(f"spool must be a SpoolOptions or None, got {self.spool!r}")
