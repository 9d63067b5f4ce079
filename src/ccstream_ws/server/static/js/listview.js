// A virtual list: only the rows in sight (plus a few) are in the DOM, however many there are.
//
// Rows have one fixed height. Up to MAX_PX of scroll height the list is exact (row i sits at
// i * rowHeight); past that (millions of rows) the scroll bar maps proportionally onto the rows,
// since browsers cap an element's height. A source gives size(), row(i) (null while not
// loaded) and want(first, last) (fetch what is missing); a live source may let go of its oldest
// rows, counted in `dropped`, and the list keeps the rows in sight where they were.
//
// Wrapped (setWrap(true)), a row is as tall as its text needs: the scroll position then picks
// the first row drawn (in row units, as past MAX_PX), the rows fill the view from there, and at
// the end the last row sits at the bottom.

import { plural } from './format.js';
import { fill } from './render.js';

import { showTime } from './times.js';

const MAX_PX = 8_000_000;
const OVERSCAN = 20;

export class ListView {
  constructor(viewport, spacer, rows, { onFollow = () => {}, mark = () => false } = {}) {
    this.viewport = viewport;
    this.mark = mark;
    this.wrap = false;
    this.spacer = spacer;
    this.rowsEl = rows;
    this.onFollow = onFollow;
    this.source = null;
    this.follow = true;
    this.frame = null;
    this.expectedTop = null;
    this.lastDropped = 0;
    this.rowHeight = this.measure();
    this.dragging = false;
    this.listen(viewport);
    // The controls above change height (an exit status, a message): draw for the new size.
    new ResizeObserver(() => this.invalidate()).observe(viewport);
  }

  measure() {
    const probe = document.createElement('div');
    probe.className = 'line';
    probe.textContent = 'M';
    this.rowsEl.append(probe);
    const height = probe.getBoundingClientRect().height || 18;
    probe.remove();
    return height;
  }

  /** Show `source`; `state` is {follow, top} saved by `save()` for it, if any. */
  setSource(source, state = null) {
    this.source = source;
    this.lastDropped = source?.dropped ?? 0;
    this.setFollow(state === null ? true : state.follow);
    this.render();
    if (state !== null && !state.follow) this.scrollTo(state.top);
  }

  save() {
    return { follow: this.follow, top: this.viewport.scrollTop };
  }

  /** Wrap long rows (true) or keep each on one line (false). */
  setWrap(wrap) {
    this.wrap = wrap;
    this.viewport.classList.toggle('wrap', wrap);
    if (!wrap) {
      this.rowsEl.style.height = '';
      this.rowsEl.scrollTop = 0;
    }
    this.invalidate();
  }

  setFollow(follow) {
    if (this.follow !== follow) {
      this.follow = follow;
      this.onFollow(follow);
    }
    if (follow) this.invalidate();
  }

  invalidate() {
    if (this.frame === null) {
      this.frame = requestAnimationFrame(() => {
        this.frame = null;
        this.render();
      });
    }
  }

  scrollTo(top) {
    this.expectedTop = Math.round(top);
    this.viewport.scrollTop = top;
  }

  scrolled() {
    const top = this.viewport.scrollTop;
    const bottom = this.viewport.scrollHeight - this.viewport.clientHeight;
    const atBottom = top >= bottom - this.rowHeight / 2;
    if (this.expectedTop !== null && Math.abs(top - this.expectedTop) <= 1) {
      this.expectedTop = null;
    } else if (this.dragging) {
      this.setFollow(atBottom);
    } else if (atBottom) {
      this.setFollow(true);
    }
    // Other scrolls (content trimmed, the view resized) are not the person's: following stays.
    this.invalidate();
  }

  /** What the person does decides following: only their scrolling up stops it. */
  listen(viewport) {
    viewport.addEventListener('scroll', () => this.scrolled(), { passive: true });
    viewport.addEventListener(
      'wheel',
      (event) => {
        if (event.deltaY < 0) this.setFollow(false);
      },
      { passive: true },
    );
    viewport.addEventListener('keydown', (event) => {
      if (['ArrowUp', 'PageUp', 'Home'].includes(event.key)) this.setFollow(false);
      else if (event.key === 'End') this.setFollow(true);
    });
    // Dragging the scroll bar (or a finger): the position it is let go at decides.
    const press = () => {
      this.dragging = true;
    };
    const release = () => {
      this.dragging = false;
    };
    viewport.addEventListener('pointerdown', press);
    viewport.addEventListener('touchstart', press, { passive: true });
    window.addEventListener('pointerup', release);
    window.addEventListener('touchend', release);
  }

  /** Bring row `i` (0-based) to the top of the view. */
  scrollToRow(i) {
    this.setFollow(false);
    const total = this.source?.size() ?? 0;
    const height = this.viewport.clientHeight;
    const visible = Math.max(1, Math.floor(height / this.rowHeight));
    const full = total * this.rowHeight;
    if (full <= MAX_PX) {
      this.scrollTo(i * this.rowHeight);
    } else {
      const span = Math.max(1, total - visible);
      this.scrollTo((Math.min(i, span) / span) * (MAX_PX - height));
    }
    this.render();
  }

