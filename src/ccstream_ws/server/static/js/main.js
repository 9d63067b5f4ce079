// The viewer page: start or attach to an execution, show its output live and page through it.

import { Execution, splitWords } from './execution.js';
import { argv as showArgv } from './format.js';
import { LiveLines } from './lines.js';
import { formatHash, linked, parseHash } from './links.js';
import { ListView } from './listview.js';
import { StreamPages } from './pages.js';
import { Policy } from './policy.js';
import { Progress } from './progress.js';
import { Connection } from './rpc.js';
import { RunList } from './runs.js';
import { WholeLine } from './whole.js';
import { followTerminalSize, terminalSize } from './terminal.js';
import { Timestamps, stampRows } from './times.js';
import { installSearch } from './search.js';

const REPLAY_ALL_BELOW = 4 * 1024 * 1024; // attach: replay a run this small from its start
const REPLAY_TAIL = 256 * 1024; // else the last this many bytes of each stream
const STATUS_MS = 500;
const TICK_MS = 250;

const $ = (selector) => document.querySelector(selector);

/** The token from the address (?token=...), taken out of the address bar (and the history). */
function takeToken() {
  const url = new URL(location.href);
  const token = url.searchParams.get('token');
  if (token !== null) {
    url.searchParams.delete('token');
    history.replaceState(null, '', url);
  }
  return token;
}

const base = new URL('./', location.href);

// No address carries the token: the server's session cookie (HttpOnly, SameSite=Strict) goes
// with the WebSocket and the downloads, and addresses end up in logs.
function endpoint(path, scheme = null) {
  const url = new URL(path, base);
  if (scheme !== null) url.protocol = scheme;
  return url.href;
}

/** Trade the token for the server's session cookie; this page never holds the cookie. */
async function login(token) {
  const answer = await fetch(endpoint('login'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
    credentials: 'same-origin',
    cache: 'no-store',
  });
  if (!answer.ok) {
    let reason = `HTTP ${answer.status}`;
    try {
      reason = (await answer.json()).error ?? reason;
    } catch {
      // The status says enough.
    }
    throw new Error(reason);
  }
}

async function signIn(event) {
  event.preventDefault();
  const field = $('#token');
  try {
    await login(field.value);
  } catch (error) {
    say(`sign-in failed: ${error.message}`, 'error');
    return;
  }
  field.value = '';
  $('#login-form').hidden = true;
  say('signed in');
  conn.start();
}

const live = new LiveLines();
const progress = new Progress($('#execution'));
let link = null; // the linked lines ({ id, stream, first, last }: links.js), or null
const view = new ListView($('#viewport'), $('#spacer'), $('#rows'), {
  onFollow: (follow) => $('#follow').setAttribute('aria-pressed', String(follow)),
  mark: (row) => linked(link, row),
});
const policy = new Policy($('#policy'), $('#argv-mode'));
const whole = new WholeLine(
  $('#whole'),
  (stream, line, maxBytes) =>
    conn.call('page', { execution_id: exec.id, stream, line, count: 1, encoding: 'text', max_bytes: maxBytes }),
  (stream, first, last) => {
    const url = new URL(endpoint(`executions/${exec.id}/${stream}`));
    url.searchParams.set('range', `bytes=${first}-${last}`);
    return url.href;
  },
);
const runs = new RunList($('#runs'), $('#runs-toggle'), (method, params) => conn.call(method, params), (id) =>
  attach(id),
);
let exec = null;
let pages = {};
let tab = 'all';
const tabStates = new Map();
let polling = false;
// Times shown: pages are fetched again with them (and live rows carry theirs already).
const timestamps = new Timestamps($('#times'), () => {
  for (const stream of Object.values(pages)) stream.lines.clear();
  view.invalidate();
});

const conn = new Connection(endpoint('ws', location.protocol === 'https:' ? 'wss:' : 'ws:'), {
  onState: showConnection,
  onOpen: opened,
  onNotify: notified,
  onError: (error) => say(`server: ${error.message} (code ${error.code})`, 'error'),
});

function say(text, kind = 'info') {
  const el = $('#message');
  el.textContent = text;
  el.dataset.kind = kind;
}

function showConnection(state, detail) {
  const el = $('#connection');
  el.dataset.state = state;
  el.textContent = detail ? `${state}: ${detail}` : state;
  if (state === 'refused') say(`The server refused this page: ${detail}.`, 'error');
  if (state === 'refused' && conn.refusedCode === 4401) {
    $('#login-form').hidden = false;
    $('#token').focus();
  }
  updateControls();
}

