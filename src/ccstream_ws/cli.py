"""The ``ccstream-ws`` command line.

``ccstream-ws serve`` runs the adapter under uvicorn (127.0.0.1:8765 by default);
``ccstream-ws exec URL -- CMD...`` runs a command on a server, streams its output to this
terminal's stdout and stderr, and exits with the remote status (128+N for signal N), or with a
status of its own when the run did not simply exit or output was lost (see ``exec --help``);
``ccstream-ws logs URL ID [-f] [--tail N]`` prints an execution's output, as ``kubectl logs``.
This module parses the arguments; the client side lives in :mod:`ccstream_ws.client` (``_exec``,
``_logs``).

Every ``serve`` flag can also come from the environment (``CCSTREAM_WS_<FLAG>``, e.g.
``CCSTREAM_WS_SPOOL_QUOTA=20G``) and from a TOML file (``--config PATH``, keys named as the
flags: ``spool-quota = "20G"``); a flag wins over the environment, which wins over the file.
``serve --print-config`` shows the result and where each value came from.
"""

from __future__ import annotations

import argparse
import logging
import logging.config
import os
import sys
from collections.abc import Sequence

from ccstream._duration import DURATION_HELP, duration
from ccstream.cli import env_pair, parse_size

from . import _extra
from .exceptions import CCStreamWSError, ConfigError
from .server import _layers
from .server._app import App
from .server._config import ServerConfig
from .server._logging import logging_config
from .server._readiness import spool_directory, spool_problem

__all__ = ["main"]

ENV_PREFIX = "CCSTREAM_WS_"
"""The prefix of each ``serve`` flag's environment variable: ``--spool-quota`` is
``CCSTREAM_WS_SPOOL_QUOTA``."""


