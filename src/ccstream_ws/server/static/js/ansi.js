// Terminal output as styled text: SGR colours and attributes, `\r` and the cursor moves within
// one line, every other control sequence removed. Sans-I/O: text in, { text, runs, more } out;
// no DOM (render.js turns runs into spans).
//
// A style is a frozen object { fg, bg, bold, dim, italic, underline, inverse }; fg and bg are
// null (the default colour), a palette index 0-255, or '#rrggbb'. The same style object is
// shared by every run that has it, so a row holds references, not copies.
//
// A Line is one terminal line being written: `feed(text)` any number of times (text holds no
// '\n'; an escape sequence may be split across feeds), then `finish()` for its row. At most
// `maxChars` cells are kept; the columns past them are counted in `more`. The style carries on
// from one line to the next, as on a terminal.

export const DEFAULT = Object.freeze({
  fg: null,
  bg: null,
  bold: false,
  dim: false,
  italic: false,
  underline: false,
  inverse: false,
});

const MAX_SEQUENCE = 256; // characters of a CSI sequence kept; a longer one is dropped whole

const BLANK = Object.freeze([' ', DEFAULT]);

function make(fields) {
  const style = { ...DEFAULT, ...fields };
  if (
    style.fg === null &&
    style.bg === null &&
    !style.bold &&
    !style.dim &&
    !style.italic &&
    !style.underline &&
    !style.inverse
  ) {
    return DEFAULT;
  }
  return Object.freeze(style);
}

function hex(r, g, b) {
  const part = (v) => Math.max(0, Math.min(255, v)).toString(16).padStart(2, '0');
  return `#${part(r)}${part(g)}${part(b)}`;
}

/** An extended colour (38/48) from `params` at `i` (after the 38 or 48); [colour, next i]. */
function extended(params, i) {
  const mode = params[i];
  if (mode === 5 && i + 1 < params.length) {
    const n = params[i + 1];
    return [n >= 0 && n <= 255 ? n : undefined, i + 2];
  }
  if (mode === 2 && i + 3 < params.length) {
    return [hex(params[i + 1], params[i + 2], params[i + 3]), i + 4];
  }
  return [undefined, params.length]; // malformed: the rest of the sequence is ignored
}

/** Split one parameter group: "38:2::1:2:3" (ITU T.416, with the colour space id) or "38:5:n". */
function subParams(group) {
  const parts = group.split(':').map((p) => (p === '' ? 0 : Number(p)));
  if (parts[1] === 2 && parts.length >= 6) return [parts[0], 2, parts[3], parts[4], parts[5]];
  return parts;
}

/** The style after an SGR sequence with parameters `text` ("1;31", "" for a reset). */
export function applySgr(style, text) {
  const params = [];
  for (const group of text.split(';')) {
    if (group.includes(':')) params.push(...subParams(group));
    else params.push(group === '' ? 0 : Number(group));
  }
  if (params.some((p) => !Number.isInteger(p) || p < 0)) return style; // not an SGR we know
  const s = { ...style };
  for (let i = 0; i < params.length; ) {
    const p = params[i];
    i += 1;
    if (p === 0) Object.assign(s, DEFAULT);
    else if (p === 1) s.bold = true;
    else if (p === 2) s.dim = true;
    else if (p === 3) s.italic = true;
    else if (p === 4) s.underline = true;
    else if (p === 7) s.inverse = true;
    else if (p === 21) s.underline = true; // doubly underlined, shown as underlined
    else if (p === 22) {
      s.bold = false;
      s.dim = false;
    } else if (p === 23) s.italic = false;
    else if (p === 24) s.underline = false;
    else if (p === 27) s.inverse = false;
    else if (p >= 30 && p <= 37) s.fg = p - 30;
    else if (p === 39) s.fg = null;
    else if (p >= 40 && p <= 47) s.bg = p - 40;
    else if (p === 49) s.bg = null;
    else if (p >= 90 && p <= 97) s.fg = p - 90 + 8;
    else if (p >= 100 && p <= 107) s.bg = p - 100 + 8;
    else if (p === 38 || p === 48) {
      const [colour, next] = extended(params, i);
      i = next;
      if (colour !== undefined) s[p === 38 ? 'fg' : 'bg'] = colour;
    }
    // Anything else (blink, conceal, strike, fonts...) changes nothing shown here.
  }
  return make(s);
}

function colourParams(colour, base, bright, ext) {
  if (colour === null) return [];
  if (typeof colour === 'string') {
    const n = Number.parseInt(colour.slice(1), 16);
    return [ext, 2, (n >> 16) & 255, (n >> 8) & 255, n & 255];
  }
  if (colour < 8) return [base + colour];
  if (colour < 16) return [bright + colour - 8];
  return [ext, 5, colour];
}

/** The canonical SGR parameters of `style` ("" for the default): the same text as the server's
 * tracker gives (ccstream_ws.protocol.SgrState.params), so either can restore the other's. */
