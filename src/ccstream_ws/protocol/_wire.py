"""Output on the wire, sans-I/O: :class:`~ccstream.Output` frames in, WebSocket messages out.

One :class:`OutputEncoder` per client and execution applies that client's ``output_options``:
the stream choice, head/tail caps (every omission counted), the frame size, the encoding (JSON
text, base64 in JSON, or binary messages with the header below) and gzip when it saves at least
20%. With no caps and no compression a frame becomes exactly one message, without copies beyond
the encoding itself. Binary messages are laid out by :mod:`ccstream_ws.protocol._frames`.
"""

from __future__ import annotations

import base64
import codecs
from typing import Any

from ccstream import Compressor, Gap, Output, Selector, StreamName

from ._frames import pack_binary
from ._jsonrpc import _dumps, notification
from ._params import STREAMS, OutputOptions

__all__ = ["Message", "OutputEncoder"]

_PLAIN = bytes(range(0x20, 0x7F)) + b"\n\t"
"""Printable ASCII, newline and tab: a text frame of only these is escaped with a few
replacements (backslash, quote, newline, tab) instead of the JSON encoder's scan."""
_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\t", "\\t"))

Message = str | bytes
"""A WebSocket message: text (JSON) or binary."""


class _StreamState:
    """What one stream of one client has been sent and held back."""

    __slots__ = ("base", "decoder", "head_lines", "head_sent", "selector", "truncated")

    def __init__(self, base: int, options: OutputOptions) -> None:
        self.base = base  # byte offset of the first byte this client is sent
        self.head_sent = 0
        self.head_lines = 0
        self.truncated = False
        self.selector = (
            Selector(
                head_lines=options.head_lines,
                head_bytes=options.head_bytes,
                tail_lines=options.tail_lines,
                tail_bytes=options.tail_bytes,
                keep_head=False,
            )
            if options.capped
            else None
        )
        # Frames may be cut anywhere (a spool reader does not know code points), so text is
        # decoded incrementally: at most 3 bytes of a split character wait for the next frame.
        self.decoder = (
            codecs.getincrementaldecoder("utf-8")("replace") if options.encoding == "text" else None
        )