def _csv(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _quota(text: str) -> int | None:
    """A size (``512M``, ``2G``), or ``none`` for no quota."""
    if text.strip().lower() in ("none", "off", "unlimited"):
        return None
    return parse_size(text)


def _root_path(text: str) -> str:
    """A URL path prefix (``/ccstream``), without its trailing slash; empty for none."""
    path = text.strip().rstrip("/")
    if path and not path.startswith("/"):
        raise argparse.ArgumentTypeError(f"must start with '/', e.g. /ccstream, got {text!r}")
    return path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ccstream-ws",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="verb", required=True)

    serve = sub.add_parser(
        "serve",
        help="serve the WebSocket adapter under uvicorn",
        description="Serve the WebSocket adapter. Each flag can also be set by the environment "
        f"variable {ENV_PREFIX}<FLAG> (--spool-quota: {ENV_PREFIX}SPOOL_QUOTA) or by a key of "
        'the --config file (spool-quota = "20G"); precedence: flag, environment, file, default.',
    )
    serve.add_argument(
        "--config",
        metavar="PATH",
        help='a TOML file of settings, keys named as the flags (spool-quota = "20G")',
    )
    serve.add_argument(
        "--print-config",
        action="store_true",
        help="print the effective settings and where each came from (secrets redacted), exit",
    )
    serve.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1 (loopback)")
    serve.add_argument("--port", type=int, default=8765, help="default 8765")
    serve.add_argument(
        "--token",
        help="required token (or $CCSTREAM_WS_TOKEN, which keeps it out of `ps`); needed "
        "beyond loopback",
    )
    serve.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="a browser origin allowed to connect (repeatable; '*' for any)",
    )
    serve.add_argument(
        "--allow-host",
        type=_csv,
        action="append",
        default=[],
        metavar="NAMES",
        help="Host names the viewer and downloads answer for besides loopback, e.g. a proxy's "
        "(repeatable; '*' for any)",
    )
    serve.add_argument(
        "--no-same-origin",
        dest="allow_same_origin",
        action="store_false",
        help="refuse even the server's own pages (the viewer) unless --allow-origin lists them",
    )
    shell = serve.add_mutually_exclusive_group()
    shell.add_argument(
        "--allow-shell",
        dest="allow_shell",
        action="store_true",
        default=None,
        help="accept shell strings (default: only on loopback)",
    )
    shell.add_argument(
        "--no-shell",
        dest="allow_shell",
        action="store_false",
        help="refuse shell strings; clients must send argv",
    )
    serve.add_argument(
        "--allow-exec",
        type=_csv,
        action="append",
        default=[],
        metavar="NAMES",
        help="comma-separated executables clients may run (default: any)",
    )
    serve.add_argument(
        "--env-inherit",
        type=_csv,
        default=("*",),
        metavar="PATTERNS",
        help="server variables children inherit (fnmatch, default '*')",
    )
    serve.add_argument(
        "--env-allow",
        type=_csv,
        default=("*",),
        metavar="PATTERNS",
        help="variables clients may set (fnmatch, default '*')",
    )
    serve.add_argument("--cwd", help="default working directory of commands")
    serve.add_argument("--no-client-cwd", action="store_true", help="clients may not pick cwd")
    serve.add_argument(
        "--no-list",
        action="store_true",
        help="the list method shows a connection only the executions it started",
    )
    serve.add_argument("--max-message-size", type=parse_size, default=1 << 20)
    serve.add_argument("--max-connections", type=int, default=256)
    serve.add_argument("--max-executions", type=int, default=64)
    serve.add_argument("--max-per-connection", type=int, default=16)
    serve.add_argument(
        "--retention",
        type=duration,
        default=300.0,
        metavar="DURATION",
        help="how long an ended or detached execution is kept (default 5m)",
    )
    serve.add_argument(
        "--spool-dir",
        help="directory for the executions' spools, one subdirectory each, removed when the "
        "execution is dropped (default: a temporary directory per execution)",
    )
    serve.add_argument(
        "--spool-quota",
        type=_quota,
        default=ServerConfig().spool_quota,
        metavar="SIZE",
        help="disk quota per execution, e.g. 512M, 10G or none (default 1G); over it the "
        "middle of the output is dropped and readers are told",
    )
    serve.add_argument(
        "--spool-budget",
        type=parse_size,
        default=None,
        metavar="SIZE",
        help="disk for all spools together, running, ended and detached (default: room for "
        "--max-executions runs at their quota); the oldest ended executions are evicted to "
        "make room, and a run that does not fit is refused",
    )
    serve.add_argument(
        "--ping-interval",
        type=duration,
        default=20.0,
        metavar="DURATION",
        help="WebSocket keepalive ping interval (default 20s)",
    )
    serve.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    serve.add_argument(
        "--root-path",
        type=_root_path,
        default="",
        metavar="PATH",
        help="the sub-path a reverse proxy serves this server under, e.g. /ccstream (the proxy "
        "strips it); default none",
    )
    serve.add_argument(
        "--forwarded-allow-ips",
        metavar="ADDRESSES",
        help="comma-separated proxy addresses (or '*') whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed (default 127.0.0.1,::1)",
    )
    # The service: metrics, logs, drain (docs/deployment.md).
    serve.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="serve GET /metrics on 127.0.0.1:PORT only (a listener of its own) instead of "
        "beside the other routes; the token rules still apply",
    )
    serve.add_argument(
        "--log-format",
        choices=["text", "json"],
        default="text",
        help="one format for ccstream's and uvicorn's lines: text or one JSON object per line",
    )
    serve.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="log each HTTP request and WebSocket handshake (default on)",
    )
    serve.add_argument(
        "--drain-timeout",
        type=duration,
        default=ServerConfig().drain_timeout,
        metavar="DURATION",
        help="on SIGTERM, how long running executions may finish before they are cancelled "
        "(default 20s; a second signal cuts it short)",
    )

    # Several nodes on one Redis (docs/deployment.md).
    serve.add_argument(
        "--redis",
        metavar="URL",
        help="redis://HOST:PORT/DB: keep the executions and their output in this Redis, so "
        "every node sharing it serves every execution (default: none, one node)",
    )
    serve.add_argument(
        "--node-id",
        metavar="NAME",
        help="this node's name in Redis (default: host name, pid and a random suffix)",
    )
    serve.add_argument(
        "--lease",
        type=float,
        default=ServerConfig().lease,
        metavar="SECONDS",
        help="with --redis: a running execution whose node has not renewed its lease for this "
        "long is finalised by another node as node_lost (default 10)",
    )
    serve.add_argument(
        "--command-timeout",
        type=float,
        default=ServerConfig().command_timeout,
        metavar="SECONDS",
        help="with --redis: how long cancel, control and stdin wait for the node that runs the "
        "execution (default 5)",
    )

    run = sub.add_parser(
        "exec",
        help="run a command on a server and stream its output here",
        description="Run a command on a server; its stdout and stderr come to ours as they come. "
        "The execution id is printed on stderr first, as 'ccstream-ws: execution ID'. A dropped "
        "connection is made again (--reconnect) and the output resumes where it stopped: no "
        "byte twice, none missing. Durations: " + DURATION_HELP + ".",
        epilog=_EXEC_STATUS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("url", help=_URL_HELP)
    run.add_argument("argv", nargs="*", help="the command and its arguments (after --)")
    run.add_argument("-c", "--command", help="a shell string to run instead of argv")
    _client_flags(run)
    run.add_argument("--cwd", help="the command's working directory on the server")
    run.add_argument(
        "--env",
        type=env_pair,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a variable for the command (repeatable)",
    )
    run.add_argument(
        "--timeout", type=duration, metavar="DURATION", help="total time limit, e.g. 90 or 1m30s"
    )
    run.add_argument(
        "--idle-timeout",
        type=duration,
        metavar="DURATION",
        help="kill the command after this long without output",
    )
    run.add_argument(
        "--stdin",
        action="store_true",
        help="forward this terminal's stdin (a dropped connection then ends exec: no reconnect)",
    )
    run.add_argument(
        "--on-quota",
        choices=["pause", "drop", "auto"],
        help="when the server's spool quota would drop output not yet read here: pause the "
        "command until it is read, drop the middle (told on stderr, exit status 251), or auto "
        "(the server's default)",
    )
    run.add_argument(
        "-d",
        "--detach",
        action="store_true",
        help="start the command, print its execution id on stdout and leave it running "
        "(read it later with: ccstream-ws logs -f URL ID)",
    )
    run.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="do not print the 'ccstream-ws: execution ID' line",
    )

    logs = sub.add_parser(
        "logs",
        help="print the output of an execution, running or ended",
        description="Print an execution's output, as kubectl logs: its stdout to our stdout, its "
        "stderr to our stderr, from the start (or the last --tail lines). Without -f: what it "
        "wrote so far, exit status 0 (251 when output was lost, told on stderr). With -f: "
        "follow it to its end, reconnecting if the connection drops, and exit with the remote "
        "status (the table of 'ccstream-ws exec --help').",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    logs.add_argument("url", help=_URL_HELP)
    logs.add_argument("execution_id", metavar="ID", help="the execution id exec printed")
    logs.add_argument(
        "-f", "--follow", action="store_true", help="follow the output until the run ends"
    )
    logs.add_argument(
        "--tail",
        type=_lines,
        metavar="N",
        help="start N lines before the end of each stream (a line being written counts extra)",
    )
    _client_flags(logs)
    return parser


_URL_HELP = "the server, e.g. ws://127.0.0.1:8765 (without a path: /ws)"


def _lines(text: str) -> int:
    """A number of lines, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of lines: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _attempts(text: str) -> int:
    """A number of attempts, 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def _client_flags(parser: argparse.ArgumentParser) -> None:
    """The flags ``exec`` and ``logs`` share: the connection and its reconnection."""
    parser.add_argument(
        "--token",
        default=os.environ.get("CCSTREAM_WS_TOKEN"),
        help="the server's token (default $CCSTREAM_WS_TOKEN, which keeps it out of `ps`)",
    )
    parser.add_argument(
        "--compression",
        choices=["deflate", "none"],
        default="deflate",
        help="offer permessage-deflate (default) or not",
    )
    parser.add_argument(
        "--reconnect",
        type=duration,
        default=60.0,
        metavar="DURATION",
        help="after a dropped connection, try again for this long (default 60; 0: do not); "
        "the server keeps exec's run that long for it to come back",
    )
    parser.add_argument(
        "--reconnect-attempts",
        type=_attempts,
        default=30,
        metavar="N",
        help="at most this many attempts per drop (default 30), 0.1 s apart at first, "
        "doubling up to 5 s",
    )


_EXEC_STATUS = """\
exit status:
  N        the remote command exited with N and all of its output arrived
  128+N    the remote command was killed by signal N (not sent by ccstream)
  124      the total or idle timeout ran out, whatever the command exited with
  251      the command exited 0 but output was lost (each loss is told on stderr)
  252      the server stopped the run: its spool could not be written (disk full)
  253      the command's process tree went over the server's memory limit
  254      the run was cancelled
  255      the connection failed (and could not be made again), or the server could not
           say how the run ended
  141      this terminal's stdout was closed (| head); the run is cancelled, nothing is said
  130      interrupted (SIGINT); the run is cancelled
  127      the command was not found
  126      the command is not executable, or the server's policy refused it
  2        a usage error, or another refusal of the server
A command that exited non-zero keeps its status when output was also lost. Every status that is
ccstream-ws's own (141 aside) comes with a line on stderr saying what happened, and every loss
(bytes and lines per stream, and why) with one line of its own. With --detach: 0 once the run
started. A dropped connection is made again for --reconnect (60 s), in at most
--reconnect-attempts tries, and the output resumes where it stopped; then 255.
"""


def _server_config(args: argparse.Namespace) -> ServerConfig:
    """The app's settings from ``serve``'s parsed (and layered) flags."""
    allowed: set[str] = set()
    for names in args.allow_exec:
        allowed.update(names)
    return ServerConfig(
        host=args.host,
        token=args.token or None,
        allowed_origins=tuple(args.allow_origin),
        allowed_hosts=tuple(name.lower() for names in args.allow_host for name in names),
        allow_same_origin=args.allow_same_origin,
        allow_shell=args.allow_shell,
        allowed_executables=frozenset(allowed) if allowed else None,
        env_inherit=args.env_inherit,
        env_allow=args.env_allow,
        cwd=args.cwd,
        allow_cwd=not args.no_client_cwd,
        list_executions=not args.no_list,
        max_message_size=args.max_message_size,
        max_connections=args.max_connections,
        max_executions=args.max_executions,
        max_executions_per_connection=args.max_per_connection,
        retention=args.retention,
        spool_directory=args.spool_dir,
        spool_quota=args.spool_quota,
        spool_budget=args.spool_budget,
        metrics=args.metrics_port is None,
        drain_timeout=args.drain_timeout,
        redis=args.redis or None,
        node_id=args.node_id or None,
        lease=args.lease,
        command_timeout=args.command_timeout,
    )


def _serve(args: argparse.Namespace, layers: _layers.Resolved | None = None) -> int:
    try:
        config = _server_config(args)
    except ConfigError as exc:
        if layers is None:
            raise
        raise ConfigError(_layers.blame(layers, str(exc))) from None
    if args.print_config and layers is not None:
        heading = (
            "# ccstream-ws serve: flag > environment (CCSTREAM_WS_*) > --config file > default"
        )
        print(_layers.render(layers, heading=heading), end="")
        return 0
    log_config = logging_config(args.log_level, args.log_format, [config.token or ""])
    logging.config.dictConfig(log_config)
    log = logging.getLogger("ccstream_ws")
    problem = spool_problem(config.spool_directory, create=True)
    if problem is not None:
        where = spool_directory(config.spool_directory)
        raise ConfigError(f"the spool directory {where} is not usable: {problem}")
    log.info(
        "serving on ws://%s:%d/ws, viewer at http://%s:%d/ (shell strings %s, token %s)",
        args.host,
        args.port,
        args.host,
        args.port,
        "on" if config.shell_allowed else "off",
        "required" if config.token else "off",
    )
    from .server._serve import run

    if args.metrics_port is not None:
        log.info("metrics on http://127.0.0.1:%d/metrics", args.metrics_port)
    run(
        App(config),
        metrics_port=args.metrics_port,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        log_config=log_config,
        access_log=args.access_log,
        lifespan="on",
        # A little over the app's own limit, so a message just over it gets a JSON-RPC error
        # (MESSAGE_TOO_LARGE) and only a far larger one costs the connection (MESSAGE_TOO_BIG).
        ws_max_size=config.max_message_size + 65536,
        ws_ping_interval=args.ping_interval,
        ws_ping_timeout=args.ping_interval,
        ws_per_message_deflate=True,
        root_path=args.root_path,
        forwarded_allow_ips=args.forwarded_allow_ips,
        # Runs are killed at lifespan shutdown, which uvicorn reaches only once connections
        # ended; do not wait forever for a client that keeps one open.
        timeout_graceful_shutdown=5,
    )
    return 0


def _exec(args: argparse.Namespace) -> int:
    from .client._exec import ExecRequest, exec_command  # needs the [ws] extra

    command: str | list[str] = args.command if args.command is not None else args.argv
    if not command:
        print("ccstream-ws exec: give a command after --, or -c STRING", file=sys.stderr)
        return 2
    return exec_command(
        ExecRequest(
            url=args.url,
            command=command,
            token=args.token,
            cwd=args.cwd,
            env=dict(args.env),
            timeout=args.timeout,
            idle_timeout=args.idle_timeout,
            stdin=args.stdin,
            compression=None if args.compression == "none" else "deflate",
            on_quota=args.on_quota,
            detach=args.detach,
            quiet=args.quiet,
            reconnect=args.reconnect,
            reconnect_attempts=args.reconnect_attempts,
        )
    )


def _logs(args: argparse.Namespace) -> int:
    from .client._logs import LogsRequest, logs_command  # needs the [ws] extra

    return logs_command(
        LogsRequest(
            url=args.url,
            execution_id=args.execution_id,
            follow=args.follow,
            tail=args.tail,
            token=args.token,
            compression=None if args.compression == "none" else "deflate",
            reconnect=args.reconnect,
            reconnect_attempts=args.reconnect_attempts,
        )
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ccstream-ws`` command; returns the exit status."""
    words = list(sys.argv[1:] if argv is None else argv)
    absent = _extra.missing()
    if absent:
        print(
            f"ccstream-ws: needs the [ws] extra ({', '.join(absent)} not installed): {_extra.HINT}",
            file=sys.stderr,
        )
        return 2
    argv = list(words)
    command: list[str] | None = None
    if words[:1] == ["exec"] and "--" in words:
        # argparse matches the empty argv positional right after URL, so options after URL
        # would be refused: the command is everything after "--", taken apart first.
        split = words.index("--")
        words, command = words[:split], words[split + 1 :]
    args = _parser().parse_args(words)
    if command is not None:
        args.argv = [*args.argv, *command]
    try:
        if args.verb == "serve":
            layers = _layers.resolve(
                _parser, "serve", argv, os.environ, prefix=ENV_PREFIX, cli_only=["print_config"]
            )
            for warning in layers.warnings:
                print(f"ccstream-ws: {warning}", file=sys.stderr)
            return _serve(layers.args, layers)
        if args.verb == "logs":
            return _logs(args)
        return _exec(args)
    except ConfigError as exc:
        print(f"ccstream-ws: {exc}", file=sys.stderr)
        return 2
    except CCStreamWSError as exc:
        print(f"ccstream-ws: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.verb == "exec":
            print("ccstream-ws: interrupted; the remote run is cancelled", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
