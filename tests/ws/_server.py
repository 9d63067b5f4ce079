"""Run the adapter under a real ASGI server for the tests: ``python _server.py KIND PORT CONFIG``.

KIND is ``uvicorn`` (asyncio) or ``hypercorn-trio``; CONFIG is JSON keyword arguments for
``ServerConfig``. A separate process, so the tests can measure the server's own memory.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from functools import partial

from ccstream_ws import App, ServerConfig


def main() -> None:
    kind, port, raw = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
    if raw.get("allowed_executables") is not None:
        raw["allowed_executables"] = frozenset(raw["allowed_executables"])
    for name in ("allowed_origins", "allowed_hosts", "env_inherit", "env_allow", "env_deny"):
        if name in raw:
            raw[name] = tuple(raw[name])
    config = ServerConfig(**raw)
    app = App(config)
    logging.basicConfig(level=logging.WARNING)
    if kind == "uvicorn":
        import uvicorn

        uvicorn.run(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            ws_max_size=config.max_message_size + 65536,
            ws_ping_interval=5.0,
            ws_ping_timeout=20.0,
            timeout_graceful_shutdown=2,
        )
    elif kind == "hypercorn-trio":
        import hypercorn.config
        import hypercorn.trio
        import trio

        hconfig = hypercorn.config.Config()
        hconfig.bind = [f"127.0.0.1:{port}"]
        hconfig.websocket_max_message_size = config.max_message_size + 65536
        hconfig.websocket_ping_interval = 5.0
        hconfig.loglevel = "WARNING"
        hconfig.graceful_timeout = 2
        # hypercorn on trio has no signal handling of its own: the tests stop it with SIGINT,
        # which reaches trio as a KeyboardInterrupt; that is the end asked for, not an error.
        with contextlib.suppress(KeyboardInterrupt):
            trio.run(partial(hypercorn.trio.serve, app, hconfig))  # type: ignore[arg-type]
    else:
        raise SystemExit(f"unknown server kind {kind}")


if __name__ == "__main__":
    main()
