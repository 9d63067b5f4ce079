// The find box: searches the WHOLE output on the server (the protocol's `search` method), not
// the few rows in the DOM. Match count, next/previous (Enter, Shift+Enter), a jump to the line
// and its highlight. It keeps the line numbers of at most MAX_HELD matches, fetched LIMIT at a
// time as next goes past them; the count comes from count-only searches of the rest.

const LIMIT = 500;
const MAX_HELD = 100_000;
const LINE_BYTES = 256;

const FORM = `
  <input id="find" type="search" placeholder="find in output" aria-label="find in output"
         spellcheck="false">
  <label title="a regular expression (Python's syntax)"><input type="checkbox" id="find-regex"> .*</label>
  <label title="match case"><input type="checkbox" id="find-case"> Aa</label>
  <button type="button" id="find-prev" title="previous match (Shift+Enter)">↑</button>
  <button type="button" id="find-next" title="next match (Enter)">↓</button>
  <span id="find-count" role="status"></span>`;

/**
 * Put the find box before `anchor`. `call(method, params)` asks the server; `current()` gives
 * `{ id, tab }` (the execution shown and the tab: 'all', 'stdout' or 'stderr') or null;
 * `show(stream, line)` brings 0-based `line` of `stream` into view; `rows` is the element the
 * rows are drawn in.
 */
export function installSearch({ anchor, call, current, show, rows }) {
  const sheet = document.createElement('link');
  sheet.rel = 'stylesheet';
  sheet.href = 'static/search.css';
  document.head.append(sheet);
  const form = document.createElement('form');
  form.id = 'find-form';
  form.autocomplete = 'off';
  form.innerHTML = FORM; // fixed markup: output never goes in as markup
  anchor.before(form);
  const $ = (id) => form.querySelector(id);
  const find = new Finder(call, current, show, rows, (text, kind) => {
    $('#find-count').textContent = text;
    $('#find-count').dataset.kind = kind;
  });
  const query = () => ({
    pattern: $('#find').value,
    regex: $('#find-regex').checked,
    ignoreCase: !$('#find-case').checked,
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    find.step(query(), 1);
  });
  $('#find').addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && event.shiftKey) {
      event.preventDefault();
      find.step(query(), -1);
    }
  });
  $('#find-next').addEventListener('click', () => find.step(query(), 1));
  $('#find-prev').addEventListener('click', () => find.step(query(), -1));
  $('#find').addEventListener('input', () => find.clear());
  window.ccstreamSearch = find;
  return find;
}

class Finder {
  constructor(call, current, show, rows, say) {
    this.call = call;
    this.current = current;
    this.show = show;
    this.rows = rows;
    this.say = say;
    this.key = null;
    this.matches = [];
    this.index = -1;
    this.total = null;
    this.busy = false;
    new MutationObserver(() => this.mark()).observe(rows, {
      childList: true,
      subtree: true,
      characterData: true,
      attributes: true,
      attributeFilter: ['data-row'],
    });
  }

  /** What the tests and the curious read. */
  get state() {
    const hit = this.matches[this.index] ?? null;
    return { count: this.matches.length, total: this.total, index: this.index, more: this.more, hit };
  }

  clear() {
    this.key = null;
    this.matches = [];
    this.index = -1;
    this.total = null;
    this.more = false;
    this.say('', 'info');
    this.mark();
  }

