"""The public surface: everything public is in ``__all__`` and everything in it exists."""

from __future__ import annotations

import importlib
import types
import warnings

import pytest

import ccstream
import ccstream.exceptions

# Every module whose names ccstream re-exports; each one's __all__ lists only public names.
PUBLIC_MODULES = (
    "_chunker",
    "_command",
    "_compress",
    "_concurrency",
    "_events",
    "_options",
    "_pty",
    "_run",
    "_selector",
    "spool.local._prune",
    "spool._reader",
    "_stream",
    "_version",
    "_watchdog",
    "exceptions",
)


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
        ccstream.Result,
        ccstream.StreamStats,
        ccstream.Capture,
        ccstream.Options,
    ):
        assert dataclasses.is_dataclass(cls)
        assert getattr(cls, "__dataclass_params__").frozen  # noqa: B009
        assert hasattr(cls, "__slots__")


def test_top_level_names_are_the_union_of_the_public_modules_all() -> None:
    union: set[str] = set()
    for name in PUBLIC_MODULES:
        module = importlib.import_module(f"ccstream.{name}")
        union |= set(module.__all__)
        for exported in module.__all__:
            assert getattr(ccstream, exported) is getattr(module, exported), (name, exported)
    assert set(ccstream.__all__) == union


def test_every_public_class_and_function_comes_from_a_public_module() -> None:
    for name in ccstream.__all__:
        where = getattr(getattr(ccstream, name), "__module__", None)
        if isinstance(getattr(ccstream, name), (type, types.FunctionType)):
            assert where is not None
            assert where.removeprefix("ccstream.") in PUBLIC_MODULES, (name, where)


@pytest.mark.parametrize(("old", "new"), [("Exited", "Result"), ("Completed", "Capture")])
def test_old_names_still_work_and_warn(old: str, new: str) -> None:
    with pytest.warns(DeprecationWarning, match=f"use ccstream.{new}"):
        value = getattr(ccstream, old)
    assert value is getattr(ccstream, new)
    assert old not in ccstream.__all__


def test_code_matching_the_old_last_event_keeps_working() -> None:
    result = ccstream.Result(
        argv=("true",),
        pid=1,
        returncode=0,
        reason=ccstream.Reason.EXITED,
        duration=0.0,
        stdout=ccstream.StreamStats(),
        stderr=ccstream.StreamStats(),
        peak_rss_tree=None,
        host_rss_start=0,
        peak_rss_host=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        exited = ccstream.Exited  # type: ignore[attr-defined, unused-ignore]
    match result:
        case exited(result=inner):
            assert inner is result
        case _:
            pytest.fail("the Result did not match the old Exited pattern")


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        ccstream.no_such_name  # type: ignore[attr-defined]  # noqa: B018


def test_misuse_raises_usage_error_not_the_bare_root() -> None:
    run = ccstream.stream(["true"])
    with pytest.raises(ccstream.UsageError, match="not ended"):
        run.result  # noqa: B018
    with pytest.raises(ccstream.UsageError, match="not started"):
        run.pid  # noqa: B018
    with pytest.raises(ccstream.UsageError, match="no spool"):
        run.spool  # noqa: B018
    assert issubclass(ccstream.UsageError, RuntimeError)


def test_a_zip_bomb_is_a_decompression_error_and_a_buffer_limit() -> None:
    bomb = ccstream.Compressor("gzip", level=9).compress(b"\0" * (1 << 20)).payload
    with pytest.raises(ccstream.DecompressionLimitExceeded) as caught:
        ccstream.decompress(bomb, "gzip", max_output=1024)
    assert isinstance(caught.value, ccstream.DecompressionError)
    assert isinstance(caught.value, ccstream.BufferLimitExceeded)


def test_the_adapter_reports_the_distributions_version() -> None:
    import importlib.metadata

    from ccstream_ws._version import VERSION

    assert ccstream.__version__ == VERSION == importlib.metadata.version("ccstream")