async function opened(greeting, again) {
  const sent = Date.now();
  try {
    const pong = await conn.call('ping');
    progress.skew = pong.time - (sent + Date.now()) / 2000;
  } catch {
    // The clock difference only refines the elapsed time.
  }
  conn
    .call('policy')
    .then((answer) => policy.apply(answer))
    .catch(() => {}); // an older server: Run says what it refuses
  if (exec !== null && !exec.completed && again) {
    await subscribe(exec.next);
  } else if (exec === null && location.hash.length > 1) {
    await followHash();
  }
}

// -- line links ---------------------------------------------------------------------------------

/** The address's fragment: attach to its execution, then show and mark its lines. */
async function followHash() {
  const wanted = parseHash(location.hash);
  if (!wanted.id) return;
  if (exec === null || exec.id !== wanted.id) await attach(wanted.id);
  if (exec === null || exec.id !== wanted.id) return;
  link = wanted.first === null ? null : wanted;
  if (link !== null) {
    showTab(link.stream);
    // A few lines above it stay in sight, as in other log viewers.
    view.scrollToRow(Math.max(0, link.first - 4));
  }
  view.invalidate();
}

/** A line number was clicked: link it (shift: the range from the linked line to it). */
function linkLine(el, extend) {
  if (exec === null || el.dataset.line === undefined) return;
  const stream = el.classList.contains('err') ? 'stderr' : 'stdout';
  const line = Number(el.dataset.line);
  let first = line;
  let last = line;
  if (extend && link !== null && link.stream === stream && link.first !== null) {
    first = Math.min(link.first, line);
    last = Math.max(link.last, line);
  }
  link = { id: exec.id, stream, first, last };
  history.replaceState(null, '', formatHash(exec.id, stream, first, last));
  view.invalidate();
}

// -- executions ---------------------------------------------------------------------------------

function begin(id) {
  exec = new Execution(id);
  live.reset();
  progress.reset();
  const changed = () => view.invalidate();
  const fetchPage = (stream) => (line, count, maxBytes) =>
    conn.call('page', {
      execution_id: id,
      stream,
      line,
      count,
      encoding: 'text',
      max_bytes: maxBytes,
      times: timestamps.enabled,
    });
  // A cut line's rest: a byte range of the stream's download (the range parameter is the
  // Range header's value, for a link).
  const rangeUrl = (stream) => (first, last) => {
    const url = new URL(endpoint(`executions/${id}/${stream}`));
    url.searchParams.set('range', `bytes=${first}-${last}`);
    return url.href;
  };
  const onError = (message) => say(`cannot page through the output: ${message}`, 'error');
  const options = (stream) => ({ onError, rangeUrl: rangeUrl(stream) });
  pages = {
    stdout: new StreamPages('stdout', fetchPage('stdout'), changed, options('stdout')),
    stderr: new StreamPages('stderr', fetchPage('stderr'), changed, options('stderr')),
  };
  tabStates.clear();
  showTab(tab);
  $('#execution').hidden = false;
  $('#exec-id').textContent = id;
  $('#exec-argv').textContent = '';
  for (const what of ['stdout', 'stderr', 'merged']) {
    $(`#dl-${what}`).href = endpoint(`executions/${id}/${what}`);
  }
  // The address names the execution (and keeps the linked lines of a link to it).
  if (parseHash(location.hash).id !== id) history.replaceState(null, '', formatHash(id));
  link = null;
  whole.close();
  updateControls();
}

async function run(event) {
  event.preventDefault();
  const line = $('#command').value.trim();
  if (!line) return;
  // Detached: a dropped connection must not cancel the run; the page reconnects and resumes.
  const params = { detach: true, output_options: { encoding: 'text' } };
  if ($('#argv-mode').checked) params.argv = splitWords(line);
  else params.command = line;
  const refusal = policy.refusal(line, params.argv ?? [], params.argv !== undefined);
  if (refusal !== null) {
    say(`not run: ${refusal}`, 'error');
    return;
  }
  if ($('#pty-mode').checked) params.pty = terminalSize($('#viewport'), $('#rows'));
  for (const [field, name] of [['#timeout', 'timeout'], ['#idle-timeout', 'idle_timeout']]) {
    const value = Number($(field).value);
    if ($(field).value !== '' && value > 0) params[name] = value;
  }
  try {
    const started = await conn.call('execute', params);
    begin(started.execution_id);
    exec.pty = params.pty ?? null;
    exec.state = 'running';
    exec.subscribed = true;
    say(`started pid ${started.pid}`);
    updateControls();
  } catch (error) {
    say(`could not start: ${error.message}${error.code ? ` (code ${error.code})` : ''}`, 'error');
  }
}

