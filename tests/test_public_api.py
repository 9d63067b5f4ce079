"""The public surface: everything public is in ``__all__`` and everything in it exists."""

from __future__ import annotations

import types

import ccstream
import ccstream.exceptions


def test_all_names_exist() -> None:
    for name in ccstream.__all__:
        assert hasattr(ccstream, name), name


def test_all_is_complete() -> None:
    public = {
        name
        for name, value in vars(ccstream).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public <= set(ccstream.__all__), public - set(ccstream.__all__)


def test_every_exception_has_the_single_root() -> None:
    for name in ccstream.exceptions.__all__:
        cls = getattr(ccstream.exceptions, name)
        assert issubclass(cls, ccstream.CCStreamError)
        assert getattr(ccstream, name) is cls


def test_events_and_results_are_frozen() -> None:
    import dataclasses

    for cls in (
        ccstream.Started,
        ccstream.Output,
        ccstream.Gap,
        ccstream.Exited,
        ccstream.Result,
        ccstream.StreamStats,
        ccstream.Options,
    ):
        assert dataclasses.is_dataclass(cls)
        assert getattr(cls, "__dataclass_params__").frozen  # noqa: B009
        assert hasattr(cls, "__slots__")
