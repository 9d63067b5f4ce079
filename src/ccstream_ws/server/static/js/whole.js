// "Show the whole line": one long line in a panel, fetched in bounded pieces.
//
// Its first piece is a one-line `page` (PIECE bytes at most, and the style the line starts in);
// the rest, when the server cut the line, comes by byte range from the stream's download,
// PIECE bytes a request, one request per "more" (so the page never holds more than MAX_SHOWN
// bytes of it; past that, a link to the rest of the bytes). Colours and `\r` as in the rows.

import { Line, styleOf } from './ansi.js';
import { bytes, plural } from './format.js';
import { fill } from './render.js';

export const PIECE = 256 * 1024;
export const MAX_SHOWN = 4 * 1024 * 1024;

export class WholeLine {
  /** fetchPage(stream, line0, maxBytes) resolves with a page; rangeUrl(stream, first, last). */
  constructor(panel, fetchPage, rangeUrl) {
    this.panel = panel;
    this.fetchPage = fetchPage;
    this.rangeUrl = rangeUrl;
    this.text = panel.querySelector('#whole-text');
    this.meta = panel.querySelector('.meta');
    this.more = panel.querySelector('#whole-more');
    this.rest = panel.querySelector('#whole-rest');
    panel.querySelector('#whole-close').addEventListener('click', () => this.close());
    this.more.addEventListener('click', () => this.next());
    this.token = 0;
  }

  close() {
    this.token += 1;
    this.panel.hidden = true;
    this.text.replaceChildren();
  }

  /** Show line `line` (1-based) of `stream`. */
  async open(stream, line) {
    const token = ++this.token;
    this.stream = stream;
    this.line = line;
    this.panel.hidden = false;
    this.meta.textContent = `${stream} line ${line.toLocaleString('en-US')}: fetching…`;
    this.more.hidden = true;
    this.rest.hidden = true;
    let page;
    try {
      page = await this.fetchPage(stream, line - 1, PIECE);
    } catch (error) {
      if (token === this.token) this.meta.textContent = `cannot fetch the line: ${error.message}`;
      return;
    }
    if (token !== this.token) return;
    const first = page.lines[0] ?? '';
    this.term = new Line(styleOf(page.sgr ?? ''), MAX_SHOWN);
    this.decoder = new TextDecoder();
    const cut = (page.cuts ?? []).find((c) => c.line === line - 1) ?? null;
    this.shown = cut === null ? new TextEncoder().encode(first).length : cut.kept_bytes;
    this.length = cut === null ? this.shown : cut.kept_bytes + cut.omitted_bytes;
    this.from = cut === null ? null : cut.rest_offset;
    this.end = cut === null ? null : cut.rest_offset + cut.omitted_bytes;
    this.term.feed(first.endsWith('\n') ? first.slice(0, -1) : first);
    this.draw();
  }

  /** The next piece of a cut line, by byte range. */
  async next() {
    if (this.from === null || this.from >= this.end) return;
    const token = this.token;
    const last = Math.min(this.end, this.from + PIECE) - 1;
    this.more.disabled = true;
    try {
      const answer = await fetch(this.rangeUrl(this.stream, this.from, last), {
        credentials: 'same-origin',
        cache: 'no-store',
      });
      if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
      const data = new Uint8Array(await answer.arrayBuffer());
      if (token !== this.token) return;
      this.from += data.length;
      this.shown += data.length;
      let text = this.decoder.decode(data, { stream: this.from < this.end });
      if (this.from >= this.end && text.endsWith('\n')) text = text.slice(0, -1);
      this.term.feed(text.replace(/\n/g, ''));
    } catch (error) {
      this.meta.textContent = `cannot fetch more of the line: ${error.message}`;
      return;
    } finally {
      this.more.disabled = false;
    }
    this.draw();
  }

  draw() {
    const now = this.term.snapshot();
    fill(this.text, now.text, now.runs);
    const left = this.length - this.shown;
    this.meta.textContent =
      `${this.stream} line ${this.line.toLocaleString('en-US')}: ${plural(this.length, 'byte')} with its newline` +
      (left > 0 ? `, ${bytes(this.shown)} shown, ${plural(left, 'more byte')}` : '');
    const canMore = left > 0 && this.shown < MAX_SHOWN;
    this.more.hidden = !canMore;
    this.more.textContent = `show ${bytes(Math.min(PIECE, left))} more`;
    this.rest.hidden = !(left > 0 && !canMore);
    if (!this.rest.hidden) this.rest.href = this.rangeUrl(this.stream, this.from, this.end - 1);
  }
}
