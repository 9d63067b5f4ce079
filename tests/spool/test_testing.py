"""``ccstream.spool.testing`` without hypothesis: the checks import, a strategy says it needs it."""

from __future__ import annotations

import subprocess
import sys

from hypothesis import given

from ccstream.spool.testing import scripts

_WITHOUT_HYPOTHESIS = """
import sys
sys.modules["hypothesis"] = None  # as if it were not installed
from ccstream.spool.testing import CHECKS, check_store
assert CHECKS and check_store
try:
    from ccstream.spool.testing import layouts
except ImportError as exc:
    print(exc)
else:
    raise SystemExit("a strategy imported without hypothesis")
"""


def test_the_checks_import_without_hypothesis_and_a_strategy_says_it_needs_it() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_HYPOTHESIS], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "needs hypothesis" in done.stdout
    assert "ccstream[testing]" in done.stdout


@given(scripts(("stderr",), max_write=7, max_writes=3))
def test_scripts_keep_to_their_streams_and_sizes(script: list[tuple[str, bytes]]) -> None:
    assert len(script) <= 3
    assert all(stream == "stderr" and len(data) <= 7 for stream, data in script)


def test_the_redis_store_without_coredis_says_which_extra_brings_it() -> None:
    code = (
        "import sys\nsys.modules['coredis'] = None\n"
        "try:\n    import ccstream.spool.redis\nexcept ImportError as exc:\n    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "ccstream[redis]" in done.stdout
