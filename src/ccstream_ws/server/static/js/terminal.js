// The "terminal" toggle: run a command on a pseudo-terminal the size of the output view, and
// keep the terminal that size while the view changes (the protocol's `pty` and `resize`).

const MAX_SIZE = 65535;
const RESIZE_MS = 200; // a window being dragged sends one resize when it rests, not hundreds

/** Characters that fit in `viewport`: { rows, cols }, measured with the rows' own font. */
export function terminalSize(viewport, rowsEl) {
  const probe = document.createElement('div');
  probe.className = 'line';
  probe.style.position = 'absolute';
  probe.style.visibility = 'hidden';
  const text = document.createElement('span');
  text.className = 'tx';
  text.textContent = 'M'.repeat(100);
  probe.append(text);
  rowsEl.append(probe);
  const box = text.getBoundingClientRect();
  const rowBox = probe.getBoundingClientRect();
  probe.remove();
  const charWidth = box.width / 100 || 8;
  const rowHeight = rowBox.height || 18;
  // The line numbers take the start of each row: leave them their room.
  const width = Math.max(0, viewport.clientWidth - 80);
  const clamp = (n) => Math.min(MAX_SIZE, Math.max(1, Math.floor(n)));
  return { rows: clamp(viewport.clientHeight / rowHeight), cols: clamp(width / charWidth) };
}

/**
 * Keeps a running execution's terminal the size of `viewport`. `current()` gives the execution
 * to resize ({ id, pty } with pty the size it has, or null); `call(method, params)` sends a
 * request.
 */
export function followTerminalSize(viewport, rowsEl, current, call) {
  let timer = null;
  const resize = () => {
    timer = null;
    const exec = current();
    if (exec === null || !exec.pty) return;
    const size = terminalSize(viewport, rowsEl);
    if (size.rows === exec.pty.rows && size.cols === exec.pty.cols) return;
    exec.pty = size;
    call('resize', { execution_id: exec.id, ...size }).catch(() => {
      // An execution that ended meanwhile has no terminal to resize.
    });
  };
  new ResizeObserver(() => {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(resize, RESIZE_MS);
  }).observe(viewport);
}