  /** The rows in sight: [first, last] 0-based, and where the first one is drawn. */
  window(total) {
    const rowHeight = this.rowHeight;
    const height = this.viewport.clientHeight;
    const visible = Math.ceil(height / rowHeight) + 1;
    const full = total * rowHeight;
    const top = this.viewport.scrollTop;
    if (full <= MAX_PX) {
      this.spacer.style.height = `${full}px`;
      const first = Math.min(Math.floor(top / rowHeight), Math.max(0, total - 1));
      return { first, last: Math.min(total - 1, first + visible), offset: first * rowHeight };
    }
    this.spacer.style.height = `${MAX_PX}px`;
    const span = Math.max(1, total - visible + 1);
    const ratio = Math.min(1, top / Math.max(1, MAX_PX - height));
    const first = Math.min(Math.floor(ratio * span), Math.max(0, total - 1));
    return { first, last: Math.min(total - 1, first + visible), offset: top };
  }

  render() {
    const source = this.source;
    if (source === null) {
      this.rowsEl.replaceChildren();
      this.spacer.style.height = '0px';
      return;
    }
    const dropped = source.dropped ?? 0;
    if (dropped > this.lastDropped && !this.follow) {
      // The live source let go of rows above: keep the rows in sight where they are.
      this.scrollTo(Math.max(0, this.viewport.scrollTop - (dropped - this.lastDropped) * this.rowHeight));
    }
    this.lastDropped = dropped;
    const total = source.size();
    if (this.follow) {
      this.spacer.style.height = `${Math.min(total * this.rowHeight, MAX_PX)}px`;
      this.scrollTo(this.viewport.scrollHeight - this.viewport.clientHeight);
    }
    const { first, last, offset } = this.window(total);
    if (this.wrap) {
      this.renderWrapped(source, first, total);
      return;
    }
    source.want(Math.max(0, first - OVERSCAN), Math.min(total - 1, last + OVERSCAN));
    this.draw(source, first, last, offset, total);
  }

  renderWrapped(source, first, total) {
    const height = this.viewport.clientHeight;
    const visible = Math.ceil(height / this.rowHeight) + 1;
    const top = this.viewport.scrollTop;
    const atEnd =
      this.follow || top >= this.viewport.scrollHeight - height - this.rowHeight / 2;
    // Every row is at least one row high, so `visible` rows always fill the view.
    const from = atEnd ? Math.max(0, total - visible) : first;
    const to = Math.min(total - 1, from + visible);
    source.want(Math.max(0, from - OVERSCAN), Math.min(total - 1, to + OVERSCAN));
    this.rowsEl.style.height = `${height}px`;
    this.draw(source, from, to, top, total);
    // At the end the last row's bottom meets the view's; elsewhere the first row is at the top.
    this.rowsEl.scrollTop = atEnd ? this.rowsEl.scrollHeight - height : 0;
  }

  draw(source, first, last, offset, total) {
    const pool = this.rowsEl.children;
    let n = 0;
    for (let i = first; i <= last && total > 0; i += 1, n += 1) {
      const row = source.row(i);
      let el = pool[n];
      if (el === undefined) {
        el = document.createElement('div');
        el.append(document.createElement('span'), document.createElement('span'));
        el.firstChild.className = 'ln';
        el.lastChild.className = 'tx';
        this.rowsEl.append(el);
      }
      // Output is untrusted: it only ever goes in as text, never as markup.
      if (row === null) {
        el.className = 'line pending';
        el.dataset.row = String(i);
        el.removeAttribute('data-line');
        el.firstChild.textContent = '';
        el.children[1].textContent = '…';
        showTime(el, null);
        showRest(el, null);
        showWhole(el, null);
        continue;
      }
      el.className = this.mark(row) ? `line ${row.kind} marked` : `line ${row.kind}`;
      el.dataset.row = String(i);
      showTime(el, row);
      if (row.line === null) el.removeAttribute('data-line');
      else el.dataset.line = String(row.line);
      el.firstChild.textContent = row.line === null ? '' : String(row.line);
      // children[1], not lastChild: a cut line's row ends with its link.
      fill(el.children[1], row.text, row.runs, rowSuffix(row));
      showRest(el, row.cut ?? null);
      showWhole(el, row);
    }
    while (pool.length > n) this.rowsEl.lastChild.remove();
    this.rowsEl.style.transform = `translateY(${offset}px)`;
  }
}

/** What a long line's row leaves out, said at its end ('' for a whole line). */
function rowSuffix(row) {
  const parts = [];
  if (row.more) parts.push(plural(row.more, 'more character'));
  if (row.cut) parts.push(plural(row.cut.omitted, 'more byte') + ' not fetched');
  return parts.length ? ` … (${parts.join(', then ')})` : '';
}

/** The link to the bytes of a cut line that its row does not hold (el's last child). */
function showRest(el, cut) {
  let link = el.querySelector('a.rest');
  if (cut === null || cut.href === null) {
    if (link !== null) link.remove();
    return;
  }
  if (link === null) {
    link = document.createElement('a');
    link.className = 'rest';
    link.target = '_blank';
    link.rel = 'noopener';
    el.append(link);
  }
  link.href = cut.href;
  link.textContent = `the rest from byte ${cut.from.toLocaleString('en-US')}`;
}

/** A button for a row of a line longer than it shows (its text says which line: data-line). */
function showWhole(el, row) {
  let button = el.querySelector('button.whole');
  const wanted = row !== null && row.line !== null && (row.more > 0 || row.cut !== undefined);
  if (!wanted) {
    if (button !== null) button.remove();
    return;
  }
  if (button === null) {
    button = document.createElement('button');
    button.type = 'button';
    button.className = 'whole';
    button.textContent = 'show the whole line';
    el.append(button);
  }
}
