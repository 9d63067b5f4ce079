// Reads a JSON list of strings on stdin; prints the JSON list of the canonical SGR parameters
// the viewer's parser (static/js/ansi.js) leaves in effect after each (test_sgr.py compares
// them with the server's tracker).
import { renderLine, sgrParams } from '../../src/ccstream_ws/server/static/js/ansi.js';

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  input += chunk;
});
process.stdin.on('end', () => {
  const out = JSON.parse(input).map((text) => sgrParams(renderLine(text).style));
  process.stdout.write(JSON.stringify(out));
});
