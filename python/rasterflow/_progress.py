"""progress=True: a tqdm bar when tqdm is installed (Debian: python3-tqdm), else a plain line on
sys.stderr rewritten at most 4 times a second (docs/python.md, "Progress")."""
import sys as _sys
import time as _time


class _Line:
    """The plain line: ``<desc>: <n>/<total> <unit> (<percent>%)``."""

    def __init__(self, total, unit, desc):
        self.total, self.unit, self.desc, self.n = total, unit, desc, 0
        self._shown = 0.0

    def update(self, k):
        self.n += k
        now = _time.monotonic()
        if now - self._shown >= 0.25 or self.n >= self.total:
            self._shown = now
            self._show()

    def _show(self):
        percent = 100.0 * self.n / self.total if self.total else 100.0
        _sys.stderr.write(f"\r{self.desc}: {self.n}/{self.total} {self.unit} ({percent:.0f}%)")
        _sys.stderr.flush()

    def close(self):
        self._show()
        _sys.stderr.write("\n")
        _sys.stderr.flush()


def bar(total, unit, desc):
    """A progress display of ``total`` units: tqdm's when installed, else the plain line."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _Line(total, unit, desc)
    return tqdm(total=total, unit=unit, desc=desc)


class RunProgress:
    """run(progress=True): the live figures' cells_done as a bar of cells_total."""

    def __init__(self):
        self._bar = None

    def __call__(self, live):
        if self._bar is None:
            self._bar = bar(live["cells_total"], "cells", "rasterflow run")
        self._bar.update(live["cells_done"] - self._bar.n)

    def close(self):
        if self._bar is not None:
            self._bar.close()


def check(progress):
    """progress must be a bool (or None)."""
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"progress: expected True or False, got {type(progress).__name__}")
    return bool(progress)
