// Unit tests of the viewer's terminal parser (static/js/ansi.js), run by `node --test`.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import {
  DEFAULT,
  Line,
  applySgr,
  renderLine,
  sgrParams,
  styleOf,
} from '../../src/ccstream_ws/server/static/js/ansi.js';

const vectors = JSON.parse(readFileSync(new URL('./sgr_vectors.json', import.meta.url))).vectors;

/** The runs of a rendered line as [text, params] pairs. */
function pieces(shown) {
  const out = [];
  let at = 0;
  for (const run of shown.runs) {
    out.push([shown.text.slice(at, at + run.n), sgrParams(run.s)]);
    at += run.n;
  }
  return out;
}

test('the state after each shared vector has the canonical parameters', () => {
  for (const [input, expected] of vectors) {
    assert.equal(sgrParams(renderLine(input).style), expected, JSON.stringify(input));
  }
});

test('canonical parameters restore the same style (the page field round trip)', () => {
  for (const [input] of vectors) {
    const style = renderLine(input).style;
    assert.deepEqual(styleOf(sgrParams(style)), style);
  }
});

test('16, 256 and 24-bit colours and the attributes', () => {
  const s = applySgr(DEFAULT, '1;2;3;4;7;31;48;2;1;2;3');
  assert.deepEqual(
    { ...s },
    { fg: 1, bg: '#010203', bold: true, dim: true, italic: true, underline: true, inverse: true },
  );
  assert.equal(applySgr(DEFAULT, '38;5;208').fg, 208);
  assert.equal(applySgr(DEFAULT, '93').fg, 11);
  assert.equal(applySgr(s, '0'), DEFAULT);
  assert.equal(applySgr(s, ''), DEFAULT);
});

test('coloured text is split into runs and the escapes are not shown', () => {
  const shown = renderLine('a \x1b[31mred\x1b[0m and \x1b[1;38;5;33mblue\x1b[m.');
  assert.equal(shown.text, 'a red and blue.');
  assert.deepEqual(pieces(shown), [
    ['a ', ''],
    ['red', '31'],
    [' and ', ''],
    ['blue', '1;38;5;33'],
    ['.', ''],
  ]);
});

test('other control sequences are removed, never shown', () => {
  const input =
    '\x1b[?25l\x1b]0;window title\x07\x1b[2J\x1b[Hok\x1bPdcs data\x1b\\' +
    '\x1b(B\x1b=\x1b]8;;http://example.com\x1b\\link\x1b]8;;\x1b\\\x07\x00\x7f!';
  assert.equal(renderLine(input).text, 'oklink!');
});

test('a carriage return rewrites the line: a progress bar shows its last state', () => {
  const bar = Array.from({ length: 51 }, (_, i) => `${String(i * 2).padStart(3)}%`).join('\r');
  assert.equal(renderLine(bar).text, '100%');
  // As on a terminal, a shorter rewrite leaves the end of the longer text.
  assert.equal(renderLine('12345\rab').text, 'ab345');
  // ...unless the line is erased first (CSI K), as tqdm and pip do.
  assert.equal(renderLine('12345\r\x1b[Kab').text, 'ab');
  assert.equal(renderLine('12345\x1b[2K\rab').text, 'ab');
  assert.equal(renderLine('12345\x1b[1Gx').text, 'x2345');
  assert.equal(renderLine('abc\bX').text, 'abX');
  assert.equal(renderLine('line\r').text, 'line');
});

test('a rewritten line keeps the colours of what was written last', () => {
  const shown = renderLine('\x1b[31mfail\r\x1b[32mok\x1b[0m');
  assert.deepEqual(pieces(shown), [
    ['ok', '32'],
    ['il', '31'],
  ]);
});

test('a sequence split across feeds is still one sequence', () => {
  const line = new Line();
  for (const part of ['a\x1b', '[3', '1mb', '\x1b]0;ti', 'tle\x1b', '\\c']) line.feed(part);
  const shown = line.finish();
  assert.equal(shown.text, 'abc');
  assert.deepEqual(pieces(shown), [
    ['a', ''],
    ['bc', '31'],
  ]);
});

test('the style carries on to the next line, as on a terminal', () => {
  const line = new Line();
  line.feed('\x1b[33mwarn');
  line.finish();
  line.feed('still yellow');
  assert.deepEqual(pieces(line.finish()), [['still yellow', '33']]);
});

test('a long line keeps maxChars cells and counts the rest', () => {
  const shown = renderLine('x'.repeat(50), DEFAULT, 10);
  assert.equal(shown.text, 'x'.repeat(10));
  assert.equal(shown.more, 40);
  const rewritten = renderLine(`${'y'.repeat(30)}\rab`, DEFAULT, 10);
  assert.equal(rewritten.text, `ab${'y'.repeat(8)}`);
  assert.equal(rewritten.more, 20);
  // An unterminated string never grows without bound, and never shows.
  const line = new Line();
  line.feed('\x1b]');
  for (let i = 0; i < 1000; i += 1) line.feed('z'.repeat(1000));
  assert.equal(line.finish().text, '');
});

test('a page starts from the state the server sends', () => {
  const shown = renderLine('text', styleOf('1;38;2;10;20;30'));
  assert.deepEqual(pieces(shown), [['text', '1;38;2;10;20;30']]);
});
