"""The command and environment policies: what a client may run and which variables it gets.

Sans-I/O: each check takes the request's values and returns what to run, or raises an
:class:`~ccstream_ws.RPCError` with the code from the table.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Mapping, Sequence

from ._codes import ErrorCode
from ._config import ServerConfig
from .exceptions import RPCError

__all__ = ["check_command", "child_env"]


def _matches(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def check_command(config: ServerConfig, command: str | None, argv: Sequence[str] | None) -> None:
    """Refuse a shell string when shells are off, and an executable not on the allowlist."""
    if command is not None:
        if not config.shell_allowed:
            raise RPCError(
                ErrorCode.COMMAND_NOT_ALLOWED,
                "shell strings are disabled on this server; send argv instead",
            )
        words = command.split()
        program = words[0] if words else ""
    else:
        assert argv is not None
        program = argv[0]
    allowed = config.allowed_executables
    if allowed is not None and program not in allowed and os.path.basename(program) not in allowed:
        raise RPCError(
            ErrorCode.COMMAND_NOT_ALLOWED,
            f"executable {program!r} is not allowed",
            {"allowed": sorted(allowed)},
        )


def child_env(config: ServerConfig, requested: Mapping[str, str] | None) -> dict[str, str]:
    """The child's whole environment: the inherited server variables plus the allowed requested
    ones. Raises ``ENV_NOT_ALLOWED`` naming every refused variable."""
    env = {
        k: v
        for k, v in os.environ.items()
        if _matches(k, config.env_inherit) and k != "CCSTREAM_WS_TOKEN"
    }
    if requested:
        refused = sorted(
            k
            for k in requested
            if not _matches(k, config.env_allow) or _matches(k, config.env_deny)
        )
        if refused:
            raise RPCError(
                ErrorCode.ENV_NOT_ALLOWED,
                f"environment variables not allowed: {', '.join(refused)}",
                {"refused": refused},
            )
        env.update(requested)
    return env
