"""The server's settings, validated once when they are made.

Sizes are in bytes, times in seconds. Safe defaults: the server is meant for loopback; a host
beyond loopback needs a token, and there shell strings are off unless turned on.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass

from ..exceptions import ConfigError
from ..protocol._params import finite, is_int
from ._budget import quota_for, reservation

__all__ = ["ServerConfig", "is_loopback"]

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (``127.0.0.0/8``, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _count(name: str, value: int, minimum: int = 1) -> None:
    if not is_int(value) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _seconds(name: str, value: float) -> None:
    if finite(value) is None or value < 0:
        raise ConfigError(f"{name} must be a number of seconds >= 0, got {value!r}")


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Everything the ASGI app enforces.

    Access: ``host`` is where the server listens (the app only uses it for the rules below);
    ``token`` is required by every connection when set (``Authorization: Bearer TOKEN``,
    ``?token=TOKEN``, or the viewer's session cookie from ``POST /login``) and must be set when
    ``host`` is not loopback. ``allowed_origins`` lists the
    browser origins (``"https://app.example"``, or ``"*"``) that may connect; a request without an
    ``Origin`` header (not a browser) is not affected. ``allow_same_origin`` also admits pages this
    server served itself (the viewer at ``/``): an origin equal to the request's ``Host``, and
    without a token only for loopback names (see :func:`ccstream_ws.server._auth.same_origin`).
    ``allowed_hosts``: the ``Host`` names (besides loopback names and ``host``) the viewer and the
    downloads answer for, and whose pages count as the server's own, e.g. the name of a reverse
    proxy in front (``"*"``: any); any other ``Host`` gets HTTP 421. Without it, a server with a
    token answers for any Host (the token is the boundary), one without only for loopback names.

    Commands: ``allow_shell`` allows shell strings (``command``); ``None`` means on for a loopback
    host, off otherwise. ``allowed_executables`` (names or absolute paths) limits argv[0]; for a
    shell string it is checked against the first word, which is a convenience, not a boundary.
    ``shell`` runs shell strings. ``cwd`` is the default working directory; ``allow_cwd`` lets
    clients choose one. ``list_executions``: ``list`` shows a connection every execution of the
    server (``False``: only those it started; see :mod:`ccstream_ws.server._listing`).

    Environment: the child inherits the server's variables whose names match ``env_inherit``
    (fnmatch patterns), and a client may set the variables matching ``env_allow`` and not
    ``env_deny``. The server's own settings (``CCSTREAM_WS_*``, the token among them) are never
    inherited.

    Limits: ``max_message_size`` per inbound message; ``max_connections``;
    ``max_executions`` at once in total and ``max_executions_per_connection``; ``max_chunk_size``
    for a client's ``chunk_size``; ``stdin_queue`` inbound ``stdin`` messages waiting for the
    child per execution. ``retention`` keeps an ended or detached execution for ``subscribe`` and
    ``page`` after its connection closed (a client may ask for up to ``max_retention``).

    Spool: every execution's output is spooled to disk and every client reads it from there.
    ``spool_directory``: each execution's spool is ``spool_directory/<execution_id>`` (``None``:
    a fresh directory per execution in the system's temporary directory). ``spool_quota``: disk
    bytes per execution (default 1 GiB, at least 1 MiB; ``None``: no quota); over it the middle of
    the output is dropped, the head and the newest output are kept, and readers are told
    (``process.gap``). A spool is removed when its execution is dropped (after ``retention``).
    ``spool_budget``: disk bytes for all spools together, running, ended and detached ones
    (``None``: ``max_executions`` running executions' worth, see :attr:`budget`); a running
    execution counts for its quota plus a segment (:func:`ccstream_ws.server._budget.reservation`),
    an ended one for what its spool takes on disk. To admit a run that would not fit, the ended
    executions that ended first are evicted (their spools deleted, each one logged and reported to
    whoever asks for it); if it still does not fit it is refused (``LIMIT_REACHED``). With a budget
    and no quota, each execution's quota is its share of the budget (:attr:`execution_quota`).

    Service: ``metrics`` serves ``GET /metrics`` among the app's routes (``False`` when it has a
    listener of its own, :meth:`App.metrics_app`). ``drain_timeout``: seconds a shutdown lets
    running executions finish (no new ones are taken meanwhile) before it cancels them
    (:meth:`App.drain`).

    Cluster (``docs/deployment.md``): ``redis`` is a ``redis://HOST:PORT/DB`` URL (``None``: one
    node, everything in this process). With it, the executions' registry and their spools live in
    that Redis, so every node sharing it answers for every execution. ``node_id`` names this node
    there (``None``: host name, pid and a random suffix, unique per process). The owner of a
    running execution renews its lease every third of ``lease`` seconds; an execution whose lease
    ran out is finalised by another node as ``node_lost``. ``command_timeout``: seconds a
    ``cancel``, ``control`` or ``stdin`` for another node's execution waits for that node's answer.
    """

    host: str = "127.0.0.1"
    token: str | None = None
    allowed_origins: tuple[str, ...] = ()
    allow_same_origin: bool = True
    allowed_hosts: tuple[str, ...] = ()

    allow_shell: bool | None = None
    allowed_executables: frozenset[str] | None = None
    shell: str = "/bin/sh"
    cwd: str | None = None
    allow_cwd: bool = True
    list_executions: bool = True

    env_inherit: tuple[str, ...] = ("*",)
    env_allow: tuple[str, ...] = ("*",)
    env_deny: tuple[str, ...] = ("LD_*", "DYLD_*", "CCSTREAM_WS_TOKEN")

    max_message_size: int = 1 * MiB
    max_connections: int = 256
    max_executions: int = 64
    max_executions_per_connection: int = 16
    max_chunk_size: int = 1 * MiB
    stdin_queue: int = 16
    retention: float = 300.0
    max_retention: float = 3600.0
    kill_grace: float = 2.0

    spool_directory: str | None = None
    spool_quota: int | None = 1 * GiB
    spool_budget: int | None = None

    metrics: bool = True
    drain_timeout: float = 20.0

    redis: str | None = None
    node_id: str | None = None
    lease: float = 10.0
    command_timeout: float = 5.0

    def __post_init__(self) -> None:
        if self.token is not None and (not isinstance(self.token, str) or len(self.token) < 16):
            raise ConfigError("token must be a string of at least 16 characters")
        if not is_loopback(self.host) and self.token is None:
            raise ConfigError(
                f"refusing to serve on {self.host!r} (beyond loopback) without a token; "
                "set one with --token or CCSTREAM_WS_TOKEN"
            )
        for origin in self.allowed_origins:
            if not isinstance(origin, str) or not origin:
                raise ConfigError(f"allowed_origins entries must be strings, got {origin!r}")
        for name in self.allowed_hosts:
            if not isinstance(name, str) or not name or name != name.strip().lower():
                raise ConfigError(
                    f"allowed_hosts entries must be lower-case host names, got {name!r}"
                )
        if self.cwd is not None and not os.path.isdir(self.cwd):
            raise ConfigError(f"cwd is not a directory: {self.cwd}")
        _count("max_message_size", self.max_message_size, 1024)
        _count("max_connections", self.max_connections)
        _count("max_executions", self.max_executions)
        _count("max_executions_per_connection", self.max_executions_per_connection)
        _count("max_chunk_size", self.max_chunk_size, 1024)
        _count("stdin_queue", self.stdin_queue)
        if self.spool_quota is not None:
            _count("spool_quota", self.spool_quota, 1 * MiB)
        if self.spool_budget is not None:
            _count("spool_budget", self.spool_budget, 1 * MiB)
            quota = self.execution_quota
            if self.spool_quota is None and (quota is None or quota < 1 * MiB):
                raise ConfigError(
                    f"spool_budget {self.spool_budget} does not hold one execution: shared by "
                    f"max_executions {self.max_executions}, each gets less than a 1 MiB quota "
                    f"plus a segment ({reservation(1 * MiB)} bytes)"
                )
            if quota is not None and reservation(quota) > self.spool_budget:
                raise ConfigError(
                    f"spool_budget {self.spool_budget} does not hold one execution: its quota "
                    f"plus a segment take {reservation(quota)} bytes"
                )
        for name in ("retention", "max_retention", "kill_grace", "drain_timeout"):
            _seconds(name, getattr(self, name))
        _cluster_checks(self)

    @property
    def clustered(self) -> bool:
        """True when the registry and the spools live in Redis (``redis`` is set)."""
        return self.redis is not None

    @property
    def execution_quota(self) -> int | None:
        """Disk bytes per execution: ``spool_quota``; with none but a ``spool_budget``, the
        largest quota of which ``max_executions`` runs fit in the budget together; ``None``
        when neither is set."""
        if self.spool_quota is not None:
            return self.spool_quota
        if self.spool_budget is None:
            return None
        return quota_for(self.spool_budget // self.max_executions)

    @property
    def budget(self) -> int | None:
        """Disk bytes for all spools together: ``spool_budget``, or by default room for
        ``max_executions`` running executions at their quota (``None``, no bound, when there
        is neither a budget nor a quota)."""
        if self.spool_budget is not None:
            return self.spool_budget
        if self.spool_quota is None:
            return None
        return self.max_executions * reservation(self.spool_quota)

    @property
    def shell_allowed(self) -> bool:
        """Whether shell strings are accepted: ``allow_shell``, or loopback when unset."""
        return is_loopback(self.host) if self.allow_shell is None else self.allow_shell


def _cluster_checks(config: ServerConfig) -> None:
    if config.redis is not None and not config.redis.startswith(
        ("redis://", "rediss://", "unix://")
    ):
        raise ConfigError(
            "redis must be a redis://HOST:PORT/DB (or rediss://, unix://) URL, "
            f"got {config.redis!r}"
        )
    if config.node_id is not None and (
        not isinstance(config.node_id, str)
        or not 1 <= len(config.node_id) <= 64
        or any(c.isspace() or c in "{}" for c in config.node_id)
    ):
        raise ConfigError(
            f"node_id must be 1 to 64 characters without spaces or braces, got {config.node_id!r}"
        )
    for name in ("lease", "command_timeout"):
        value = getattr(config, name)
        if finite(value) is None or value <= 0:
            raise ConfigError(f"{name} must be a number of seconds > 0, got {value!r}")
