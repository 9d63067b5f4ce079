"""A stand-in for an LLM command line that streams line-delimited JSON (``--output-format
stream-json`` style): an init event, text deltas, a tool call, and a final result.

    python examples/fake_llm_cli.py "a prompt" [--delay 0.05] [--words 40]

It prints one JSON object per line and flushes each, as the real tools do; no network, no model.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def emit(event: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("prompt")
    parser.add_argument("--delay", type=float, default=0.05, help="seconds between events")
    parser.add_argument("--words", type=int, default=40, help="words in the answer")
    args = parser.parse_args()
    started = time.monotonic()
    emit({"type": "system", "subtype": "init", "model": "fake-1", "session_id": "0" * 8})
    emit({"type": "tool_use", "name": "search", "input": {"query": args.prompt}})
    print("searching...", file=sys.stderr, flush=True)
    words = [f"word{i}" for i in range(args.words)]
    for i in range(0, len(words), 5):
        time.sleep(args.delay)
        text = " ".join(words[i : i + 5]) + " "
        emit({"type": "assistant", "message": {"content": [{"type": "text", "text": text}]}})
    emit(
        {
            "type": "result",
            "subtype": "success",
            "result": " ".join(words),
            "duration_ms": round((time.monotonic() - started) * 1000),
            "num_turns": 1,
        }
    )


if __name__ == "__main__":
    main()
