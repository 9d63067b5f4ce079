// One stream's lines, pulled page by page from the server's spool as the view needs them.
//
// Lines never change once the spool has them, so a line fetched stays right; at most
// `maxLines` are held (the oldest fetched are let go first). One request at a time, and the
// same request not more often than every RETRY_MS, so a view that waits for lines the server
// does not have yet costs a few requests a second.
//
// A page holds at most PAGE_BYTES bytes of lines: the server cuts a longer line and says so in
// the page's `cuts`; its row then says how many bytes it left out and links to them (a byte
// range of the stream's download), so a cut line never looks as if it ended there.

import { styleOf } from './ansi.js';
import { styledRow } from './lines.js';

const RETRY_MS = 300;
const ERROR_BACKOFF_MS = 3000;
const MAX_COUNT = 2000;
// A row shows the first MAX_CHARS characters of a line: more bytes than this are never needed.
export const PAGE_BYTES = 256 * 1024;

export class StreamPages {
  /**
   * fetchPage(line, count, maxBytes) resolves with a `page` result; onChange() asks for a new
   * render; onError(message) reports a page the server refused; rangeUrl(first, last) is the
   * address of the stream's bytes first..last (inclusive), for a cut line's rest.
   */
  constructor(
    stream,
    fetchPage,
    onChange,
    { pageSize = 250, maxLines = 4000, onError = () => {}, rangeUrl = null } = {},
  ) {
    this.stream = stream;
    this.rangeUrl = rangeUrl;
    this.kind = stream === 'stderr' ? 'err' : 'out';
    this.fetchPage = fetchPage;
    this.onChange = onChange;
    this.onError = onError;
    this.pageSize = pageSize;
    this.maxLines = maxLines;
    this.lines = new Map();
    this.known = 0;
    this.serverKnown = 0;
    this.complete = false;
    this.gaps = [];
    this.busy = false;
    this.last = { line: -1, at: 0 };
    this.error = null;
    this.errorAt = 0;
    this.timer = null;
    this.dropped = 0;
  }

  /** Lines the stream has so far (from `status`, which counts a partial last line too). */
  setKnown(lines) {
    if (lines > this.known) {
      this.known = lines;
      this.onChange();
    }
  }

  size() {
    return Math.max(this.known, this.serverKnown);
  }

  gapAt(i) {
    return this.gaps.find((g) => g.first <= i && i < g.next) ?? null;
  }

  row(i) {
    const row = this.lines.get(i);
    if (row !== undefined) return row;
    const gap = this.gapAt(i);
    if (gap !== null) {
      const text =
        `⋯ dropped by the ${gap.reason === 'quota' ? 'disk quota' : gap.reason}: ` +
        `${gap.lines.toLocaleString('en-US')} lines, ${gap.bytes.toLocaleString('en-US')} bytes ` +
        `(lines ${(gap.first + 1).toLocaleString('en-US')}–${gap.next.toLocaleString('en-US')})`;
      return { kind: 'gap', line: i + 1, text, more: 0 };
    }
    return null;
  }

  /** The view shows rows first..last (0-based): fetch what it lacks. */
  want(first, last) {
    if (this.busy) return;
    let line = first;
    while (line <= last && (this.lines.has(line) || this.gapAt(line) !== null)) line += 1;
    if (line > last) return;
    if (this.complete && line >= this.serverKnown) return;
    const now = performance.now();
    const wait = Math.max(
      line === this.last.line ? this.last.at + RETRY_MS - now : 0,
      this.error !== null ? this.errorAt + ERROR_BACKOFF_MS - now : 0,
    );
    if (wait > 0) {
      if (this.timer === null) {
        this.timer = setTimeout(() => {
          this.timer = null;
          this.onChange();
        }, wait);
      }
      return;
    }
    this.last = { line, at: now };
    this.busy = true;
    this.fetchPage(line, Math.min(MAX_COUNT, Math.max(this.pageSize, last - line + 1)), PAGE_BYTES)
      .then(
        (page) => {
          this.error = null;
          this.take(line, page);
        },
        (error) => {
          this.error = error.message;
          this.errorAt = performance.now();
          this.onError(`${this.stream}: ${error.message}`);
        },
      )
      .finally(() => {
        this.busy = false;
        this.onChange();
      });
  }

  /** What a row shows of a line the server cut: the bytes left out, and where they are. */
  cutOf(cut) {
    const end = cut.rest_offset + cut.omitted_bytes - 1;
    const href = this.rangeUrl !== null && end >= cut.rest_offset ? this.rangeUrl(cut.rest_offset, end) : null;
    return { omitted: cut.omitted_bytes, from: cut.rest_offset, href };
  }

  take(asked, page) {
    const cuts = new Map((page.cuts ?? []).map((cut) => [cut.line, cut]));
    // The terminal style at the page's first line comes from the server (`sgr`), so a page
    // from the middle of a run has the colours it would have had on a terminal.
    let style = styleOf(page.sgr ?? '');
    page.lines.forEach((text, k) => {
      const i = page.first_line + k;
      const [row, after] = styledRow(this.kind, i + 1, text, style);
      style = after;
      if (page.times) row.time = page.times[k];
      const cut = cuts.get(i);
      if (cut !== undefined) row.cut = this.cutOf(cut);
      this.lines.delete(i);
      this.lines.set(i, row);
    });
    this.serverKnown = page.known_lines;
    this.complete = page.complete;
    if (page.lines.length === 0 && page.gaps.length > 0) {
      // The asked line is inside a dropped stretch; the page moved past it to next_line.
      const gap = page.gaps[0];
      const first = Math.min(asked, Math.max(0, page.next_line - gap.lines - 1));
      if (this.gapAt(asked) === null) this.gaps.push({ ...gap, first, next: page.next_line });
    }
    // Maps iterate in insertion order: the first keys are the longest held.
    if (this.lines.size > this.maxLines) {
      const extra = this.lines.size - this.maxLines;
      let n = 0;
      for (const key of this.lines.keys()) {
        if (n++ >= extra) break;
        this.lines.delete(key);
      }
    }
  }
}
