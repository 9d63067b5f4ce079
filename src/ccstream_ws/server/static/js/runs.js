// The executions this page may see (the server's `list`): running ones and recent ones, newest
// first; a click attaches to one. Refreshed while the panel is open.

import { argv as showArgv, bytes, exitStatus, plural } from './format.js';

const REFRESH_MS = 2000;
const LIMIT = 50;

export class RunList {
  /** call(method, params) makes a request; onPick(id) attaches to an execution. */
  constructor(panel, toggle, call, onPick) {
    this.panel = panel;
    this.toggle = toggle;
    this.call = call;
    this.onPick = onPick;
    this.body = panel.querySelector('tbody');
    this.summary = panel.querySelector('.summary');
    this.timer = null;
    toggle.addEventListener('click', () => this.show(panel.hidden));
    this.body.addEventListener('click', (event) => {
      const tr = event.target.closest('tr[data-id]');
      if (tr !== null) this.onPick(tr.dataset.id);
    });
  }

  show(open) {
    this.panel.hidden = !open;
    this.toggle.setAttribute('aria-expanded', String(open));
    clearInterval(this.timer);
    this.timer = null;
    if (open) {
      this.refresh();
      this.timer = setInterval(() => this.refresh(), REFRESH_MS);
    }
  }

  async refresh() {
    let answer;
    try {
      answer = await this.call('list', { limit: LIMIT });
    } catch (error) {
      this.summary.textContent = `cannot list the executions: ${error.message}`;
      return;
    }
    const scope = answer.scope === 'own' ? ' (this server shows each page only its own)' : '';
    this.summary.textContent =
      `${plural(answer.running, 'running execution')} · ` +
      `${plural(answer.total, 'execution')} kept${scope}` +
      (answer.total > answer.executions.length ? ` · the newest ${answer.executions.length} shown` : '');
    this.body.replaceChildren(...answer.executions.map(rowOf));
  }
}

function cell(text, className = '') {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function rowOf(e) {
  const tr = document.createElement('tr');
  tr.dataset.id = e.execution_id;
  tr.dataset.state = e.state;
  const state = e.result ? exitStatus(e.result).status : e.state;
  const badge = cell(state, `state status-${state}`);
  const out = e.stdout ?? { bytes: 0, lines: 0 };
  const err = e.stderr ?? { bytes: 0, lines: 0 };
  const when = e.started_at ? new Date(e.started_at * 1000).toLocaleTimeString() : '–';
  tr.append(
    badge,
    cell(e.execution_id.slice(0, 12), 'id'),
    cell(e.argv ? showArgv(e.argv) : '', 'argv'),
    cell(when),
    cell(`${plural(out.lines, 'line')} · ${bytes(out.bytes)}`),
    cell(`${plural(err.lines, 'line')} · ${bytes(err.bytes)}`),
    cell(e.result ? exitStatus(e.result).how : e.mine ? 'started here' : ''),
  );
  return tr;
}
