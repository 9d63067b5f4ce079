// What the page knows of the execution it shows: where each stream's output got to, so a new
// connection can resume exactly there, and what arrived out of order.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class Execution {
  constructor(id) {
    this.id = id;
    this.argv = null;
    this.state = 'starting';
    this.completed = false;
    this.subscribed = false;
    // The byte offset just past the last frame received, per stream: resume from here.
    this.next = { stdout: 0, stderr: 0 };
    this.received = { stdout: 0, stderr: 0 };
    this.holes = 0; // frames that started past `next`: output never received
    this.repeats = 0; // frames that started before `next`: output received twice
  }

  /**
   * Take a `process.output`; returns the text not seen before ('' for a repeat), and the bytes
   * missing before it (0 when it follows on exactly).
   */
  take(params) {
    const stream = params.type;
    let text = params.data;
    if (params.offset === undefined) return { text, missing: 0 }; // a held-back character
    const expected = this.next[stream];
    const end = params.offset + params.size;
    let missing = 0;
    if (params.offset > expected) {
      this.holes += 1;
      missing = params.offset - expected;
    } else if (params.offset < expected) {
      this.repeats += 1;
      if (end <= expected) return { text: '', missing: 0 };
      // Part of it is new: cut at the byte where `next` was.
      text = decoder.decode(encoder.encode(text).slice(expected - params.offset));
    }
    this.next[stream] = Math.max(expected, end);
    this.received[stream] += end - Math.max(params.offset, expected);
    return { text, missing };
  }
}

/** Split a command line into words: spaces separate, quotes and backslashes group. */
export function splitWords(line) {
  const words = [];
  let word = null;
  let quote = null;
  for (let i = 0; i < line.length; i += 1) {
    const c = line[i];
    if (quote !== null) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) word += line[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      word ??= '';
    } else if (c === '\\' && i + 1 < line.length) {
      word = (word ?? '') + line[++i];
    } else if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== null) words.push(word);
  return words;
}
