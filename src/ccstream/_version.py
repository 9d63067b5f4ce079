"""The distribution's version: the one place it is written (``pyproject.toml`` reads it from here,
and ``ccstream_ws`` reports it)."""

__version__ = "0.1.0"
__all__ = ["__version__"]
