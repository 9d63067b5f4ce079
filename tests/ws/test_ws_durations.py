"""``ccstream-ws serve`` takes the command lines' one duration syntax (``90``, ``1m30s``,
``500ms``) in every duration flag, from the command line, the environment and the config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccstream_ws import cli as ws_cli
from ccstream_ws.server._layers import LayerError, resolve


def _settings(argv: list[str], environ: dict[str, str]) -> tuple[float, float, float]:
    args = resolve(
        ws_cli._parser, "serve", argv, environ, prefix="CCSTREAM_WS_", cli_only=["print_config"]
    ).args
    return args.retention, args.ping_interval, args.drain_timeout


def test_duration_flags_take_units() -> None:
    argv = ["serve", "--retention", "1h30m", "--ping-interval", "500ms", "--drain-timeout", "2m"]
    assert _settings(argv, {}) == (5400.0, 0.5, 120.0)


def test_duration_variables_and_keys_take_units(tmp_path: Path) -> None:
    path = tmp_path / "serve.toml"
    path.write_text('retention = "1d"\nping-interval = 15\n')
    environ = {"CCSTREAM_WS_DRAIN_TIMEOUT": "1m30s"}
    assert _settings(["serve", "--config", str(path)], environ) == (86400.0, 15.0, 90.0)


def test_a_bad_duration_names_its_source() -> None:
    with pytest.raises(LayerError, match=r"CCSTREAM_WS_RETENTION.*not a duration: 'forever'"):
        _settings(["serve"], {"CCSTREAM_WS_RETENTION": "forever"})
