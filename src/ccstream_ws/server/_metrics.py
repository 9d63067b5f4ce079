"""What ``GET /metrics`` answers: the app's counters and gauges in Prometheus' text format.

Each :class:`Metrics` has a ``prometheus_client`` registry of its own (never the process-wide
default one), so two apps in one process count apart. Events that are gone once they happened
(an execution ended, a message sent, a refusal) are counted as they happen; what the app holds
now (running executions, connections, spools, readers) is read from it when scraped, on the
event loop, so a scrape sees one consistent state.

Totals of command output and of quota gaps are the ended executions' final figures plus the
running ones' figures so far: they only grow, and an execution counts once.

A reader (one client following one execution's output: the connection that started it, or a
``subscribe``) is *lagging* when the spool holds more than :data:`LAGGING_BYTES` of the
streams it follows that it has not been handed yet. It then reads from the disk rather than
from the spool's memory, and on a spool with ``on_quota`` pause it is what would hold the child.
"""

from __future__ import annotations

import logging
from collections import Counter as Tally
from collections.abc import Iterable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

import ccstream

from ..protocol._params import STREAMS
from ._execution import Execution, completed_status

if TYPE_CHECKING:
    from ._registry import Registry

__all__ = ["CONTENT_TYPE", "LAGGING_BYTES", "Metrics"]

log = logging.getLogger("ccstream_ws")

CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"
"""Prometheus' text exposition format."""
LAGGING_BYTES = 1024 * 1024
"""Bytes of followed output not yet handed to a reader beyond which it counts as lagging."""


class Metrics:
    """The counters of one app; :meth:`render` is the ``/metrics`` body."""

    def __init__(self, registry: Registry) -> None:
        self.prometheus = CollectorRegistry(auto_describe=True)
        self._registry = registry
        self.ended = Counter(
            "ccstream_ws_executions_ended",
            "Executions whose run ended, by process.completed status and result reason.",
            ["status", "reason"],
            registry=self.prometheus,
        )
        self.messages = Counter(
            "ccstream_ws_messages_sent",
            "WebSocket messages sent to clients, by frame type (text or binary).",
            ["type"],
            registry=self.prometheus,
        )
        self.sent_bytes = Counter(
            "ccstream_ws_sent_bytes",
            "Bytes of WebSocket message payload sent to clients, by frame type.",
            ["type"],
            registry=self.prometheus,
        )
        # The labelled children, looked up once: sent() runs for every message.
        self._sent_text = (self.messages.labels("text"), self.sent_bytes.labels("text"))
        self._sent_binary = (self.messages.labels("binary"), self.sent_bytes.labels("binary"))
        self.connections = Counter(
            "ccstream_ws_connections_accepted",
            "WebSocket connections admitted (refused ones count as refusals).",
            registry=self.prometheus,
        )
        self.refusals = Counter(
            "ccstream_ws_refusals",
            "Refusals: JSON-RPC errors by code (kind rpc), WebSocket closes before a session by "
            "close code (kind close), HTTP requests refused by status (kind http).",
            ["kind", "code"],
            registry=self.prometheus,
        )
        self._output: dict[tuple[str, str], int] = Tally()
        """Ended executions' output: (stream, "bytes" or "lines") -> total."""
        self._gaps: dict[tuple[str, str], int] = Tally()
        """Ended executions' gaps: (reason, "gaps" or "bytes") -> total."""
        self._kept: dict[str, int] = {}
        """Ended executions still kept: id -> spool bytes held (written less dropped)."""
        self.prometheus.register(_Live(self))

    # -- events -------------------------------------------------------------------------------

    def execution_ended(self, execution: Execution) -> None:
        """Count an execution whose run ended; called once, as its state becomes ``ended``."""
        if execution.run is None:
            return  # never started: the spawn's refusal (SPAWN_FAILED) counted it
        result = execution.result
        if result is None:
            self.ended.labels("failed", "internal_error").inc()
        else:
            self.ended.labels(completed_status(result), result.reason.value).inc()
            for name in STREAMS:
                stats: ccstream.StreamStats = getattr(result, name)
                self._output[name, "bytes"] += stats.bytes
                self._output[name, "lines"] += stats.lines or 0
        try:
            state = execution.spool_state()
            if state is None:
                return
            gaps, written = state.gaps, sum(state.sizes)
        except (ccstream.CCStreamError, OSError) as exc:
            log.warning("metrics: cannot read the spool of %s: %s", execution.id, exc)
            return
        for gap in gaps:
            self._gaps[gap.reason, "gaps"] += 1
            self._gaps[gap.reason, "bytes"] += gap.bytes
        self._kept[execution.id] = written - sum(g.bytes for g in gaps)

    def sent(self, message: MutableMapping[str, Any]) -> None:
        """Count one ASGI ``websocket.send`` event that went out."""
        text = message.get("text")
        if text is not None:
            messages, sent = self._sent_text
            messages.inc()
            sent.inc(len(text))  # characters: cheap, near enough
        else:
            messages, sent = self._sent_binary
            messages.inc()
            sent.inc(len(message.get("bytes") or b""))

    def refused(self, kind: str, code: int) -> None:
        """Count a refusal: ``kind`` is ``rpc``, ``close`` or ``http``."""
        self.refusals.labels(kind, str(int(code))).inc()

    # -- scrape -------------------------------------------------------------------------------

    def render(self) -> bytes:
        """The ``/metrics`` body. Call it on the event loop (it reads the app's state)."""
        return generate_latest(self.prometheus)


