"""The command and environment policies: what a client may run and which variables it gets.

Sans-I/O: each check takes the request's values and returns what to run, or raises an
:class:`~ccstream_ws.RPCError` with the code from the table.
"""

from __future__ import annotations

import fnmatch
import functools
import logging
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence

from ..exceptions import RPCError
from ..protocol._codes import ErrorCode
from ._config import ServerConfig

__all__ = ["allowed_paths", "check_command", "child_env"]

log = logging.getLogger("ccstream_ws")


def _matches(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _server_path() -> str:
    return os.environ.get("PATH", os.defpath)


def _key(path: str) -> tuple[str, str]:
    # The real file and the name it is called by: a multi-call binary (busybox) is one file
    # whose behaviour follows argv[0]'s name, so allowing its "echo" must not allow its "rm".
    return os.path.realpath(path), os.path.basename(path)


@functools.lru_cache(maxsize=8)
def _resolved(names: frozenset[str], search: str) -> dict[tuple[str, str], str]:
    """The allowlist's entries as absolute paths, by :func:`_key`; a name is looked up on the
    server's ``search`` path. An entry that names no executable file is logged and skipped."""
    allowed: dict[tuple[str, str], str] = {}
    for name in sorted(names):
        found = os.path.abspath(name) if "/" in name else shutil.which(name, path=search)
        if found is None or not os.path.isfile(found) or not os.access(found, os.X_OK):
            log.warning("--allow-exec %r names no executable file on this server; ignored", name)
            continue
        found = os.path.abspath(found)
        allowed.setdefault(_key(found), found)
    return allowed


def allowed_paths(config: ServerConfig) -> dict[tuple[str, str], str]:
    """The allowlist resolved on the server's own ``PATH`` (cached; the app resolves it when it
    starts, so a bad entry is logged then). Empty when there is no allowlist."""
    if config.allowed_executables is None:
        return {}
    return _resolved(config.allowed_executables, _server_path())


def check_command(
    config: ServerConfig,
    command: str | None,
    argv: Sequence[str] | None,
    cwd: str | None = None,
) -> list[str] | None:
    """Refuse a shell string when shells are off, and an executable not on the allowlist.

    Returns the argv to spawn (``None`` for a shell string). With an allowlist, ``argv[0]`` is
    resolved on the server's ``PATH`` (never the client's ``env``; a path with a slash against
    ``cwd``) and must be the same file, called by the same name, as an allowlist entry; the argv
    returned starts with that entry's absolute path, so no later ``PATH`` lookup can swap it.
    """
    allowed = config.allowed_executables
    if command is not None:
        if not config.shell_allowed:
            raise RPCError(
                ErrorCode.COMMAND_NOT_ALLOWED,
                "shell strings are disabled on this server; send argv instead",
            )
        words = command.split()
        program = words[0] if words else ""
        # The first word of a shell string: a convenience, not a boundary (docs/security.md).
        if (
            allowed is not None
            and program not in allowed
            and os.path.basename(program) not in allowed
        ):
            raise RPCError(
                ErrorCode.COMMAND_NOT_ALLOWED,
                f"executable {program!r} is not allowed",
                {"allowed": sorted(allowed)},
            )
        return None
    assert argv is not None
    if allowed is None:
        return list(argv)
    program = argv[0]
    if "/" in program:
        found: str | None = os.path.join(cwd or os.getcwd(), program)
    else:
        found = shutil.which(program, path=_server_path())
    spawn = None if found is None else allowed_paths(config).get(_key(os.path.abspath(found)))
    if spawn is None:
        raise RPCError(
            ErrorCode.COMMAND_NOT_ALLOWED,
            f"executable {program!r} is not allowed",
            {"allowed": sorted(allowed)},
        )
    return [spawn, *argv[1:]]


def child_env(config: ServerConfig, requested: Mapping[str, str] | None) -> dict[str, str]:
    """The child's whole environment: the inherited server variables plus the allowed requested
    ones. Raises ``ENV_NOT_ALLOWED`` naming every refused variable."""
    env = {
        k: v
        for k, v in os.environ.items()
        # CCSTREAM_WS_* are the server's own settings (the token among them): not the child's.
        if _matches(k, config.env_inherit) and not k.startswith("CCSTREAM_WS_")
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
