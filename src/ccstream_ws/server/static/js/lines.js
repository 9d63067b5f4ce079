// Turning output into display rows, with a bound on how much any row or list holds.
//
// A row is { kind, line, text, more }: kind is "out" (stdout), "err" (stderr), "gap" (output
// the spool dropped), "note" (the viewer's own remark) or "missing"; line is the 1-based line
// number in its stream, or null when unknown; more counts characters cut off a long line. A row
// of a line the server cut (a page holds a bounded number of bytes) also has
// cut = { omitted, from, href }: the bytes not fetched, their offset, and a link to them.

export const MAX_CHARS = 2000;

// Terminal colour and cursor sequences: a log read in a browser is clearer without them.
const ESCAPES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g;

function clean(text) {
  return text.includes('\x1b') ? text.replace(ESCAPES, '') : text;
}

/** A line as a row: the newline dropped, long lines cut to MAX_CHARS. */
export function lineRow(kind, line, text) {
  let body = text.endsWith('\n') ? text.slice(0, -1) : text;
  if (body.endsWith('\r')) body = body.slice(0, -1);
  body = clean(body);
  const more = Math.max(0, body.length - MAX_CHARS);
  return { kind, line, text: more ? body.slice(0, MAX_CHARS) : body, more };
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
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      const piece = nl < 0 ? text.slice(start) : text.slice(start, nl);
      if (piece.length > 0 || nl >= 0) this.append(stream, kind, piece);
      if (nl < 0) break;
      const row = this.open[stream];
      if (row !== null && row.text.endsWith('\r')) row.text = row.text.slice(0, -1);
      this.open[stream] = null;
      if (this.next[stream] !== null) this.next[stream] += 1;
      start = nl + 1;
    }
    this.trim();
  }

  append(stream, kind, piece) {
    let row = this.open[stream];
    if (row === null) {
      row = { kind, line: this.next[stream], text: '', more: 0 };
      this.rows.push(row);
      this.open[stream] = row;
    }
    const room = MAX_CHARS - row.text.length;
    if (room <= 0) {
      row.more += piece.length;
      return;
    }
    const cleaned = clean(piece);
    row.text += cleaned.length > room ? cleaned.slice(0, room) : cleaned;
    row.more += Math.max(0, cleaned.length - room);
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
      return this.rows[i - 1] ?? null;
    }
    return this.rows[i] ?? null;
  }

  want() {}
}