async function attach(id) {
  let status;
  try {
    status = await conn.call('status', { execution_id: id });
  } catch (error) {
    say(`could not attach to ${id}: ${error.message}`, 'error');
    return;
  }
  begin(id);
  showStatus(status);
  // An ended run's status is known now; the replay below still brings its output.
  if (status.state === 'ended' && status.result) completed(status.result);
  const total = status.stdout.bytes + status.stderr.bytes;
  let offsets = { stdout: 0, stderr: 0 };
  if (total > REPLAY_ALL_BELOW) {
    offsets = {
      stdout: Math.max(0, status.stdout.bytes - REPLAY_TAIL),
      stderr: Math.max(0, status.stderr.bytes - REPLAY_TAIL),
    };
    live.startMidway(
      '⋯ attached near the end: this live view starts with the last ' +
        `${REPLAY_TAIL / 1024} KiB of each stream; the stdout and stderr tabs page through all of it`,
    );
  }
  exec.next = { ...offsets };
  await subscribe(offsets);
}

async function subscribe(offsets) {
  const current = exec;
  try {
    await conn.call('subscribe', {
      execution_id: current.id,
      offsets,
      output_options: { encoding: 'text' },
    });
    current.subscribed = true;
    say(`following ${current.id}`);
  } catch (error) {
    current.subscribed = false;
    say(`no live output from the server: ${error.message}`, 'error');
  }
}

function showStatus(status) {
  if (exec === null) return;
  if (status.argv) $('#exec-argv').textContent = showArgv(status.argv);
  if (!exec.completed) exec.state = status.state;
  progress.update(status);
  for (const name of ['stdout', 'stderr']) {
    if (status[name]?.lines !== null && status[name]?.lines !== undefined) {
      pages[name].setKnown(status[name].lines);
    }
  }
  updateControls();
}

function completed(params) {
  exec.completed = true;
  exec.state = 'ended';
  progress.completed(params);
  for (const name of ['stdout', 'stderr']) {
    if (params[name]?.lines !== null && params[name]?.lines !== undefined) {
      pages[name].setKnown(params[name].lines);
    }
  }
  updateControls();
}

function notified(method, params) {
  if (exec === null || params.execution_id !== exec.id) return;
  switch (method) {
    case 'process.output': {
      const { text, missing } = exec.take(params);
      if (missing) live.note('missing', `⋯ ${missing.toLocaleString('en-US')} bytes of ${params.type} never arrived here`);
      if (text) live.push(params.type, text);
      const lines = live.lines(params.type);
      if (lines !== null) progress.received(params.type, exec.next[params.type], lines);
      stampRows(live.rows, Date.now() / 1000 + progress.skew);
      if (tab === 'all') view.invalidate();
      break;
    }
    case 'process.gap':
      live.note(
        'gap',
        `⋯ ${params.type}: ${params.lines.toLocaleString('en-US')} lines, ` +
          `${params.bytes.toLocaleString('en-US')} bytes dropped by the ` +
          `${params.reason === 'quota' ? 'disk quota' : params.reason} (from byte ${params.offset.toLocaleString('en-US')})`,
      );
      view.invalidate();
      break;
    case 'process.truncated':
      live.note(
        'gap',
        `⋯ ${params.type} truncated after ${params.sent_lines.toLocaleString('en-US')} lines ` +
          `(${params.sent_bytes.toLocaleString('en-US')} bytes); the rest is in the ${params.type} tab`,
      );
      view.invalidate();
      break;
    case 'process.started':
      exec.argv = params.argv;
      exec.state = 'running';
      $('#exec-argv').textContent = showArgv(params.argv);
      updateControls();
      break;
    case 'process.paused':
    case 'process.resumed':
      exec.state = method === 'process.paused' ? 'paused' : 'running';
      updateControls();
      break;
    case 'process.completed':
      completed(params);
      view.invalidate();
      break;
    default:
      break;
  }
}

async function poll() {
  if (polling || exec === null || exec.completed || !conn.open) return;
  polling = true;
  const current = exec;
  try {
    const status = await conn.call('status', { execution_id: current.id });
    if (current === exec) {
      showStatus(status);
      // Without a live subscription the end shows up here.
      if (status.state === 'ended' && status.result && !current.subscribed) completed(status.result);
    }
  } catch {
    // Dropped connections and expired executions are reported elsewhere.
  } finally {
    polling = false;
  }
}

