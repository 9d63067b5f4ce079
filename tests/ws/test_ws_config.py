"""``ccstream-ws serve``'s settings from flags, ``CCSTREAM_WS_*`` variables and a TOML file.

The layering is checked as a pure function over the real parser (through to ``ServerConfig``),
then once end to end by ``serve --print-config`` in a subprocess; bad values from any layer are
one line on stderr naming the source, exit status 2, no traceback.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ccstream_ws import Client, ConfigError, ServerConfig, _extra
from ccstream_ws import cli as ws_cli
from ccstream_ws.server._layers import LayerError, Resolved, _subparser, _toml, render, resolve

from ._cli_server import serve, serve_cli, stop
from .conftest import free_port

TOKEN = "a-token-of-twenty-chars"


def layered(argv: list[str], environ: dict[str, str]) -> Resolved:
    return resolve(
        ws_cli._parser, "serve", argv, environ, prefix="CCSTREAM_WS_", cli_only=["print_config"]
    )


def settings(argv: list[str], environ: dict[str, str]) -> ServerConfig:
    return ws_cli._server_config(layered(argv, environ).args)


@pytest.fixture
def toml(tmp_path: Path) -> Path:
    path = tmp_path / "serve.toml"
    path.write_text(
        'spool-quota = "20G"\n'
        "max_connections = 10\n"
        'allow-origin = ["https://a.example", "https://b.example"]\n'
        "no-shell = true\n"
        'env-inherit = ["PATH", "HOME"]\n'
        'allow-exec = ["make", "pytest"]\n'
        "retention = 60\n"
    )
    return path


def test_flag_beats_env_beats_file_beats_default(toml: Path) -> None:
    environ = {
        "CCSTREAM_WS_CONFIG": str(toml),
        "CCSTREAM_WS_SPOOL_QUOTA": "5G",
        "CCSTREAM_WS_MAX_CONNECTIONS": "20",
        "CCSTREAM_WS_TOKEN": TOKEN,
    }
    done = layered(["serve", "--max-connections", "30"], environ)
    config = ws_cli._server_config(done.args)
    assert config.max_connections == 30  # flag over env and file
    assert config.spool_quota == 5 << 30  # env over file
    assert config.allowed_origins == ("https://a.example", "https://b.example")  # file
    assert config.allow_shell is False  # file (--no-shell)
    assert config.env_inherit == ("PATH", "HOME")
    assert config.allowed_executables == frozenset({"make", "pytest"})
    assert config.retention == 60.0
    assert config.token == TOKEN
    assert config.max_executions == ServerConfig().max_executions  # default
    assert done.sources["max_connections"] == "flag --max-connections"
    assert done.sources["spool_quota"] == "env CCSTREAM_WS_SPOOL_QUOTA"
    assert done.sources["allow_shell"] == f"file {toml} (no-shell)"
    assert done.sources["max_executions"] == "default"
    assert done.sources["config"] == "env CCSTREAM_WS_CONFIG"


def test_a_layer_replaces_a_lower_layers_list_and_switches_resolve_by_layer(toml: Path) -> None:
    environ = {"CCSTREAM_WS_ALLOW_ORIGIN": "https://c.example", "CCSTREAM_WS_ALLOW_SHELL": "yes"}
    config = settings(["serve", "--config", str(toml)], environ)
    assert config.allowed_origins == ("https://c.example",)
    assert config.allow_shell is True  # env --allow-shell over the file's --no-shell
    config = settings(["serve", "--config", str(toml), "--allow-shell"], {})
    assert config.allow_shell is True
    # A false switch means "not given": the lower layer's value stands.
    config = settings(["serve", "--config", str(toml)], {"CCSTREAM_WS_NO_SHELL": "0"})
    assert config.allow_shell is False


def test_every_flag_has_a_variable_and_a_key_derived_from_its_name() -> None:
    done = layered(["serve"], {})
    names = {option.flag: (option.env, option.key) for option in done.options}
    assert names["--spool-quota"] == ("CCSTREAM_WS_SPOOL_QUOTA", "spool-quota")
    assert names["--no-shell"] == ("CCSTREAM_WS_NO_SHELL", "no-shell")
    serve = _subparser(ws_cli._parser(), "serve")
    dests = {a.dest for a in serve._actions if a.option_strings} - {"help", "print_config"}
    assert {option.dest for option in done.options} == dests


def _other_parser() -> argparse.ArgumentParser:
    """Flags of kinds the real parser may grow: the mapping must not need to know them."""
    parser = argparse.ArgumentParser(prog="tool")
    sub = parser.add_subparsers(dest="verb", required=True)
    run = sub.add_parser("run")
    run.add_argument("--config")
    run.add_argument("--drain-timeout", type=float, default=30.0)
    run.add_argument("--log-format", choices=["text", "json"], default="text")
    run.add_argument("--access-log", action=argparse.BooleanOptionalAction, default=True)
    run.add_argument("--allow-host", action="append", default=[])
    run.add_argument("--redis-url")
    run.add_argument("--api-key")
    return parser


def test_flags_the_mapping_never_heard_of_are_layered_too(tmp_path: Path) -> None:
    path = tmp_path / "tool.toml"
    path.write_text('drain-timeout = 5\naccess-log = false\nallow_host = ["a", "b"]\n')
    environ = {
        "TOOL_LOG_FORMAT": "json",
        "TOOL_REDIS_URL": "redis://user:hunter2@cache:6379/0",
        "TOOL_API_KEY": "k-123",
    }
    done = resolve(_other_parser, "run", ["run", "--config", str(path)], environ, prefix="TOOL_")
    args = done.args
    assert (args.drain_timeout, args.log_format) == (5.0, "json")
    assert args.access_log is False  # false from a layer is --no-access-log
    assert args.allow_host == ["a", "b"]
    done = resolve(_other_parser, "run", ["run"], {"TOOL_ACCESS_LOG": "off"}, prefix="TOOL_")
    assert done.args.access_log is False
    with pytest.raises(LayerError, match="TOOL_LOG_FORMAT: argument --log-format: invalid choice"):
        resolve(_other_parser, "run", ["run"], {"TOOL_LOG_FORMAT": "xml"}, prefix="TOOL_")
    shown = render(
        resolve(_other_parser, "run", ["run"], environ, prefix="TOOL_"), heading="# tool run"
    )
    assert "hunter2" not in shown
    assert '"redis://user:(redacted)@cache:6379/0"' in shown
    assert "k-123" not in shown
    assert "(redacted)" in shown.splitlines()[-1]  # api_key


def test_the_config_file_cannot_name_another_config_file(tmp_path: Path) -> None:
    path = tmp_path / "loop.toml"
    path.write_text('config = "other.toml"\n')
    with pytest.raises(LayerError, match="'config' cannot be set in a config file"):
        layered(["serve", "--config", str(path)], {})


def test_an_empty_variable_counts_as_unset() -> None:
    assert settings(["serve"], {"CCSTREAM_WS_SPOOL_QUOTA": ""}).spool_quota == 1 << 30


@pytest.mark.parametrize(
    ("environ", "text", "expected"),
    [
        ({"CCSTREAM_WS_PORT": "eighty"}, "", "env CCSTREAM_WS_PORT: argument --port: invalid"),
        ({"CCSTREAM_WS_SPOOL_QUOTA": "lots"}, "", "env CCSTREAM_WS_SPOOL_QUOTA: argument"),
        ({"CCSTREAM_WS_NO_SHELL": "maybe"}, "", "env CCSTREAM_WS_NO_SHELL: expected 1/0"),
        ({}, 'port = "x"', "(port): argument --port: invalid int value: 'x'"),
        ({}, "port = true", "(port): expected a string or a number, got True"),
        ({}, 'no-shell = "yes"', "(no-shell): expected true or false"),
        ({}, "prot = 1", "unknown key 'prot' (no flag --prot)"),
        ({}, "port = ", "not valid TOML"),
        ({}, "no-shell = true\nallow-shell = true", "not allowed with argument"),
        ({}, "port = 1\nport_ = 2", "unknown key 'port_'"),
        ({}, 'root-path = "sub"', "(root-path): argument --root-path: must start with '/'"),
    ],
)
def test_a_bad_value_names_its_source(
    tmp_path: Path, environ: dict[str, str], text: str, expected: str
) -> None:
    argv = ["serve"]
    if text:
        path = tmp_path / "bad.toml"
        path.write_text(text)
        argv += ["--config", str(path)]
    with pytest.raises(LayerError) as caught:
        layered(argv, environ)
    assert expected in str(caught.value)
    if text:
        assert str(tmp_path / "bad.toml") in str(caught.value)


def test_a_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LayerError, match=r"config file .*nope\.toml: No such file"):
        layered(["serve", "--config", str(tmp_path / "nope.toml")], {})


def test_an_unknown_variable_is_a_warning_not_an_error() -> None:
    done = layered(["serve"], {"CCSTREAM_WS_SPOOL_QOUTA": "1G", "OTHER": "x"})
    assert done.warnings == ("ignoring CCSTREAM_WS_SPOOL_QOUTA: serve has no flag for it",)


# -- the real command ---------------------------------------------------------------------------


def test_print_config_shows_each_value_and_its_source_with_the_token_redacted(
    toml: Path,
) -> None:
    done = serve(
        "--config",
        str(toml),
        "--port",
        "9001",
        "--print-config",
        env={"CCSTREAM_WS_TOKEN": TOKEN, "CCSTREAM_WS_SPOOL_QUOTA": "3G"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines()[2:]}
    assert rows["port"][2:] == ["9001", "flag", "--port"]
    assert rows["spool_quota"][2:] == [str(3 << 30), "env", "CCSTREAM_WS_SPOOL_QUOTA"]
    assert rows["max_connections"][2:] == ["10", "file", str(toml), "(max_connections)"]
    assert rows["token"][2:] == ["(redacted)", "env", "CCSTREAM_WS_TOKEN"]
    assert rows["host"][2:] == ['"127.0.0.1"', "default"]
    assert TOKEN not in done.stdout


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"CCSTREAM_WS_MAX_EXECUTIONS": "many"}, "env CCSTREAM_WS_MAX_EXECUTIONS: argument"),
        (
            {"CCSTREAM_WS_TOKEN": "short"},
            "token must be a string of at least 16 characters (token: env CCSTREAM_WS_TOKEN)",
        ),
        (
            {"CCSTREAM_WS_SPOOL_QUOTA": "1K"},
            "spool_quota must be an integer >= 1048576, got 1024 "
            "(spool_quota: env CCSTREAM_WS_SPOOL_QUOTA)",
        ),
        ({"CCSTREAM_WS_CONFIG": "/nonexistent/ccstream.toml"}, "config file /nonexistent/"),
    ],
)
def test_a_bad_value_is_one_line_and_exit_status_2(env: dict[str, str], expected: str) -> None:
    done = serve("--print-config", env=env)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("ccstream-ws: ")
    assert expected in done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert "Traceback" not in done.stderr


# -- without the [ws] extra -----------------------------------------------------------------------


@pytest.mark.parametrize("blocked", [["uvicorn"], ["websockets"], ["uvicorn", "websockets"]])
def test_without_the_ws_extra_the_command_says_what_to_install(blocked: list[str]) -> None:
    # A venv without the extra costs a minute; an import made to fail is the same to the code.
    code = (
        "import sys\n"
        f"for name in {blocked!r}: sys.modules[name] = None\n"
        "from ccstream_ws.cli import main\n"
        "sys.exit(main(['serve']))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert done.stderr == (
        f"ccstream-ws: needs the [ws] extra ({', '.join(blocked)} not installed): "
        "pip install 'ccstream[ws]'\n"
    )


def test_without_websockets_the_client_names_say_what_to_install() -> None:
    code = (
        "import sys\n"
        "sys.modules['websockets'] = None\n"
        "import ccstream_ws\n"
        "print(ccstream_ws.App.__name__)\n"
        "from ccstream_ws import Client\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert done.stdout == "App\n"
    assert "ImportError: ccstream_ws.Client needs the [ws] extra" in done.stderr
    assert "pip install 'ccstream[ws]'" in done.stderr


def test_the_extras_modules_are_the_ws_extras_requirements() -> None:
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    extra = _toml().loads(pyproject.read_text())["project"]["optional-dependencies"]["ws"]
    names = set()
    for requirement in extra:
        if ";" in requirement:  # for some Pythons only (tomli): not needed to serve
            continue
        name = requirement.split(">")[0].split("=")[0].split("[")[0].strip()
        names.add(name.lower().replace("-", "_"))
    assert names == set(_extra.MODULES)


@pytest.mark.anyio
async def test_the_servers_settings_from_the_environment_are_not_the_childs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server takes these from its environment; the commands it runs must not see them.
    monkeypatch.setenv("CCSTREAM_WS_TOKEN", TOKEN)
    monkeypatch.setenv("CCSTREAM_WS_RETENTION", "30")
    monkeypatch.setenv("CHILD_SEES_THIS", "yes")
    port = free_port()
    proc = serve_cli(port, tmp_path / "server.log")
    try:
        async with Client(f"ws://127.0.0.1:{port}/ws", token=TOKEN) as client:
            execution = await client.execute(["env"])
            out, _, completion = await execution.collect()
        assert completion.status == "completed"
        names = {line.split("=", 1)[0] for line in out.decode().splitlines()}
        assert "CHILD_SEES_THIS" in names
        assert not {name for name in names if name.startswith("CCSTREAM_WS_")}
    finally:
        stop(proc, signal.SIGTERM)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_connections", True),
        ("max_connections", 0),
        ("max_connections", 2.0),
        ("retention", True),
        ("retention", -1),
        ("retention", float("nan")),
        ("retention", float("inf")),
        ("retention", 10**400),
        ("drain_timeout", "5"),
    ],
)
def test_a_setting_of_the_wrong_kind_is_a_config_error(field: str, value: object) -> None:
    # The same checks as the protocol's params (is_int, finite): a bool is not a count, and a
    # number past float range is not a number of seconds.
    with pytest.raises(ConfigError, match=field):
        ServerConfig(**{field: value})  # type: ignore[arg-type]
