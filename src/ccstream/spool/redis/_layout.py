"""Where a spool lives in Redis: the keys of one execution and how its state is written.

Every key of a spool shares one hash tag, ``{prefix}:{KEY}:…``, so the spool lives on one Redis
Cluster slot and one script may touch all of it:

=====================  ====================================================================
``…:meta``             hash: the writer's ``epoch`` (fencing token), the flush ``seq``, the
                       sizes and record count the next flush must start from, ``token``
                       (unique per spool: a spool made again under the same key is another
                       one), ``store`` (the store's epoch when it was made), ``state`` (the
                       :class:`~ccstream.spool.SpoolState` as JSON), ``segment_size``,
                       ``mode``, ``argv``, ``started_at``, ``ended_at``
``…:order``            string: the arrival order, one :data:`~ccstream.spool._records.FRAME`
                       record (40 bytes) per frame, so record ``i`` is a ``GETRANGE``
``…:cp:0``, ``…:cp:1`` string: each stream's line checkpoints (16 bytes each)
``…:head:0``, ``:1``   stream: the stream's first segment (the quota's head, never trimmed)
``…:tail:0``, ``:1``   stream: the rest; the quota trims it from the front (``XTRIM MINID``)
``…:tick``             stream of one entry: ``<records>-0`` after each flush, ``<records>-1``
                       once complete; what a follower's ``XREAD BLOCK`` waits on
=====================  ====================================================================

In ``head`` and ``tail`` each entry holds at most :data:`MAX_ENTRY` bytes of the stream in
field ``d``, and its id is the byte offset where those bytes **end** (``<end>-0``): a byte
offset is an id, ``XRANGE key (<offset>-0 +`` starts at the entry holding byte ``offset``, and
Redis itself refuses an entry at or below the last id. No entry crosses a segment boundary, so
trimming whole segments never cuts one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from ..._events import STREAMS, Gap
from ...exceptions import SpoolError
from .._state import SpoolState

__all__ = ["MAX_ENTRY", "Keys", "state_from_json", "state_to_json"]

MAX_ENTRY: Final = 65_408
"""Most bytes per stream entry: Redis' allocator rounds a 64 KiB or 1 MiB entry up to 1.25x its
size, an entry of 65,408 bytes to 1.004x (measured on Redis 7.0: benchmarks/README.md)."""


@dataclass(frozen=True, slots=True)
class Keys:
    """The key names of spool ``key`` under ``prefix``."""

    prefix: str
    key: str

    def _name(self, part: str) -> str:
        return f"{self.prefix}:{{{self.key}}}:{part}"

    @property
    def meta(self) -> str:
        return self._name("meta")

    @property
    def order(self) -> str:
        return self._name("order")

    def checkpoints(self, sid: int) -> str:
        return self._name(f"cp:{sid}")

    def head(self, sid: int) -> str:
        return self._name(f"head:{sid}")

    def tail(self, sid: int) -> str:
        return self._name(f"tail:{sid}")

    @property
    def tick(self) -> str:
        return self._name("tick")

    def all(self) -> list[str]:
        """Every key of the spool, in the order the scripts take them (``KEYS[1]`` … ``[9]``)."""
        return [
            self.meta,
            self.order,
            self.checkpoints(0),
            self.checkpoints(1),
            self.head(0),
            self.head(1),
            self.tail(0),
            self.tail(1),
            self.tick,
        ]


def state_to_json(state: SpoolState) -> str:
    """``state`` as the ``state`` field of the meta hash."""
    return json.dumps(
        {
            "records": state.records,
            "sizes": list(state.sizes),
            "newlines": None if state.newlines is None else list(state.newlines),
            "open_line": None if state.open_line is None else list(state.open_line),
            "checkpoints": list(state.checkpoints),
            "gaps": [[g.stream, g.offset, g.bytes, g.lines, g.reason] for g in state.gaps],
            "complete": state.complete,
            "error": state.error,
            "returncode": state.returncode,
            "reason": state.reason,
        },
        separators=(",", ":"),
    )


def _pair(value: Any) -> Any:
    return None if value is None else (value[0], value[1])


def state_from_json(text: bytes | str) -> SpoolState:
    """The :class:`SpoolState` of a meta hash's ``state`` field."""
    try:
        obj = json.loads(text)
        gaps = []
        for stream, offset, nbytes, lines, reason in obj["gaps"]:
            if stream not in STREAMS:
                raise ValueError(stream)
            gaps.append(Gap(stream, int(offset), int(nbytes), int(lines), str(reason)))
        return SpoolState(
            records=int(obj["records"]),
            sizes=(int(obj["sizes"][0]), int(obj["sizes"][1])),
            newlines=_pair(obj["newlines"]),
            open_line=_pair(obj["open_line"]),
            checkpoints=(int(obj["checkpoints"][0]), int(obj["checkpoints"][1])),
            gaps=tuple(gaps),
            complete=bool(obj["complete"]),
            error=obj["error"],
            returncode=obj["returncode"],
            reason=obj["reason"],
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise SpoolError(f"bad spool state in Redis: {text!r}") from exc
