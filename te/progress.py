"""Progress of long computations, told to whoever listens (nobody by default).

Algorithms call :func:`report` at coarse steps (every few hundred demands, every LP); it costs
one global lookup when nobody listens. A front end installs a listener for a block of code with
:func:`reporting`; ``te-solve`` installs a :class:`LineReporter` that draws one status line on
stderr.

The listener is a module global, not a context variable, so that reports from worker threads
reach it too; listeners must therefore be thread-safe (:class:`LineReporter` is).

Examples
--------
>>> seen = []
>>> with reporting(lambda phase, done, total: seen.append((phase, done, total))):
...     report("paths", 256, 1000)
...     report("LPs", 3)
>>> report("paths", 512, 1000)  # nobody listens any more: nothing happens
>>> seen
[('paths', 256, 1000), ('LPs', 3, None)]
"""
from __future__ import annotations

import shutil
import threading
import time
from contextlib import contextmanager

__all__ = ["report", "reporting", "LineReporter"]

_listener = None


def report(phase: str, done: int | None = None, total: int | None = None) -> None:
    """Tell the listener, if any, that ``phase`` is at ``done`` of ``total`` (both optional).

    A phase reported with ``done`` but no ``total`` is a counter (``report("LPs", 12)``: 12 LPs
    solved so far); with neither, it only names what is being done now (``report("build")``).
    """
    listener = _listener
    if listener is not None:
        listener(phase, done, total)


@contextmanager
def reporting(callback):
    """Send every :func:`report` to ``callback(phase, done, total)`` inside the block.

    The previous listener is restored on exit, so blocks nest.
    """
    global _listener
    previous, _listener = _listener, callback
    try:
        yield callback
    finally:
        _listener = previous


class LineReporter:
    """A listener that shows the latest progress as one line: phase, done/total, counters, elapsed time.

    Nothing is shown during the first ``delay`` seconds, so quick runs stay quiet. On a terminal
    (``tty=True``) the line overwrites itself (carriage return) and is erased by :meth:`close`;
    otherwise (logs) every update is a line of its own, at most one per ``interval`` seconds,
    plus one every ``heartbeat`` seconds while nothing changes. As a context manager it also
    runs a daemon thread that keeps the elapsed time moving while no report arrives (one long LP).

    Examples
    --------
    >>> import io
    >>> now = [0.0]
    >>> out = io.StringIO()
    >>> line = LineReporter(out, tty=False, clock=lambda: now[0])
    >>> line("paths", 0, 40)        # within the first second: quiet
    >>> now[0] = 1.5; line("paths", 10, 40)
    >>> now[0] = 1.7; line("paths", 20, 40)   # within a second of the last line: held back
    >>> now[0] = 2.6; line("LPs", 2)
    >>> now[0] = 3.0; line("solve")           # held back too, until the ticker's next refresh
    >>> now[0] = 3.7; line.refresh()
    >>> print(out.getvalue(), end="")
    te-solve: paths 10/40 (25%), 1.5 s
    te-solve: paths 20/40 (50%), LPs 2, 2.6 s
    te-solve: solve, LPs 2, 3.7 s
    """

    def __init__(self, stream, *, tty: bool, prefix: str = "te-solve", delay: float = 1.0,
                 interval: float | None = None, heartbeat: float = 10.0, clock=time.monotonic):
        self.stream, self.tty, self.prefix = stream, tty, prefix
        self.delay, self.heartbeat, self.clock = delay, heartbeat, clock
        self.interval = (0.1 if tty else 1.0) if interval is None else interval
        self.start = clock()
        self.phase = None  # (name, done, total) of the latest phase that is not a counter
        self.counters = {}  # name -> latest count, in first-seen order
        self.changed = False
        self.drawn = False
        self.last = None  # time of the last line written
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None

    def __call__(self, phase, done=None, total=None):
        with self._lock:
            if done is not None and total is None:
                self.counters[phase] = done
            else:
                self.phase = (phase, done, total)
            self.changed = True
            self._draw(self.clock())

    def refresh(self):
        """Redraw if it is time to (the ticker thread calls this every ``interval``)."""
        with self._lock:
            self._draw(self.clock())

    def text(self, now) -> str:
        """The status line at time ``now``, without prefix."""
        parts = []
        if self.phase:
            name, done, total = self.phase
            if done is None:
                parts.append(name)
            elif total:
                parts.append(f"{name} {done}/{total} ({100 * done // total}%)")
            else:
                parts.append(f"{name} {done}/{total}")
        parts += [f"{name} {count}" for name, count in self.counters.items()]
        parts.append(f"{now - self.start:.1f} s")
        return ", ".join(parts)

    def _draw(self, now):
        if now - self.start < self.delay:
            return
        since = None if self.last is None else now - self.last
        if since is not None and since < self.interval:
            return
        if not self.tty and not self.changed and (since is None or since < self.heartbeat):
            return  # a log gets a line per change, and a heartbeat while nothing changes
        line = f"{self.prefix}: {self.text(now)}"
        try:
            if self.tty:  # cut to the terminal's width: a wrapped line cannot be overwritten
                self.stream.write(f"\r{line[:shutil.get_terminal_size().columns - 1]}\x1b[K")
            else:
                self.stream.write(line + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # stderr closed: progress is not worth failing for
            return
        self.drawn, self.changed, self.last = True, False, now

    def close(self):
        """Stop the ticker and erase the terminal line, so that what follows starts clean."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._lock:
            if self.tty and self.drawn:
                try:
                    self.stream.write("\r\x1b[K")
                    self.stream.flush()
                except (OSError, ValueError):
                    pass
            self.drawn = False

    def _tick(self):
        while not self._stop.wait(max(self.interval, 0.5)):
            self.refresh()

    def __enter__(self):
        self._thread = threading.Thread(target=self._tick, name="te-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.close()
