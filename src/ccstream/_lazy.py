"""Public names of a package imported on first use (PEP 562 module ``__getattr__``).

``import ccstream`` then costs only what is used: the ``ccstream`` command line starts a run
without loading the spool, the compressor or the selector, and a reader of spools without the
process layer. Each name resolves once; afterwards it is a plain module attribute.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["attach"]


def attach(
    package: str, namespace: dict[str, Any], names: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package`` whose module dict is ``namespace``;
    ``names`` maps each public name to the submodule (relative, ``"._events"``) defining it.
    Submodules of the package (``ccstream.spool``) are imported on attribute access too."""

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is not None:
            value = getattr(importlib.import_module(module, package), name)
            namespace[name] = value
            return value
        try:
            return importlib.import_module(f"{package}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{package}.{name}":
                raise
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*namespace, *names})

    return __getattr__, __dir__
