"""``App.lifespan()``: the app's lifespan as a context manager, for hosts that do not run a
mounted app's ASGI lifespan (Starlette, FastAPI)."""

from __future__ import annotations

from pathlib import Path

import pytest

import ccstream_ws

pytestmark = pytest.mark.anyio


async def test_lifespan_hosts_runs_only_while_entered(tmp_path: Path) -> None:
    app = ccstream_ws.App(ccstream_ws.ServerConfig(spool_directory=str(tmp_path / "spool")))
    assert app.registry.host is None
    async with app.lifespan(object()):
        assert app.registry.host is not None
        assert (tmp_path / "spool").is_dir()  # checked, and made, on entry
    assert app.registry.host is None


async def test_lifespan_cannot_be_entered_twice_at_once(tmp_path: Path) -> None:
    app = ccstream_ws.App(ccstream_ws.ServerConfig(spool_directory=str(tmp_path)))
    async with app.lifespan():
        with pytest.raises(RuntimeError, match="already running"):
            async with app.lifespan():
                pass
        assert app.registry.host is not None  # the refused entry left the first alone
    async with app.lifespan():  # and once left, it can be entered again
        pass


async def test_lifespan_refuses_an_unusable_spool_directory(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("x")
    app = ccstream_ws.App(ccstream_ws.ServerConfig(spool_directory=str(not_a_directory)))
    with pytest.raises(ccstream_ws.ConfigError, match=r"spool directory .* is not usable"):
        async with app.lifespan():
            pytest.fail("entered with an unusable spool directory")
    assert app.registry.host is None


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """The lifespan is the app's, which runs on both backends."""
    return str(request.param)
