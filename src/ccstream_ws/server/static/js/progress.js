// The progress line (bytes and lines per stream, rate, elapsed time) and the exit status.

import { bytes, count, duration, exitStatus, rate } from './format.js';

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
    const now = performance.now();
    const total = this.stats.stdout.bytes + this.stats.stderr.bytes;
    const lines = (this.stats.stdout.lines ?? 0) + (this.stats.stderr.lines ?? 0);
    this.samples.push({ at: now, bytes: total, lines });
    while (this.samples.length > 2 && now - this.samples[0].at > RATE_WINDOW_MS) this.samples.shift();
    this.draw();
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
    for (const name of ['stdout', 'stderr']) {
      this.el(`${name}-bytes`).textContent = bytes(this.stats[name].bytes);
      this.el(`${name}-lines`).textContent = count(this.stats[name].lines);
    }
    const [bps, lps] = this.rates();
    this.el('rate').textContent = rate(bps, lps);
    this.el('elapsed').textContent = duration(this.elapsed());
  }
}
