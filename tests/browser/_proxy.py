"""A TCP relay on loopback whose connections the test can cut, as a network failure would."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

_BLOCK = 65536


class Relay:
    """Listens on 127.0.0.1 (``port``) and relays each connection to ``target`` port.

    :meth:`cut` breaks every open connection at once (both sides see a reset, no close
    handshake); new connections are relayed as before.
    """

    def __init__(self, target: int) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self.cuts = 0
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._closed:
                    client.close()
                    upstream.close()
                    return
                self._open.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(_BLOCK):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            self._drop(source)
            self._drop(sink)

    def _drop(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)
        with contextlib.suppress(OSError):
            # SO_LINGER 0: close with a reset, as a dropped route or a killed proxy does.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with contextlib.suppress(OSError):
            sock.close()

    def cut(self) -> int:
        """Break every open connection; how many sockets were open."""
        with self._lock:
            victims = list(self._open)
            self._open.clear()
            self.cuts += 1
        for sock in victims:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            self._drop(sock)
        return len(victims)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._listener.close()
        self.cut()
