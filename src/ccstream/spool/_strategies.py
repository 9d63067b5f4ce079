"""Hypothesis strategies of the spool's property tests (see :mod:`ccstream.spool.testing`).

Needs hypothesis (the ``testing`` extra): :mod:`ccstream.spool.testing` imports this module only
when one of these names is asked for. A script is what a child wrote, in order: ``(stream,
bytes of one write)`` pairs; a layout is the keyword arguments of a spool whose segments, frames
and index intervals are tiny, so every example crosses many segment boundaries and checkpoints.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from .._events import StreamName

__all__ = ["layouts", "quota_scripts", "scripts", "writes"]

Write = tuple[StreamName, bytes]


def _newlines(data: bytes) -> bytes:
    # Two byte values of 256 become newlines: writes rich in short and empty lines.
    return data.replace(b"\x00", b"\n").replace(b"\x01", b"\n")


def writes(*, min_size: int = 0, max_size: int = 120) -> st.SearchStrategy[bytes]:
    """The bytes of one write of ``min_size`` to ``max_size`` bytes, rich in newlines: some
    long lines, some writes without any newline."""
    return st.binary(min_size=min_size, max_size=max_size).map(_newlines)


def scripts(
    streams: Sequence[StreamName] = ("stdout", "stderr"),
    *,
    max_write: int = 120,
    min_writes: int = 0,
    max_writes: int = 25,
) -> st.SearchStrategy[list[Write]]:
    """Scripts of ``min_writes`` to ``max_writes`` writes of up to ``max_write`` bytes each,
    on ``streams``."""
    return st.lists(
        st.tuples(st.sampled_from(list(streams)), writes(max_size=max_write)),
        min_size=min_writes,
        max_size=max_writes,
    )


def quota_scripts(
    streams: Sequence[StreamName] = ("stdout", "stderr"),
) -> st.SearchStrategy[list[Write]]:
    """Scripts of big writes (10 to 200 bytes, 4 to 30 of them): under a quota of a few tiny
    segments most examples drop something."""
    return st.lists(
        st.tuples(st.sampled_from(list(streams)), writes(min_size=10, max_size=200)),
        min_size=4,
        max_size=30,
    )


def layouts(*, page_cache: bool = True) -> st.SearchStrategy[dict[str, int]]:
    """``segment_size`` (16 to 96 bytes), ``index_every`` (1 to 6 lines), ``index_bytes`` (1 to
    80) and the frames' ``chunk_size`` (16 to 48 bytes); with ``page_cache``, the local store's
    ``page_cache`` too (0 to 200 bytes: dropping written bytes from the page cache must never
    change what readers get; a store without one ignores it)."""
    fields: dict[str, st.SearchStrategy[int]] = {
        "segment_size": st.integers(16, 96),
        "index_every": st.integers(1, 6),
        "index_bytes": st.integers(1, 80),
        "chunk_size": st.integers(16, 48),
    }
    if page_cache:
        fields["page_cache"] = st.integers(0, 200)
    return st.fixed_dictionaries(fields)
