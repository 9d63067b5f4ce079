"""Whether the ``[ws]`` extra is installed, and what to tell someone who lacks it.

``pip install ccstream`` installs the ``ccstream-ws`` command too, but not the libraries the
adapter serves and connects with; the command says how to get them instead of failing on an
import.
"""

from __future__ import annotations

import importlib.util

__all__ = ["HINT", "MODULES", "missing"]

MODULES = ("prometheus_client", "uvicorn", "websockets")
"""The import names of the ``[ws]`` extra's requirements (``pyproject.toml``), those needed on
every Python version."""

HINT = "pip install 'ccstream[ws]'"


def missing() -> list[str]:
    """The modules of :data:`MODULES` that cannot be imported here."""
    absent: list[str] = []
    for name in MODULES:
        try:
            found = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            found = None
        if found is None:
            absent.append(name)
    return absent
