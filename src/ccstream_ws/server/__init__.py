"""The server: the ASGI app (:class:`App`), its sessions, executions, HTTP routes (downloads,
login, metrics, the viewer) and its configuration (:class:`ServerConfig`)."""

from ._app import App
from ._config import ServerConfig, is_loopback

__all__ = ["App", "ServerConfig", "is_loopback"]
