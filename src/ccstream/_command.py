"""Turn a command and its options into what ``exec`` needs, and refuse what cannot run.

Everything that can be checked before the fork is checked here, so a bad command is a clear
exception from :mod:`ccstream.exceptions` instead of a child that dies at once.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Sequence
from dataclasses import dataclass

from ._options import Options
from ._pty import Pty
from .exceptions import CommandNotFound, CwdNotFound, InvalidOption, NotExecutable

# The public names (ccstream re-exports them); the rest is for the package.
__all__ = ["Command"]

Command = str | Sequence[str]
"""An argv list (``["ls", "-l"]``) run directly, or a string run by ``Options.shell -c``."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """A command ready to spawn: ``executable`` is the resolved path of ``argv[0]``."""

    argv: tuple[str, ...]
    executable: str
    env: dict[str, str]
    cwd: str | None


_COLOR_TERM = "xterm-256color"
"""The ``TERM`` that ``force_color`` sets when there is none (or a ``dumb`` one)."""


def build_env(options: Options) -> dict[str, str]:
    """The child's environment: the parent's (unless ``inherit_env`` is off), ``options.env`` over
    it, and ``PYTHONUNBUFFERED=1`` unless turned off or set explicitly; the colour variables of
    ``force_color`` and the PTY's ``TERM`` unless ``options.env`` sets them."""
    env = dict(os.environ) if options.inherit_env else {}
    if options.unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    if options.force_color:
        env["FORCE_COLOR"] = "1"
        env["CLICOLOR_FORCE"] = "1"
        if env.get("TERM", "dumb") == "dumb":
            env["TERM"] = _COLOR_TERM
    pty = options.pty
    if isinstance(pty, Pty) and pty.term is not None and "TERM" not in env:
        env["TERM"] = pty.term
    if options.env:
        env.update(options.env)
    return env


def _argv(command: Command, options: Options) -> tuple[str, ...]:
    if isinstance(command, str):
        if not command.strip():
            raise InvalidOption("command is an empty string")
        return (options.shell, "-c", command)
    if isinstance(command, (bytes, bytearray)) or not isinstance(command, Sequence):
        raise InvalidOption(f"command must be a string or a sequence of strings, got {command!r}")
    argv = tuple(command)
    if not argv:
        raise InvalidOption("command is an empty argv list")
    for arg in argv:
        if not isinstance(arg, str):
            raise InvalidOption(f"argv items must be strings, got {arg!r}")
        if "\0" in arg:
            raise InvalidOption(f"argv item {arg!r} contains a NUL byte")
    if not argv[0]:
        raise InvalidOption("argv[0] is empty")
    return argv


def _resolve(program: str, env: dict[str, str], cwd: str | None) -> str:
    """The path ``exec`` will run, following the child's PATH (as ``execvpe`` would)."""
    if os.sep in program:
        path = program if cwd is None or os.path.isabs(program) else os.path.join(cwd, program)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise CommandNotFound(f"command not found: {program}") from None
        except OSError as exc:
            raise NotExecutable(f"cannot run {program}: {exc.strerror}") from exc
        if stat.S_ISDIR(st.st_mode) or not os.access(path, os.X_OK):
            raise NotExecutable(f"not an executable file: {program}")
        return path
    found = shutil.which(program, path=env.get("PATH", os.defpath))
    if found is None:
        # shutil.which skips files without the x bit; tell "missing" from "not executable".
        for directory in env.get("PATH", os.defpath).split(os.pathsep):
            candidate = os.path.join(directory or ".", program)
            if os.path.isfile(candidate):
                raise NotExecutable(f"not an executable file: {candidate}")
        raise CommandNotFound(f"command not found: {program}")
    return found


def prepare(command: Command, options: Options) -> Prepared:
    """Validate ``command`` with ``options`` and resolve what to exec; raises before any spawn."""
    argv = _argv(command, options)
    cwd = None if options.cwd is None else os.fspath(options.cwd)
    if cwd is not None and not os.path.isdir(cwd):
        raise CwdNotFound(f"working directory does not exist or is not a directory: {cwd}")
    env = build_env(options)
    executable = _resolve(argv[0], env, cwd)
    return Prepared(argv=argv, executable=executable, env=env, cwd=cwd)
