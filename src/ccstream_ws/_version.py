"""The adapter's version, reported in the ``connected`` greeting and ``/healthz``."""

VERSION = "0.1.0"