export function sgrParams(style) {
  const p = [];
  if (style.bold) p.push(1);
  if (style.dim) p.push(2);
  if (style.italic) p.push(3);
  if (style.underline) p.push(4);
  if (style.inverse) p.push(7);
  p.push(...colourParams(style.fg, 30, 90, 38));
  p.push(...colourParams(style.bg, 40, 100, 48));
  return p.join(';');
}

/** A style from canonical parameters (a page's `sgr`), the default for ''. */
export function styleOf(params) {
  return params ? applySgr(DEFAULT, params) : DEFAULT;
}

// Characters that need the slow path: C0 controls but tab, DEL, and C1 controls.
const SPECIAL = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/;
const SPECIAL_AT = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;
// An SGR sequence without a private marker or intermediates.
const PLAIN_SGR = /\x1b\[([0-9:;]*)m/y;

const sgrCache = new WeakMap();

/** applySgr, remembered per style (output repeats the same few sequences). */
function cachedSgr(style, params) {
  let known = sgrCache.get(style);
  if (known === undefined) {
    known = new Map();
    sgrCache.set(style, known);
  }
  let after = known.get(params);
  if (after === undefined) {
    after = applySgr(style, params);
    if (known.size < 256) known.set(params, after);
  }
  return after;
}

/** One terminal line being written; see the module comment. */
export class Line {
  constructor(style = DEFAULT, maxChars = 2000) {
    this.style = style;
    this.maxChars = maxChars;
    this.mode = 0; // 0 text, 1 after ESC, 2 CSI, 3 string (OSC, DCS...) to its end, 4 ESC in a string, 5 ESC + intermediates
    this.seq = '';
    this.clear();
  }

  clear() {
    // Append mode: text and runs grow at the end. Cell mode (after the cursor moved back):
    // one character and style per column.
    this.text = '';
    this.runs = [];
    this.cells = null;
    this.col = 0;
    this.width = 0;
  }

  /** Take the text of one line (no '\n'); an escape sequence may continue in the next feed. */
  feed(text) {
    if (this.mode === 0 && this.cells === null && !SPECIAL.test(text)) {
      this.append(text);
      return;
    }
    const n = text.length;
    let i = 0;
    while (i < n) {
      if (this.mode !== 0) {
        // Inside a sequence split across feeds: one character at a time (sequences are short).
        const ch = String.fromCodePoint(text.codePointAt(i));
        this.escape(ch);
        i += ch.length;
        continue;
      }
      SPECIAL_AT.lastIndex = i;
      const found = SPECIAL_AT.exec(text);
      const j = found === null ? n : found.index;
      if (j > i) this.put(text.slice(i, j));
      if (found === null) return;
      const ch = text[j];
      i = j + 1;
      if (ch === '\x1b') {
        // A whole SGR sequence, the common case, in one step.
        PLAIN_SGR.lastIndex = j;
        const sgr = PLAIN_SGR.exec(text);
        if (sgr !== null) {
          if (sgr[1].length <= MAX_SEQUENCE) this.style = cachedSgr(this.style, sgr[1]);
          i = PLAIN_SGR.lastIndex;
        } else {
          this.mode = 1;
        }
      } else if (ch === '\r') {
        this.moveTo(0);
      } else if (ch === '\b') {
        this.moveTo(Math.max(0, this.col - 1));
      }
      // Other controls (BEL, NUL, the 8-bit C1 controls, which UTF-8 terminals do not obey)
      // show nothing.
    }
  }

  escape(ch) {
    const code = ch.codePointAt(0);
    switch (this.mode) {
      case 1: // after ESC
        if (ch === '[') {
          this.mode = 2;
          this.seq = '';
        } else if (ch === ']' || ch === 'P' || ch === 'X' || ch === '^' || ch === '_') {
          this.mode = 3;
        } else if (code >= 0x20 && code <= 0x2f) {
          this.mode = 5;
        } else {
          this.mode = 0; // a two-character sequence (ESC 7, ESC =, ...): done
        }
        return;
      case 2: // CSI: parameters and intermediates, then a final byte 0x40-0x7e
        if (code >= 0x40 && code <= 0x7e) {
          this.mode = 0;
          if (this.seq.length <= MAX_SEQUENCE) this.csi(this.seq, ch);
          this.seq = '';
        } else if (code >= 0x20 && code <= 0x3f) {
          if (this.seq.length <= MAX_SEQUENCE) this.seq += ch;
        } else if (code === 0x1b) {
          this.mode = 1; // a new sequence cuts this one short
        } else {
          this.mode = 0; // not a CSI after all; the character is dropped with it
        }
        return;
      case 3: // a string (OSC, DCS, SOS, PM, APC): up to BEL or ST
        if (code === 0x07) this.mode = 0;
        else if (code === 0x1b) this.mode = 4;
        return;
      case 4: // ESC inside a string: '\' ends it
        this.mode = ch === '\\' ? 0 : ch === '\x1b' ? 4 : 3;
        return;
      case 5: // ESC + intermediates, up to a final byte
        if (code >= 0x30 && code <= 0x7e) this.mode = 0;
        else if (code < 0x20 || code > 0x2f) this.mode = 0;
        return;
      default:
        this.mode = 0;
    }
  }

  csi(seq, final) {
    const privateMarker = seq.length > 0 && seq.charCodeAt(0) >= 0x3c && seq.charCodeAt(0) <= 0x3f;
    if (privateMarker || /[ -/]/.test(seq)) return; // private modes and intermediates: ignored
    const n = (fallback) => {
      const value = seq === '' ? fallback : Number(seq.split(';')[0] || fallback);
      return Number.isInteger(value) ? value : fallback;
    };
    switch (final) {
      case 'm':
        this.style = applySgr(this.style, seq);
        break;
      case 'K': {
        const mode = n(0);
        this.toCells();
        if (mode === 0) this.erase(this.col, this.width);
        else if (mode === 1) this.erase(0, this.col + 1);
        else if (mode === 2) this.erase(0, this.width);
        break;
      }
      case 'G':
        this.moveTo(Math.max(0, n(1) - 1));
        break;
      case 'C':
        this.moveTo(this.col + Math.max(1, n(1)));
        break;
      case 'D':
        this.moveTo(Math.max(0, this.col - Math.max(1, n(1))));
        break;
      default:
        break; // other cursor moves, scrolling, modes: nothing a line of a log can show
    }
  }

  /** Plain text at the end of the line, in the current style (the fast path). */
  append(text) {
    if (!text) return;
    const room = this.maxChars - this.text.length;
    if (room > 0) {
      const kept = text.length > room ? text.slice(0, room) : text;
      this.text += kept;
      const last = this.runs[this.runs.length - 1];
      if (last !== undefined && last.s === this.style) last.n += kept.length;
      else this.runs.push({ n: kept.length, s: this.style });
    }
    this.col += text.length;
    this.width = Math.max(this.width, this.col);
  }

  put(text) {
    if (this.cells === null && this.col === this.width) {
      this.append(text);
      return;
    }
    this.toCells();
    for (const ch of text) {
      if (this.col < this.maxChars) {
        while (this.cells.length < this.col) this.cells.push(BLANK);
        this.cells[this.col] = [ch, this.style];
      }
      this.col += 1;
      this.width = Math.max(this.width, this.col);
    }
  }

  moveTo(col) {
    if (col !== this.col) this.toCells();
    this.col = col;
  }

  toCells() {
    if (this.cells !== null) return;
    const cells = [];
    let at = 0;
    for (const run of this.runs) {
      for (const ch of this.text.slice(at, at + run.n)) cells.push([ch, run.s]);
      at += run.n;
    }
    this.cells = cells;
    // Columns past maxChars are counted in width but never stored; text.length counted UTF-16
    // units, cells count code points, so the width is measured again in cells.
    this.width = Math.max(cells.length, this.width - this.text.length + cells.length);
    this.col = Math.min(this.col, this.width);
  }

  erase(from, to) {
    for (let i = from; i < Math.min(to, this.cells.length); i += 1) this.cells[i] = BLANK;
    if (to >= this.width) {
      // Blank from `from` to the end: the line is only as wide as what is still written.
      this.width = Math.min(this.width, from);
      if (this.cells.length > this.width) this.cells.length = this.width;
    }
  }

  /** What the line shows now: { text, runs, more } (runs: [{ n, s }], n in UTF-16 units). */
  snapshot() {
    if (this.cells === null) {
      return {
        text: this.text,
        runs: this.runs.map((r) => ({ n: r.n, s: r.s })),
        more: Math.max(0, this.width - this.maxChars),
      };
    }
    let text = '';
    const runs = [];
    for (const [ch, s] of this.cells) {
      text += ch;
      const last = runs[runs.length - 1];
      if (last !== undefined && last.s === s) last.n += ch.length;
      else runs.push({ n: ch.length, s });
    }
    return { text, runs, more: Math.max(0, this.width - this.maxChars) };
  }

  /** The finished line's row content; the next line starts empty, in the same style. */
  finish() {
    const shown = this.snapshot();
    this.clear();
    return shown;
  }
}

/** One whole line (no '\n') from `style`: its { text, runs, more } and the style after it. */
export function renderLine(text, style = DEFAULT, maxChars = 2000) {
  const line = new Line(style, maxChars);
  line.feed(text);
  const shown = line.finish();
  return { ...shown, style: line.style };
}

/** True when no run of `runs` is styled (a plain row). */
export function plain(runs) {
  return runs.every((r) => r.s === DEFAULT);
}
