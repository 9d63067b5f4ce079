"""The exact newline count of a stream's frames, by the faster of two ways for its text.

``bytes.count(b"\\n")`` costs about the same per byte whatever the bytes are. Counting what
``bytes.replace(b"\\n", b"")`` removed is several times faster when newlines are sparse (the
copy between two newlines is one ``memcpy``) and many times slower when they are dense (one
call per newline). A stream's lines tend to look like its previous ones, so each count picks
its way by the density of the frame before it. Both ways are exact.
"""

from __future__ import annotations

__all__ = ["SPARSE_LINE", "NewlineCounter"]

SPARSE_LINE = 40
"""Mean line length, in bytes, from which the previous frame counts as sparse in newlines
(``replace`` wins from about 32 bytes per line on; see ``benchmarks/README.md``)."""


class NewlineCounter:
    """Counts the newlines of one stream's frames, one frame at a time."""

    __slots__ = ("_sparse",)

    def __init__(self) -> None:
        self._sparse = True

    def count(self, data: bytes) -> int:
        """The number of ``b"\\n"`` bytes in ``data``, exactly."""
        sparse = self._sparse
        n = len(data) - len(data.replace(b"\n", b"")) if sparse else data.count(b"\n")
        self._sparse = n * SPARSE_LINE <= len(data)
        return n
