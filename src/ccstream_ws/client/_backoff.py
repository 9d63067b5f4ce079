"""When to try a dropped connection again: exponential backoff with jitter, bounded in attempts
and in time. Sans-I/O: it is told the time and a random number, and answers with a delay.
"""

from __future__ import annotations

__all__ = ["Backoff"]


class Backoff:
    """Delays between reconnection attempts after a connection was lost.

    The first delay is ``initial`` seconds, each next one twice the last, at most ``maximum``;
    each is spread by up to ``jitter`` of itself either way (so many clients cut off together
    do not come back together). The attempts stop after ``attempts`` of them, or once
    ``within`` seconds passed since the first failure: :meth:`delay` then answers ``None``.
    :meth:`reset` starts over, after a connection was made again.
    """

    def __init__(
        self,
        *,
        within: float,
        attempts: int,
        initial: float = 0.1,
        maximum: float = 5.0,
        jitter: float = 0.2,
    ) -> None:
        if within < 0 or attempts < 0 or initial <= 0 or maximum < initial:
            raise ValueError("within and attempts must be >= 0, 0 < initial <= maximum")
        if not 0 <= jitter < 1:
            raise ValueError("jitter must be in [0, 1)")
        self.within = within
        self.attempts = attempts
        self.initial = initial
        self.maximum = maximum
        self.jitter = jitter
        self.tries = 0
        """Attempts handed out since the last :meth:`reset`."""
        self._since: float | None = None

    def delay(self, now: float, rand: float = 0.5) -> float | None:
        """Seconds to wait before the next attempt, or ``None`` when no attempt is left.
        ``now``: a monotonic clock in seconds; ``rand``: a number in [0, 1] for the jitter
        (0.5: none)."""
        if self._since is None:
            self._since = now
        left = self.within - (now - self._since)
        if self.tries >= self.attempts or left <= 0:
            return None
        base = min(self.initial * 2.0**self.tries, self.maximum)
        self.tries += 1
        spread = base * (1.0 + self.jitter * (2.0 * min(max(rand, 0.0), 1.0) - 1.0))
        return min(spread, left)

    def elapsed(self, now: float) -> float:
        """Seconds since the first failure (0 before it)."""
        return 0.0 if self._since is None else now - self._since

    def reset(self) -> None:
        """A connection was made: the next failure starts from ``initial`` again."""
        self.tries = 0
        self._since = None
