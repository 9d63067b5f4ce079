"""The adapter's version, reported in the ``connected`` greeting and ``/healthz``: the
distribution's, written once in ``ccstream._version``."""

from ccstream._version import __version__

VERSION = __version__