class OutputEncoder:
    """Turns one execution's frames into one client's messages.

    ``offsets`` are the byte offsets each stream starts at for this client (0, or where a
    ``subscribe`` resumes). Call :meth:`output` and :meth:`gap` in arrival order, then
    :meth:`finish` once at the end of the run for the tails and the account of omissions.
    """

    def __init__(
        self,
        execution_id: str,
        options: OutputOptions,
        offsets: dict[StreamName, int] | None = None,
    ) -> None:
        self.execution_id = execution_id
        self._id_bytes = execution_id.encode("ascii")
        self.options = options
        offsets = offsets or {}
        self._streams = {name: _StreamState(offsets.get(name, 0), options) for name in STREAMS}
        self._compressor = Compressor("gzip") if options.compression == "gzip" else None
        self.messages = 0
        self.bytes = 0

    def output(self, frame: Output) -> list[Message]:
        """The messages for one frame (none when its stream is not wanted or is capped off)."""
        name = frame.stream
        if name not in self.options.streams:
            return []
        state = self._streams[name]
        data = frame.data
        offset = frame.offset
        if state.selector is not None:
            head = state.selector.feed(data)
            offset = state.base + state.head_sent
            state.head_sent += len(head)
            state.head_lines += head.count(b"\n")
            out: list[Message] = []
            if len(head) < len(data) and not state.truncated:
                state.truncated = True
                out.append(self._truncated(name, state))
            if head:
                out[:0] = self._frames(name, offset, head)
            return out
        return self._frames(name, offset, data)

    def gap(self, gap: Gap) -> list[Message]:
        """A notice that the spool dropped output this client would have been sent."""
        if gap.stream not in self.options.streams:
            return []
        state = self._streams[gap.stream]
        if state.selector is not None:
            # Capped frames get their offsets from the bytes fed so far: skip the missing ones.
            state.base += gap.bytes
        return [
            notification(
                "process.gap",
                {
                    "execution_id": self.execution_id,
                    "type": gap.stream,
                    "offset": gap.offset,
                    "bytes": gap.bytes,
                    "lines": gap.lines,
                    "reason": gap.reason,
                },
            )
        ]

    def finish(self) -> list[Message]:
        """End of the run: a held-back partial character, then each capped stream's tail."""
        out: list[Message] = []
        for name in STREAMS:
            if name not in self.options.streams:
                continue
            state = self._streams[name]
            if state.decoder is not None:
                rest = state.decoder.decode(b"", final=True)
                if rest:
                    out.append(self._text_message(name, -1, 0, rest))
            if state.selector is not None:
                selection = state.selector.finish()
                if selection.tail:
                    total = state.base + selection.total_bytes
                    out += self._frames(name, total - len(selection.tail), selection.tail)
        return out

    def account(self) -> dict[str, Any]:
        """Per stream, what capping withheld: for ``process.completed``."""
        result: dict[str, Any] = {}
        for name in STREAMS:
            state = self._streams[name]
            if state.selector is None or name not in self.options.streams:
                continue
            s = state.selector.finish()
            result[name] = {
                "head_bytes": s.head_size,
                "head_lines": s.head_lines,
                "tail_bytes": len(s.tail),
                "tail_lines": s.tail_lines,
                "omitted_bytes": s.omitted_bytes,
                "omitted_lines": s.omitted_lines,
                "next_line": state.head_lines,
                "paginated": self.options.pagination,
            }
        return result

    # -- internals ------------------------------------------------------------------------------

    def _truncated(self, name: StreamName, state: _StreamState) -> str:
        return notification(
            "process.truncated",
            {
                "execution_id": self.execution_id,
                "type": name,
                "sent_bytes": state.head_sent,
                "sent_lines": state.head_lines,
                "next_line": state.head_lines,
                "next_offset": state.base + state.head_sent,
                "paginated": self.options.pagination,
            },
        )

    def _frames(self, name: StreamName, offset: int, data: bytes) -> list[Message]:
        size = self.options.chunk_size
        if len(data) <= size:
            return [self._one(name, offset, data)]
        return [self._one(name, offset + i, data[i : i + size]) for i in range(0, len(data), size)]

    def _one(self, name: StreamName, offset: int, data: bytes) -> Message:
        self.messages += 1
        self.bytes += len(data)
        encoding = self.options.encoding
        decoder = self._streams[name].decoder
        payload = data
        text: str | None = None
        if decoder is not None:
            # Every text frame passes the decoder, compressed or not, so a character split across
            # frames comes out whole and in order.
            text = decoder.decode(data)
        gzip = False
        if self._compressor is not None:
            if text is not None:
                payload = text.encode("utf-8")
            packed = self._compressor.compress(payload)
            if packed.encoding is not None:
                gzip = True
                payload = packed.payload
        if encoding == "binary":
            return pack_binary(self._id_bytes, name, offset, payload, gzip=gzip)
        if text is not None and not gzip:
            plain = offset >= 0 and text.isascii() and len(text) == len(data)
            if plain and not data.translate(None, _PLAIN):
                return self._plain_message(name, offset, len(data), text)
            return self._text_message(name, offset, len(data), text)
        params: dict[str, Any] = {
            "execution_id": self.execution_id,
            "type": name,
            "data": base64.b64encode(payload).decode("ascii"),
            "encoding": "base64",
            "offset": offset,
            "size": len(data),
        }
        if gzip:
            params["compression"] = "gzip"
            if text is not None:
                params["encoding"] = "text"
        return notification("process.output", params)

    def _plain_message(self, name: StreamName, offset: int, size: int, text: str) -> str:
        """:meth:`_text_message` of a ``text`` made of :data:`_PLAIN` characters only, built
        around the escaped text: the same JSON, in a fraction of the encoder's time on a frame
        of 64 KiB (the encoder is the largest cost of a text frame)."""
        escaped = text
        for char, escape in _ESCAPES:
            if char in escaped:
                escaped = escaped.replace(char, escape)
        head = (
            '{"jsonrpc":"2.0","method":"process.output","params":{"execution_id":'
            f'{_dumps(self.execution_id)},"type":"{name}","data":"'
        )
        return f'{head}{escaped}","encoding":"text","offset":{offset},"size":{size}}}}}'

    def _text_message(self, name: StreamName, offset: int, size: int, text: str) -> str:
        params: dict[str, Any] = {
            "execution_id": self.execution_id,
            "type": name,
            "data": text,
            "encoding": "text",
        }
        if offset >= 0:
            params["offset"] = offset
            params["size"] = size
        return notification("process.output", params)