class _Live(Collector):
    """What the app holds at the moment of the scrape."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def describe(self) -> Iterable[Metric]:
        return []  # collected fresh each time; nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        m = self._metrics
        registry = m._registry
        config = registry.config
        executions = list(registry)
        running = [e for e in executions if e.running]
        ids = {e.id for e in executions}
        for gone in [i for i in m._kept if i not in ids]:
            del m._kept[gone]  # dropped after its retention

        yield _gauge(
            "ccstream_ws_executions_running", "Executions whose run has not ended.", len(running)
        )
        yield _gauge(
            "ccstream_ws_executions_retained",
            "Ended executions kept for page, subscribe and downloads.",
            len(executions) - len(running),
        )
        yield _gauge(
            "ccstream_ws_executions_detached",
            "Kept executions started detached (running or ended).",
            sum(e.detached for e in executions),
        )
        yield _gauge(
            "ccstream_ws_executions_limit",
            "The server's limit of running executions.",
            config.max_executions,
        )
        yield _gauge("ccstream_ws_connections", "Open WebSocket sessions.", registry.connections)
        yield _gauge(
            "ccstream_ws_draining",
            "1 while the server drains or shuts down (execute is refused), else 0.",
            int(registry.closing),
        )

        output = Tally(m._output)
        gaps = Tally(m._gaps)
        spool_bytes = sum(m._kept.values())
        spools = len(m._kept)
        readers = lagging = 0
        worst = 0
        for execution in running:
            run = execution.run
            if run is not None:
                for name in STREAMS:
                    stats = run.stats(name)
                    output[name, "bytes"] += stats.bytes
                    output[name, "lines"] += stats.lines or 0
            try:
                state = execution.spool_state()
                if state is None:
                    continue
                live_gaps, written = state.gaps, sum(state.sizes)
            except (ccstream.CCStreamError, OSError):
                continue
            spools += 1
            spool_bytes += written - sum(g.bytes for g in live_gaps)
            for gap in live_gaps:
                gaps[gap.reason, "gaps"] += 1
                gaps[gap.reason, "bytes"] += gap.bytes
        for execution in executions:
            for behind in execution.behind():
                readers += 1
                worst = max(worst, behind)
                lagging += behind > LAGGING_BYTES

        out_bytes = CounterMetricFamily(
            "ccstream_ws_output_bytes",
            "Bytes of command output read, by stream.",
            labels=["stream"],
        )
        out_lines = CounterMetricFamily(
            "ccstream_ws_output_lines",
            "Lines of command output read, by stream.",
            labels=["stream"],
        )
        for name in STREAMS:
            out_bytes.add_metric([name], output[name, "bytes"])
            out_lines.add_metric([name], output[name, "lines"])
        yield out_bytes
        yield out_lines

        yield _gauge(
            "ccstream_ws_spool_bytes",
            "Bytes of output the kept spools hold (written less what their quota dropped).",
            spool_bytes,
        )
        yield _gauge(
            "ccstream_ws_spools", "Spools kept (one per running or kept execution).", spools
        )
        gap_count = CounterMetricFamily(
            "ccstream_ws_spool_gaps",
            "Gaps in spooled output (process.gap), by reason (quota: the quota dropped a middle).",
            labels=["reason"],
        )
        gap_bytes = CounterMetricFamily(
            "ccstream_ws_spool_gap_bytes",
            "Bytes of output in spool gaps, by reason.",
            labels=["reason"],
        )
        for reason in sorted({r for r, _ in gaps} | {"quota"}):
            gap_count.add_metric([reason], gaps[reason, "gaps"])
            gap_bytes.add_metric([reason], gaps[reason, "bytes"])
        yield gap_count
        yield gap_bytes

        yield _gauge("ccstream_ws_readers", "Clients following an execution's output.", readers)
        yield _gauge(
            "ccstream_ws_readers_lagging",
            f"Readers more than {LAGGING_BYTES} bytes behind the output the spool holds.",
            lagging,
        )
        yield _gauge(
            "ccstream_ws_reader_lag_max_bytes",
            "The most bytes of followed output any reader has not been handed yet.",
            worst,
        )


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)
