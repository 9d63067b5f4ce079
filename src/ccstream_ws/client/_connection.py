"""A WebSocket client connection on anyio (asyncio and trio): websockets' sans-I/O
``ClientProtocol`` over an anyio byte stream.

The loop only moves bytes, as websockets' own I/O layers do: read from the socket, feed the
protocol, send what it has to send (pongs, the close echo), collect the messages it parsed.
permessage-deflate is websockets' extension, negotiated when the client offers it.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
from collections import deque
from collections.abc import Mapping, Sequence

import anyio
import anyio.abc
from websockets.client import ClientProtocol
from websockets.exceptions import InvalidHandshake
from websockets.extensions.permessage_deflate import enable_client_permessage_deflate
from websockets.frames import Frame, Opcode
from websockets.http11 import USER_AGENT, Response
from websockets.protocol import State
from websockets.typing import Origin
from websockets.uri import parse_uri

from ..exceptions import ProtocolViolation

__all__ = ["WebSocket"]

READ_SIZE = 1 << 20
"""Bytes asked of the socket per read: what one read may add to the parsed messages."""

CLOSE_TIMEOUT = 10.0
"""Seconds the closing handshake may take before the socket is closed anyway."""

_DATA = (Opcode.TEXT, Opcode.BINARY, Opcode.CONT)
_ABORTED = (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError)


class WebSocket:
    """One client connection: :meth:`open` it, then :meth:`recv` and :meth:`send` whole
    messages (``str`` for text, ``bytes`` for binary) from any task; one task receives at a time.

    Memory: the messages parsed from one read of at most :data:`READ_SIZE` bytes, plus one
    message being assembled, bounded by ``max_size`` bytes (the protocol's own limit).
    """

    def __init__(self, stream: anyio.abc.ByteStream, protocol: ClientProtocol) -> None:
        self._stream = stream
        self.protocol = protocol
        self._messages: deque[str | bytes] = deque()
        self._parts: list[bytes] = []
        self._text = False
        self._send_lock = anyio.Lock()

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        headers: Mapping[str, str],
        origin: str | None,
        compression: str | None,
        max_size: int,
        open_timeout: float,
    ) -> WebSocket:
        """Connect to ``url`` (``ws://`` or ``wss://``) and complete the opening handshake
        within ``open_timeout`` seconds (:class:`TimeoutError` past it). Raises ``OSError``
        when the connection fails, websockets' ``InvalidURI`` or ``InvalidHandshake`` when the
        server refuses the upgrade."""
        uri = parse_uri(url)
        extensions = enable_client_permessage_deflate(None) if compression == "deflate" else None
        protocol = ClientProtocol(
            uri,
            origin=Origin(origin) if origin is not None else None,
            extensions=extensions,
            max_size=max_size,
        )
        with anyio.fail_after(open_timeout):
            stream: anyio.abc.ByteStream
            if uri.secure:
                stream = await anyio.connect_tcp(
                    uri.host,
                    uri.port,
                    tls=True,
                    ssl_context=ssl.create_default_context(),
                    tls_hostname=uri.host,
                    tls_standard_compatible=False,
                )
            else:
                stream = await anyio.connect_tcp(uri.host, uri.port)
            connection = cls(stream, protocol)
            try:
                await connection._handshake(headers)
            except BaseException:
                await anyio.aclose_forcefully(stream)
                raise
        return connection

    async def _handshake(self, headers: Mapping[str, str]) -> None:
        request = self.protocol.connect()
        request.headers.update(headers)
        request.headers.setdefault("User-Agent", USER_AGENT)
        self.protocol.send_request(request)
        await self._write()
        while True:
            await self._read()
            events = self.protocol.events_received()
            if events:
                break
            if self.protocol.state is State.CLOSED:
                break
        if self.protocol.handshake_exc is not None:
            raise self.protocol.handshake_exc
        if not events or not isinstance(events[0], Response):
            raise InvalidHandshake("the connection closed during the opening handshake")
        # The server's first messages may come in the same read as its response.
        self._collect(events[1:])

    # -- receiving --------------------------------------------------------------------------------

    async def recv(self) -> str | bytes:
        """The next message. At the end of the connection, websockets' ``ConnectionClosed``
        (``rcvd``: the server's close frame, ``None`` when there was none); a text message that
        is not UTF-8 raises :class:`ProtocolViolation`."""
        while not self._messages:
            if self.protocol.state is State.CLOSED:
                raise self.protocol.close_exc
            await self._read()
            # Pongs and the close echo go out as soon as the protocol has them.
            await self._flush()
            self._collect(self.protocol.events_received())
        return self._messages.popleft()

    async def _read(self) -> None:
        try:
            data = await self._stream.receive(READ_SIZE)
        except _ABORTED:
            self.protocol.receive_eof()
        else:
            self.protocol.receive_data(data)

    def _collect(self, events: Sequence[object]) -> None:
        for event in events:
            if not isinstance(event, Frame) or event.opcode not in _DATA:
                continue  # control frames: the protocol answered them
            if event.opcode is not Opcode.CONT:
                self._text = event.opcode is Opcode.TEXT
                self._parts = []
            self._parts.append(bytes(event.data))
            if not event.fin:
                continue
            data = b"".join(self._parts)
            self._parts = []
            if not self._text:
                self._messages.append(data)
                continue
            try:
                self._messages.append(data.decode())
            except UnicodeDecodeError as exc:
                raise ProtocolViolation(f"a text message is not UTF-8: {exc}") from None

    # -- sending ----------------------------------------------------------------------------------

    async def send(self, message: str | bytes) -> None:
        """Send one message: text for ``str``, binary for ``bytes``. Raises websockets'
        ``ConnectionClosed`` when the connection is closing or closed."""
        async with self._send_lock:
            if self.protocol.state is not State.OPEN:
                raise self.protocol.close_exc
            if isinstance(message, str):
                self.protocol.send_text(message.encode())
            else:
                self.protocol.send_binary(message)
            try:
                await self._write()
            except _ABORTED:
                self.protocol.receive_eof()
                raise self.protocol.close_exc from None

    async def ping(self) -> None:
        """Send a ping (the server's pong is answered by nobody: it only keeps the path
        alive, as proxies with an idle timeout need)."""
        async with self._send_lock:
            if self.protocol.state is State.OPEN:
                self.protocol.send_ping(b"")
                with contextlib.suppress(*_ABORTED):
                    await self._write()

    async def _flush(self) -> None:
        async with self._send_lock:
            with contextlib.suppress(*_ABORTED):
                await self._write()

    async def _write(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                await self._stream.send(data)
            else:
                with contextlib.suppress(*_ABORTED, NotImplementedError):
                    await self._stream.send_eof()

    # -- closing ----------------------------------------------------------------------------------

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """The closing handshake: send a close frame (unless one was sent), read until the
        server closes the TCP connection, at most :data:`CLOSE_TIMEOUT` seconds (also when the
        caller is being cancelled), then close the socket. What arrives meanwhile is dropped:
        call it once nobody receives."""
        with anyio.move_on_after(CLOSE_TIMEOUT, shield=True):
            with contextlib.suppress(*_ABORTED):
                async with self._send_lock:
                    if self.protocol.state is State.OPEN:
                        self.protocol.send_close(code, reason)
                        await self._write()
            while self.protocol.state is not State.CLOSED:
                await self._read()
                self.protocol.events_received()
                await self._flush()
        await anyio.aclose_forcefully(self._stream)

    async def abort(self) -> None:
        """Break the connection without a closing handshake: the socket is reset, as a network
        failure would leave it."""
        raw = self._stream.extra(anyio.abc.SocketAttribute.raw_socket, None)
        if raw is not None:
            with contextlib.suppress(OSError):
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.protocol.receive_eof()
        await anyio.aclose_forcefully(self._stream)

    @property
    def close_code(self) -> int | None:
        """The server's close code (1006 when the connection ended without one), or ``None``
        while open."""
        return self.protocol.close_code
