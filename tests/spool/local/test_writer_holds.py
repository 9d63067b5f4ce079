"""The sink's hold for a reader to come (``hold_for_reader``), driven synchronously: what it
holds while no reader is registered, and when it lets go."""

from __future__ import annotations

from pathlib import Path

from ccstream._chunker import Chunker
from ccstream._options import SpoolOptions
from ccstream.spool._quota import ReaderMark
from ccstream.spool.local import SpoolWriter

SEGMENT = 4096


def _writer(tmp_path: Path) -> SpoolWriter:
    options = SpoolOptions(
        directory=tmp_path / "s", segment_size=SEGMENT, quota=4 * SEGMENT, on_quota="pause"
    )
    return SpoolWriter(options)


def _fill(writer: SpoolWriter, chunker: Chunker, segments: int) -> None:
    for _ in range(segments):
        assert writer.append("stdout", chunker.feed(b"x" * (SEGMENT - 1) + b"\n")) is not None


def test_a_hold_for_a_reader_to_come_keeps_everything_until_one_registers(
    tmp_path: Path,
) -> None:
    writer = _writer(tmp_path)
    chunker = Chunker("stdout", chunk_size=1024)
    release = writer.hold_for_reader(again=False)
    _fill(writer, chunker, 8)
    assert writer.held, "nobody read from offset 0 yet: nothing may be dropped"
    reader = ReaderMark([8 * SEGMENT, 0], [True, False])
    writer.add_reader(reader)  # the reader came: the hold goes
    assert not writer.retry_held()
    writer.remove_reader(reader)  # again=False: it does not come back
    _fill(writer, chunker, 4)
    assert not writer.held
    release()
    writer.close()


def test_a_hold_again_keeps_what_the_last_reader_left_for_the_next(tmp_path: Path) -> None:
    writer = _writer(tmp_path)
    chunker = Chunker("stdout", chunk_size=1024)
    release = writer.hold_for_reader(again=True)
    reader = ReaderMark([0, 0], [True, True])
    writer.add_reader(reader)
    _fill(writer, chunker, 3)
    reader.pos[0] = 2 * SEGMENT
    writer.remove_reader(reader)  # it left at 2 segments: from there on is kept for the next
    _fill(writer, chunker, 6)
    assert writer.held
    release()  # let go: the quota may drop again
    assert not writer.retry_held()
    writer.close()
