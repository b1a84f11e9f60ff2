"""Progress of the calls that run over many images: tqdm's bar where tqdm is importable, else one
line on stderr rewritten in place; shown on a terminal, or wherever asked."""

import sys
import time


def wanted(progress, total):
    """progress=None shows it for more than one step on an interactive stderr."""
    if progress is None:
        return total > 1 and hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be True, False or None, not {type(progress).__name__}")
    return progress


class Progress:
    """A count of done steps out of `total`, with what is being done now."""

    def __init__(self, total, what, progress=None):
        self.total, self.what, self.done = total, what, 0
        self.bar = self.line = None
        if not wanted(progress, total):
            return
        try:
            from tqdm import tqdm
            self.bar = tqdm(total=total, desc=what, unit="image", file=sys.stderr, leave=False)
        except ImportError:
            self.line = time.monotonic()
            self._write("")

    def _write(self, note):
        elapsed = time.monotonic() - self.line
        rate = f"  {elapsed / self.done:.1f} s/image" if self.done else ""
        sys.stderr.write(f"\r{self.what}: {self.done}/{self.total}{rate}  {note}\033[K")
        sys.stderr.flush()

    def step(self, note=""):
        self.done += 1
        if self.bar is not None:
            self.bar.set_postfix_str(note, refresh=False)
            self.bar.update(1)
        elif self.line is not None:
            self._write(note)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()
        elif self.line is not None:
            sys.stderr.write("\n")
            sys.stderr.flush()
        return False