  async step(q, by) {
    const exec = this.current();
    if (exec === null || q.pattern === '' || this.busy) return;
    // The tab at the start of a search sets its scope (a jump to a match switches the tab).
    const key = JSON.stringify([exec.id, q]);
    this.busy = true;
    try {
      if (key !== this.key) {
        this.clear();
        this.key = key;
        const stream = exec.tab === 'all' ? null : exec.tab;
        this.params = { execution_id: exec.id, pattern: q.pattern, regex: q.regex, ignore_case: q.ignoreCase, stream };
        this.cursor = {};
        this.complete = false;
        await this.fetch();
        this.count();
      } else if (by > 0 && this.index + 1 >= this.matches.length && (this.more || !this.complete)) {
        await this.fetch(); // more held back, or written since
      }
      if (this.matches.length === 0) {
        this.say(this.complete ? 'no match' : 'no match yet', 'none');
        return;
      }
      const n = this.matches.length;
      this.index = this.index < 0 ? (by > 0 ? 0 : n - 1) : (this.index + by + n) % n;
      const hit = this.matches[this.index];
      this.show(hit.stream, hit.line);
      this.tell();
      this.mark();
    } catch (error) {
      this.say(`${error.message}${error.code ? ` (code ${error.code})` : ''}`, 'error');
    } finally {
      this.busy = false;
    }
  }

  async fetch() {
    if (this.matches.length >= MAX_HELD) return;
    for (;;) {
      const answer = await this.call('search', {
        ...this.params,
        cursor: this.cursor,
        limit: LIMIT,
        max_line_bytes: LINE_BYTES,
      });
      for (const m of answer.matches) this.matches.push({ stream: m.stream, line: m.line });
      this.cursor = answer.cursor;
      this.more = answer.more;
      this.complete = answer.complete;
      this.gaps = answer.gaps.length;
      // An answer may end early having found nothing (its scan bound): go on.
      if (answer.matches.length > 0 || !answer.more) return;
    }
  }

  /** The total, from count-only searches of what follows the matches held. */
  async count() {
    const key = this.key;
    let total = this.matches.length;
    let cursor = this.cursor;
    let more = this.more;
    while (more) {
      const answer = await this.call('search', { ...this.params, cursor, count_only: true });
      if (key !== this.key) return;
      total += answer.count;
      cursor = answer.cursor;
      more = answer.more;
    }
    if (key === this.key) {
      this.total = total;
      this.tell();
    }
  }

  tell() {
    const total = this.total ?? (this.more ? `${this.matches.length.toLocaleString('en-US')}+` : this.matches.length);
    const of = typeof total === 'number' ? total.toLocaleString('en-US') : total;
    const hit = this.matches[this.index];
    const where = hit ? ` · ${hit.stream} line ${(hit.line + 1).toLocaleString('en-US')}` : '';
    const gaps = this.gaps ? ' · some output was dropped and not searched' : '';
    this.say(`${(this.index + 1).toLocaleString('en-US')} of ${of}${where}${gaps}`, 'found');
  }

  /** Mark the current match's row and the matching text in the rows on screen. */
  mark() {
    const hit = this.matches[this.index] ?? null;
    const exec = this.current();
    const here = hit !== null && exec !== null && (exec.tab === hit.stream);
    for (const el of this.rows.querySelectorAll('.line')) {
      const on = here && el.dataset.row === String(hit.line);
      if (el.classList.contains('find-hit') !== on) el.classList.toggle('find-hit', on);
    }
    if (typeof CSS === 'undefined' || !CSS.highlights) return;
    CSS.highlights.delete('find');
    const rx = this.key === null ? null : pattern(this.params);
    if (rx === null) return;
    const ranges = [];
    for (const tx of this.rows.querySelectorAll('.line .tx')) {
      const node = tx.firstChild;
      if (node === null || node.nodeType !== Node.TEXT_NODE) continue;
      rx.lastIndex = 0;
      for (let m = rx.exec(node.data); m !== null && ranges.length < 1000; m = rx.exec(node.data)) {
        if (m[0].length === 0) {
          rx.lastIndex += 1;
          continue;
        }
        const range = new Range();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        ranges.push(range);
      }
    }
    CSS.highlights.set('find', new Highlight(...ranges));
  }
}

/** The pattern as a JS RegExp for the highlight (null when JS cannot read a Python one). */
function pattern(params) {
  const source = params.regex ? params.pattern : params.pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  try {
    return new RegExp(source, params.ignore_case ? 'gi' : 'g');
  } catch {
    return null;
  }
}
