"""The on-disk layout of a spool directory, shared by the writer and every reader::

    spool.json              what this is and the writer's settings; rewritten once at the end
                            with the totals, the gaps and how the run ended
    gaps.json               the quota gaps so far, replaced whole each time a segment is dropped
    order.log               one FRAME record per frame, in arrival order, both streams
    times.log               one TIME per order record: when the frame arrived (optional: a
                            spool without it reads as one without times)
    stdout.idx, stderr.idx  sparse line checkpoints, one CHECKPOINT record each
    stdout.00000000.seg     the stream's bytes; segment i holds offsets [i * S, (i + 1) * S)

Everything is append-only except the two JSON files, which are replaced whole (write, then
rename), so a reader in another process never sees half of one. The writer appends a frame's
bytes and its time before its order record, so every record a reader can see describes bytes
(and a time) already in the files.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from ..._events import STREAMS, Gap, StreamName
from ...exceptions import SpoolError, SpoolNotFound
from .._records import CHECKPOINT, FRAME, TIME, Checkpoint, Record

__all__ = [
    "CHECKPOINT",
    "FORMAT",
    "FRAME",
    "GAPS",
    "META",
    "ORDER",
    "STREAMS",
    "TIME",
    "TIMES",
    "Checkpoint",
    "Meta",
    "Record",
    "gap_from_json",
    "gap_to_json",
    "index_name",
    "read_gaps",
    "read_meta",
    "segment_name",
    "write_json",
]

FORMAT: Final = "ccstream-spool"
VERSION: Final = 1
META: Final = "spool.json"
GAPS: Final = "gaps.json"
ORDER: Final = "order.log"
TIMES: Final = "times.log"


def segment_name(stream: StreamName, index: int) -> str:
    """File name of segment ``index`` of ``stream``."""
    return f"{stream}.{index:08d}.seg"


def index_name(stream: StreamName) -> str:
    """File name of ``stream``'s checkpoint index."""
    return f"{stream}.idx"


def gap_to_json(gap: Gap) -> dict[str, Any]:
    return {
        "stream": gap.stream,
        "offset": gap.offset,
        "bytes": gap.bytes,
        "lines": gap.lines,
        "reason": gap.reason,
    }


def gap_from_json(obj: Any) -> Gap:
    try:
        stream = obj["stream"]
        if stream not in STREAMS:
            raise ValueError(stream)
        return Gap(stream, int(obj["offset"]), int(obj["bytes"]), int(obj["lines"]), obj["reason"])
    except (KeyError, TypeError, ValueError) as exc:
        raise SpoolError(f"bad gap record in spool: {obj!r}") from exc


@dataclass(frozen=True, slots=True)
class Meta:
    """The contents of ``spool.json``. Sizes in bytes, times in seconds since the epoch.

    The first version is written when the spool is made (``complete`` false); the final one when
    the run ended, with the totals per stream (``sizes``, ``newlines``, ``open_line``: the last
    byte is not a newline), the counts of order and index records, every gap, and how it ended.
    """

    segment_size: int
    index_every: int
    index_bytes: int
    mode: str
    argv: list[str]
    writer_pid: int
    writer_host: str
    started_at: float
    complete: bool = False
    ended_at: float | None = None
    records: int = 0
    sizes: list[int] = field(default_factory=lambda: [0, 0])
    newlines: list[int] = field(default_factory=lambda: [0, 0])
    open_line: list[bool] = field(default_factory=lambda: [False, False])
    checkpoints: list[int] = field(default_factory=lambda: [1, 1])
    gaps: list[dict[str, Any]] = field(default_factory=list)
    returncode: int | None = None
    reason: str | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, obj: Any) -> Meta:
        if not isinstance(obj, dict) or obj.get("format") != FORMAT:
            raise SpoolNotFound("not a ccstream spool (spool.json has another format)")
        if obj.get("version") != VERSION:
            raise SpoolError(f"unsupported spool version {obj.get('version')!r}")
        fields = {k: v for k, v in obj.items() if k not in ("format", "version")}
        try:
            return cls(**fields)
        except TypeError as exc:
            raise SpoolError(f"bad spool.json: {exc}") from exc


def write_json(path: Path, obj: Any) -> None:
    """Replace ``path`` with ``obj`` as JSON, atomically for readers (temporary file, rename)."""
    tmp = path.with_name(path.name + ".tmp")
    data = json.dumps(obj, separators=(",", ":")).encode()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
    try:
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_meta(directory: Path) -> Meta:
    """Read ``spool.json``; :class:`SpoolNotFound` when ``directory`` holds no spool."""
    try:
        raw = (directory / META).read_bytes()
    except FileNotFoundError:
        raise SpoolNotFound(f"no spool at {str(directory)!r} (no {META})") from None
    except NotADirectoryError:
        raise SpoolNotFound(f"no spool at {str(directory)!r} (not a directory)") from None
    except OSError as exc:
        raise SpoolError(f"cannot read {str(directory / META)!r}: {exc}") from exc
    try:
        obj = json.loads(raw)
    except ValueError as exc:
        raise SpoolNotFound(f"no spool at {str(directory)!r} ({META} is not JSON)") from exc
    return Meta.from_json(obj)


def read_gaps(directory: Path) -> tuple[Gap, ...]:
    """The quota gaps recorded so far (none when ``gaps.json`` does not exist yet)."""
    try:
        raw = (directory / GAPS).read_bytes()
    except FileNotFoundError:
        return ()
    except OSError as exc:
        raise SpoolError(f"cannot read {str(directory / GAPS)!r}: {exc}") from exc
    try:
        items = json.loads(raw)
    except ValueError as exc:
        raise SpoolError(f"bad {GAPS}: {exc}") from exc
    if not isinstance(items, list):
        raise SpoolError(f"bad {GAPS}: not a list")
    return tuple(gap_from_json(item) for item in items)
