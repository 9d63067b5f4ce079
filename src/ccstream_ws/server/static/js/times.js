// The "times" toggle: each row's arrival time in front of it.
//
// Paged rows carry the time the server's spool recorded (`page` with `times: true`); live rows
// are stamped as they arrive here, on the server's clock (this clock plus the difference `ping`
// measured), so both read alike.

/** A time in seconds since the epoch as the local HH:MM:SS.mmm. */
export function formatTime(seconds) {
  const at = new Date(seconds * 1000);
  const two = (n) => String(n).padStart(2, '0');
  return (
    `${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}.` +
    String(at.getMilliseconds()).padStart(3, '0')
  );
}

/** Show `row`'s time on its element (a `data-time` the stylesheet shows when times are on). */
export function showTime(el, row) {
  if (row !== null && typeof row.time === 'number') el.dataset.time = formatTime(row.time);
  else el.removeAttribute('data-time');
}

/** Stamp the newest live rows that have no time yet with `now` (seconds, the server's clock). */
export function stampRows(rows, now) {
  for (let i = rows.length - 1; i >= 0 && rows[i].time === undefined; i -= 1) rows[i].time = now;
}

/**
 * The toggle. `onChange(enabled)` runs after each switch (the caller fetches pages again, with
 * times or without); the body's `show-times` class shows or hides them.
 */
export class Timestamps {
  constructor(button, onChange) {
    this.enabled = false;
    this.button = button;
    this.onChange = onChange;
    button.addEventListener('click', () => this.set(!this.enabled));
  }

  set(enabled) {
    this.enabled = enabled;
    this.button.setAttribute('aria-pressed', String(enabled));
    document.body.classList.toggle('show-times', enabled);
    this.onChange(enabled);
  }
}
