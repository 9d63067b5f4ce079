"""The viewer's JavaScript unit tests (``tests/js/*.test.mjs``), run by ``node --test``.

Skipped, with the reason, when ``node`` (18 or later, for ``node:test``) is not on the PATH.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
NODE = shutil.which("node")


def _node_major() -> int:
    assert NODE is not None
    out = subprocess.run([NODE, "--version"], capture_output=True, text=True, timeout=10).stdout
    return int(out.strip().lstrip("v").split(".")[0] or 0)


@pytest.mark.skipif(NODE is None, reason="node is not installed: the viewer's JS tests need it")
def test_the_viewers_javascript_unit_tests_pass() -> None:
    if _node_major() < 18:
        pytest.skip("node 18 or later is needed for node:test")
    files = sorted(str(p) for p in HERE.glob("*.test.mjs"))
    assert files, "no JS tests found"
    assert NODE is not None
    done = subprocess.run(
        [NODE, "--test", *files], capture_output=True, text=True, timeout=60, cwd=HERE
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "# fail 0" in done.stdout, done.stdout[-2000:]
