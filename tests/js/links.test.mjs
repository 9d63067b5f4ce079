// Unit tests of the viewer's line links (static/js/links.js) and plurals (static/js/format.js).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { formatHash, linked, parseHash } from '../../src/ccstream_ws/server/static/js/links.js';
import { plural } from '../../src/ccstream_ws/server/static/js/format.js';

test('a fragment names the execution, the stream and the lines', () => {
  assert.deepEqual(parseHash('#abc'), { id: 'abc', stream: 'stdout', first: null, last: null });
  assert.deepEqual(parseHash('#abc/L123'), { id: 'abc', stream: 'stdout', first: 123, last: 123 });
  assert.deepEqual(parseHash('#abc/L130-L120'), { id: 'abc', stream: 'stdout', first: 120, last: 130 });
  assert.deepEqual(parseHash('abc/stderr/L5-7'), { id: 'abc', stream: 'stderr', first: 5, last: 7 });
  assert.deepEqual(parseHash('#abc/L0'), { id: 'abc', stream: 'stdout', first: null, last: null });
  assert.deepEqual(parseHash('#abc/Lx'), { id: 'abc', stream: 'stdout', first: null, last: null });
});

test('formatting gives back what parsing reads', () => {
  for (const [stream, first, last] of [['stdout', 1, 1], ['stdout', 3, 9], ['stderr', 2, 4]]) {
    const hash = formatHash('id1', stream, first, last);
    assert.deepEqual(parseHash(hash), { id: 'id1', stream, first, last });
  }
  assert.equal(formatHash('id1'), '#id1');
  assert.equal(formatHash('id1', 'stdout', 7), '#id1/L7');
});

test('a row is linked when its stream and line are in the range', () => {
  const link = parseHash('#x/stderr/L2-L3');
  assert.equal(linked(link, { kind: 'err', line: 2 }), true);
  assert.equal(linked(link, { kind: 'out', line: 2 }), false);
  assert.equal(linked(link, { kind: 'err', line: 4 }), false);
  assert.equal(linked(link, { kind: 'note', line: null }), false);
});

test('counts take the singular for one and the plural otherwise', () => {
  assert.equal(plural(1, 'line'), '1 line');
  assert.equal(plural(0, 'line'), '0 lines');
  assert.equal(plural(2, 'line'), '2 lines');
  assert.equal(plural(1234567, 'byte'), '1,234,567 bytes');
  assert.equal(plural(1, 'more character'), '1 more character');
});
