"""Stream an LLM command line's line-delimited JSON to a browser, event by event.

    uvicorn examples.llm_to_browser:app --port 8000   # then open http://127.0.0.1:8000/

The page opens a WebSocket to ``/events``; the server runs the CLI (here the stand-in
``examples/fake_llm_cli.py``; put ``claude -p PROMPT --output-format stream-json`` or any other
such tool in :data:`COMMAND`) with :func:`ccstream.stream` in line mode, and sends each JSON
line on as one WebSocket message as soon as it is complete, then the exit status.

Line mode cuts frames after a newline when one is in reach, so a frame is nearly always whole
lines; a line longer than a frame (a huge tool result) comes in several frames, which
:class:`Lines` joins, holding at most ``MAX_LINE`` bytes of it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

import ccstream

FAKE_CLI = Path(__file__).resolve().parent / "fake_llm_cli.py"
COMMAND = [sys.executable, str(FAKE_CLI)]
MAX_LINE = 16 * 1024 * 1024  # bytes of one JSON line held at most


class Lines:
    """Bytes in, complete lines out. A line over ``limit`` bytes keeps its first ``limit``
    bytes, and says how many it lost."""

    def __init__(self, limit: int = MAX_LINE) -> None:
        self.limit = limit
        self.partial = bytearray()
        self.cut = 0

    def feed(self, data: bytes) -> list[tuple[bytes, int]]:
        """The lines ``data`` completes (without their newline), each with the bytes cut off."""
        *done, rest = data.split(b"\n")
        out: list[tuple[bytes, int]] = []
        for piece in done:
            self._add(piece)
            out.append((bytes(self.partial), self.cut))
            self.partial.clear()
            self.cut = 0
        self._add(rest)
        return out

    def _add(self, piece: bytes) -> None:
        room = max(0, self.limit - len(self.partial))
        self.partial += piece[:room]
        self.cut += max(0, len(piece) - room)


def event_of(line: bytes, cut: int = 0) -> dict[str, Any]:
    """One line as an event for the page: the JSON object, or the text when it is not JSON
    (or was cut)."""
    try:
        value = json.loads(line) if not cut else None
    except ValueError:
        value = None
    if isinstance(value, dict):
        return value
    return {"type": "text", "text": line.decode("utf-8", "replace"), "cut_bytes": cut}


async def events(socket: WebSocket) -> None:
    """Run the CLI with the prompt from the query string and forward its events."""
    await socket.accept()
    prompt = socket.query_params.get("prompt", "hello")
    options = ccstream.Options(mode="lines", timeout=120, idle_timeout=60)
    lines = Lines()
    try:
        async with ccstream.stream([*COMMAND, prompt], options) as run:
            async for event in run:
                if isinstance(event, ccstream.Output):
                    if event.stream == "stderr":
                        await socket.send_json({"type": "stderr", "text": event.text})
                        continue
                    for line, cut in lines.feed(event.data):
                        if line.strip():
                            await socket.send_json(event_of(line, cut))
        result = run.result
        await socket.send_json(
            {
                "type": "exit",
                "returncode": result.returncode,
                "reason": result.reason.value,
                "seconds": result.duration,
            }
        )
        await socket.close()
    except WebSocketDisconnect:
        pass  # leaving the ``async with`` killed the CLI's process group


PAGE = """<!doctype html>
<meta charset="utf-8"><title>LLM stream</title>
<style>body{font:15px system-ui;margin:2em;max-width:50em}#answer{white-space:pre-wrap}
.meta{color:#777;font-size:13px}</style>
<form id="ask"><input id="prompt" value="what is ccstream?" size="40"> <button>Ask</button></form>
<p class="meta" id="status"></p><div id="answer"></div>
<script>
document.getElementById('ask').onsubmit = (e) => {
  e.preventDefault();
  const answer = document.getElementById('answer'), status = document.getElementById('status');
  answer.textContent = ''; status.textContent = 'thinking…';
  const url = new URL('events', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('prompt', document.getElementById('prompt').value);
  const ws = new WebSocket(url);
  ws.onmessage = (m) => {
    const ev = JSON.parse(m.data);
    if (ev.type === 'assistant') {
      for (const part of ev.message.content) {
        if (part.type === 'text') answer.textContent += part.text;
      }
    } else if (ev.type === 'tool_use') status.textContent = `using ${ev.name}…`;
    else if (ev.type === 'result') status.textContent = `done in ${ev.duration_ms} ms`;
    else if (ev.type === 'exit') status.textContent += ` (exit ${ev.returncode}, ${ev.reason})`;
  };
};
</script>
"""


async def home(_: Request) -> HTMLResponse:
    return HTMLResponse(PAGE)


app = Starlette(routes=[Route("/", home), WebSocketRoute("/events", events)])