// -- controls -----------------------------------------------------------------------------------

async function control(type) {
  if (exec === null) return;
  try {
    if (type === 'CANCEL') await conn.call('cancel', { execution_id: exec.id });
    else await conn.call('control', { type, execution_id: exec.id });
  } catch (error) {
    say(`${type.toLowerCase()}: ${error.message}`, 'error');
  }
  poll();
}

function updateControls() {
  const open = conn.open;
  $('#run').disabled = !open;
  $('#attach').disabled = !open;
  const state = exec === null ? null : exec.completed ? 'ended' : exec.state;
  const badge = $('#state');
  badge.textContent = state ?? '';
  badge.dataset.state = state ?? '';
  $('#pause').disabled = !open || state !== 'running';
  $('#resume').disabled = !open || state !== 'paused';
  $('#cancel').disabled = !open || state === 'ended' || state === null;
}

function showTab(name) {
  if (tab !== name) tabStates.set(tab, view.save());
  tab = name;
  for (const button of document.querySelectorAll('#tabs [data-tab]')) {
    button.setAttribute('aria-selected', String(button.dataset.tab === name));
  }
  const source = name === 'all' ? live : pages[name] ?? null;
  view.setSource(source, tabStates.get(name) ?? null);
}

function goTo(event) {
  event.preventDefault();
  const line = Number($('#goto').value);
  if (!Number.isInteger(line) || line < 1) return;
  if (tab === 'all') showTab('stdout');
  view.scrollToRow(line - 1);
}

$('#run-form').addEventListener('submit', run);
$('#login-form').addEventListener('submit', signIn);
$('#attach-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const id = $('#attach-id').value.trim();
  if (id) attach(id);
});
$('#pause').addEventListener('click', () => control('PAUSE'));
$('#resume').addEventListener('click', () => control('RESUME'));
$('#cancel').addEventListener('click', () => control('CANCEL'));
$('#follow').addEventListener('click', () => view.setFollow(true));
$('#goto-form').addEventListener('submit', goTo);
$('#wrap').addEventListener('click', () => {
  const wrap = !view.wrap;
  $('#wrap').setAttribute('aria-pressed', String(wrap));
  view.setWrap(wrap);
});
$('#rows').addEventListener('click', (event) => {
  const row = event.target.closest('.line');
  if (row === null) return;
  if (event.target.closest('.ln')) linkLine(row, event.shiftKey);
  else if (event.target.closest('button.whole') && row.dataset.line !== undefined) {
    whole.open(row.classList.contains('err') ? 'stderr' : 'stdout', Number(row.dataset.line));
  }
});
window.addEventListener('hashchange', () => followHash());
for (const button of document.querySelectorAll('#tabs [data-tab]')) {
  button.addEventListener('click', () => showTab(button.dataset.tab));
}

followTerminalSize(
  $('#viewport'),
  $('#rows'),
  () => (exec !== null && !exec.completed ? exec : null),
  (method, params) => conn.call(method, params),
);
installSearch({
  anchor: $('#goto-form'),
  call: (method, params) => conn.call(method, params),
  current: () => (exec === null ? null : { id: exec.id, tab }),
  show: (stream, line) => {
    if (tab !== stream) showTab(stream);
    view.scrollToRow(Math.max(0, line - 3)); // a few lines of context above the match
  },
  rows: $('#rows'),
});

setInterval(poll, STATUS_MS);
setInterval(() => progress.draw(), TICK_MS);
showTab('all');
updateControls();
const addressToken = takeToken();
if (addressToken === null) {
  conn.start();
} else {
  login(addressToken)
    .catch((error) => say(`sign-in failed: ${error.message}`, 'error'))
    .finally(() => conn.start());
}

// For tests and the curious: what the page holds, and a way to cut the connection.
window.ccstreamViewer = {
  get state() {
    return {
      connection: conn.state,
      reconnects: conn.reconnects,
      execution: exec?.id ?? null,
      execState: exec === null ? null : exec.completed ? 'ended' : exec.state,
      next: exec?.next ?? null,
      received: exec?.received ?? null,
      holes: exec?.holes ?? 0,
      repeats: exec?.repeats ?? 0,
      liveRows: live.rows.length,
      liveDropped: live.dropped,
      domRows: document.querySelectorAll('#rows .line').length,
      follow: view.follow,
      wrap: view.wrap,
      link,
      tab,
    };
  },
  drop: () => conn.drop(),
  forgetPolicy: () => {
    policy.policy = null;
  },
};
