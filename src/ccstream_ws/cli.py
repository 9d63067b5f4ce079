"""The ``ccstream-ws`` command line.

``ccstream-ws serve`` runs the adapter under uvicorn (127.0.0.1:8765 by default);
``ccstream-ws exec URL -- CMD...`` runs a command on a server, streams its output to this
terminal's stdout and stderr, and exits with the remote status (128+N for signal N).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import logging.config
import os
import sys
from collections.abc import Sequence

from ccstream.cli import env_pair, parse_size

from ._app import App
from ._client import Client, RemoteOutput
from ._config import ServerConfig
from ._logging import logging_config
from ._readiness import spool_directory, spool_problem
from .exceptions import CCStreamWSError, ConfigError, ConnectionLost, RPCError

__all__ = ["main"]


def _csv(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _quota(text: str) -> int | None:
    """A size (``512M``, ``2G``), or ``none`` for no quota."""
    if text.strip().lower() in ("none", "off", "unlimited"):
        return None
    return parse_size(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ccstream-ws",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="verb", required=True)

    serve = sub.add_parser("serve", help="serve the WebSocket adapter under uvicorn")
    serve.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1 (loopback)")
    serve.add_argument("--port", type=int, default=8765, help="default 8765")
    serve.add_argument(
        "--token",
        default=os.environ.get("CCSTREAM_WS_TOKEN"),
        help="required token (default $CCSTREAM_WS_TOKEN); needed beyond loopback",
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
    serve.add_argument("--max-message-size", type=parse_size, default=1 << 20)
    serve.add_argument("--max-connections", type=int, default=256)
    serve.add_argument("--max-executions", type=int, default=64)
    serve.add_argument("--max-per-connection", type=int, default=16)
    serve.add_argument(
        "--retention",
        type=float,
        default=300.0,
        help="seconds an ended or detached execution is kept (default 300)",
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
        "--ping-interval",
        type=float,
        default=20.0,
        help="WebSocket keepalive ping, seconds (default 20)",
    )
    serve.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
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
        type=float,
        default=ServerConfig().drain_timeout,
        metavar="SECONDS",
        help="on SIGTERM, seconds running executions may finish before they are cancelled "
        "(default 20; a second signal cuts it short)",
    )

    run = sub.add_parser("exec", help="run a command on a server and stream its output here")
    run.add_argument("url", help="for example ws://127.0.0.1:8765/ws")
    run.add_argument("argv", nargs="*", help="the command and its arguments (after --)")
    run.add_argument("-c", "--command", help="a shell string to run instead of argv")
    run.add_argument("--token", default=os.environ.get("CCSTREAM_WS_TOKEN"))
    run.add_argument("--cwd")
    run.add_argument("--env", type=env_pair, action="append", default=[], metavar="NAME=VALUE")
    run.add_argument("--timeout", type=float, help="total timeout, seconds")
    run.add_argument("--idle-timeout", type=float, help="kill after this many seconds of silence")
    run.add_argument("--stdin", action="store_true", help="forward this terminal's stdin")
    run.add_argument(
        "--compression",
        choices=["deflate", "none"],
        default="deflate",
        help="offer permessage-deflate (default) or not",
    )
    return parser


def _serve(args: argparse.Namespace) -> int:
    allowed: set[str] = set()
    for names in args.allow_exec:
        allowed.update(names)
    config = ServerConfig(
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
        max_message_size=args.max_message_size,
        max_connections=args.max_connections,
        max_executions=args.max_executions,
        max_executions_per_connection=args.max_per_connection,
        retention=args.retention,
        spool_directory=args.spool_dir,
        spool_quota=args.spool_quota,
        metrics=args.metrics_port is None,
        drain_timeout=args.drain_timeout,
    )
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
    from ._serve import run

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
        # (-32009) and only a far larger one costs the connection (close 1009).
        ws_max_size=config.max_message_size + 65536,
        ws_ping_interval=args.ping_interval,
        ws_ping_timeout=args.ping_interval,
        ws_per_message_deflate=True,
        # Runs are killed at lifespan shutdown, which uvicorn reaches only once connections
        # ended; do not wait forever for a client that keeps one open.
        timeout_graceful_shutdown=5,
    )
    return 0


async def _exec(args: argparse.Namespace) -> int:
    command: str | list[str] = args.command if args.command is not None else args.argv
    if not command:
        print("ccstream-ws exec: give a command after --, or -c STRING", file=sys.stderr)
        return 2
    out = {"stdout": sys.stdout.buffer, "stderr": sys.stderr.buffer}
    async with Client(
        args.url, token=args.token, compression=None if args.compression == "none" else "deflate"
    ) as client:
        execution = await client.execute(
            command,
            timeout=args.timeout,
            idle_timeout=args.idle_timeout,
            cwd=args.cwd,
            env=dict(args.env) or None,
            stdin=args.stdin,
            output_options={"encoding": "binary"},
        )
        feeder = asyncio.create_task(_feed_stdin(execution)) if args.stdin else None
        try:
            async for event in execution:
                if isinstance(event, RemoteOutput):
                    sink = out[event.stream]
                    sink.write(event.data)
                    sink.flush()
        finally:
            if feeder is not None:
                feeder.cancel()
        assert execution.completion is not None
        return execution.completion.shell_status


async def _feed_stdin(execution: object) -> None:
    from ._client import RemoteExecution

    assert isinstance(execution, RemoteExecution)
    loop = asyncio.get_running_loop()
    while True:
        block = await loop.run_in_executor(None, os.read, sys.stdin.fileno(), 65536)
        await execution.write(block, eof=not block)
        if not block:
            return


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ccstream-ws`` command; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.verb == "serve":
            return _serve(args)
        return asyncio.run(_exec(args))
    except ConfigError as exc:
        print(f"ccstream-ws: {exc}", file=sys.stderr)
        return 2
    except RPCError as exc:
        print(f"ccstream-ws: the server refused: {exc.message} (code {exc.code})", file=sys.stderr)
        return 126 if exc.code in (-32001, -32005) else 2
    except ConnectionLost as exc:
        print(f"ccstream-ws: {exc}", file=sys.stderr)
        return 255
    except CCStreamWSError as exc:
        print(f"ccstream-ws: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
