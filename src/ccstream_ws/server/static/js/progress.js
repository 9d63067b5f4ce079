// The progress line (bytes and lines per stream, rate, elapsed time) and the exit status.
//
// While the page takes in an execution's output from its start, the counts are the page's own
// (what it received, so they are in step with the rows shown); otherwise, and once the run
// ended, the server's (`status`, `process.completed`).

import { bytes, duration, exitStatus, plural, rate } from './format.js';

const RATE_WINDOW_MS = 3000;

export class Progress {
  constructor(root) {
    this.root = root;
    this.el = (name) => root.querySelector(`[data-field="${name}"]`);
    this.exitEl = root.querySelector('#exit');
    this.reset();
  }

  reset() {
    this.samples = [];
    this.startedAt = null; // server clock, seconds since the epoch
    this.skew = 0; // server clock minus ours, seconds
    this.ended = null;
    this.stats = { stdout: { bytes: 0, lines: 0 }, stderr: { bytes: 0, lines: 0 } };
    this.own = { stdout: null, stderr: null };
    this.exitEl.hidden = true;
    this.exitEl.replaceChildren();
    this.draw();
  }

  /** A `status` answer (or the same fields of a `process.completed`). */
  update(status) {
    if (status.started_at) this.startedAt = status.started_at;
    for (const name of ['stdout', 'stderr']) {
      if (status[name]) this.stats[name] = status[name];
    }
    this.draw();
  }

  sample() {
    const now = performance.now();
    const out = this.shown('stdout');
    const err = this.shown('stderr');
    this.samples.push({ at: now, bytes: out.bytes + err.bytes, lines: (out.lines ?? 0) + (err.lines ?? 0) });
    while (this.samples.length > 2 && now - this.samples[0].at > RATE_WINDOW_MS) this.samples.shift();
  }

  /** What the page itself received of `stream`: bytes, and lines (a partial last one too). */
  received(stream, bytesReceived, lines) {
    this.own[stream] = { bytes: bytesReceived, lines };
  }

  shown(stream) {
    return this.ended === null && this.own[stream] !== null ? this.own[stream] : this.stats[stream];
  }

  completed(params) {
    this.ended = params;
    this.update(params);
    const { status, how, why, took } = exitStatus(params);
    const badge = document.createElement('span');
    badge.className = `badge status-${status}`;
    badge.textContent = status;
    const text = document.createElement('span');
    text.className = 'exit-text';
    text.textContent = `${how} · ${why} · after ${took}`;
    this.exitEl.replaceChildren(badge, text);
    this.exitEl.dataset.status = status;
    this.exitEl.hidden = false;
    this.draw();
  }

  rates() {
    if (this.ended !== null) {
      const seconds = this.ended.execution_time;
      if (!seconds) return [null, null];
      const s = this.stats;
      return [(s.stdout.bytes + s.stderr.bytes) / seconds, ((s.stdout.lines ?? 0) + (s.stderr.lines ?? 0)) / seconds];
    }
    if (this.samples.length < 2) return [null, null];
    const a = this.samples[0];
    const b = this.samples[this.samples.length - 1];
    const seconds = (b.at - a.at) / 1000;
    return seconds > 0 ? [(b.bytes - a.bytes) / seconds, (b.lines - a.lines) / seconds] : [null, null];
  }

  elapsed() {
    if (this.ended !== null) return this.ended.execution_time;
    if (this.startedAt === null) return null;
    return Math.max(0, Date.now() / 1000 + this.skew - this.startedAt);
  }

  draw() {
    this.sample();
    for (const name of ['stdout', 'stderr']) {
      const stats = this.shown(name);
      this.el(`${name}-bytes`).textContent = bytes(stats.bytes);
      this.el(`${name}-lines`).textContent =
        stats.lines === null || stats.lines === undefined ? '– lines' : plural(stats.lines, 'line');
    }
    const [bps, lps] = this.rates();
    this.el('rate').textContent = rate(bps, lps);
    this.el('elapsed').textContent = duration(this.elapsed());
  }
}
