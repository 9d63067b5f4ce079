"""The command lines' server address: a URL without a path means the adapter's ``/ws``."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

__all__ = ["DEFAULT_PATH", "ws_url"]

DEFAULT_PATH = "/ws"
"""The path of the adapter's own WebSocket endpoint."""


def ws_url(text: str) -> str:
    """``text`` with ``/ws`` as its path when it has none (``ws://host:8765`` and
    ``ws://host:8765/`` both become ``ws://host:8765/ws``); any other URL as it is."""
    parts = urlsplit(text)
    if parts.scheme in ("ws", "wss") and parts.path in ("", "/"):
        return urlunsplit(parts._replace(path=DEFAULT_PATH))
    return text
