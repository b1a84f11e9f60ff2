"""Progress of the long calls: tqdm's bar where tqdm is importable, else one line on stderr
rewritten in place. progress=None shows it on an interactive stderr, True always, False never."""

import sys
import time


def check(progress):
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"progress must be True, False or None, not {type(progress).__name__}")
    return progress


def interactive():
    return hasattr(sys.stderr, "isatty") and sys.stderr.isatty()


class Progress:
    """done out of total steps of `what` (images, network inputs), with a note on the current
    one. Nothing is drawn unless `show`."""

    def __init__(self, total, what, unit="image", show=True, leave=True):
        self.total, self.what, self.unit, self.done = total, what, unit, 0
        self.bar = self.started = None
        if not show:
            return
        try:
            from tqdm import tqdm
            self.bar = tqdm(total=total, desc=what, unit=unit, file=sys.stderr, leave=leave,
                            mininterval=0)
        except ImportError:
            self.started = time.monotonic()
            self._line("")

    @property
    def shown(self):
        return self.bar is not None or self.started is not None

    def _line(self, note):
        elapsed = time.monotonic() - self.started
        rate = f"  {elapsed / self.done:.2g} s/{self.unit}" if self.done else ""
        sys.stderr.write(f"\r{self.what}: {self.done}/{self.total} {self.unit}s{rate}  {note}"
                         "\033[K")
        sys.stderr.flush()

    def update(self, done, total=None, note=""):
        """Moves the count to `done` (and the total to `total`)."""
        if total is not None:
            self.total = total
        if self.bar is not None:
            self.bar.total = self.total
            if note:
                self.bar.set_postfix_str(note, refresh=False)
            self.bar.update(done - self.done)
        self.done = done
        if self.started is not None:
            self._line(note)

    def step(self, note=""):
        self.update(self.done + 1, note=note)

    def close(self):
        if self.bar is not None:
            self.bar.close()
        elif self.started is not None:
            sys.stderr.write("\n")
            sys.stderr.flush()
        self.bar = self.started = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def wanted(progress, total):
    """Whether a bar of `total` images is shown: always for True, never for False, for None on a
    terminal when there is more than one."""
    return check(progress) or (progress is None and total > 1 and interactive())


class Images(Progress):
    """One step per image, shown for more than one image when progress asks for it."""

    def __init__(self, total, what, progress=None):
        super().__init__(total, what, "image", wanted(progress, total))


class Inputs:
    """The core's count of network inputs passed and planned during one call (RISE's masks,
    Score-CAM's channels, a metric's curve points), drawn once the call has run for a second
    (at once with progress=True). Use `callback()` as the core's progress argument."""

    def __init__(self, what, progress=None, unit="input"):
        self.what, self.unit, self.progress = what, unit, check(progress)
        self.started, self.bar = time.monotonic(), None

    def callback(self):
        wanted = self.progress or (self.progress is None and interactive())
        return self if wanted else None

    def __call__(self, done, planned):
        waited = time.monotonic() - self.started
        if self.bar is not None or self.progress or waited >= 1.0:
            self._show(done, planned)

    def _show(self, done, planned):
        if planned <= 0:
            return
        if self.bar is None:
            self.bar = Progress(planned, self.what, self.unit, leave=False)
        self.bar.update(min(done, planned), planned)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is None and self.callback() is not None:
            # The final count, which a call shorter than one poll of the core never reported.
            from . import _whitebox
            done, planned = _whitebox.progress()
            if self.bar is not None or self.progress:
                self._show(done, planned)
        if self.bar is not None:
            self.bar.close()
        return False
