// Numbers, sizes, durations and exit statuses as the viewer shows them.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** A byte count with a binary unit: 1536 -> "1.5 KiB". */
export function bytes(n) {
  if (n === null || n === undefined) return '–';
  let unit = 0;
  let value = n;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${UNITS[unit]}`;
}

/** A count with thousands separators: 1234567 -> "1,234,567". */
export function count(n) {
  if (n === null || n === undefined) return '–';
  return Math.round(n).toLocaleString('en-US');
}

/** A count and its noun, singular or plural: (1, 'line') -> "1 line", (2, 'line') -> "2 lines". */
export function plural(n, noun, nouns = `${noun}s`) {
  return `${count(n)} ${n === 1 ? noun : nouns}`;
}

/** Seconds as "0.42 s", "12.3 s", "4:05" or "1:02:03". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  if (seconds < 10) return `${seconds.toFixed(2)} s`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.floor(seconds);
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

/** A rate from bytes and lines per second: "12.0 MiB/s · 110,000 lines/s". */
export function rate(bytesPerSecond, linesPerSecond) {
  if (bytesPerSecond === null) return '–';
  const lines = linesPerSecond === null ? '' : ` · ${count(linesPerSecond)} lines/s`;
  return `${bytes(bytesPerSecond)}/s${lines}`;
}

const REASONS = {
  exited: 'exited',
  signalled: 'killed by a signal',
  timeout: 'timed out (total time limit)',
  idle_timeout: 'timed out (no output for too long)',
  cancelled: 'cancelled',
  memory_limit: 'over the memory limit',
  spool_error: 'the spool could not be written',
  internal_error: 'the adapter failed',
};

/** The exit status of a `process.completed` (or a status `result`): what ended it and why. */
export function exitStatus(p) {
  const how = p.signal
    ? `signal ${p.signal}`
    : p.exit_code === null || p.exit_code === undefined
      ? 'no exit code'
      : `exit code ${p.exit_code}`;
  const why = REASONS[p.reason] ?? p.reason ?? 'unknown';
  return { status: p.status ?? 'ended', how, why, took: duration(p.execution_time) };
}

const argDecoder = new TextDecoder();

/** An argv as the server sends it (each element text, or {base64} for bytes that are not
 * UTF-8), for display: such bytes show as U+FFFD. */
export function argv(list) {
  return list
    .map((arg) => {
      if (typeof arg === 'string') return arg;
      const raw = Uint8Array.from(atob(arg.base64), (c) => c.charCodeAt(0));
      return argDecoder.decode(raw);
    })
    .join(' ');
}
