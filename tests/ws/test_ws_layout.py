"""The adapter's layering: ``protocol`` is sans-I/O and shared, ``server`` and ``client`` sit on
it and never on each other. Checked on the import statements of every module (``ast``), so a
layering break fails here rather than as an import cycle somewhere later."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import ccstream_ws

ROOT = Path(ccstream_ws.__file__).parent
# What each part may not import: the other parts above it, and any library that does I/O.
IO = {"anyio", "asyncio", "trio", "socket", "websockets", "uvicorn", "prometheus_client"}
FORBIDDEN = {
    "protocol": {"ccstream_ws.server", "ccstream_ws.client", *IO},
    "server": {"ccstream_ws.client", "websockets"},
    "client": {"ccstream_ws.server", "uvicorn", "prometheus_client"},
}


def _imports(path: Path, package: str) -> set[str]:
    """Absolute names of the modules ``path`` imports (relative imports resolved)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize("part", sorted(FORBIDDEN))
def test_each_part_imports_only_what_its_layer_allows(part: str) -> None:
    files = sorted((ROOT / part).glob("*.py"))
    assert files
    for path in files:
        imported = _imports(path, f"ccstream_ws.{part}")
        bad = {n for n in imported for f in FORBIDDEN[part] if _within(n, f)}
        assert not bad, f"{path.name} imports {sorted(bad)}"


def test_the_import_check_sees_relative_imports() -> None:
    # The check above cannot pass vacuously: a relative import of the server from the protocol
    # resolves to the forbidden name.
    source = ROOT / "protocol" / "_jsonrpc.py"
    assert "ccstream_ws.protocol._codes" in _imports(source, "ccstream_ws.protocol")
    assert "ccstream_ws.exceptions" in _imports(source, "ccstream_ws.protocol")
