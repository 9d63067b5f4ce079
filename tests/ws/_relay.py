"""A TCP relay on loopback that a test can cut: every connection through it is reset at once
(as a network failure leaves it), and for a while new ones can be refused.

Threads, not the event loop: the test drives a real ``ccstream-ws`` subprocess through it, and
the relay must keep moving bytes while the test's own thread waits.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from types import TracebackType

_CHUNK = 65536


def _reset(sock: socket.socket) -> None:
    # SO_LINGER 0: the close sends a RST. The shutdown first wakes the relay's own thread
    # blocked in recv() on it: until that returns, close() would not end the connection.
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


class Relay:
    """Listens on 127.0.0.1 (``port``) and relays each connection to 127.0.0.1:``target``.
    :meth:`cut` resets every open connection; ``refuse_for`` seconds after it, new connections
    are accepted and reset at once. ``cuts`` counts the cuts, ``connections`` the connections
    relayed. Use it as a context manager: leaving it closes everything."""

    def __init__(self, target: int) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._refuse_until = 0.0
        self._closed = False
        self.cuts = 0
        self.connections = 0
        self._acceptor = threading.Thread(target=self._accept, name="relay", daemon=True)

    @property
    def url(self) -> str:
        """The relayed server's WebSocket endpoint, through the relay."""
        return f"ws://127.0.0.1:{self.port}/ws"

    def __enter__(self) -> Relay:
        self._acceptor.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closed = True
        # Wakes the acceptor's accept() (a close alone would leave it blocked).
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self.cut()
        self._acceptor.join(5)

    def cut(self, refuse_for: float = 0.0) -> None:
        """Reset every connection through the relay; refuse new ones for ``refuse_for`` s."""
        with self._lock:
            self._refuse_until = time.monotonic() + refuse_for
            sockets, self._open = self._open, []
            self.cuts += 1
        for sock in sockets:
            _reset(sock)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if time.monotonic() < self._refuse_until:
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:
                _reset(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open += [client, upstream]
                self.connections += 1
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(_CHUNK)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass  # cut, or the other side went away
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
