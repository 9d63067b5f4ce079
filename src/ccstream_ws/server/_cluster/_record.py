"""An execution's record in Redis (a hash of strings), read and written in one place."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Record", "lost_result", "progress_fields"]


def _int(fields: Mapping[str, str], name: str) -> int:
    try:
        return int(fields.get(name, "0"))
    except ValueError:
        return 0


def _float(fields: Mapping[str, str], name: str) -> float:
    try:
        return float(fields.get(name, "0"))
    except ValueError:
        return 0.0


def progress_fields(
    read: tuple[tuple[int, int], tuple[int, int]], stored: tuple[int, int], paused: bool
) -> dict[str, str]:
    """What the owner records with each lease renewal: ``read`` ``(bytes, lines)`` per stream
    the run took from the child, ``stored`` bytes per stream in the spool, and ``paused``."""
    (out_b, out_l), (err_b, err_l) = read
    return {
        "stdout_bytes": str(out_b),
        "stdout_lines": str(out_l),
        "stderr_bytes": str(err_b),
        "stderr_lines": str(err_l),
        "stored_stdout": str(stored[0]),
        "stored_stderr": str(stored[1]),
        "paused": "1" if paused else "0",
    }


@dataclass(frozen=True, slots=True)
class Record:
    """One execution's record as a node reads it."""

    fields: Mapping[str, str]

    @property
    def node(self) -> str:
        """The node that runs (ran) it."""
        return self.fields.get("node", "")

    @property
    def running(self) -> bool:
        """True until its owner recorded the end, or another node finalised it."""
        return self.fields.get("state") == "running"

    @property
    def pid(self) -> int:
        """The child's pid (and process group) on its node."""
        return _int(self.fields, "pid")

    @property
    def argv(self) -> list[Any]:
        """``argv`` as the wire sends it."""
        value = json.loads(self.fields.get("argv", "[]"))
        return value if isinstance(value, list) else []

    @property
    def has_stdin(self) -> bool:
        """True when the execution was started with ``stdin: true``."""
        return self.fields.get("stdin") == "1"

    def describe(self, execution_id: str) -> dict[str, Any]:
        """The ``status`` view, as the owner's would be (plus ``node``)."""
        state = "running" if self.running else "ended"
        if self.running and self.fields.get("paused") == "1":
            state = "paused"
        out: dict[str, Any] = {
            "execution_id": execution_id,
            "state": state,
            "pid": self.pid,
            "pgid": self.pid,
            "argv": self.argv,
            "detached": self.fields.get("detached") == "1",
            "started_at": _float(self.fields, "started_at"),
            "node": self.node,
            "stdout": {
                "bytes": _int(self.fields, "stdout_bytes"),
                "lines": _int(self.fields, "stdout_lines"),
            },
            "stderr": {
                "bytes": _int(self.fields, "stderr_bytes"),
                "lines": _int(self.fields, "stderr_lines"),
            },
        }
        result = self.result()
        if result is not None:
            out["result"] = result
            out["stdout"], out["stderr"] = result["stdout"], result["stderr"]
        return out

    def result(self) -> dict[str, Any] | None:
        """``process.completed``'s result fields once it ended: the owner's, or the
        ``node_lost`` ones when another node finalised it (:func:`lost_result`)."""
        if self.running:
            return None
        if "lost" in self.fields:
            return lost_result(self.fields)
        text = self.fields.get("result")
        if text is None:
            return None
        value = json.loads(text)
        return value if isinstance(value, dict) else None


def lost_result(fields: Mapping[str, str]) -> dict[str, Any]:
    """The result of an execution whose node was lost: ``failed``, reason ``node_lost``, no exit
    status (nobody saw one), the bytes and lines the run had read as of its node's last lease
    renewal, and ``unflushed``: of those, the bytes per stream that never reached the spool (what
    the node read after its last renewal is not known to anyone)."""
    started = _float(fields, "started_at")
    ended = _float(fields, "ended_at") or time.time()
    unflushed = {
        name: max(0, _int(fields, f"{name}_bytes") - _int(fields, f"stored_{name}"))
        for name in ("stdout", "stderr")
    }
    return {
        "status": "failed",
        "reason": "node_lost",
        "exit_code": None,
        "returncode": None,
        "signal": None,
        "execution_time": max(0.0, ended - started),
        "stdout": {"bytes": _int(fields, "stdout_bytes"), "lines": _int(fields, "stdout_lines")},
        "stderr": {"bytes": _int(fields, "stderr_bytes"), "lines": _int(fields, "stderr_lines")},
        "peak_rss_tree": None,
        "spool_error": None,
        "lingering_killed": False,
        "escaped_killed": 0,
        "node": fields.get("node", ""),
        "finalised_by": fields.get("lost", ""),
        "unflushed": unflushed,
    }
