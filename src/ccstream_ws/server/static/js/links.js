// Line links: the address's fragment names the execution and, after it, lines of a stream.
//
//   #ID                 the execution
//   #ID/L123            line 123 of stdout
//   #ID/L120-L130       lines 120 to 130 of stdout
//   #ID/stderr/L5       line 5 of stderr (and ranges the same way)
//
// Sans-DOM: parse and format only; main.js scrolls and highlights.

const LINES = /^L(\d+)(?:-L?(\d+))?$/;

/** { id, stream, first, last } from a fragment ('#...' or without '#'); lines null when none. */
export function parseHash(hash) {
  const text = decodeURIComponent(hash.startsWith('#') ? hash.slice(1) : hash);
  const parts = text.split('/');
  const out = { id: parts[0] ?? '', stream: 'stdout', first: null, last: null };
  let rest = parts.slice(1);
  if (rest[0] === 'stdout' || rest[0] === 'stderr') {
    out.stream = rest[0];
    rest = rest.slice(1);
  }
  const match = rest.length === 1 ? LINES.exec(rest[0]) : null;
  if (match !== null) {
    const a = Number(match[1]);
    const b = match[2] === undefined ? a : Number(match[2]);
    if (a >= 1 && b >= 1) {
      out.first = Math.min(a, b);
      out.last = Math.max(a, b);
    }
  }
  return out;
}

/** The fragment for lines first..last of `stream` of execution `id` (no lines: just the id). */
export function formatHash(id, stream = 'stdout', first = null, last = first) {
  if (first === null) return `#${id}`;
  const where = stream === 'stderr' ? 'stderr/' : '';
  const lines = last === null || last === first ? `L${first}` : `L${first}-L${last}`;
  return `#${id}/${where}${lines}`;
}

/** Whether a row (kind out/err, 1-based line) is in the linked range `link`. */
export function linked(link, row) {
  if (link === null || link.first === null || row === null || row.line === null) return false;
  const stream = row.kind === 'err' ? 'stderr' : row.kind === 'out' ? 'stdout' : null;
  return stream === link.stream && row.line >= link.first && row.line <= link.last;
}
