// Turning output into display rows, with a bound on how much any row or list holds.
//
// A row is { kind, line, text, runs, more }: kind is "out" (stdout), "err" (stderr), "gap"
// (output the spool dropped), "note" (the viewer's own remark) or "missing"; line is the 1-based
// line number in its stream, or null when unknown; text is what the line shows once a terminal
// wrote it (colours and cursor moves applied by ansi.js, every other escape removed); runs are
// its styled stretches ([{ n, s }], see ansi.js; absent for the viewer's own rows); more counts
// characters cut off a long line. A row of a line the server cut (a page holds a bounded number
// of bytes) also has cut = { omitted, from, href }: the bytes not fetched, their offset, and a
// link to them.

import { DEFAULT, Line } from './ansi.js';

export const MAX_CHARS = 2000;

/** A line as a row from terminal style `style`: [row, the style after the line]. */
export function styledRow(kind, line, text, style = DEFAULT) {
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  const term = new Line(style, MAX_CHARS);
  term.feed(body);
  const shown = term.finish();
  return [{ kind, line, text: shown.text, runs: shown.runs, more: shown.more }, term.style];
}

/** A line as a row: the newline dropped, escapes applied, long lines cut to MAX_CHARS. */
export function lineRow(kind, line, text) {
  return styledRow(kind, line, text)[0];
}

/**
 * The live view: both streams' lines in the order they arrived, the newest `capacity` of them.
 * Older rows are let go (their count is kept in `dropped`); the stream tabs page through all of
 * the output from the server's spool instead.
 */
export class LiveLines {
  constructor({ capacity = 5000 } = {}) {
    this.capacity = capacity;
    this.reset();
  }

  reset() {
    this.rows = [];
    this.dropped = 0;
    this.open = { stdout: null, stderr: null };
    // Each stream is its own terminal: its style carries from line to line.
    this.terms = { stdout: new Line(DEFAULT, MAX_CHARS), stderr: new Line(DEFAULT, MAX_CHARS) };
    this.next = { stdout: 1, stderr: 1 };
    this.header = null;
  }

  /** The view starts in the middle of the output (an attach): line numbers are unknown. */
  startMidway(note) {
    this.header = note;
    this.next = { stdout: null, stderr: null };
  }

  /** Text of one stream, as it arrived (any number of lines, maybe a partial one). */
  push(stream, text) {
    const kind = stream === 'stderr' ? 'err' : 'out';
    const term = this.terms[stream];
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      const piece = nl < 0 ? text.slice(start) : text.slice(start, nl);
      if (piece.length > 0 || nl >= 0) {
        let row = this.open[stream];
        if (row === null) {
          // Open: the row shows what its terminal line holds so far (see row()).
          row = { kind, line: this.next[stream], text: '', runs: [], more: 0, term };
          this.rows.push(row);
          this.open[stream] = row;
        }
        term.feed(piece);
      }
      if (nl < 0) break;
      const row = this.open[stream];
      if (row !== null) {
        const shown = term.finish();
        row.text = shown.text;
        row.runs = shown.runs;
        row.more = shown.more;
        delete row.term;
      }
      this.open[stream] = null;
      if (this.next[stream] !== null) this.next[stream] += 1;
      start = nl + 1;
    }
    this.trim();
  }

  /** Lines of `stream` taken in (a partial last one too), or null when the view started midway. */
  lines(stream) {
    const next = this.next[stream];
    return next === null ? null : next - 1 + (this.open[stream] === null ? 0 : 1);
  }

  /** A row of the viewer's own (a gap, a truncation, a missing stretch). */
  note(kind, text) {
    this.rows.push({ kind, line: null, text, more: 0 });
    this.trim();
  }

  trim() {
    // Let go in batches: one splice per quarter of the capacity, not one per line.
    if (this.rows.length > this.capacity * 1.25) {
      const n = this.rows.length - this.capacity;
      this.rows.splice(0, n);
      this.dropped += n;
    }
  }

  get hasHeader() {
    return this.dropped > 0 || this.header !== null;
  }

  size() {
    return this.rows.length + (this.hasHeader ? 1 : 0);
  }

  row(i) {
    if (this.hasHeader) {
      if (i === 0) {
        const text =
          this.dropped > 0
            ? `⋯ ${this.dropped.toLocaleString('en-US')} earlier rows are not kept in this live ` +
              'view: the stdout and stderr tabs page through all of the output'
            : this.header;
        return { kind: 'note', line: null, text, more: 0 };
      }
      return shown(this.rows[i - 1] ?? null);
    }
    return shown(this.rows[i] ?? null);
  }

  want() {}
}

/** A row as drawn: an open row shows its terminal line as it is now. */
function shown(row) {
  if (row === null || row.term === undefined) return row;
  const now = row.term.snapshot();
  return { kind: row.kind, line: row.line, text: now.text, runs: now.runs, more: now.more };
}
