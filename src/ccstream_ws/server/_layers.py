"""A command's settings from four layers: flag > environment > TOML file > default.

Generic over an :mod:`argparse` sub-command: every option of it is also read from an
environment variable and a file key derived from its long flag, so a flag added to the parser
is covered without naming it here. For ``--spool-quota`` of ``ccstream-ws serve``:

- the environment variable ``CCSTREAM_WS_SPOOL_QUOTA`` (prefix, flag upper-cased, ``-`` as
  ``_``); an empty variable counts as unset;
- the key ``spool-quota`` (or ``spool_quota``) at the top of the TOML file named by ``--config``
  (or its own variable, ``CCSTREAM_WS_CONFIG``).

Values go through the parser's own conversion and checks, as if given on the command line. A
switch (``--no-shell``) takes ``true``/``false`` in the file and ``1``/``0``, ``true``/``false``,
``yes``/``no`` or ``on``/``off`` in the environment; false means "not given", except for a pair
``--x``/``--no-x`` (``BooleanOptionalAction``), where it is ``--no-x``. A repeatable flag
(``--allow-origin``) takes an array in the file and a comma-separated list in either. The
highest layer that sets a setting gives its whole value (lists are not merged across layers).

A bad value is a :class:`LayerError` naming its variable or file and key; an unknown file key
is one too, while an unknown ``CCSTREAM_WS_*`` variable is only warned about (the environment
is shared with other programs).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, NoReturn

from ..exceptions import ConfigError

__all__ = [
    "LayerError",
    "Option",
    "Resolved",
    "blame",
    "options",
    "redact_url",
    "render",
    "resolve",
]

DEFAULT = "default"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_SECRET = re.compile(r"token|secret|password|passwd|credential|api_?key", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(://[^/@:\s]*:)[^/@\s]*@")
REDACTED = "(redacted)"


class LayerError(ConfigError):
    """A value from the environment or the config file that the parser refuses, or a file that
    cannot be read; the message names the variable or the file and key."""


Kind = Literal["switch", "both", "repeat", "value", "list"]


@dataclass(frozen=True, slots=True)
class Option:
    """One option of the sub-command: ``flag`` (``--spool-quota``), the namespace ``dest``,
    the environment variable ``env``, the file ``key`` and how a value becomes arguments."""

    flag: str
    dest: str
    env: str
    key: str
    kind: Kind


@dataclass(frozen=True, slots=True)
class Resolved:
    """The merged namespace, where each ``dest`` came from (``"default"``, ``"flag --x"``,
    ``"env NAME"``, ``"file PATH (key)"``), the options in parser order and any warnings."""

    args: argparse.Namespace
    sources: dict[str, str]
    options: tuple[Option, ...]
    warnings: tuple[str, ...] = ()


@dataclass(slots=True)
class _Layer:
    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)


def _subparser(parser: argparse.ArgumentParser, verb: str) -> argparse.ArgumentParser:
    # argparse has no public way to reach a sub-command's parser or its actions; these private
    # attributes have been stable since Python 3.2.
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found = action.choices.get(verb)
            if isinstance(found, argparse.ArgumentParser):
                return found
    raise KeyError(verb)


def _kind(action: argparse.Action) -> Kind:
    if isinstance(action, argparse.BooleanOptionalAction):
        return "both"  # --x / --no-x: false is --no-x, not "not given"
    if action.nargs == 0:
        return "switch"
    if isinstance(action, (argparse._AppendAction, argparse._ExtendAction)):
        return "repeat"
    if action.nargs in (None, "?"):
        return "value"
    return "list"


def options(sub: argparse.ArgumentParser, prefix: str) -> list[Option]:
    """The options of ``sub`` that take a value from a layer (not ``--help`` and the like,
    whose default is ``SUPPRESS``), each with its variable (``prefix`` + name) and key."""
    found: list[Option] = []
    for action in sub._actions:
        longs = [s for s in action.option_strings if s.startswith("--")]
        if not longs or action.default == argparse.SUPPRESS:
            continue
        name = longs[0][2:]
        env = prefix + name.upper().replace("-", "_")
        found.append(Option(longs[0], action.dest, env, name, _kind(action)))
    return found


def _raise(message: str) -> NoReturn:
    raise argparse.ArgumentError(None, message)


def _quiet(factory: Callable[[], argparse.ArgumentParser], verb: str) -> argparse.ArgumentParser:
    """A parser from ``factory`` whose ``verb`` options have no defaults (a namespace then holds
    only what was given) and which raises instead of printing usage and exiting."""
    parser = factory()
    sub = _subparser(parser, verb)
    for action in sub._actions:
        if action.option_strings:
            action.default = argparse.SUPPRESS
    setattr(parser, "error", _raise)  # noqa: B010 - an instance override of a method
    setattr(sub, "error", _raise)  # noqa: B010
    return parser


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _switch(option: Option, on: bool) -> list[str]:
    if on:
        return [option.flag]
    return ["--no-" + option.key] if option.kind == "both" else []


def _env_tokens(option: Option, text: str) -> list[str]:
    if option.kind in ("switch", "both"):
        word = text.strip().lower()
        if word in _TRUE or word in _FALSE:
            return _switch(option, word in _TRUE)
        raise ValueError(f"expected 1/0, true/false, yes/no or on/off, got {text!r}")
    if option.kind == "repeat":
        return [f"{option.flag}={item}" for item in _split(text)]
    if option.kind == "list":
        return [option.flag, *_split(text)]
    return [f"{option.flag}={text}"]


def _scalar(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"expected a string or a number, got {value!r}")
    return str(value)


def _file_tokens(option: Option, value: object) -> list[str]:
    if option.kind in ("switch", "both"):
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {value!r}")
        return _switch(option, value)
    items = value if isinstance(value, list) else None
    if option.kind == "repeat":
        texts = [_scalar(v) for v in items] if items is not None else _split(_scalar(value))
        return [f"{option.flag}={text}" for text in texts]
    if option.kind == "list":
        texts = [_scalar(v) for v in items] if items is not None else _split(_scalar(value))
        return [option.flag, *texts]
    # A list for a single value is taken as comma-separated (``env-inherit = ["PATH", "HOME"]``).
    text = ",".join(_scalar(v) for v in items) if items is not None else _scalar(value)
    return [f"{option.flag}={text}"]


def _parse(parser: argparse.ArgumentParser, verb: str, tokens: list[str]) -> dict[str, Any]:
    namespace = parser.parse_args([verb, *tokens])
    given = vars(namespace)
    given.pop("verb", None)
    return given


def _layer(
    parser: argparse.ArgumentParser,
    verb: str,
    entries: list[tuple[Option, list[str], str]],
    where: str,
) -> _Layer:
    """Parse each entry alone (so an error names its source), then all together (so two
    exclusive flags from one layer are refused)."""
    layer = _Layer()
    for _, tokens, source in entries:
        try:
            given = _parse(parser, verb, tokens)
        except argparse.ArgumentError as exc:
            raise LayerError(f"{source}: {exc}") from None
        for dest, value in given.items():
            layer.values[dest] = value
            layer.sources[dest] = source
    try:
        _parse(parser, verb, [token for _, tokens, _ in entries for token in tokens])
    except argparse.ArgumentError as exc:
        raise LayerError(f"{where}: {exc}") from None
    return layer


def _toml() -> ModuleType:
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    try:
        import tomli  # the backport, a conditional dependency of the [ws] extra
    except ModuleNotFoundError:
        raise LayerError(
            "reading a config file on this Python needs tomli: pip install 'ccstream[ws]'"
        ) from None
    module: ModuleType = tomli
    return module


def _read_file(path: str) -> dict[str, Any]:
    tomllib = _toml()
    try:
        text = Path(path).read_bytes().decode("utf-8")
        data: dict[str, Any] = tomllib.loads(text)
        return data
    except OSError as exc:
        raise LayerError(f"config file {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise LayerError(f"config file {path}: not valid TOML: {exc}") from None


def _file_layer(
    parser: argparse.ArgumentParser, verb: str, opts: Sequence[Option], path: str, skip: set[str]
) -> _Layer:
    data = _read_file(path)
    by_key: dict[str, Option] = {}
    for option in opts:
        by_key[option.key] = option
        by_key[option.key.replace("-", "_")] = option
    entries: list[tuple[Option, list[str], str]] = []
    seen: dict[str, str] = {}
    for key, value in data.items():
        found = by_key.get(key)
        if found is None:
            raise LayerError(f"config file {path}: unknown key {key!r} (no flag --{key})")
        if found.dest in skip:
            raise LayerError(f"config file {path}: {key!r} cannot be set in a config file")
        option = found
        if option.flag in seen:
            raise LayerError(f"config file {path}: {key!r} and {seen[option.flag]!r} are the same")
        seen[option.flag] = key
        source = f"file {path} ({key})"
        try:
            tokens = _file_tokens(option, value)
        except ValueError as exc:
            raise LayerError(f"{source}: {exc}") from None
        entries.append((option, tokens, source))
    return _layer(parser, verb, entries, f"config file {path}")


def resolve(
    factory: Callable[[], argparse.ArgumentParser],
    verb: str,
    argv: Sequence[str],
    environ: Mapping[str, str],
    *,
    prefix: str,
    config_dest: str = "config",
    cli_only: Sequence[str] = (),
) -> Resolved:
    """Parse ``argv`` (which starts with ``verb``) with the parser ``factory`` makes, and fill
    each option of ``verb`` not given there from ``environ``, then from the TOML file named by
    the option ``config_dest`` (flag or environment), then its default.

    ``cli_only``: destinations only the command line sets (``print_config``). Raises
    :class:`LayerError`; the command line's own errors are argparse's as usual.
    """
    parser = factory()
    args = parser.parse_args(argv)
    opts = options(_subparser(parser, verb), prefix)
    quiet = _quiet(factory, verb)
    explicit = set(_parse(quiet, verb, list(argv[argv.index(verb) + 1 :])))
    skip = set(cli_only)
    known = {option.env: option for option in opts if option.dest not in skip}

    warnings: list[str] = []
    env_entries: list[tuple[Option, list[str], str]] = []
    for name in sorted(environ):
        if not name.startswith(prefix) or not environ[name]:
            continue
        option = known.get(name)
        if option is None:
            warnings.append(f"ignoring {name}: {verb} has no flag for it")
            continue
        source = f"env {name}"
        try:
            tokens = _env_tokens(option, environ[name])
        except ValueError as exc:
            raise LayerError(f"{source}: {exc}") from None
        env_entries.append((option, tokens, source))
    env = _layer(quiet, verb, env_entries, "the environment")

    sources = {option.dest: DEFAULT for option in opts}
    for dest in explicit:
        flags = [o.flag for o in opts if o.dest == dest]
        sources[dest] = "flag " + "/".join(flags)
    for dest, value in env.values.items():
        if dest not in explicit:
            setattr(args, dest, value)
            sources[dest] = env.sources[dest]

    path = getattr(args, config_dest, None)
    if path:
        skip.add(config_dest)
        file = _file_layer(quiet, verb, opts, path, skip)
        for dest, value in file.values.items():
            if dest not in explicit and dest not in env.values:
                setattr(args, dest, value)
                sources[dest] = file.sources[dest]
    shown = tuple(option for option in opts if option.dest not in cli_only)
    return Resolved(args, sources, shown, tuple(warnings))


def blame(resolved: Resolved, message: str) -> str:
    """``message`` (a check of the settings that failed) with the source of each setting it
    names that did not come from its default: ``"... (spool_quota: env CCSTREAM_WS_...)"``."""
    named = [
        f"{dest}: {source}"
        for dest, source in resolved.sources.items()
        if source != DEFAULT and re.search(rf"\b{re.escape(dest)}\b", message)
    ]
    return f"{message} ({'; '.join(named)})" if named else message


def _shown(dest: str, value: object) -> str:
    if value is not None and _SECRET.search(dest):
        return REDACTED
    return redact_url(json.dumps(value, default=_listed))


def redact_url(text: str) -> str:
    """``text`` with the password of any URL in it (``redis://user:PASSWORD@host``) redacted."""
    return _URL_PASSWORD.sub(r"\1" + REDACTED + "@", text)


def _listed(value: object) -> object:
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if isinstance(value, tuple):
        return list(value)
    return str(value)


def render(resolved: Resolved, *, heading: str) -> str:
    """The effective settings under ``heading``, one line each in parser order: the setting,
    the flag(s) that set it, its value as JSON (secrets — names like ``token`` or ``password``,
    and passwords in URLs — redacted) and its source."""
    rows = [("setting", "flags", "value", "source")]
    done: set[str] = set()
    for option in resolved.options:
        if option.dest in done:
            continue
        done.add(option.dest)
        flags = "/".join(o.flag for o in resolved.options if o.dest == option.dest)
        value = _shown(option.dest, getattr(resolved.args, option.dest, None))
        rows.append((option.dest, flags, value, resolved.sources[option.dest]))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [heading]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)]
        lines.append("  ".join([*cells, row[3]]).rstrip())
    return "\n".join(lines) + "\n"
