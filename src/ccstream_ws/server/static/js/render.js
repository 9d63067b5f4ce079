// A row's text into the DOM: styled runs (ansi.js) as spans with classes and CSSOM styles.
//
// Output is untrusted: it only ever goes in as text nodes, never as markup, and a colour only
// ever as a palette class or a '#rrggbb' value the parser made.

import { DEFAULT } from './ansi.js';

const CUBE = [0, 95, 135, 175, 215, 255];

/** A palette colour (0-255) or '#rrggbb' as a CSS colour: 0-15 from the theme's variables. */
export function cssColour(colour) {
  if (typeof colour === 'string') return colour;
  if (colour < 16) return `var(--ansi-${colour})`;
  if (colour < 232) {
    const n = colour - 16;
    return `rgb(${CUBE[Math.floor(n / 36)]}, ${CUBE[Math.floor(n / 6) % 6]}, ${CUBE[n % 6]})`;
  }
  const grey = 8 + 10 * (colour - 232);
  return `rgb(${grey}, ${grey}, ${grey})`;
}

const looks = new WeakMap();

/** { className, color, background } of a style, made once per style object. */
function look(style) {
  let found = looks.get(style);
  if (found === undefined) {
    const classes = [];
    if (style.bold) classes.push('sgr-b');
    if (style.dim) classes.push('sgr-d');
    if (style.italic) classes.push('sgr-i');
    if (style.underline) classes.push('sgr-u');
    let fg = style.fg === null ? null : cssColour(style.fg);
    let bg = style.bg === null ? null : cssColour(style.bg);
    if (style.inverse) {
      [fg, bg] = [bg ?? 'var(--bg)', fg ?? 'var(--text)'];
    }
    found = { className: classes.join(' '), color: fg ?? '', background: bg ?? '' };
    looks.set(style, found);
  }
  return found;
}

/** Put `text` with its `runs` into `el` (replacing what it held), then `suffix` as plain text. */
export function fill(el, text, runs, suffix = '') {
  if (runs === undefined || runs.every((r) => r.s === DEFAULT)) {
    el.textContent = text + suffix;
    return;
  }
  const parts = [];
  let at = 0;
  for (const run of runs) {
    const piece = text.slice(at, at + run.n);
    at += run.n;
    if (run.s === DEFAULT) {
      parts.push(document.createTextNode(piece));
      continue;
    }
    const span = document.createElement('span');
    const { className, color, background } = look(run.s);
    if (className) span.className = className;
    if (color) span.style.color = color;
    if (background) span.style.background = background;
    span.textContent = piece;
    parts.push(span);
  }
  if (suffix) parts.push(document.createTextNode(suffix));
  el.replaceChildren(...parts);
}
