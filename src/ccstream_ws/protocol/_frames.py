"""Binary output messages, sans-I/O: :func:`pack_binary` and :func:`unpack_binary`.

Binary messages carry a fixed header, then the execution id, then the payload (network order)::

    offset  size  field
    0       1     version: 1
    1       1     flags: bit 0 set = stderr (else stdout), bit 1 set = payload is gzip
    2       2     n: length of the execution id in bytes
    4       8     offset: byte offset in the stream of the frame's first (uncompressed) byte
    12      n     execution id, ASCII
    12+n    ...   payload: the frame's bytes, or one gzip member holding them
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ccstream import StreamName

__all__ = ["BINARY_VERSION", "BinaryFrame", "pack_binary", "unpack_binary"]

BINARY_VERSION = 1
_HEADER = struct.Struct("!BBHQ")
_STDERR = 0x01
_GZIP = 0x02


def pack_binary(
    execution_id: bytes, stream: StreamName, offset: int, payload: bytes, *, gzip: bool = False
) -> bytes:
    """One binary output message (see the module docstring)."""
    flags = (_STDERR if stream == "stderr" else 0) | (_GZIP if gzip else 0)
    return b"".join(
        (_HEADER.pack(BINARY_VERSION, flags, len(execution_id), offset), execution_id, payload)
    )


@dataclass(frozen=True, slots=True)
class BinaryFrame:
    """A decoded binary message; ``payload`` is still gzip when ``gzip`` is True."""

    execution_id: str
    stream: StreamName
    offset: int
    gzip: bool
    payload: bytes


def unpack_binary(message: bytes) -> BinaryFrame:
    """Decode a binary output message; raises ``ValueError`` when it is malformed."""
    if len(message) < _HEADER.size:
        raise ValueError("binary message shorter than its header")
    version, flags, id_len, offset = _HEADER.unpack_from(message)
    if version != BINARY_VERSION:
        raise ValueError(f"unknown binary frame version {version}")
    end = _HEADER.size + id_len
    if len(message) < end:
        raise ValueError("binary message shorter than its execution id")
    return BinaryFrame(
        execution_id=message[_HEADER.size : end].decode("ascii"),
        stream="stderr" if flags & _STDERR else "stdout",
        offset=offset,
        gzip=bool(flags & _GZIP),
        payload=message[end:],
    )
