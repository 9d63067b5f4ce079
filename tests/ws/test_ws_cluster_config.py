"""``serve --redis``/``--node-id``/``--lease``/``--command-timeout`` from every layer (flag,
environment, TOML), checked once when made; a node that cannot reach its Redis does not start,
and says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccstream_ws import ConfigError, ServerConfig

from .._redis import RedisServer, redis_server
from ._cli_server import serve
from .conftest import free_port


def test_the_cluster_settings_come_from_each_layer_with_the_redis_password_redacted(
    tmp_path: Path,
) -> None:
    toml = tmp_path / "serve.toml"
    toml.write_text('node-id = "from-file"\nlease = 4.5\n')
    done = serve(
        "--config",
        str(toml),
        "--command-timeout",
        "7",
        "--print-config",
        env={"CCSTREAM_WS_REDIS": "redis://:hunter2-secret@127.0.0.1:6379/3"},
    )
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines()[2:]}
    assert rows["redis"][2:] == [
        '"redis://:(redacted)@127.0.0.1:6379/3"',
        "env",
        "CCSTREAM_WS_REDIS",
    ]
    assert rows["node_id"][2:] == ['"from-file"', "file", str(toml), "(node-id)"]
    assert rows["lease"][2:] == ["4.5", "file", str(toml), "(lease)"]
    assert rows["command_timeout"][2:] == ["7.0", "flag", "--command-timeout"]
    assert "hunter2" not in done.stdout


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"redis": "http://127.0.0.1:6379"}, "redis must be a redis://HOST:PORT/DB"),
        ({"redis": "redis://x", "node_id": "has space"}, "node_id must be 1 to 64 characters"),
        ({"redis": "redis://x", "node_id": "{tag}"}, "without spaces or braces"),
        ({"lease": 0}, "lease must be a number of seconds > 0"),
        ({"command_timeout": float("nan")}, "command_timeout must be a number of seconds > 0"),
    ],
)
def test_bad_cluster_settings_are_refused_when_made(
    settings: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        ServerConfig(**settings)  # type: ignore[arg-type]


def test_without_redis_nothing_of_the_cluster_runs() -> None:
    config = ServerConfig()
    assert (config.redis, config.clustered) == (None, False)


def test_a_node_whose_redis_is_down_does_not_start_and_says_why(tmp_path: Path) -> None:
    dead = free_port()  # nothing listens there
    done = serve("--port", str(free_port()), "--redis", f"redis://127.0.0.1:{dead}/0", env={})
    assert done.returncode == 3, done.stderr
    assert f"cannot use Redis at redis://127.0.0.1:{dead}/0" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_redis_that_evicts_keys_is_refused(tmp_path: Path) -> None:
    with redis_server(tmp_path, "--maxmemory-policy", "allkeys-lru") as redis:
        _refused(redis)


def _refused(redis: RedisServer) -> None:
    done = serve("--port", str(free_port()), "--redis", redis.url, env={})
    assert done.returncode == 3, done.stderr
    assert "maxmemory-policy allkeys-lru" in done.stderr
    assert "noeviction" in done.stderr
